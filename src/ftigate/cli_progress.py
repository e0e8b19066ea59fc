"""A Rich progress bar for long steps, driven by ``(stage, fraction)`` callbacks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn


@contextmanager
def progress_bar(title: str) -> Iterator[Callable[[str, float], None]]:
    """Yields ``update(stage, fraction)``; fraction in [0, 1] across the whole job."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        transient=False,
    ) as progress:
        task = progress.add_task(title, total=1.0)

        def update(stage: str, fraction: float) -> None:
            progress.update(
                task, description=f"{title}: {stage}", completed=max(0.0, min(1.0, fraction))
            )

        yield update
        progress.update(task, completed=1.0)
