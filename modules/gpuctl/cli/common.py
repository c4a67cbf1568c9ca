"""Helpers shared by commands: finding site files, emitting output."""

from __future__ import annotations

from pathlib import Path

import typer

from ..errors import UsageError
from ..fsutil import write_atomic


def site_files(path: Path) -> list[Path]:
    """A site file, or every site.yaml below a directory (sorted, so output is stable)."""
    if path.is_dir():
        files = sorted(path.rglob("site.yaml"))
        if not files:
            raise UsageError(f"{path}: no site.yaml below this directory")
        return files
    if not path.exists():
        raise UsageError(f"{path}: no such file or directory")
    return [path]


def emit(text: str, output: Path | None) -> None:
    if output is None:
        typer.echo(text, nl=False)
    else:
        write_atomic(output, text)


def wide() -> int | None:
    """Tables are wide: outside a terminal use COLUMNS or 120 rather than rich's 80."""
    import os
    import sys

    if sys.stdout.isatty():
        return None
    return int(os.environ.get("COLUMNS", "0") or 0) or 120
