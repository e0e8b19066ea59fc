"""The ``ftigate`` command: parse, call ``ftigate.service``, print. No logic lives here.

Errors print as one message naming file, line and field, and exit with a code per error class
(see :data:`EXIT_CODES`); ``--json`` prints the API's JSON error shape instead.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ftigate import errors
from ftigate.config import Settings

F = TypeVar("F", bound=Callable[..., Any])

EXIT_CODES: dict[type[errors.FtigateError], int] = {
    errors.InputError: 3,
    errors.AuthError: 4,
    errors.Forbidden: 4,
    errors.NotFound: 5,
    errors.Conflict: 6,
    errors.BatchRefused: 7,
    errors.BackendError: 8,
    errors.IntegrityError: 9,
}

console = Console()
err_console = Console(stderr=True)

app = typer.Typer(
    help="ftigate: lawful, minimal and accountable disclosure of Federal Tax Information.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
agreement_app = typer.Typer(
    help="Load, suspend and resume disclosure agreements.", no_args_is_help=True
)
register_app = typer.Typer(
    help="Ingest the taxpayer register into snapshots.", no_args_is_help=True
)
keys_app = typer.Typer(help="Ed25519 key pairs for requesters.", no_args_is_help=True)
batch_app = typer.Typer(
    help="Sign, submit, match, review, release and answer request batches.", no_args_is_help=True
)
app.add_typer(agreement_app, name="agreement")
app.add_typer(register_app, name="register")
app.add_typer(keys_app, name="keys")
app.add_typer(batch_app, name="batch")


class State:
    settings: Settings = Settings()
    json_errors: bool = False


STATE = State()


def exit_code_for(error: errors.FtigateError) -> int:
    for cls in type(error).__mro__:
        if cls in EXIT_CODES:
            return EXIT_CODES[cls]
    return 1


def handles_errors(fn: F) -> F:
    """Map our errors to a message and an exit code; never a traceback for expected errors."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except errors.FtigateError as e:
            if STATE.json_errors:
                print(json.dumps(e.to_json(), indent=2), file=sys.stderr)
            else:
                err_console.print(
                    f"[bold red]error[/] {escape(f'[{e.code}] {e}')}",
                    markup=True,
                    highlight=False,
                    soft_wrap=True,
                )
            raise typer.Exit(exit_code_for(e)) from None

    return wrapper  # type: ignore[return-value]


def gateway() -> Any:
    from ftigate.service import Gateway

    return Gateway(STATE.settings)


def officer(name: str) -> Any:
    from ftigate.service import Principal

    return Principal(name, "officer", "cli")


def admin() -> Any:
    from ftigate.service import Principal

    return Principal.local("admin")


@app.callback()
def main_options(
    database: Annotated[
        str | None, typer.Option(help="Store URL (env FTIGATE_DATABASE_URL).")
    ] = None,
    data_dir: Annotated[
        str | None, typer.Option(help="Snapshots, models, keys (env FTIGATE_DATA_DIR).")
    ] = None,
    backend: Annotated[str | None, typer.Option(help="Linkage backend: duckdb or spark.")] = None,
    json_errors: Annotated[bool, typer.Option("--json", help="Print errors as JSON.")] = False,
) -> None:
    """ftigate: lawful, minimal, accountable disclosure of Federal Tax Information."""
    try:
        STATE.settings = Settings.from_env(
            database_url=database, data_dir=data_dir, backend=backend
        )
    except errors.FtigateError as e:
        err_console.print(f"[bold red]error[/] {escape(str(e))}")
        raise typer.Exit(exit_code_for(e)) from None
    STATE.json_errors = json_errors


# --- setup ------------------------------------------------------------------------------------


@app.command()
@handles_errors
def init() -> None:
    """Create or migrate the store (Alembic) and create the gateway's keys if absent."""
    from ftigate.service.admin import init as run_init

    result = run_init(gateway())
    console.print(f"store {result.database} at revision {result.revision}")
    for path in result.created_keys:
        console.print(f"created key {path} (mode 0600)")


