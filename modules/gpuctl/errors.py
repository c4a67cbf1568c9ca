"""One exception root for everything gpuctl raises on purpose.

The CLI maps every `GpuctlError` to a clear message and its `exit_code`; anything else is a bug and
only shows a traceback with GPUCTL_DEBUG=1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# C0/C1 controls, line and paragraph separators, bidirectional overrides, BOM: shown escaped, never sent to a
# terminal raw (an escape sequence in a file or directory name could rewrite the screen; a newline would forge a
# second message).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")


def printable(text: str) -> str:
    """Text safe for one line of a terminal: control and invisible characters as Python escapes."""
    return _UNPRINTABLE.sub(lambda m: repr(m.group())[1:-1], text)


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
        return printable(text)


class GpuctlError(Exception):
    """Root of gpuctl's own errors. `exit_code` is what the CLI exits with."""

    exit_code = 2

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.problems = problems or []

    def render(self) -> str:
        if not self.problems:
            return "\n".join(printable(line) for line in self.message.split("\n"))
        return "\n".join(p.render() for p in self.problems)


class SpecError(GpuctlError):
    """The site spec cannot be read or does not describe a valid site (bad YAML, types, references)."""


class CatalogError(GpuctlError):
    """A hardware catalog file is malformed (a bug in gpuctl's data or a site's catalog extension)."""


class InternalError(GpuctlError):
    """gpuctl produced something invalid (a manifest its own schemas reject): a bug to report, exit 70."""

    exit_code = 70


class UsageError(GpuctlError):
    """The command line asks for something that cannot be done (missing path, unknown format)."""
