"""Files an overseer receives: the export bundle and proof documents, and their checks. Pure.

**Export bundle** (``ftigate ledger export DIR``), everything needed to verify the ledger with
no database and no trust in the gateway::

    DIR/manifest.json        {"format": "ftigate-ledger-bundle/1", "origin": ..., "tree_size": n}
    DIR/log.vkey             the log's C2SP verifier key: <name>+<key ID hex>+<base64(0x01||key)>
    DIR/leaves.jsonl         line i = the exact bytes of leaf i (canonical JSON has no newline)
    DIR/checkpoints/000001.txt ...  every signed checkpoint, in signing order

The leaves are those covered by the latest checkpoint, so every exported leaf is under a
signature. A leaf's hash is SHA-256(0x00 || line without its newline).

**Inclusion proof document** (``ftigate ledger prove``; also one entry per leaf of a response
manifest)::

    {"format": "ftigate-inclusion-proof/1", "leaf_index": 7, "tree_size": 15,
     "leaf_hash": "<base64>", "leaf": "<the leaf's JSON text, optional>",
     "inclusion_proof": ["<base64>", ...], "checkpoint": "<signed checkpoint text>"}

**Consistency proof document** (``ftigate ledger consistency``)::

    {"format": "ftigate-consistency-proof/1", "size1": 5, "size2": 15,
     "root1": "<base64>", "root2": "<base64>", "consistency_proof": ["<base64>", ...],
     "checkpoint1": "<text or null>", "checkpoint2": "<text or null>"}
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ftigate.errors import FtigateError, InputError
from ftigate.ledger import merkle, note
from ftigate.ledger.replay import Finding, Replayer, examine_leaves

BUNDLE_FORMAT = "ftigate-ledger-bundle/1"
INCLUSION_FORMAT = "ftigate-inclusion-proof/1"
CONSISTENCY_FORMAT = "ftigate-consistency-proof/1"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: object, what: str) -> bytes:
    if not isinstance(text, str):
        raise InputError(f"{what} must be a base64 string", field=what)
    try:
        return base64.b64decode(text, validate=True)
    except ValueError as e:
        raise InputError(f"{what} is not base64", field=what) from e


# --- the export bundle --------------------------------------------------------------------


def write_bundle(
    out: Path, *, origin: str, vkey: str, leaves: Iterable[bytes], checkpoints: Sequence[str]
) -> int:
    """Write a bundle into ``out`` (created; must be empty). Returns the number of leaves."""
    out.mkdir(parents=True, exist_ok=True)
    if any(out.iterdir()):
        raise InputError(f"{out} is not empty; export into a new directory", file=str(out))
    (out / "log.vkey").write_text(vkey + "\n", encoding="utf-8")
    count = 0
    with (out / "leaves.jsonl").open("wb") as f:
        for data in leaves:
            if b"\n" in data:
                raise InputError(f"leaf {count} holds a newline; it is not a canonical record")
            f.write(data + b"\n")
            count += 1
    folder = out / "checkpoints"
    folder.mkdir()
    for i, text in enumerate(checkpoints, start=1):
        (folder / f"{i:06d}.txt").write_text(text, encoding="utf-8")
    manifest = {"format": BUNDLE_FORMAT, "origin": origin, "tree_size": count}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return count


def read_vkey(path: Path) -> note.NoteVerifier:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise InputError(f"cannot read verifier key {path}: {e}", file=str(path)) from e
    return note.NoteVerifier.from_vkey(text)


_CHUNK = 65536  # leaves examined per batch: the fast check, with flat memory


def iter_bundle_leaves(folder: Path) -> Iterator[bytes]:
    with (folder / "leaves.jsonl").open("rb") as f:
        for line in f:
            yield line[:-1] if line.endswith(b"\n") else line


def verify_bundle(
    folder: Path, verifiers: Sequence[note.NoteVerifier] | None = None
) -> tuple[int, int, list[Finding]]:
    """Replay a bundle; return (leaves, checkpoints, findings). ``verifiers``: default log.vkey.

    Pass the key you trust from elsewhere (the gateway's published key) rather than the one in
    the bundle when you can: a bundle's own key only proves the bundle is self-consistent.
    """
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise InputError(f"{folder} is not a ledger bundle: {e}", file=str(folder)) from e
    if manifest.get("format") != BUNDLE_FORMAT:
        raise InputError(f"unknown bundle format {manifest.get('format')!r}", file=str(folder))
    keys = list(verifiers) if verifiers is not None else [read_vkey(folder / "log.vkey")]
    files = sorted((folder / "checkpoints").glob("*.txt"))
    signed = [(f"checkpoints/{p.name}", p.read_text(encoding="utf-8")) for p in files]
    replay = Replayer(keys, signed, origin=manifest.get("origin"))
    chunk: list[bytes] = []
    start = 0
    for data in iter_bundle_leaves(folder):
        chunk.append(data)
        if len(chunk) == _CHUNK:
            replay.add_examined(range(start, start + len(chunk)), examine_leaves(chunk))
            start, chunk = start + len(chunk), []
    if chunk:
        replay.add_examined(range(start, start + len(chunk)), examine_leaves(chunk))
    declared = manifest.get("tree_size")
    return replay.size, len(signed), replay.finish(declared if isinstance(declared, int) else None)


# --- proof documents ----------------------------------------------------------------------


def inclusion_doc(
    index: int,
    size: int,
    leaf_hash: bytes,
    proof: Sequence[bytes],
    checkpoint: str,
    leaf: bytes | None = None,
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "format": INCLUSION_FORMAT,
        "leaf_index": index,
        "tree_size": size,
        "leaf_hash": b64(leaf_hash),
        "inclusion_proof": [b64(h) for h in proof],
        "checkpoint": checkpoint,
    }
    if leaf is not None:
        doc["leaf"] = leaf.decode("utf-8")
    return doc


def _int(doc: Mapping[str, Any], key: str) -> int:
    value = doc.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InputError(f"{key} must be a non-negative integer", field=key)
    return value


def _hashes(doc: Mapping[str, Any], key: str) -> list[bytes]:
    value = doc.get(key)
    if not isinstance(value, list):
        raise InputError(f"{key} must be a list of base64 hashes", field=key)
    return [unb64(h, f"{key}[{i}]") for i, h in enumerate(value)]


def verify_inclusion_doc(
    doc: Mapping[str, Any],
    verifiers: Sequence[note.NoteVerifier],
    checkpoint: str | None = None,
    origin: str | None = None,
) -> note.Checkpoint:
    """Check a proof document: signed checkpoint, leaf hash, proof to the signed root.

    ``checkpoint``: the signed text when the document leaves it out (a response manifest
    carries one checkpoint for all its leaves). Raises with evidence; returns the checkpoint.
    """
    text = doc.get("checkpoint", checkpoint)
    if not isinstance(text, str):
        raise InputError("the proof carries no checkpoint", field="checkpoint")
    cp = note.open_checkpoint(text, verifiers, origin=origin)
    index, size = _int(doc, "leaf_index"), doc.get("tree_size", cp.size)
    if size != cp.size:
        raise InputError(f"proof is for size {size}, the checkpoint for {cp.size}")
    leaf_hash = unb64(doc.get("leaf_hash"), "leaf_hash")
    leaf = doc.get("leaf")
    if leaf is not None:
        if not isinstance(leaf, str):
            raise InputError("leaf must be the leaf's JSON text", field="leaf")
        if merkle.hash_leaf(leaf.encode("utf-8")) != leaf_hash:
            raise merkle.RootMismatchError(
                "the leaf does not hash to leaf_hash",
                expected=leaf_hash,
                calculated=merkle.hash_leaf(leaf.encode("utf-8")),
                index=index,
            )
    merkle.verify_inclusion(index, cp.size, leaf_hash, _hashes(doc, "inclusion_proof"), cp.root)
    return cp


def consistency_doc(
    size1: int,
    size2: int,
    root1: bytes,
    root2: bytes,
    proof: Sequence[bytes],
    checkpoint1: str | None,
    checkpoint2: str | None,
) -> dict[str, Any]:
    return {
        "format": CONSISTENCY_FORMAT,
        "size1": size1,
        "size2": size2,
        "root1": b64(root1),
        "root2": b64(root2),
        "consistency_proof": [b64(h) for h in proof],
        "checkpoint1": checkpoint1,
        "checkpoint2": checkpoint2,
    }


def verify_consistency_doc(
    doc: Mapping[str, Any], verifiers: Sequence[note.NoteVerifier]
) -> tuple[int, int]:
    """Check a consistency document; signed checkpoints in it must match its roots."""
    size1, size2 = _int(doc, "size1"), _int(doc, "size2")
    root1, root2 = unb64(doc.get("root1"), "root1"), unb64(doc.get("root2"), "root2")
    for key, size, root in (("checkpoint1", size1, root1), ("checkpoint2", size2, root2)):
        text = doc.get(key)
        if text is None:
            continue
        if not isinstance(text, str):
            raise InputError(f"{key} must be checkpoint text", field=key)
        cp = note.open_checkpoint(text, verifiers)
        if (cp.size, cp.root) != (size, root):
            raise InputError(f"{key} signs ({cp.size}, {b64(cp.root)}), not the proof's tree")
    merkle.verify_consistency(size1, size2, _hashes(doc, "consistency_proof"), root1, root2)
    return size1, size2


def verify_response_manifest(
    manifest: Mapping[str, Any], verifiers: Sequence[note.NoteVerifier]
) -> tuple[int, list[Finding]]:
    """Check every leaf proof in a response manifest against its one signed checkpoint.

    For the requester: proves each response row was logged, without revealing the leaf.
    Returns (leaves verified, findings).
    """
    text = manifest.get("checkpoint")
    if not isinstance(text, str):
        raise InputError("the response manifest carries no checkpoint", field="checkpoint")
    note.open_checkpoint(text, verifiers)
    leaves = manifest.get("leaves")
    if not isinstance(leaves, list):
        raise InputError("the response manifest has no leaves list", field="leaves")
    findings: list[Finding] = []
    ok = 0
    for entry in leaves:
        index = entry.get("leaf_index") if isinstance(entry, dict) else None
        try:
            if not isinstance(entry, dict):
                raise InputError("a leaves entry is not an object")
            doc = {"tree_size": manifest.get("tree_size"), **entry}
            verify_inclusion_doc(doc, verifiers, checkpoint=text)
            ok += 1
        except FtigateError as e:
            findings.append(Finding("PROOF_INVALID", index, e.message))
    return ok, findings