@app.command()
@handles_errors
def synth(
    out: Annotated[Path, typer.Option(help="Output directory.")],
    taxpayers: Annotated[int, typer.Option(min=10, help="Taxpayers in the register.")] = 20_000,
    requests: Annotated[int, typer.Option(min=10, help="Requests in the batch.")] = 2_000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same files).")] = 7,
) -> None:
    """Generate a synthetic register, an ICE-style batch, truth.csv and a requester key pair."""
    from ftigate.cli_progress import progress_bar
    from ftigate.synth import generate

    with progress_bar("synth") as update:
        summary = generate(
            taxpayers=taxpayers, requests=requests, seed=seed, out=out, progress=update
        )
    console.print(
        f"{summary.taxpayers:,} taxpayers ({summary.itin_filers:,} ITIN filers), "
        f"{summary.addresses:,} addresses, {summary.requests:,} requests "
        f"({summary.tin_supplied:,} with a TIN), seed {summary.seed}, {summary.seconds:.1f} s"
    )
    console.print(
        doc_table(
            sorted((k, f"{v:,}") for k, v in summary.expected.items()),
            "expected outcome",
            "requests",
        )
    )
    for path in summary.files:
        console.print(f"  {path}")


@agreement_app.command("load")
@handles_errors
def agreement_load(file: Annotated[Path, typer.Argument(help="Agreement YAML.")]) -> None:
    """Validate and store an agreement version (unknown keys and bad values are named)."""
    from ftigate.service.admin import load_agreement

    agreement, created = load_agreement(gateway(), file, admin())
    state = "stored" if created else "already stored"
    console.print(
        f"agreement {agreement.id} version {agreement.version} {state} (sha256 {agreement.sha256})"
    )


@agreement_app.command("suspend")
@handles_errors
def agreement_suspend(
    agreement_id: Annotated[str, typer.Argument(metavar="ID")],
    reason: Annotated[str, typer.Option(help="Why (e.g. the court order).")],
) -> None:
    """Suspend an agreement at once: later submissions are refused and nothing is released."""
    from ftigate.model import AgreementStatus
    from ftigate.service.admin import set_status

    set_status(gateway(), agreement_id, AgreementStatus.SUSPENDED, reason, admin())
    console.print(f"agreement {agreement_id} suspended")


@agreement_app.command("resume")
@handles_errors
def agreement_resume(
    agreement_id: Annotated[str, typer.Argument(metavar="ID")],
    reason: Annotated[str, typer.Option(help="Why it may resume.")],
) -> None:
    """Resume a suspended agreement."""
    from ftigate.model import AgreementStatus
    from ftigate.service.admin import set_status

    set_status(gateway(), agreement_id, AgreementStatus.ACTIVE, reason, admin())
    console.print(f"agreement {agreement_id} active")


@register_app.command("ingest")
@handles_errors
def register_ingest(
    directory: Annotated[
        Path,
        typer.Argument(metavar="DIR", help="Folder with taxpayers and addresses (CSV or Parquet)."),
    ],
    train: Annotated[
        bool, typer.Option(help="Train the linkage model now (else at first match).")
    ] = True,
) -> None:
    """Load taxpayers and addresses into a new register snapshot; bad rows are all reported."""
    from ftigate.service.register import ingest

    with console.status("ingesting") as status:
        result = ingest(gateway(), directory, admin(), train=train, progress=status.update)
    s = result.snapshot
    console.print(
        f"snapshot {s.id}: {s.taxpayers} taxpayers, {s.addresses} addresses"
        f"{' (reused)' if result.reused else ''}; model {s.model_sha256 or 'not trained'}"
    )


@keys_app.command("generate")
@handles_errors
def keys_generate(
    out: Annotated[Path, typer.Option(help="Directory for NAME.key (0600) and NAME.pub.")],
    name: Annotated[str, typer.Option(help="File name stem.")] = "requester",
) -> None:
    """Create an Ed25519 key pair; prints the public key as the agreement YAML wants it."""
    from ftigate.keys import generate_keypair, public_key_b64

    key = generate_keypair(out / f"{name}.key", out / f"{name}.pub")
    console.print(
        f"{out / (name + '.key')} (0600); public key (base64): {public_key_b64(key.public_key())}"
    )


from ftigate import cli_batch  # noqa: E402  (registers the batch commands on batch_app)

cli_batch.register(batch_app, app)


def _mount_optional() -> None:
    """Mount sub-apps that live in their own modules."""
    from ftigate.cli_ledger import accounting_command, ledger_app

    app.add_typer(ledger_app, name="ledger")
    from ftigate import cli_api

    cli_api.register(app)
    from ftigate import cli_oversight

    cli_oversight.register(app)
    app.command("accounting")(handles_errors(accounting_command))


_mount_optional()


def main() -> None:
    app()


def doc_table(rows: list[tuple[str, ...]], *headers: str) -> Table:
    table = Table(*headers)
    for row in rows:
        table.add_row(*row)
    return table
