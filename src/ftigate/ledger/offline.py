"""``ftigate-verify``: check the ledger with no database and no trust in the gateway.

It imports only the pure ledger modules (an import-linter contract keeps it so), so an
inspector general, a court's expert or a taxpayer's lawyer can read and run it alone.

Usage::

    ftigate-verify DIR                              # an export bundle (ftigate ledger export)
    ftigate-verify DIR --vkey gateway.vkey          # ... against a key you got elsewhere
    ftigate-verify --proof proof.json --vkey K      # one inclusion proof (ftigate ledger prove)
    ftigate-verify --consistency c.json --vkey K    # a consistency proof
    ftigate-verify --response response_manifest.json --vkey K   # a requester's response

Exit status: 0 verified, 1 verification failed (the first bad index is printed), 2 the input
could not be read or checked (bad usage, unreadable or malformed files). ``--json`` prints the
findings as JSON.

Example:
    >>> main(["--help"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    SystemExit: 0
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ftigate.errors import FtigateError, IntegrityError
from ftigate.ledger import bundle, note
from ftigate.ledger.replay import Finding, first_finding


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ftigate-verify",
        description="Verify an ftigate ledger bundle or proof offline (RFC 6962, C2SP notes).",
    )
    p.add_argument("bundle", nargs="?", type=Path, help="an export bundle directory")
    p.add_argument("--vkey", type=Path, help="the log's verifier key file (default: DIR/log.vkey)")
    p.add_argument("--proof", type=Path, help="an inclusion proof document")
    p.add_argument("--consistency", type=Path, help="a consistency proof document")
    p.add_argument("--response", type=Path, help="a response manifest with leaf proofs")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    return p


def _load_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise FtigateError(f"cannot read {path}: {e}") from e
    if not isinstance(data, dict):
        raise FtigateError(f"{path} is not a JSON object")
    return data


def _verifiers(args: argparse.Namespace) -> list[note.NoteVerifier] | None:
    return None if args.vkey is None else [bundle.read_vkey(args.vkey)]


def _need_key(args: argparse.Namespace) -> list[note.NoteVerifier]:
    keys = _verifiers(args)
    if keys is None:
        raise FtigateError("--vkey is required: the log's key must come from outside the proof")
    return keys


def run(args: argparse.Namespace) -> tuple[dict[str, Any], list[Finding]]:
    """Do the check the arguments ask for; return (summary, findings)."""
    if args.proof is not None:
        cp = bundle.verify_inclusion_doc(_load_json(args.proof), _need_key(args))
        return {"checked": "inclusion proof", "tree_size": cp.size}, []
    if args.consistency is not None:
        s1, s2 = bundle.verify_consistency_doc(_load_json(args.consistency), _need_key(args))
        return {"checked": "consistency proof", "size1": s1, "size2": s2}, []
    if args.response is not None:
        ok, findings = bundle.verify_response_manifest(_load_json(args.response), _need_key(args))
        return {"checked": "response manifest", "leaves_verified": ok}, findings
    if args.bundle is None:
        raise FtigateError("give a bundle directory, --proof, --consistency or --response")
    leaves, checkpoints, findings = bundle.verify_bundle(args.bundle, _verifiers(args))
    return {"checked": "bundle", "leaves": leaves, "checkpoints": checkpoints}, findings


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    try:
        summary, findings = run(args)
    except FtigateError as e:
        # a proof that fails to verify raises IntegrityError with its evidence: a "no" (1);
        # anything else means the input could not be checked at all (2)
        failed = isinstance(e, IntegrityError)
        if args.json:
            print(json.dumps({"ok": False, **e.to_json()}, indent=2))
        else:
            print(f"FAILED: {e}", file=sys.stderr)
        raise SystemExit(1 if failed else 2) from None
    first = first_finding(findings)
    if args.json:
        out = {
            "ok": not findings,
            **summary,
            "first_bad_index": None if first is None else first.index,
            "findings": [f.to_json() for f in findings],
        }
        print(json.dumps(out, indent=2))
    elif first is None:
        details = ", ".join(f"{k} {v}" for k, v in summary.items() if k != "checked")
        print(f"OK: {summary['checked']} verified ({details})")
    else:
        print(f"FAILED: first bad index {first.index}: {first}", file=sys.stderr)
        for f in findings[:50]:
            print(f"  {f}", file=sys.stderr)
    raise SystemExit(1 if findings else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
