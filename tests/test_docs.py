"""Docs that cannot drift: the CLI reference is generated from the live app."""

from __future__ import annotations

import os
from pathlib import Path

from ftigate.cli_reference import render

DOC = Path(__file__).parents[1] / "docs" / "cli.md"


def test_cli_reference_is_current() -> None:
    text = render()
    if os.environ.get("FTIGATE_UPDATE_GOLDEN"):
        DOC.write_text(text)
    assert DOC.read_text() == text, "run: python -m ftigate.cli_reference > docs/cli.md"


def test_every_command_has_help() -> None:
    sections = render().split("\n#")
    for section in sections[1:]:
        title, _, body = section.partition("\n")
        assert body.strip().split("\n")[0].strip(), f"{title} has no help text"
