"""Helpers shared by commands: finding site files, emitting output, options that write files, the output formats
option, and the check that a command's extra is installed."""

from __future__ import annotations

from enum import StrEnum
from importlib.util import find_spec
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import UsageError
from ..fsutil import write_atomic
from ..loader import LoadedSite, load_site
from ..report import FORMATS
from ..rules import Result, evaluate

# What each extra of pyproject.toml's [project.optional-dependencies] installs, by import name (a test keeps the two
# in step). `pip install gpuctl` alone runs validate, plan, rules, vram and tco without --chart.
EXTRAS: dict[str, tuple[str, ...]] = {
    "provision": ("ansible", "ansible_runner", "ansible_mitogen", "testinfra", "kubernetes"),
    "pulumi": ("pulumi", "pulumi_kubernetes", "pulumi_command", "pulumi_policy"),
    "tco": ("matplotlib",),
    "report": ("jinja2", "matplotlib"),
    "pki": ("cryptography",),
}


def missing_extra_message(extra: str, what: str) -> str:
    return f"{what} needs the {extra} extra: pip install 'gpuctl[{extra}]'"


def require_extra(extra: str, what: str) -> None:
    """Exit 2 with the pip command to run when a module of the extra is not installed (`what` names the command,
    e.g. "gpuctl provision" or "gpuctl tco --chart"). Looks the modules up without importing them."""
    if any(find_spec(module) is None for module in EXTRAS[extra]):
        raise UsageError(missing_extra_message(extra, what))


def extra_of(module: str) -> str | None:
    """The extra that installs a module (by its dotted name), if any."""
    top = module.partition(".")[0]
    return next((extra for extra, modules in EXTRAS.items() if top in modules), None)


class ConsoleJson(StrEnum):
    """The formats of a command that reports to people (console) or to tools (json)."""

    console = "console"
    json = "json"


def format_option(help: str = "Output format.", envvar: str | None = None) -> Any:
    """The `--format/-f` option of a command; annotate it with the command's StrEnum of formats, e.g.
    `format: Annotated[ConsoleJson, format_option()] = ConsoleJson.console`. Typer lists the choices in --help and
    refuses any other value with exit 2 (`Invalid value for '--format' / '-f': 'x' is not one of ...`)."""
    return typer.Option("--format", "-f", envvar=envvar, help=help)


MkdirOpt = Annotated[
    bool, typer.Option("--mkdir", help="Create the output file's missing directories (else a missing one is an error).")
]


def load_valid_site(path: Path, doing: str) -> tuple[LoadedSite, Result] | None:
    """Load and validate a site; with errors, print the findings to stderr, say the command stopped before
    `doing` (e.g. "rendering") and return None: the caller exits 1, as provision and the Pulumi program do."""
    loaded = load_site(path)
    result = evaluate(loaded)
    if result.failed():
        typer.echo(FORMATS["console"]([result]), err=True, nl=False)
        typer.echo(f"{path}: validation failed; fix the errors above before {doing}", err=True)
        return None
    return loaded, result


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
