"""`gpuctl validate`: pre-flight checks of one site file or a directory of sites."""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path
from typing import Annotated

import typer

from ..loader import LoadedSite, load_site
from ..loader.pki import store_dir
from ..report import FORMATS, ReportFormat
from ..rules import Result, evaluate
from . import env
from .common import MkdirOpt, emit, format_option, missing_extra_message, site_files

FormatOpt = Annotated[ReportFormat, format_option("Report format.", envvar=env.FORMAT)]


def validate(
    path: Annotated[Path, typer.Argument(help="A site.yaml, or a directory searched for site.yaml files.")],
    format: FormatOpt = ReportFormat.console,
    strict: Annotated[bool, typer.Option("--strict", envvar=env.STRICT, help="Warnings fail too.")] = False,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write the report to this file: atomically, through a symlink, keeping the file's mode; "
            "never over a directory or a device.",
        ),
    ] = None,
    mkdir: MkdirOpt = False,
) -> int:
    """Check power, cooling, space, weight, network and scheduling before anything is racked.

    Exit 0: clean (warnings allowed unless --strict); 1: error findings; 2: the spec cannot be read.
    """
    render = FORMATS[format]
    loaded = [load_site(f) for f in site_files(path)]
    results: list[Result] = [evaluate(site) for site in loaded]
    emit(render(results), output, mkdir)
    for site in loaded:
        _certificate_warnings(site)
    return 1 if any(r.failed(strict) for r in results) else 0


def _certificate_warnings(loaded: LoadedSite) -> None:
    """Certificate expiry is judged by rules SEC009/SEC010 from what the loader read of the site's store; without
    `cryptography` the loader cannot read it, and this says so on stderr (the report on stdout keeps its format)."""
    store = store_dir(loaded.file)
    if (store / "ca" / "ca.crt").is_file() and find_spec("cryptography") is None:
        typer.echo(f"warning: {store}: certificates not checked: {missing_extra_message('pki', 'expiry')}", err=True)
