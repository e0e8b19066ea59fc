"""Our checkpoints and proofs verified by code this project did not write: sigstore-python.

sigstore-python (a test extra) verifies Rekor's checkpoints, which are C2SP signed notes, and
Rekor's RFC 6962 inclusion proofs. We hand it ours: it must parse the checkpoint into the same
text byte for byte, accept the Ed25519 signature under our key, and accept each inclusion
proof; and it must refuse a signature by another key and a corrupted proof.
"""

from __future__ import annotations

import base64
from types import SimpleNamespace

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ftigate.ledger import log, note
from ftigate.store.db import Database

from .fixtures import ORIGIN, build

sigstore_checkpoint = pytest.importorskip("sigstore._internal.rekor.checkpoint")
sigstore_merkle = pytest.importorskip("sigstore._internal.merkle")
sigstore_trust = pytest.importorskip("sigstore._internal.trust")
sigstore_errors = pytest.importorskip("sigstore.errors")
common_v1 = pytest.importorskip("sigstore_models.common.v1")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def keyring_for(key: Ed25519PrivateKey):
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    public = common_v1.PublicKey(
        raw_bytes=base64.b64encode(der), key_details=common_v1.PublicKeyDetails.PKIX_ED25519
    )
    return sigstore_trust.Keyring([public])


def rekor_entry(leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes):
    """The two fields of a Rekor TransparencyLogEntry that its inclusion check reads."""
    inclusion = SimpleNamespace(log_index=index, tree_size=size, hashes=proof, root_hash=root)
    return SimpleNamespace(
        _inner=SimpleNamespace(inclusion_proof=inclusion, canonicalized_body=leaf)
    )


@pytest.fixture
def ledger(sqlite_db: Database):
    return build(sqlite_db, (5, 6, 6))  # 17 leaves: one past a power of two


def test_checkpoint_round_trips_byte_for_byte_and_verifies(ledger) -> None:
    with ledger.db.reading() as conn:
        texts = [c.text for c in log.load_checkpoints(conn)]
    key_id = note.NoteSigner(ORIGIN, ledger.key).verifier.key_id
    for text in texts:
        parsed = sigstore_checkpoint.SignedCheckpoint.from_text(text)
        sn, cp = parsed.signed_note, parsed.checkpoint
        rebuilt = (
            sn.note
            + "\n"
            + "".join(
                f"\u2014 {s.name} {b64(s.sig_hash + base64.b64decode(s.signature))}\n"
                for s in sn.signatures
            )
        )
        assert rebuilt == text  # byte for byte
        body = (
            "\n".join(
                [
                    cp.origin,
                    str(cp.log_size),
                    base64.b64encode(bytes.fromhex(cp.log_hash)).decode(),
                    *cp.other_content,
                ]
            )
            + "\n"
        )
        assert body == sn.note
        ours = note.Checkpoint.parse(sn.note)
        assert (cp.origin, cp.log_size, cp.log_hash) == (ORIGIN, ours.size, ours.root.hex())
        assert [s.sig_hash for s in sn.signatures] == [key_id]
        # sigstore matches the signature line by our 4-byte C2SP key ID and checks Ed25519
        sn.verify(keyring_for(ledger.key), sigstore_trust.KeyID(key_id + bytes(28)))
        with pytest.raises(sigstore_errors.VerificationError):
            sn.verify(
                keyring_for(Ed25519PrivateKey.generate()), sigstore_trust.KeyID(key_id + bytes(28))
            )


def test_tampered_checkpoint_fails_in_sigstore(ledger) -> None:
    with ledger.db.reading() as conn:
        text = log.latest_checkpoint(conn).text
    forged = text.replace("\n17\n", "\n18\n", 1)
    key_id = note.NoteSigner(ORIGIN, ledger.key).verifier.key_id
    sn = sigstore_checkpoint.SignedCheckpoint.from_text(forged).signed_note
    with pytest.raises(sigstore_errors.VerificationError):
        sn.verify(keyring_for(ledger.key), sigstore_trust.KeyID(key_id + bytes(28)))


def test_inclusion_proofs_verify_in_sigstore(ledger) -> None:
    with ledger.db.reading() as conn:
        latest = log.latest_checkpoint(conn)
        assert latest is not None and latest.size == 17
        root = sigstore_checkpoint.SignedCheckpoint.from_text(latest.text).checkpoint.log_hash
        proofs = log.inclusion_proofs(conn, range(17), 17)
        for index in range(17):
            leaf = log.load_leaf(conn, index).data
            entry = rekor_entry(leaf, index, 17, proofs[index], bytes.fromhex(root))
            sigstore_merkle.verify_merkle_inclusion(entry)  # raises if it does not hold
        for size in (5, 11):  # and at the older checkpoints' sizes
            for index in range(size):
                leaf = log.load_leaf(conn, index).data
                sigstore_merkle.verify_merkle_inclusion(
                    rekor_entry(
                        leaf,
                        index,
                        size,
                        log.inclusion_proof(conn, index, size),
                        log.root(conn, size),
                    )
                )
        bad = list(proofs[16])
        bad[0] = bytes([bad[0][0] ^ 1]) + bad[0][1:]
        with pytest.raises(sigstore_errors.VerificationError):
            sigstore_merkle.verify_merkle_inclusion(
                rekor_entry(log.load_leaf(conn, 16).data, 16, 17, bad, bytes.fromhex(root))
            )
