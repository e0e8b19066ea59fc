"""``ftigate batch ...`` and ``ftigate demo``: thin wrappers over the service use cases."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table


def _split(values: list[str] | None) -> list[str]:
    return [v.strip() for item in values or [] for v in item.split(",") if v.strip()]


def register(batch_app: typer.Typer, app: typer.Typer) -> None:
    from ftigate.cli import STATE, admin, console, gateway, handles_errors, officer

    @batch_app.command("sign")
    @handles_errors
    def sign(
        directory: Annotated[
            Path, typer.Argument(metavar="DIR", help="Batch folder with requests.csv.")
        ],
        key: Annotated[Path, typer.Option(help="Requester's private key (PEM, 0600).")],
        signer: Annotated[str, typer.Option(help="Signer name as authorised in the agreement.")],
        agreement: Annotated[str, typer.Option(help="Agreement id.")] = "irs-ice-2025",
        batch_id: Annotated[
            str | None, typer.Option(help="Batch id (default: from the folder and time).")
        ] = None,
    ) -> None:
        """Write manifest.json (hash and row count of the requests file) and manifest.sig."""
        from ftigate.service.intake import sign_batch

        manifest = sign_batch(
            directory, key, signer=signer, agreement_id=agreement, batch_id=batch_id
        )
        console.print(
            f"signed batch {manifest.batch_id}: {manifest.row_count} rows, "
            f"sha256 {manifest.requests_sha256}"
        )

    @batch_app.command("submit")
    @handles_errors
    def submit(directory: Annotated[Path, typer.Argument(metavar="DIR")]) -> None:
        """Verify signature, signer, manifest and agreement; validate every row; print the id."""
        from ftigate.service.intake import submit_batch

        result = submit_batch(gateway(), directory, admin())
        if result.refusal:
            console.print(
                f"[red]batch {result.batch_id} REFUSED: {result.refusal}[/] ({result.message})"
            )
        else:
            console.print(
                f"batch {result.batch_id}: {result.rows} rows, "
                f"{result.rows_refused} refused at intake"
            )
            for code, n in sorted(result.refusal_codes.items()):
                console.print(f"  {code}: {n}")
        print(result.batch_id)
        if result.refusal:
            raise typer.Exit(7)

    @batch_app.command("match")
    @handles_errors
    def match(batch: Annotated[str, typer.Argument(metavar="BATCH")]) -> None:
        """Run linkage and the decision rules on a submitted batch."""
        from ftigate.service.matching import match_batch

        with console.status("matching") as status:
            result = match_batch(gateway(), batch, admin(), progress=status.update)
        table = Table("outcome", "requests")
        for outcome, n in sorted(result.outcomes.items()):
            table.add_row(outcome, str(n))
        console.print(table)
        console.print(f"estimated false disclosures: {result.estimated_false_disclosures:.4f}")

    @batch_app.command("decisions")
    @handles_errors
    def decisions(
        batch: Annotated[str, typer.Argument(metavar="BATCH")],
        out: Annotated[Path, typer.Option(help="CSV file to write.")],
    ) -> None:
        """Export internal decisions (for officers and evaluation; contains TINs: handle as FTI)."""
        from ftigate.service.response import export_decisions

        n = export_decisions(gateway(), batch, out, admin())
        console.print(f"wrote {n} decisions to {out}")

    @batch_app.command("review")
    @handles_errors
    def review(
        batch: Annotated[str, typer.Argument(metavar="BATCH")],
        officer_id: Annotated[str, typer.Option("--officer", help="Reviewing officer.")],
        approve_all: Annotated[bool, typer.Option(help="Approve the whole review queue.")] = False,
        withhold_all: Annotated[
            bool, typer.Option(help="Withhold the whole review queue.")
        ] = False,
        approve: Annotated[
            list[str] | None,
            typer.Option(help="Request ids to approve (repeat or comma-separate)."),
        ] = None,
        withhold: Annotated[list[str] | None, typer.Option(help="Request ids to withhold.")] = None,
        note: Annotated[str | None, typer.Option(help="Note kept with the review.")] = None,
    ) -> None:
        """Approve or withhold the review queue; the officer signs off once nothing is pending."""
        from ftigate.service.review import review_batch

        r = review_batch(
            gateway(),
            batch,
            officer(officer_id),
            approve=_split(approve),
            withhold=_split(withhold),
            approve_all=approve_all,
            withhold_all=withhold_all,
            note=note,
        )
        console.print(
            f"approved {r.approved}, withheld {r.withheld}, pending {r.pending}"
            + ("; batch signed off" if r.signed_off else "")
        )

    @batch_app.command("release")
    @handles_errors
    def release(
        batch: Annotated[str, typer.Argument(metavar="BATCH")],
        officer_id: Annotated[
            str, typer.Option("--officer", help="Releasing officer (not the reviewer).")
        ],
    ) -> None:
        """Release a reviewed batch: final decisions, ledger leaves and a signed checkpoint."""
        from ftigate.service.review import release_batch

        r = release_batch(gateway(), batch, officer(officer_id))
        console.print(
            f"released {r.leaf_count} decisions as ledger leaves {r.first_leaf}.."
            f"{r.first_leaf + r.leaf_count - 1}"
        )
        console.print(r.checkpoint, markup=False, highlight=False)

    @batch_app.command("response")
    @handles_errors
    def response(
        batch: Annotated[str, typer.Argument(metavar="BATCH")],
        out: Annotated[
            Path, typer.Option(help="Directory for response.csv and its signed manifest.")
        ],
    ) -> None:
        """Write response.csv and response_manifest.json (checkpoint, proofs) with its .sig."""
        from ftigate.service.response import write_response

        files = write_response(gateway(), batch, out, admin())
        for f in files:
            console.print(str(f))

    @batch_app.command("report")
    @handles_errors
    def report(
        batch: Annotated[str, typer.Argument(metavar="BATCH")],
        out: Annotated[Path, typer.Option(help="HTML file to write.")],
    ) -> None:
        """Write the batch's HTML report (counts, refusal codes, probabilities; no FTI)."""
        from ftigate.service.reporting import write_batch_report

        write_batch_report(gateway(), batch, out, admin())
        console.print(str(out))

    @app.command("demo")
    @handles_errors
    def demo(
        out: Annotated[Path, typer.Option(help="Working directory for the demo.")] = Path("demo"),
        taxpayers: Annotated[int, typer.Option(help="Synthetic taxpayers.")] = 20_000,
        requests: Annotated[int, typer.Option(help="Synthetic requests.")] = 2_000,
        seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    ) -> None:
        """Run the whole pipeline on synthetic data (SQLite + DuckDB) and print a summary."""
        from ftigate.demo import run_demo

        run_demo(
            out,
            taxpayers=taxpayers,
            requests=requests,
            seed=seed,
            console=console,
            base_settings=STATE.settings,
        )
