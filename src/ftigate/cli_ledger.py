"""``ftigate ledger ...`` and ``ftigate accounting``: parse, call the ledger, print. No logic.

Mounted by ``ftigate.cli``::

    app.add_typer(ledger_app, name="ledger")
    app.command("accounting")(handles_errors(accounting_command))

Settings (database URL, key files, log origin) come from the main app's global options and
``FTIGATE_*`` variables. Our errors map to the main app's exit codes; ``ledger verify`` exits
9 (integrity) when it finds anything.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import Connection

from ftigate.config import Settings
from ftigate.errors import Conflict, FtigateError, IntegrityError
from ftigate.keys import load_private_key, load_secret
from ftigate.ledger import bundle, log, note
from ftigate.ledger.export import export_bundle
from ftigate.ledger.leaf import tin_hmac
from ftigate.ledger.verify import verify_ledger
from ftigate.store.db import Database

F = TypeVar("F", bound=Callable[..., Any])
console = Console()
ledger_app = typer.Typer(
    help="The tamper-evident ledger: checkpoints, proofs, verification, export.",
    no_args_is_help=True,
)


def _settings() -> Settings:
    from ftigate.cli import STATE  # the main app parsed the global options into it

    return STATE.settings


def _handled(fn: F) -> F:
    """Render our errors the main app's way (message, JSON shape, exit code per class)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from ftigate.cli import handles_errors

        return handles_errors(fn)(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@contextmanager
def _reading() -> Iterator[Connection]:
    db = Database.connect(_settings().database_url)
    try:
        with db.reading() as conn:
            yield conn
    finally:
        db.dispose()


def _audited(event: str, obj: str, fn: Callable[[Connection], Any]) -> Any:
    from ftigate.service import Gateway
    from ftigate.service.context import Principal

    gw = Gateway(_settings())
    try:
        return gw.audited(Principal.local("auditor"), event, obj, fn)
    finally:
        gw.db.dispose()


def _signer(settings: Settings) -> note.NoteSigner:
    return note.NoteSigner(settings.log_origin, load_private_key(settings.gateway_key_path))


def _verifier(settings: Settings) -> note.NoteVerifier:
    return _signer(settings).verifier


def _print_json(doc: object) -> None:
    print(json.dumps(doc, indent=2, ensure_ascii=False))


@ledger_app.command("checkpoint")
@_handled
def checkpoint_command() -> None:
    """Sign a checkpoint of the ledger as it is now, store it and print it."""
    settings = _settings()
    key = load_private_key(settings.gateway_key_path)
    text = _audited(
        "LEDGER_CHECKPOINT",
        "ledger",
        lambda conn: log.sign_checkpoint(conn, key, settings.log_origin),
    )
    print(text, end="")


def _signed_size(conn: Connection, size: int | None) -> tuple[int, str]:
    """The size a proof is made at, and the checkpoint text that signs it."""
    if size is None:
        latest = log.latest_checkpoint(conn)
        if latest is None:
            raise Conflict("the ledger has no checkpoint yet; run `ftigate ledger checkpoint`")
        return latest.size, latest.text
    return size, log.checkpoint_at(conn, size)


@ledger_app.command("prove")
@_handled
def prove_command(
    batch: Annotated[str, typer.Option("--batch", help="Batch id.")],
    request: Annotated[str, typer.Option("--request", help="Request id within the batch.")],
    size: Annotated[
        int | None,
        typer.Option("--size", help="Tree size of a signed checkpoint (default: the latest)."),
    ] = None,
    with_leaf: Annotated[
        bool,
        typer.Option(
            "--leaf/--no-leaf", help="Include the leaf record (omit it for the requester)."
        ),
    ] = True,
) -> None:
    """Print the inclusion proof(s) of a request's leaf (JSON; `ftigate-verify --proof`)."""
    with _reading() as conn:
        tree, text = _signed_size(conn, size)
        indices = log.find_leaves(conn, batch, request)
        covered = [i for i in indices if i < tree]
        if not covered:
            raise Conflict(
                f"leaf {indices[0]} is not yet covered by a checkpoint (size {tree}); "
                "run `ftigate ledger checkpoint`"
            )
        proofs = log.inclusion_proofs(conn, covered, tree)
        docs = []
        for i in covered:
            leaf = log.load_leaf(conn, i)
            docs.append(
                bundle.inclusion_doc(
                    i, tree, leaf.leaf_hash, proofs[i], text, leaf.data if with_leaf else None
                )
            )
    _print_json(docs[0] if len(docs) == 1 else docs)


@ledger_app.command("consistency")
@_handled
def consistency_command(
    size1: Annotated[int, typer.Option("--from", help="Older tree size.")],
    size2: Annotated[int | None, typer.Option("--to", help="Newer size (default: latest).")] = None,
) -> None:
    """Print the consistency proof between two tree sizes (JSON; `ftigate-verify --consistency`)."""
    with _reading() as conn:
        size2 = log.tree_size(conn) if size2 is None else size2
        texts = {c.size: c.text for c in log.load_checkpoints(conn)}
        doc = bundle.consistency_doc(
            size1,
            size2,
            log.root(conn, size1),
            log.root(conn, size2),
            log.consistency_proof(conn, size1, size2),
            texts.get(size1),
            texts.get(size2),
        )
    _print_json(doc)


@ledger_app.command("verify")
@_handled
def verify_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Recompute every leaf, node and checkpoint from the store; exit 9 if anything is wrong."""
    settings = _settings()
    try:
        hmac_key: bytes | None = load_secret(settings.tin_hmac_key_path)
    except FtigateError:
        hmac_key = None  # still verifiable; the TIN HMAC of decision rows is then not compared
    verifier = _verifier(settings)
    with _reading() as conn:
        report = verify_ledger(conn, [verifier], origin=settings.log_origin, hmac_key=hmac_key)
    if as_json:
        _print_json(report.to_json())
    else:
        console.print(
            f"{report.leaves} leaves, {report.nodes} nodes, {report.checkpoints} "
            f"checkpoints, {report.decisions} decisions checked"
            + ("" if report.tin_checked else " (no TIN HMAC key: TINs not compared)")
        )
    first = report.first
    if first is not None:
        raise IntegrityError(
            f"ledger verification failed: first bad index {first.index}: {first}"
            + (
                f" (and {len(report.findings) - 1} more findings)"
                if len(report.findings) > 1
                else ""
            ),
            index=first.index,
        )
    if not as_json:
        console.print("[green]OK[/]: the ledger verifies")


@ledger_app.command("export")
@_handled
def export_command(
    out: Annotated[Path, typer.Argument(help="New directory for the bundle.")],
) -> None:
    """Write a self-contained bundle that `ftigate-verify DIR` checks with no database."""
    settings = _settings()
    verifier = _verifier(settings)
    with _reading() as conn:
        done = export_bundle(conn, out, verifier, settings.log_origin)
    console.print(
        f"exported {done.leaves} leaves and {done.checkpoints} checkpoints to {done.path}"
    )


@ledger_app.command("key")
@_handled
def key_command() -> None:
    """Print the log's C2SP verifier key (what overseers pin; also DIR/log.vkey)."""
    print(_verifier(_settings()).vkey)


def accounting_command(
    tin: Annotated[str, typer.Option("--tin", help="The taxpayer's TIN (9 digits).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List every decision that concerned a taxpayer (26 U.S.C. 6103(p)(3) accounting)."""
    settings = _settings()
    mac = tin_hmac(load_secret(settings.tin_hmac_key_path), tin)
    # the audit trail names the lookup by a prefix of the HMAC, never by the TIN
    found = _audited(
        "TAXPAYER_ACCOUNTING",
        f"tin_hmac:{mac[:16]}",
        lambda conn: log.records_for_tin_hmac(conn, mac),
    )
    rows = [
        {
            "leaf_index": i,
            "time": r.time,
            "kind": str(r.kind),
            "agreement_id": r.agreement_id,
            "statute": r.statute,
            "outcome": str(r.outcome) if r.outcome else None,
            "fields_disclosed": list(r.fields_disclosed),
            "batch_id": r.batch_id,
            "request_id": r.request_id,
            "remediates": r.remediates,
        }
        for i, r in found
    ]
    if as_json:
        _print_json(rows)
        return
    table = Table("leaf", "time", "kind", "agreement", "statute", "outcome", "fields disclosed")
    for row in rows:
        table.add_row(
            str(row["leaf_index"]),
            row["time"],
            row["kind"],
            row["agreement_id"],
            row["statute"],
            row["outcome"] or "-",
            ", ".join(row["fields_disclosed"]),
        )
    console.print(table)
    console.print(
        f"{len(rows)} ledger entr{'y' if len(rows) == 1 else 'ies'} concern this taxpayer"
    )
