"""Render the CLI reference (docs/cli.md) from the live Typer app, so the docs cannot drift.

Regenerate with ``python -m ftigate.cli_reference > docs/cli.md``; a test fails when the
committed file differs from what the app says.
"""

from __future__ import annotations

from typing import Any

import typer

from ftigate.cli import app


def _walk(cmd: Any, path: list[str]) -> list[tuple[list[str], Any]]:
    out = [(path, cmd)]
    if hasattr(cmd, "commands"):
        for name in sorted(cmd.commands):
            out.extend(_walk(cmd.commands[name], [*path, name]))
    return out


def render() -> str:
    root = typer.main.get_command(app)
    lines = [
        "# ftigate command reference",
        "",
        "Generated from the live app by `python -m ftigate.cli_reference`; do not edit.",
        "",
    ]
    for path, cmd in _walk(root, ["ftigate"]):
        ctx = cmd.context_class(cmd, info_name=" ".join(path), terminal_width=100)
        lines.append(f"{'#' * min(len(path) + 1, 4)} `{' '.join(path)}`")
        lines.append("")
        lines.append((cmd.help or "").strip().split("\n\n")[0].strip())
        lines.append("")
        usage = cmd.collect_usage_pieces(ctx)
        lines.append(f"Usage: `{' '.join(path)} {' '.join(usage)}`".rstrip())
        lines.append("")
        params = [p for p in cmd.get_params(ctx) if p.name != "help"]
        if params:
            lines.append("| option | help |")
            lines.append("|---|---|")
            for p in params:
                is_option = getattr(p, "param_type_name", "") == "option"
                names = (
                    ", ".join([*p.opts, *p.secondary_opts])
                    if is_option
                    else (p.metavar or str(p.name).upper())
                )
                help_text = getattr(p, "help", None) or ""
                default = p.default if is_option else None
                if default not in (None, False, "", ()) and not callable(default):
                    help_text = f"{help_text} (default: {default})".strip()
                lines.append(f"| `{names}` | {help_text.replace('|', '/')} |")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    print(render(), end="")
