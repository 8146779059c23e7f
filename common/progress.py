"""Progress for long commands (rich), shown only when stderr is a terminal: pipes and logs stay clean."""
from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import IO

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def enabled(stream: IO[str] | None = None) -> bool:
    stream = sys.stderr if stream is None else stream
    return bool(getattr(stream, "isatty", lambda: False)())


def _progress(*columns: object) -> Progress:
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), *columns, TimeElapsedColumn(),
                    console=Console(stderr=True), transient=True)


@contextlib.contextmanager
def steps(description: str, total: float | None = None) -> Iterator[Callable[..., None]]:
    """`with steps("scenarios", 5) as advance: ... advance(); advance(description="calm")`: a bar on a TTY,
    nothing otherwise (`advance` is then a no-op)."""
    if not enabled():
        yield lambda *_a, **_k: None
        return
    with _progress(BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()) as prog:
        task = prog.add_task(description, total=total)

        def advance(n: float = 1, description: str | None = None) -> None:
            prog.update(task, advance=n, **({"description": description} if description else {}))
        yield advance


@contextlib.contextmanager
def reading(fh: IO[bytes], total: int | None, description: str) -> Iterator[IO[bytes]]:
    """`fh` wrapped so reading it advances a bytes bar (of the file on disk, compressed or not) on a TTY."""
    if not enabled() or not total:
        yield fh
        return
    with _progress(BarColumn(), DownloadColumn(), TimeRemainingColumn()) as prog:
        yield prog.wrap_file(fh, total=total, description=description)
