"""Regenerate ``data/golden_bundle``: a tiny, fully deterministic export bundle.

    .venv/bin/python -m tests.ledger.make_golden     (from the repository root)

The signing key comes from a fixed seed and the leaf salts are fixed, so the bytes never
change unless the leaf encoding, the tree or the note format does - which the test that
compares a fresh build with the committed files is there to catch.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ftigate.ledger import bundle, merkle, note
from ftigate.ledger.leaf import encode_record

from .records import decision

GOLDEN = Path(__file__).parent / "data" / "golden_bundle"
ORIGIN = "golden.ftigate.example/ledger"
SEED = bytes(range(32))  # test-only key: never a real one
SIZES = (3, 7)


def build(out: Path) -> None:
    signer = note.NoteSigner(ORIGIN, Ed25519PrivateKey.from_private_bytes(SEED))
    leaves = [
        encode_record(decision(i, tin=None if i % 2 else f"{300000000 + i:09d}"))
        for i in range(SIZES[-1])
    ]
    edge = merkle.CompactRange()
    texts = []
    for data in leaves:
        edge.append(merkle.hash_leaf(data))
        if edge.size in SIZES:
            texts.append(
                note.sign_checkpoint(note.Checkpoint(ORIGIN, edge.size, edge.root()), signer)
            )
    bundle.write_bundle(out, origin=ORIGIN, vkey=signer.vkey, leaves=leaves, checkpoints=texts)


if __name__ == "__main__":
    shutil.rmtree(GOLDEN, ignore_errors=True)
    build(GOLDEN)
    print(f"wrote {GOLDEN}")
