"""``ftigate report ...``, ``ftigate remediate ...`` and ``ftigate audit ...``: thin wrappers.

Mounted with ``cli_oversight.register(app)`` from ``ftigate.cli``. Reports run as the local
auditor, remediation as the officer named by ``--officer``, the audit purge as the local
administrator; each use case checks the role and leaves an audit event.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from ftigate.errors import InputError

Batch = Annotated[str, typer.Option("--batch", help="Batch id.")]
Request = Annotated[str, typer.Option("--request", help="Request id within the batch.")]
Leaf = Annotated[
    int | None,
    typer.Option("--leaf", help="The disclosure's leaf, when the request id has several."),
]


def parse_day(value: str, option: str) -> date:
    """``YYYY-MM-DD`` or an InputError naming the option."""
    try:
        return date.fromisoformat(value)
    except ValueError as e:
        raise InputError(f"{option} {value!r} is not a date (YYYY-MM-DD)", field=option) from e


def parse_moment(value: str, option: str) -> datetime:
    """A date (midnight UTC) or an ISO 8601 date-time (UTC when it has no offset)."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as e:
        raise InputError(
            f"{option} {value!r} is not a date or date-time (ISO 8601)", field=option
        ) from e
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def register(app: typer.Typer) -> None:
    """Add the ``report``, ``remediate`` and ``audit`` sub-apps to the ``ftigate`` command."""
    from ftigate.cli import admin, console, gateway, handles_errors, officer

    report_app = typer.Typer(
        help="Oversight reports from the ledger (no FTI): numbers, the annual 6103(p)(3)(C) table.",
        no_args_is_help=True,
    )
    remediate_app = typer.Typer(
        help="Remediate a wrong release with new ledger leaves (nothing is ever deleted).",
        no_args_is_help=True,
    )
    audit_app = typer.Typer(
        help="The audit trail (Publication 1075): list it, purge it after retention.",
        no_args_is_help=True,
    )
    app.add_typer(report_app, name="report")
    app.add_typer(remediate_app, name="remediate")
    app.add_typer(audit_app, name="audit")

    def auditor() -> Any:
        from ftigate.service import Principal

        return Principal.local("auditor")

    # --- reports ------------------------------------------------------------------------

    @report_app.command("oversight")
    @handles_errors
    def report_oversight(
        start: Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD, UTC).")],
        end: Annotated[str, typer.Option("--to", help="Last day, inclusive (YYYY-MM-DD, UTC).")],
        out: Annotated[Path, typer.Option(help="Directory for oversight.json and .html.")],
    ) -> None:
        """Requests, refusals by code, disclosures, reviews, remediations; by month, agreement."""
        from ftigate.service.oversight import write_oversight_report

        report, files = write_oversight_report(
            gateway(), auditor(), parse_day(start, "--from"), parse_day(end, "--to"), out
        )
        t = report.totals
        console.print(
            f"{t.requests} requests: {t.disclosed} disclosed, {t.not_disclosed} not disclosed, "
            f"{t.refused} refused; {t.erroneous_releases} erroneous releases"
        )
        if not report.cross.ok:
            console.print(
                f"[red]cross-check: {report.cross.problem_count} difference(s) between the "
                "ledger and the decisions table[/] (run `ftigate ledger verify`)"
            )
        for f in files:
            console.print(str(f))

    @report_app.command("annual")
    @handles_errors
    def report_annual(
        year: Annotated[int, typer.Option(help="Calendar year (UTC).")],
        out: Annotated[Path, typer.Option(help="File to write: .json, .csv or .html.")],
    ) -> None:
        """The 26 U.S.C. 6103(p)(3)(C) table: Disclosure To/For, subsection, Bulk, Other, Total."""
        from ftigate.service.oversight import write_annual_report

        table = write_annual_report(gateway(), auditor(), year, out)
        total = table.total
        console.print(
            f"{year}: {total.total} records disclosed ({total.bulk} bulk, {total.other} other) "
            f"in {len(table.rows)} row(s)"
        )
        console.print(str(out))

    # --- remediation ----------------------------------------------------------------------

    def said(result: object) -> None:
        from ftigate.service.remediation import RemediationResult

        assert isinstance(result, RemediationResult)
        console.print(f"{result.kind} leaf {result.leaf_index} remediates leaf {result.remediates}")
        for f in result.files:
            console.print(str(f))
        console.print(result.checkpoint, markup=False, highlight=False)

    @remediate_app.command("erroneous-release")
    @handles_errors
    def erroneous_release(
        batch: Batch,
        request: Request,
        reason: Annotated[
            str, typer.Option(help="Why the release was wrong (kept forever; no FTI).")
        ],
        officer_id: Annotated[str, typer.Option("--officer", help="Disclosure officer.")],
        leaf: Leaf = None,
    ) -> None:
        """Record that a disclosure was wrong: an ERRONEOUS_RELEASE leaf and a new checkpoint."""
        from ftigate.service.remediation import mark_erroneous_release

        said(mark_erroneous_release(gateway(), officer(officer_id), batch, request, reason, leaf))

    @remediate_app.command("disposal-notice")
    @handles_errors
    def disposal_notice(
        batch: Batch,
        request: Request,
        officer_id: Annotated[str, typer.Option("--officer", help="Disclosure officer.")],
        out: Annotated[Path, typer.Option(help="Directory for the notice and its .sig.")] = Path(
            "."
        ),
        leaf: Leaf = None,
    ) -> None:
        """Write the recipient's signed disposal notice and append a DISPOSAL_NOTICE leaf."""
        from ftigate.service.remediation import issue_disposal_notice

        said(issue_disposal_notice(gateway(), officer(officer_id), batch, request, out, leaf))

    @remediate_app.command("disposal-ack")
    @handles_errors
    def disposal_ack(
        batch: Batch,
        request: Request,
        ack_file: Annotated[
            Path, typer.Option("--ack-file", help="The recipient's signed acknowledgement.")
        ],
        leaf: Leaf = None,
    ) -> None:
        """Verify the recipient's signed acknowledgement and append a DISPOSAL_ACK leaf."""
        from ftigate.service.remediation import record_disposal_ack

        try:
            data = ack_file.read_bytes()
        except OSError as e:
            raise InputError(f"cannot read {ack_file}: {e.strerror}", file=str(ack_file)) from e
        said(record_disposal_ack(gateway(), admin(), batch, request, data, leaf))

    @remediate_app.command("sign-ack")
    @handles_errors
    def sign_ack(
        notice: Annotated[Path, typer.Option(help="The disposal notice received (JSON).")],
        key: Annotated[Path, typer.Option(help="The signer's private key (PEM, 0600).")],
        signer: Annotated[str, typer.Option(help="Signer name as authorised in the agreement.")],
        out: Annotated[Path, typer.Option(help="Acknowledgement file to write.")],
        statement: Annotated[
            str, typer.Option(help="What was done.")
        ] = "All copies of the information were destroyed.",
    ) -> None:
        """(Recipient side) sign an acknowledgement that the noticed information was destroyed."""
        from ftigate.keys import load_private_key
        from ftigate.service.remediation import build_disposal_ack, sign_disposal_ack

        try:
            notice_bytes = notice.read_bytes()
        except OSError as e:
            raise InputError(f"cannot read {notice}: {e.strerror}", file=str(notice)) from e
        ack = build_disposal_ack(
            notice_bytes, signer=signer, disposed_at=datetime.now(UTC), statement=statement
        )
        out.write_bytes(sign_disposal_ack(ack, load_private_key(key)))
        console.print(str(out))

    @remediate_app.command("status")
    @handles_errors
    def status(batch: Batch, request: Request, leaf: Leaf = None) -> None:
        """Show a disclosure's remediation: erroneous release, notice, acknowledgement (JSON)."""
        from ftigate.service.remediation import remediation_status

        chain = remediation_status(gateway(), auditor(), batch, request, leaf)
        print(json.dumps(chain.to_json(), indent=2, ensure_ascii=False))

    # --- the audit trail ------------------------------------------------------------------

    @audit_app.command("list")
    @handles_errors
    def audit_list(
        since: Annotated[
            str | None, typer.Option(help="From this date or date-time (ISO 8601, UTC).")
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
    ) -> None:
        """Audit events: time, principal, event type, outcome, origin, object (no FTI)."""
        from rich.table import Table

        from ftigate.service.retention import list_audit_events

        moment = parse_moment(since, "--since") if since else None
        events = list_audit_events(gateway(), auditor(), since=moment)
        if as_json:
            for e in events:
                print(json.dumps(e.to_json(), ensure_ascii=False))
            return
        table = Table("time", "principal", "event type", "outcome", "origin", "object", "detail")
        for e in events:
            table.add_row(
                e.time.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
                e.principal,
                e.event_type,
                e.outcome,
                e.origin,
                e.object,
                e.detail or "",
            )
        console.print(table)
        console.print(f"{len(events)} event(s)")

    @audit_app.command("purge")
    @handles_errors
    def audit_purge(
        dry_run: Annotated[bool, typer.Option(help="Count what would go; delete nothing.")] = False,
    ) -> None:
        """Delete audit events older than FTIGATE_AUDIT_RETENTION_DAYS; ledger leaves stay."""
        from ftigate.service.retention import purge_audit_events

        r = purge_audit_events(gateway(), admin(), dry_run=dry_run)
        verb = "would purge" if r.dry_run else "purged"
        console.print(
            f"{verb} {r.purged} audit event(s) before {r.cutoff.isoformat()} "
            f"(retention {r.retention_days} days)"
        )
