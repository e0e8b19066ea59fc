"""End to end through the CLI and ftigate-verify: a released ledger, proofs, export, tampering."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ftigate.cli import app
from ftigate.keys import load_private_key
from ftigate.ledger import merkle, note, offline
from ftigate.store.db import Database
from ftigate.store.ledger_tables import ledger_leaves

from .fixtures import ORIGIN, release
from .records import TIN_KEY

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    url = f"sqlite:///{tmp_path / 'ftigate.db'}"
    e = {
        "FTIGATE_DATABASE_URL": url,
        "FTIGATE_DATA_DIR": str(tmp_path / "data"),
        "FTIGATE_LOG_ORIGIN": ORIGIN,
    }
    for k, v in e.items():
        monkeypatch.setenv(k, v)
    result = runner.invoke(app, ["init"])
    assert result.exit_code == 0, result.output
    hmac_path = tmp_path / "data" / "keys" / "tin-hmac.key"
    hmac_path.unlink()
    hmac_path.write_bytes(TIN_KEY)
    hmac_path.chmod(0o600)
    db = Database.connect(url)
    key = load_private_key(tmp_path / "data" / "keys" / "gateway.key")
    release(db, key, "B-0", 0, 5)
    release(db, key, "B-1", 5, 6)
    db.dispose()
    return e


def ftigate(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout + (result.stderr if result.stderr_bytes else "")


def verify_offline(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as e:
        offline.main(list(args))
    out = capsys.readouterr()
    return int(e.value.code or 0), out.out + out.err


def test_ledger_cli_end_to_end(env, tmp_path: Path, capsys) -> None:
    code, vkey = ftigate("ledger", "key")
    assert code == 0 and vkey.startswith(ORIGIN + "+")
    verifier = note.NoteVerifier.from_vkey(vkey)
    (tmp_path / "log.vkey").write_text(vkey)

    code, out = ftigate("ledger", "verify")
    assert code == 0 and "OK" in out and "11 leaves" in out, out

    code, text = ftigate("ledger", "checkpoint")
    assert code == 0
    assert note.open_checkpoint(text, [verifier], origin=ORIGIN).size == 11

    code, out = ftigate("ledger", "prove", "--batch", "B-0", "--request", "R0000003")
    assert code == 0, out
    doc = json.loads(out)
    assert doc["leaf_index"] == 3 and doc["tree_size"] == 11 and "leaf" in doc
    (tmp_path / "proof.json").write_text(out)
    code, out = verify_offline(
        "--proof", str(tmp_path / "proof.json"), "--vkey", str(tmp_path / "log.vkey"), capsys=capsys
    )
    assert code == 0 and "OK" in out

    code, out = ftigate("ledger", "consistency", "--from", "5", "--to", "11")
    assert code == 0, out
    assert json.loads(out)["checkpoint1"] is not None
    (tmp_path / "cons.json").write_text(out)
    code, out = verify_offline(
        "--consistency",
        str(tmp_path / "cons.json"),
        "--vkey",
        str(tmp_path / "log.vkey"),
        capsys=capsys,
    )
    assert code == 0, out

    code, out = ftigate("ledger", "export", str(tmp_path / "bundle"))
    assert code == 0, out
    assert (tmp_path / "bundle" / "log.vkey").read_text().strip() == vkey.strip()
    assert len((tmp_path / "bundle" / "leaves.jsonl").read_bytes().splitlines()) == 11
    code, out = verify_offline(str(tmp_path / "bundle"), capsys=capsys)
    assert code == 0 and "leaves 11" in out, out
    code, out = verify_offline(str(tmp_path / "bundle"), "--json", capsys=capsys)
    assert json.loads(out)["ok"] is True

    code, out = ftigate("accounting", "--tin", "200-00-0003", "--json")
    assert code == 0, out
    rows = json.loads(out)
    assert [r["leaf_index"] for r in rows] == [3]
    assert rows[0]["fields_disclosed"] == ["city", "state", "street", "zip"]
    assert "200000003" not in out
    code, out = ftigate("accounting", "--tin", "200-00-0003")
    assert code == 0 and "1 ledger entry" in out


def test_tampered_bundle_and_store_fail_with_the_index(env, tmp_path: Path, capsys) -> None:
    assert ftigate("ledger", "export", str(tmp_path / "bundle"))[0] == 0
    leaves = tmp_path / "bundle" / "leaves.jsonl"
    lines = leaves.read_bytes().splitlines()
    lines[6] = lines[6].replace(b'"DISCLOSE"', b'"NOT_DISCLOSED"')
    leaves.write_bytes(b"".join(x + b"\n" for x in lines))
    code, out = verify_offline(str(tmp_path / "bundle"), capsys=capsys)
    assert code == 1 and "first bad index 6" in out, out

    lines.pop(2)  # drop a leaf: every later one shifts
    leaves.write_bytes(b"".join(x + b"\n" for x in lines))
    code, out = verify_offline(str(tmp_path / "bundle"), "--json", capsys=capsys)
    assert code == 1 and json.loads(out)["first_bad_index"] == 0  # bounded by checkpoint 5

    db = Database.connect(env["FTIGATE_DATABASE_URL"])
    with db.transaction() as conn:
        conn.execute(ledger_leaves.delete().where(ledger_leaves.c.idx == 4))
    db.dispose()
    code, out = ftigate("ledger", "verify")
    assert code == 9 and "first bad index 4" in out, out
    code, out = ftigate("ledger", "verify", "--json")
    assert code == 9 and '"first_bad_index": 4' in out


def test_offline_rejects_a_proof_against_another_key(env, tmp_path: Path, capsys) -> None:
    code, out = ftigate("ledger", "prove", "--batch", "B-1", "--request", "R0000006", "--no-leaf")
    assert code == 0 and 'leaf"' not in out.replace('"leaf_', "")
    (tmp_path / "proof.json").write_text(out)
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    other = note.NoteSigner(ORIGIN, Ed25519PrivateKey.generate()).vkey
    (tmp_path / "other.vkey").write_text(other)
    code, out = verify_offline(
        "--proof",
        str(tmp_path / "proof.json"),
        "--vkey",
        str(tmp_path / "other.vkey"),
        capsys=capsys,
    )
    assert code == 1 and "no signature by a known key" in out
    doc = json.loads((tmp_path / "proof.json").read_text())
    doc["leaf_index"] = 7
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    (tmp_path / "log.vkey").write_text(ftigate("ledger", "key")[1])
    code, out = verify_offline(
        "--proof", str(tmp_path / "bad.json"), "--vkey", str(tmp_path / "log.vkey"), capsys=capsys
    )
    assert code == 1 and "expected root" in out
    code, out = verify_offline("--proof", str(tmp_path / "proof.json"), capsys=capsys)
    assert code == 2 and "--vkey is required" in out


def test_response_manifest_proofs_verify_offline(env, tmp_path: Path, capsys) -> None:
    from ftigate.ledger import bundle, log

    db = Database.connect(env["FTIGATE_DATABASE_URL"])
    with db.reading() as conn:
        size = log.tree_size(conn)
        proofs = log.inclusion_proofs(conn, range(5, 11), size)
        hashes = log.leaf_hashes(conn, list(range(5, 11)))
        manifest = {
            "tree_size": size,
            "checkpoint": log.checkpoint_at(conn, size),
            "leaves": [
                {
                    "leaf_index": i,
                    "leaf_hash": bundle.b64(hashes[i]),
                    "inclusion_proof": [bundle.b64(h) for h in proofs[i]],
                }
                for i in range(5, 11)
            ],
        }
    db.dispose()
    (tmp_path / "m.json").write_text(json.dumps(manifest))
    (tmp_path / "log.vkey").write_text(ftigate("ledger", "key")[1])
    code, out = verify_offline(
        "--response", str(tmp_path / "m.json"), "--vkey", str(tmp_path / "log.vkey"), capsys=capsys
    )
    assert code == 0 and "leaves_verified 6" in out, out
    manifest["leaves"][2]["leaf_hash"] = bundle.b64(merkle.hash_leaf(b"forged"))
    (tmp_path / "m.json").write_text(json.dumps(manifest))
    code, out = verify_offline(
        "--response", str(tmp_path / "m.json"), "--vkey", str(tmp_path / "log.vkey"), capsys=capsys
    )
    assert code == 1 and "first bad index 7" in out, out


def test_errors_map_to_exit_codes(env) -> None:
    code, out = ftigate("ledger", "prove", "--batch", "B-9", "--request", "nope")
    assert code == 5 and "no ledger leaf" in out
    code, out = ftigate("ledger", "consistency", "--from", "5", "--to", "99")
    assert code == 3
    code, out = ftigate("accounting", "--tin", "12")
    assert code == 3 and "nine digits" in out
