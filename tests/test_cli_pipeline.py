"""The CLI end to end, and every kind of bad input: clear message, non-zero exit, no change."""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from ftigate.cli import app
from ftigate.demo import agreement_with_signer
from ftigate.keys import load_private_key, load_public_key, verify_signature
from ftigate.policy.batch import build_manifest, sign_manifest

ROOT = Path(__file__).parents[1]
runner = CliRunner()
COUNTED = ("batches", "requests", "decisions", "agreements", "snapshots", "ledger_leaves")


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "data"
    result = runner.invoke(
        app, ["synth", "--taxpayers", "3000", "--requests", "300", "--seed", "5", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    return out


class Workspace:
    def __init__(self, root: Path, synth: Path) -> None:
        self.root = root
        self.db = root / "ftigate.db"
        self.synth = root / "synth"
        shutil.copytree(synth, self.synth)
        self.batch = self.synth / "batch"
        self.signer = json.loads((self.synth / "keys" / "signer.json").read_text())
        self.key = self.synth / "keys" / "requester.key"
        self.agreement = agreement_with_signer(
            ROOT / "agreements" / "irs-ice-2025.yaml", self.signer, root / "agreement.yaml"
        )

    def run(self, *args: str) -> object:
        return runner.invoke(
            app,
            ["--database", f"sqlite:///{self.db}", "--data-dir", str(self.root / "data"), *args],
        )

    def ok(self, *args: str) -> str:
        result = self.run(*args)
        assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
        return result.output  # type: ignore[attr-defined]

    def counts(self) -> dict[str, int]:
        engine = sa.create_engine(f"sqlite:///{self.db}")
        with engine.connect() as conn:
            out = {
                t: conn.execute(sa.text(f"select count(*) from {t}")).scalar_one() for t in COUNTED
            }
        engine.dispose()
        return out

    def sign(self, batch_id: str = "B-1") -> None:
        self.ok(
            "batch",
            "sign",
            str(self.batch),
            "--key",
            str(self.key),
            "--signer",
            self.signer["name"],
            "--batch-id",
            batch_id,
        )


@pytest.fixture
def ws(tmp_path: Path, synth_dir: Path) -> Iterator[Workspace]:
    w = Workspace(tmp_path, synth_dir)
    w.ok("init")
    w.ok("agreement", "load", str(w.agreement))
    yield w


def assert_refused(w: Workspace, args: list[str], exit_code: int, *needles: str) -> None:
    before = w.counts()
    result = w.run(*args)
    assert result.exit_code == exit_code, result.output  # type: ignore[attr-defined]
    for needle in needles:
        assert needle in result.output, result.output  # type: ignore[attr-defined]
    assert w.counts() == before


@pytest.mark.slow
def test_whole_pipeline_through_the_cli(ws: Workspace) -> None:
    ws.ok("register", "ingest", str(ws.synth / "register"))
    ws.sign()
    out = ws.ok("batch", "submit", str(ws.batch))
    assert "B-1" in out
    ws.ok("batch", "match", "B-1")
    decisions = ws.root / "decisions.csv"
    ws.ok("batch", "decisions", "B-1", "--out", str(decisions))
    dec = pd.read_csv(decisions, dtype=str, keep_default_na=False)
    truth = pd.read_csv(ws.synth / "truth.csv", dtype=str, keep_default_na=False)
    both = dec.merge(truth, left_index=True, right_index=True, suffixes=("", "_t"))
    pattern = both[both["case"] == "pattern_2025"]
    assert len(pattern) > 0
    assert (pattern["decision"] == "REFUSED").all()
    assert pattern["reason_or_refusal_code"].str.contains("ADDRESS_NOT_SPECIFIC").all()
    disclosed = both[both["decision"] == "DISCLOSE"]
    assert (
        disclosed["candidate_tin"].str.replace("-", "") == disclosed["tin"].str.replace("-", "")
    ).all()

    ws.ok("batch", "review", "B-1", "--officer", "alvarez", "--withhold-all")
    result = ws.run("batch", "release", "B-1", "--officer", "alvarez")
    assert result.exit_code == 6 and "four eyes" in result.output  # type: ignore[attr-defined]
    ws.ok("batch", "release", "B-1", "--officer", "brennan")
    resp = ws.root / "response"
    ws.ok("batch", "response", "B-1", "--out", str(resp))
    manifest = (resp / "response_manifest.json").read_bytes()
    signature = base64.b64decode((resp / "response_manifest.sig").read_bytes())
    gateway_pub = load_public_key(ws.root / "data" / "keys" / "gateway.pub")
    assert verify_signature(gateway_pub, signature, manifest)
    body = json.loads(manifest)
    response = pd.read_csv(resp / "response.csv", dtype=str, keep_default_na=False)
    assert len(response) == len(dec) == body["rows"]
    assert set(response["status"]) <= {"DISCLOSED", "NOT_DISCLOSED", "REFUSED"}
    assert not {"phone", "email", "tin", "dob"} & set(response.columns)
    nd = response[response["status"] == "NOT_DISCLOSED"]
    assert (nd[["refusal_code", "street", "city", "zip"]] == "").all().all()
    ws.ok("ledger", "verify")

    tin = disclosed["candidate_tin"].iloc[0]
    out = ws.ok("accounting", "--tin", tin, "--json")
    assert "DISCLOSE" in out and tin not in out


def test_agreement_typo_names_the_key(ws: Workspace, tmp_path: Path) -> None:
    bad = tmp_path / "typo.yaml"
    bad.write_text(ws.agreement.read_text().replace("disclosable_fields", "disclosable_feilds"))
    assert_refused(ws, ["agreement", "load", str(bad)], 3, "disclosable_feilds", "typo.yaml")


def test_manifest_hash_mismatch(ws: Workspace) -> None:
    ws.sign()
    path = ws.batch / "requests.csv"
    path.write_bytes(path.read_bytes().replace(b"Main", b"Mian", 1))
    assert_refused(ws, ["batch", "submit", str(ws.batch)], 7, "MANIFEST_MISMATCH", "requests.csv")


def test_manifest_row_count_wrong(ws: Workspace) -> None:
    data = (ws.batch / "requests.csv").read_bytes()
    manifest = build_manifest(
        batch_id="B-2",
        agreement_id="irs-ice-2025",
        submitted_at="2026-11-25T12:00:00Z",
        signer=ws.signer["name"],
        requests_bytes=data,
        row_count=299,
    )
    (ws.batch / "manifest.json").write_bytes(manifest)
    (ws.batch / "manifest.sig").write_bytes(sign_manifest(manifest, load_private_key(ws.key)))
    assert_refused(ws, ["batch", "submit", str(ws.batch)], 7, "MANIFEST_MISMATCH", "row_count")


def test_signature_by_unknown_key(ws: Workspace) -> None:
    ws.sign()
    forged = Ed25519PrivateKey.generate().sign((ws.batch / "manifest.json").read_bytes())
    (ws.batch / "manifest.sig").write_bytes(base64.b64encode(forged))
    assert_refused(ws, ["batch", "submit", str(ws.batch)], 7, "SIGNATURE_INVALID")


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda b: b.replace(b"\n", b'\n"', 3), "requests.csv"),  # an unclosed quote
        (lambda b: b.decode().encode("utf-16"), "UTF-8"),
        (lambda b: b.replace(b"tax_periods", b"tax_period", 1), "tax_periods"),
        (lambda b: b.replace(b"a", "\xe1".encode("latin-1"), 1), "line"),
    ],
    ids=["malformed-csv", "utf16", "missing-column", "latin1-byte"],
)
def test_unreadable_requests_file(ws: Workspace, mutate, needle: str) -> None:  # type: ignore[no-untyped-def]
    path = ws.batch / "requests.csv"
    path.write_bytes(mutate(path.read_bytes()))
    manifest = build_manifest(
        batch_id="B-3",
        agreement_id="irs-ice-2025",
        submitted_at="2026-11-25T12:00:00Z",
        signer=ws.signer["name"],
        requests_bytes=path.read_bytes(),
        row_count=300,
    )
    (ws.batch / "manifest.json").write_bytes(manifest)
    (ws.batch / "manifest.sig").write_bytes(sign_manifest(manifest, load_private_key(ws.key)))
    assert_refused(ws, ["batch", "submit", str(ws.batch)], 3, needle)


