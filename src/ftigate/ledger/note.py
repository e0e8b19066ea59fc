"""C2SP signed notes (Ed25519) and tlog checkpoints, as text. Pure: no storage.

A checkpoint commits the log to its first ``size`` leaves; an overseer who keeps the checkpoints
it has seen can later demand a consistency proof and catch a rewritten history. Formats follow
c2sp.org/tlog-checkpoint and c2sp.org/signed-note, as golang.org/x/mod/sumdb/note does::

    ftigate.example/ledger                          <- origin (names the log)
    12                                              <- tree size, decimal
    rZPb2ZbvKcHp0MvOmn9kgd6C8WMyhRnTPXk0wQ07u2M=    <- root hash, base64
                                                    <- blank line ends the note text
    — ftigate.example/ledger Ky1vX...==             <- em dash, key name, base64(key ID || sig)

The key ID is the first four bytes of SHA-256(key name || 0x0A || 0x01 || Ed25519 public key)
and the signature is Ed25519 over the note text (its final newline included, the blank line
not). A verifier is configured with a *verifier key* string,
``<name>+<8 hex digits of key ID>+<base64(0x01 || public key)>``; signatures by keys it does not
know are ignored, a signature by a known key must verify, and at least one must.

Example:
    >>> from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    >>> signer = NoteSigner("example.com/log", Ed25519PrivateKey.generate())
    >>> text = sign_checkpoint(Checkpoint("example.com/log", 0, bytes(32)), signer)
    >>> text.splitlines()[:2]
    ['example.com/log', '0']
    >>> open_checkpoint(text, [NoteVerifier.from_vkey(signer.vkey)]).size
    0
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ftigate.errors import InputError, IntegrityError

ALG_ED25519 = 0x01
EM_DASH = "\u2014"
MAX_SIGNATURES = 100  # as golang.org/x/mod/sumdb/note; the spec asks for at least 16
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")
_DECIMAL = re.compile(r"^(0|[1-9][0-9]*)$")


class MalformedNote(InputError):
    """The text is not a signed note or not a checkpoint; nothing in it can be trusted."""


class NoteVerificationError(IntegrityError):
    """A signature by a known key failed, or no known key signed the note."""


def _b64decode(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as e:
        raise MalformedNote(f"{what} is not base64") from e
    if base64.b64encode(raw).decode("ascii") != text:  # one encoding per value
        raise MalformedNote(f"{what} is not canonical base64")
    return raw


def is_valid_key_name(name: str) -> bool:
    """Non-empty, no Unicode space and no ``+`` (C2SP signed-note)."""
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


def key_id(name: str, public_key: bytes) -> bytes:
    """SHA-256(name || 0x0A || 0x01 || key)[:4]: the 4-byte key ID of an Ed25519 note key."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([ALG_ED25519]) + public_key).digest()[:4]


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True, slots=True)
class Signature:
    """One signature line: key name, 4-byte key ID and the signature bytes."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        b64 = base64.b64encode(self.key_id + self.signature).decode("ascii")
        return f"{EM_DASH} {self.name} {b64}\n"


@dataclass(frozen=True, slots=True)
class NoteVerifier:
    """A public note key: verifies the signatures made with it."""

    name: str
    public_key: Ed25519PublicKey
    key_id: bytes = field(init=False)

    def __post_init__(self) -> None:
        if not is_valid_key_name(self.name):
            raise InputError(f"invalid note key name {self.name!r}: no spaces or '+' allowed")
        object.__setattr__(self, "key_id", key_id(self.name, _raw(self.public_key)))

    @property
    def vkey(self) -> str:
        """The C2SP verifier key line: ``<name>+<hex key ID>+<base64(0x01 || key)>``."""
        b64 = base64.b64encode(bytes([ALG_ED25519]) + _raw(self.public_key)).decode("ascii")
        return f"{self.name}+{self.key_id.hex()}+{b64}"

    @classmethod
    def from_vkey(cls, vkey: str) -> NoteVerifier:
        """Parse a verifier key line; the key ID must match the name and key."""
        parts = vkey.strip().split("+", 2)
        if len(parts) != 3 or not re.fullmatch(r"[0-9a-f]{8}", parts[1]):
            raise InputError("a verifier key reads <name>+<8 hex digits>+<base64 key>")
        name, hex_id, b64 = parts
        raw = _b64decode(b64, "verifier key")
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise InputError("verifier key is not an Ed25519 (0x01) note key")
        verifier = cls(name, Ed25519PublicKey.from_public_bytes(raw[1:]))
        if verifier.key_id.hex() != hex_id:
            raise InputError(f"verifier key ID {hex_id} does not match its name and key")
        return verifier

    def verify(self, text: str, signature: Signature) -> bool:
        try:
            self.public_key.verify(signature.signature, text.encode("utf-8"))
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True, slots=True)
class NoteSigner:
    """A private note key (the gateway's Ed25519 key) under a key name (the log origin)."""

    name: str
    private_key: Ed25519PrivateKey

    @property
    def verifier(self) -> NoteVerifier:
        return NoteVerifier(self.name, self.private_key.public_key())

    @property
    def vkey(self) -> str:
        return self.verifier.vkey

    def sign(self, text: str) -> Signature:
        return Signature(self.name, self.verifier.key_id, self.private_key.sign(text.encode()))

    @classmethod
    def from_skey(cls, skey: str) -> NoteSigner:
        """Parse golang.org/x/mod/sumdb/note's ``PRIVATE+KEY+<name>+<hex ID>+<base64>``."""
        parts = skey.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise InputError("a note signer key reads PRIVATE+KEY+<name>+<hex ID>+<base64>")
        raw = _b64decode(parts[4], "signer key")
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise InputError("signer key is not an Ed25519 (0x01) note key")
        signer = cls(parts[2], Ed25519PrivateKey.from_private_bytes(raw[1:]))
        if signer.verifier.key_id.hex() != parts[3]:
            raise InputError("signer key ID does not match its name and key")
        return signer


@dataclass(frozen=True, slots=True)
class Note:
    """A note's text and its signatures (verified or not, as the field's owner says)."""

    text: str
    signatures: tuple[Signature, ...]

    def to_text(self) -> str:
        return self.text + "\n" + "".join(s.line() for s in self.signatures)


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise MalformedNote("note text must end with a newline")
    if _CONTROL.search(text):
        raise MalformedNote("note holds a control character other than newline")


def sign_note(text: str, signers: Iterable[NoteSigner]) -> str:
    """The signed note: ``text``, a blank line, one signature line per signer."""
    _check_text(text)
    sigs = tuple(s.sign(text) for s in signers)
    if not sigs:
        raise InputError("a signed note needs at least one signer")
    return Note(text, sigs).to_text()


def parse_note(message: str) -> Note:
    """Split a signed note into text and signature lines, checking only the syntax."""
    _check_text(message)
    split = message.rfind("\n\n")
    if split < 0:
        raise MalformedNote("no blank line separates the note text from its signatures")
    text, block = message[: split + 1], message[split + 2 :]
    lines = block.split("\n")[:-1]  # the block ends in a newline, checked above
    if not lines:
        raise MalformedNote("note has no signature lines")
    if len(lines) > MAX_SIGNATURES:
        raise MalformedNote(f"note has more than {MAX_SIGNATURES} signatures")
    sigs = []
    for line in lines:
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != EM_DASH or not is_valid_key_name(parts[1]):
            raise MalformedNote(f"bad signature line {line[:80]!r}")
        raw = _b64decode(parts[2], "signature")
        if len(raw) < 5:
            raise MalformedNote("signature is too short")
        sigs.append(Signature(parts[1], raw[:4], raw[4:]))
    return Note(text, tuple(sigs))


def open_note(message: str, verifiers: Sequence[NoteVerifier]) -> Note:
    """Parse and verify; return the note with only the signatures that verified.

    Signatures by unknown keys (name and key ID not both known) are ignored; a signature by a
    known key that fails raises, and so does a note no known key signed.
    """
    note = parse_note(message)
    known = {(v.name, v.key_id): v for v in verifiers}
    verified: list[Signature] = []
    for sig in note.signatures:
        v = known.get((sig.name, sig.key_id))
        if v is None:
            continue
        if not v.verify(note.text, sig):
            raise NoteVerificationError(f"invalid signature for key {sig.name}+{sig.key_id.hex()}")
        if sig not in verified:
            verified.append(sig)
    if not verified:
        names = ", ".join(f"{s.name}+{s.key_id.hex()}" for s in note.signatures)
        raise NoteVerificationError(f"note has no signature by a known key (found: {names})")
    return Note(note.text, tuple(verified))


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The note text of a tlog checkpoint: origin, tree size, root hash, extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin:
            raise InputError("a checkpoint origin is one non-empty line")
        if self.size < 0 or len(self.root) != 32:
            raise InputError("a checkpoint has a size >= 0 and a 32-byte root hash")
        if any(not e or "\n" in e for e in self.extensions):
            raise InputError("checkpoint extension lines are non-empty single lines")

    def body(self) -> str:
        root = base64.b64encode(self.root).decode("ascii")
        return "".join(
            f"{line}\n" for line in (self.origin, str(self.size), root, *self.extensions)
        )

    @classmethod
    def parse(cls, body: str) -> Checkpoint:
        """Parse checkpoint note text (strict: no leading zeros, canonical base64)."""
        _check_text(body)
        lines = body[:-1].split("\n")
        if len(lines) < 3 or any(not line for line in lines):
            raise MalformedNote("a checkpoint has at least three non-empty lines")
        if not _DECIMAL.match(lines[1]):
            raise MalformedNote(f"checkpoint size {lines[1][:30]!r} is not a decimal number")
        root = _b64decode(lines[2], "checkpoint root hash")
        if len(root) != 32:
            raise MalformedNote(f"checkpoint root hash has {len(root)} bytes, not 32")
        return cls(lines[0], int(lines[1]), root, tuple(lines[3:]))


def sign_checkpoint(checkpoint: Checkpoint, signer: NoteSigner) -> str:
    """The signed checkpoint text. The key name should be the origin (C2SP recommends it)."""
    return sign_note(checkpoint.body(), [signer])


def open_checkpoint(
    message: str, verifiers: Sequence[NoteVerifier], origin: str | None = None
) -> Checkpoint:
    """Verify a signed checkpoint and parse it; with ``origin``, it must be that log's."""
    checkpoint = Checkpoint.parse(open_note(message, verifiers).text)
    if origin is not None and checkpoint.origin != origin:
        raise NoteVerificationError(f"checkpoint is for log {checkpoint.origin!r}, not {origin!r}")
    return checkpoint
