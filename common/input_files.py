"""Reading the line files the CLI tools take (JSON lines, recordings): plain or gzip, a file or stdin.

Bad input is one clear line and a non-zero exit (InputError, a click error), never a traceback: a missing
file, a directory, a truncated or corrupt gzip (naming the file and the last complete line).
"""
from __future__ import annotations

import contextlib
import gzip
import io
import os
import sys
import zlib
from collections.abc import Iterator
from typing import IO

import click

from common.progress import reading

GZIP_MAGIC = b"\x1f\x8b"


class InputError(click.ClickException):
    """Input the command cannot use: printed as `Error: <message>`, exit status 1."""

    exit_code = 1


def open_binary(path: str) -> IO[bytes]:
    """The file opened for reading, or an InputError saying why not."""
    try:
        return open(os.path.expanduser(path), "rb")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, expected a file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


def read_lines(path: str, *, progress: bool = False) -> Iterator[bytes]:
    """Non-blank lines (stripped) of `path` ('-' = stdin), gunzipped when the content is gzip (by magic
    bytes, not by name). With `progress`, a bar of the bytes read is shown when stderr is a terminal."""
    with contextlib.ExitStack() as stack:
        if path == "-":
            raw: IO[bytes] = sys.stdin.buffer
            size = None
        else:
            raw = stack.enter_context(open_binary(path))
            size = os.fstat(raw.fileno()).st_size
        if progress:
            raw = stack.enter_context(reading(raw, size, os.path.basename(path)))
        buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw)  # type: ignore[arg-type]
        gzipped = buffered.peek(2)[:2] == GZIP_MAGIC
        source: IO[bytes] = gzip.GzipFile(fileobj=buffered) if gzipped else buffered
        n = 0
        try:
            for line in source:
                n += 1
                line = line.strip()
                if line:
                    yield line
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            raise InputError(f"{path}: truncated or corrupt gzip after line {n} ({exc})") from None
