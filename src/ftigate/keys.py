"""Ed25519 key files and secret files: created with mode 0600, refused when readable by others.

Private keys are PKCS#8 PEM; public keys are SubjectPublicKeyInfo PEM, or the raw 32 bytes in
base64 where a one-line form is handier (agreement YAML). The TIN HMAC key is a separate
32-byte secret file: the signing key never doubles as it.

Example:
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> key = generate_keypair(d / "k.key", d / "k.pub")
    >>> load_private_key(d / "k.key").public_key() == key.public_key()
    True
"""

from __future__ import annotations

import base64
import os
import secrets
import stat
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ftigate.errors import InputError


def _write_secret(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _read_secret(path: Path) -> bytes:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as e:
        raise InputError(f"secret file {path} does not exist", file=str(path)) from e
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InputError(
            f"secret file {path} is readable by group or others (mode {oct(mode & 0o777)}); "
            f"run chmod 600 {path}",
            file=str(path),
        )
    return path.read_bytes()


def generate_keypair(private_path: Path, public_path: Path | None = None) -> Ed25519PrivateKey:
    """Create a new Ed25519 key; the private file is 0600 and never overwritten."""
    if private_path.exists():
        raise InputError(
            f"{private_path} exists; refusing to overwrite a key", file=str(private_path)
        )
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write_secret(private_path, pem)
    if public_path is not None:
        public_path.parent.mkdir(parents=True, exist_ok=True)
        public_path.write_bytes(public_key_pem(key.public_key()))
    return key


def load_private_key(path: Path) -> Ed25519PrivateKey:
    data = _read_secret(path)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except ValueError as e:
        raise InputError(f"{path} is not a PEM private key", file=str(path)) from e
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(f"{path} is not an Ed25519 key", file=str(path))
    return key


def public_key_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_b64(key: Ed25519PublicKey) -> str:
    return base64.b64encode(raw_public_key(key)).decode()


def load_public_key(path: Path) -> Ed25519PublicKey:
    data = path.read_bytes()
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        return public_key_from_raw(_b64_or_fail(data.decode().strip(), str(path)), str(path))
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(f"{path} is not an Ed25519 public key", file=str(path))
    return key


def public_key_from_raw(raw: bytes, where: str = "public key") -> Ed25519PublicKey:
    if len(raw) != 32:
        raise InputError(f"{where}: an Ed25519 public key has 32 bytes, not {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def _b64_or_fail(text: str, where: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError as e:
        raise InputError(f"{where}: not PEM and not base64") from e


def verify_signature(public_key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    """True when ``signature`` is ``public_key``'s Ed25519 signature of ``message``."""
    try:
        public_key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def generate_secret(path: Path, nbytes: int = 32) -> None:
    """Create a random secret file (mode 0600), e.g. the TIN HMAC key."""
    _write_secret(path, secrets.token_bytes(nbytes))


def load_secret(path: Path) -> bytes:
    data = _read_secret(path)
    if len(data) < 32:
        raise InputError(
            f"secret file {path} holds {len(data)} bytes; at least 32 are needed", file=str(path)
        )
    return data
