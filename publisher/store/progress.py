"""A rich progress bar over chunks of rows, shown only on a terminal."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def progress_iter(chunks: Iterator[list[Any]], total: int | None, label: str, enabled: bool) -> Iterator[list[Any]]:
    """Chunks, with a rich progress bar (rows) when `enabled` (a TTY)."""
    if not enabled:
        yield from chunks
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), transient=True) as bar:
        task = bar.add_task(label, total=total)
        for chunk in chunks:
            yield chunk
            bar.advance(task, len(chunk))
