"""``ftigate serve`` and ``ftigate account ...``: thin wrappers over the API and account use cases.

Mount with ``cli_api.register(app)`` from ``ftigate.cli``. A new account's token is printed once,
alone on stdout (so a script can capture it); it is stored only as its SHA-256.
"""

from __future__ import annotations

from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add ``serve`` and the ``account`` sub-app to the ``ftigate`` command."""
    from ftigate.cli import STATE, admin, console, err_console, gateway, handles_errors

    account_app = typer.Typer(
        help="API accounts: create, list, disable, rotate tokens.", no_args_is_help=True
    )
    app.add_typer(account_app, name="account")

    @app.command("serve")
    @handles_errors
    def serve(
        host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
        access_log: Annotated[
            bool, typer.Option(help="Log each request line (method, path, status; no bodies).")
        ] = True,
    ) -> None:
        """Run the HTTP API and the officers' review page (uvicorn). Put TLS in front of it."""
        import uvicorn

        # The CLI and the API are separate edges (import-linter), so uvicorn imports the app
        # factory by name, as any ASGI server would, and the app reads its settings from
        # FTIGATE_* - here the ones this command resolved (options over environment).
        STATE.settings.export_to_environment()
        console.print(f"ftigate API on http://{host}:{port} (review page: /review)")
        uvicorn.run(
            "ftigate.api:create_app",
            factory=True,
            host=host,
            port=port,
            access_log=access_log,
            server_header=False,
            proxy_headers=False,
            log_level=STATE.settings.log_level.lower(),
        )

    @account_app.command("create")
    @handles_errors
    def account_create(
        name: Annotated[str, typer.Argument(help="Account name (the audit trail's principal).")],
        role: Annotated[str, typer.Option(help="requester | officer | auditor | admin")],
        agency: Annotated[
            str | None,
            typer.Option(
                help="Requesters only: the requesting agency exactly as the agreement names it."
            ),
        ] = None,
    ) -> None:
        """Create an account and print its API token (shown once; keep it secret)."""
        from ftigate.service.accounts import create_account, requesting_agencies

        gw = gateway()
        account, token = create_account(gw, name, role, agency, admin())
        err_console.print(
            f"created {account.role} account {account.name}"
            + (f" for {account.agency}" if account.agency else "")
            + "; its token follows, shown only this once"
        )
        if account.agency:
            known = requesting_agencies(gw)
            if account.agency not in known:
                err_console.print(
                    "[yellow]warning[/] no stored agreement names this requesting agency; "
                    "known: " + ("; ".join(known) or "none"),
                    markup=True,
                    highlight=False,
                )
        print(token)

    @account_app.command("list")
    @handles_errors
    def account_list() -> None:
        """List accounts (never their tokens)."""
        from rich.table import Table

        from ftigate.service.accounts import list_accounts

        table = Table("name", "role", "agency", "state", "created", "by")
        for a in list_accounts(gateway(), admin()):
            table.add_row(
                a.name,
                a.role,
                a.agency or "",
                "disabled" if a.disabled else "active",
                a.created_at.strftime("%Y-%m-%d %H:%M"),
                a.created_by,
            )
        console.print(table)

    @account_app.command("disable")
    @handles_errors
    def account_disable(name: Annotated[str, typer.Argument(help="Account name.")]) -> None:
        """Disable an account at once; its token stops working. Accounts are never deleted."""
        from ftigate.service.accounts import disable_account

        disable_account(gateway(), name, admin())
        console.print(f"account {name} disabled")

    @account_app.command("rotate-token")
    @handles_errors
    def account_rotate(name: Annotated[str, typer.Argument(help="Account name.")]) -> None:
        """Replace an account's token (lost or leaked); prints the new one, shown once."""
        from ftigate.service.accounts import rotate_token

        token = rotate_token(gateway(), name, admin())
        err_console.print(f"new token for {name}; the old one no longer works")
        print(token)
