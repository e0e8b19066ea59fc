"""Signed notes and checkpoints: the Go sumdb/note vectors, C2SP rules, tampering."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ftigate.errors import InputError, IntegrityError
from ftigate.ledger import note as n

V = json.loads((Path(__file__).parent / "data" / "sumdb_note_vectors.json").read_text())
TEXT, PETER_SIG, ENOCH_SIG = V["text"], V["peter_sig"], V["enoch_sig"]
PETER = n.NoteVerifier.from_vkey(V["peter_vkey"])
ENOCH = n.NoteVerifier.from_vkey(V["enoch_vkey"])


def test_verifier_key_round_trips() -> None:
    assert PETER.name == "PeterNeumann"
    assert PETER.key_id.hex() == "c74f20a3"
    assert PETER.vkey == V["peter_vkey"]


def test_mangled_verifier_keys_are_refused() -> None:
    vkey = V["peter_vkey"]
    bad = [
        vkey[i:j]
        for i in range(len(vkey))
        for j in range(i + 1, len(vkey) + 1)
        if (i, j) != (0, len(vkey))
    ]
    bad += [vkey[:i] + chr(ord(vkey[i]) + 1) + vkey[i + 1 :] for i in range(len(vkey))]
    bad += V["bad_vkeys"]
    accepted = []
    for k in bad:
        try:
            n.NoteVerifier.from_vkey(k)
            accepted.append(k)
        except InputError:
            pass
    assert accepted == []


def test_go_signer_key_signs_byte_for_byte() -> None:
    signer = n.NoteSigner.from_skey(V["peter_skey"])
    assert signer.vkey == V["peter_vkey"]
    assert n.sign_note(TEXT, [signer]) == TEXT + "\n" + PETER_SIG


def test_open_ignores_unknown_keys_and_verifies_known_ones() -> None:
    msg = TEXT + "\n" + PETER_SIG + ENOCH_SIG
    note = n.open_note(msg, [PETER])
    assert note.text == TEXT
    assert [s.name for s in note.signatures] == ["PeterNeumann"]
    both = n.open_note(msg, [PETER, ENOCH])
    assert [s.name for s in both.signatures] == ["PeterNeumann", "EnochRoot"]
    with pytest.raises(IntegrityError, match="no signature by a known key"):
        n.open_note(msg, [])


def test_same_name_other_key_is_ignored_not_trusted() -> None:
    impostor = n.NoteSigner("PeterNeumann", Ed25519PrivateKey.generate())
    msg = n.sign_note(TEXT, [impostor])
    with pytest.raises(IntegrityError):
        n.open_note(msg, [PETER])


def test_bad_signature_by_known_key_rejects_the_note() -> None:
    broken = PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(IntegrityError, match="invalid signature for key PeterNeumann"):
        n.open_note(TEXT + "\n" + broken, [PETER])
    with pytest.raises(IntegrityError):
        n.open_note(TEXT.replace("problem", "Problem", 1) + "\n" + PETER_SIG, [PETER])


@pytest.mark.parametrize(
    "msg",
    [
        TEXT,
        TEXT + "\n",
        TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + TEXT + "\n" + PETER_SIG,
        TEXT + "\n" + PETER_SIG.replace("PeterNeumann", "Bad Name")[:-1],
        TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        TEXT + "\n" + PETER_SIG * 101,
    ],
)
def test_malformed_notes(msg: str) -> None:
    with pytest.raises(n.MalformedNote):
        n.open_note(msg, [PETER])


def test_checkpoint_round_trip_and_key_name_matches_origin() -> None:
    key = Ed25519PrivateKey.generate()
    signer = n.NoteSigner("ftigate.example/ledger", key)
    cp = n.Checkpoint("ftigate.example/ledger", 12345, bytes(range(32)), ("ext one",))
    text = n.sign_checkpoint(cp, signer)
    lines = text.split("\n")
    assert lines[:5] == [
        "ftigate.example/ledger",
        "12345",
        base64.b64encode(bytes(range(32))).decode(),
        "ext one",
        "",
    ]
    assert lines[5].startswith("— ftigate.example/ledger ")
    raw = base64.b64decode(lines[5].split(" ")[2])
    assert raw[:4] == n.key_id(
        "ftigate.example/ledger", signer.verifier.public_key.public_bytes_raw()
    )
    assert len(raw) == 4 + 64
    assert n.open_checkpoint(text, [signer.verifier], origin="ftigate.example/ledger") == cp
    with pytest.raises(IntegrityError, match="not 'other'"):
        n.open_checkpoint(text, [signer.verifier], origin="other")
    other = n.NoteSigner("ftigate.example/ledger", Ed25519PrivateKey.generate())
    with pytest.raises(IntegrityError):
        n.open_checkpoint(n.sign_checkpoint(cp, other), [signer.verifier])


@pytest.mark.parametrize(
    "body",
    [
        "origin\n012\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",  # leading zero
        "origin\n-1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "origin\n12\nAAAA\n",  # not 32 bytes
        "origin\n12\n",  # no root
        "\n12\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",  # empty origin
        "origin\n12\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",  # no final newline
        "origin\n12\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=\n",  # non-canonical base64
    ],
)
def test_malformed_checkpoints(body: str) -> None:
    with pytest.raises(InputError):
        n.Checkpoint.parse(body)


def test_invalid_key_names() -> None:
    for name in ["", "a b", "a+b", "a\u00a0b"]:
        assert not n.is_valid_key_name(name)
        with pytest.raises(InputError):
            n.NoteSigner(name, Ed25519PrivateKey.generate()).verifier