def test_bad_register_keeps_previous_snapshot(ws: Workspace, tmp_path: Path) -> None:
    ws.ok("register", "ingest", str(ws.synth / "register"), "--no-train")
    bad = tmp_path / "bad-register"
    shutil.copytree(ws.synth / "register", bad)
    tp = bad / "taxpayers.csv"
    lines = tp.read_text().splitlines()
    lines[5] = "666-00-0000" + lines[5][11:]
    tp.write_text("\n".join(lines) + "\n")
    assert_refused(
        ws, ["register", "ingest", str(bad), "--no-train"], 3, "taxpayers.csv:6", "[tin]"
    )


def test_suspended_agreement_refuses_and_records(ws: Workspace) -> None:
    ws.ok("agreement", "suspend", "irs-ice-2025", "--reason", "court order 25-cv-1")
    ws.sign("B-9")
    result = ws.run("batch", "submit", str(ws.batch))
    assert result.exit_code == 7 and "AGREEMENT_SUSPENDED" in result.output  # type: ignore[attr-defined]
    counts = ws.counts()
    assert counts["batches"] == 1 and counts["ledger_leaves"] == 300
    ws.ok("ledger", "verify")
    resp = ws.root / "resp"
    ws.ok("batch", "response", "B-9", "--out", str(resp))
    response = pd.read_csv(resp / "response.csv", dtype=str, keep_default_na=False)
    assert set(response["refusal_code"]) == {"AGREEMENT_SUSPENDED"}


def test_help_documents_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in (
        "init",
        "synth",
        "agreement",
        "register",
        "keys",
        "batch",
        "ledger",
        "accounting",
        "demo",
    ):
        assert command in result.output
    for sub in ("sign", "submit", "match", "decisions", "review", "release", "response", "report"):
        out = runner.invoke(app, ["batch", sub, "--help"])
        assert out.exit_code == 0 and "Usage" in out.output
