"""One exception root for everything gpuctl raises on purpose.

The CLI maps every `GpuctlError` to a clear message and its `exit_code`; anything else is a bug and
only shows a traceback with GPUCTL_DEBUG=1.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file, pointing at where it is."""

    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    path: str | None = None  # e.g. racks[rack-a].servers[gpu-a03].nics[nic0]
    hint: str | None = None

    def render(self) -> str:
        where = self.file or "<input>"
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        text = f"{where}: "
        if self.path:
            text += f"{self.path}: "
        text += self.message
        if self.hint:
            text += f" ({self.hint})"
        return text


class GpuctlError(Exception):
    """Root of gpuctl's own errors. `exit_code` is what the CLI exits with."""

    exit_code = 2

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.problems = problems or []

    def render(self) -> str:
        if not self.problems:
            return self.message
        return "\n".join(p.render() for p in self.problems)


class SpecError(GpuctlError):
    """The site spec cannot be read or does not describe a valid site (bad YAML, types, references)."""


class CatalogError(GpuctlError):
    """A hardware catalog file is malformed (a bug in gpuctl's data or a site's catalog extension)."""


class UsageError(GpuctlError):
    """The command line asks for something that cannot be done (missing path, unknown format)."""
