"""``ftigate account ...`` and ``ftigate serve``: the token is printed once, stored as a hash."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import typer
from typer.testing import CliRunner

from ftigate import cli, cli_api

from .conftest import free_port


def _app() -> typer.Typer:
    """ftigate's CLI with the API commands mounted (once, whether or not cli.py mounts them)."""
    if not any(g.name == "account" for g in cli.app.registered_groups):
        cli_api.register(cli.app)
    return cli.app


def test_account_commands(tmp_path: Path) -> None:
    app = _app()
    runner = CliRunner()
    base = ["--database", f"sqlite:///{tmp_path / 'db.sqlite'}", "--data-dir", str(tmp_path)]
    assert runner.invoke(app, [*base, "init"]).exit_code == 0
    r = runner.invoke(app, [*base, "account", "create", "alvarez", "--role", "officer"])
    assert r.exit_code == 0, r.output
    token = r.stdout.strip().splitlines()[-1]
    assert token.startswith("ftg_")
    r = runner.invoke(
        app, [*base, "account", "create", "ice", "--role", "requester", "--agency", "Nobody Known"]
    )
    assert r.exit_code == 0 and "no stored agreement names" in r.output
    r = runner.invoke(app, [*base, "account", "create", "bad", "--role", "boss"])
    assert r.exit_code == 3 and "role must be one of" in r.output
    r = runner.invoke(app, [*base, "account", "list"])
    assert "alvarez" in r.stdout and token not in r.stdout
    assert runner.invoke(app, [*base, "account", "disable", "alvarez"]).exit_code == 0
    assert runner.invoke(app, [*base, "account", "disable", "alvarez"]).exit_code == 6
    r = runner.invoke(app, [*base, "account", "rotate-token", "ice"])
    assert r.exit_code == 0 and r.stdout.strip().splitlines()[-1].startswith("ftg_")
    with sqlite3.connect(tmp_path / "db.sqlite") as db:
        rows = db.execute("select * from accounts").fetchall()
    stored = repr(rows)
    assert token not in stored and hashlib.sha256(token.encode()).hexdigest() in stored


def test_serve_runs_uvicorn_with_the_cli_settings(tmp_path: Path) -> None:
    """``--database`` given to ``ftigate`` reaches the API that uvicorn imports by name."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FTIGATE_")}
    opts = ["--database", f"sqlite:///{tmp_path / 'db.sqlite'}", "--data-dir", str(tmp_path)]
    code = (
        "import sys; from ftigate import cli, cli_api\n"
        "if not any(g.name == 'account' for g in cli.app.registered_groups):\n"
        "    cli_api.register(cli.app)\n"
        "cli.app(sys.argv[1:])\n"
    )

    def ftigate(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", code, *opts, *args],
            env=env,
            check=True,
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )
        return done.stdout

    ftigate("init")
    token = ftigate("account", "create", "alvarez", "--role", "officer").strip().splitlines()[-1]
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *opts, "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline, "ftigate serve did not start"
                time.sleep(0.2)
        assert r.status_code == 200 and "server" not in r.headers
        assert httpx.get(f"http://127.0.0.1:{port}/v1/batches").status_code == 401
        me = httpx.get(
            f"http://127.0.0.1:{port}/v1/me", headers={"Authorization": f"Bearer {token}"}
        )
        assert me.json() == {"name": "alvarez", "role": "officer", "agency": None}
    finally:
        proc.terminate()
        proc.wait(10)
    assert not (tmp_path / "ftigate.db").exists()  # not the default store
