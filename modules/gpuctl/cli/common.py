"""Helpers shared by commands: finding site files, emitting output, options that write files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import UsageError
from ..fsutil import write_atomic

MkdirOpt = Annotated[
    bool, typer.Option("--mkdir", help="Create the output file's missing directories (else a missing one is an error).")
]


def site_files(path: Path) -> list[Path]:
    """A site file, or every site.yaml below a directory (sorted, so output is stable)."""
    try:
        if path.is_dir():
            files = sorted(path.rglob("site.yaml"))
            if not files:
                raise UsageError(f"{path}: no site.yaml below this directory")
            return files
        if not path.exists():
            raise UsageError(f"{path}: no such file or directory")
    except OSError as exc:  # a name too long, a loop of links, no permission to search a directory
        raise UsageError(f"{path}: {exc.strerror or exc}") from None
    return [path]


def emit(text: str, output: Path | None, mkdir: bool = False) -> None:
    """Print, or write a file atomically (see `write_atomic`: never a device, a directory or half a file)."""
    if output is None:
        typer.echo(text, nl=False)
    else:
        write_atomic(output, text, parents=mkdir, what="report file")


def wide() -> int | None:
    """Tables are wide: outside a terminal use COLUMNS or 120 rather than rich's 80."""
    import os
    import sys

    if sys.stdout.isatty():
        return None
    return int(os.environ.get("COLUMNS", "0") or 0) or 120
