"""The committed golden bundle still verifies and still rebuilds byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest

from ftigate.ledger import bundle, note
from ftigate.ledger.replay import Finding, Replayer, first_finding

from .make_golden import GOLDEN, build


def files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_golden_bundle_verifies() -> None:
    leaves, checkpoints, findings = bundle.verify_bundle(GOLDEN)
    assert (leaves, checkpoints, findings) == (7, 2, [])


def test_golden_bundle_rebuilds_byte_for_byte(tmp_path: Path) -> None:
    build(tmp_path / "fresh")
    assert files(tmp_path / "fresh") == files(GOLDEN)


def test_export_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "x").write_text("")
    with pytest.raises(bundle.InputError):
        bundle.write_bundle(tmp_path, origin="o", vkey="k", leaves=[], checkpoints=[])


def test_checkpoints_out_of_order_are_reported() -> None:
    texts = sorted((GOLDEN / "checkpoints").glob("*.txt"))
    key = bundle.read_vkey(GOLDEN / "log.vkey")
    signed = [(p.name, p.read_text()) for p in reversed(texts)]  # 7 signed before 3
    replay = Replayer([key], signed)
    for i, data in enumerate(bundle.iter_bundle_leaves(GOLDEN)):
        replay.add(i, data)
    assert [f.code for f in replay.finish()] == ["CHECKPOINT_ORDER"]


def test_first_finding_prefers_the_precise_index() -> None:
    findings = [
        Finding("CHECKPOINT_ROOT_MISMATCH", 5, "x", end=11),
        Finding("NODE_MISMATCH", 8, "x", end=10),
        Finding("LEAF_HASH_MISMATCH", 9, "x"),
    ]
    assert first_finding(findings).index == 9
    assert first_finding(findings[:2]).index == 5  # nothing precise: the widest bound wins
    assert first_finding([]) is None


def test_bundle_with_the_wrong_pinned_key_fails() -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    other = note.NoteSigner("golden.ftigate.example/ledger", Ed25519PrivateKey.generate())
    _, _, findings = bundle.verify_bundle(GOLDEN, [other.verifier])
    assert {f.code for f in findings} == {"CHECKPOINT_SIGNATURE"}
