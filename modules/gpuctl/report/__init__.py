"""Render rule results: console, json, sarif, junit, github. Pure functions from results to text."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from enum import StrEnum

from ..rules import Result


class ReportFormat(StrEnum):
    """The report formats, in the order --help lists them (a str: `FORMATS["json"]` works too)."""

    console = "console"
    json = "json"
    sarif = "sarif"
    junit = "junit"
    github = "github"


def _renderer(module: str) -> Callable[[Sequence[Result]], str]:
    """The `render` of a module of this package, imported on first use: a CI job's `validate -f sarif` or `-f github`
    does not import rich (the console renderer's 45 ms of a 0.7 s run)."""

    def render(results: Sequence[Result]) -> str:
        text: str = importlib.import_module(f"{__name__}.{module}").render(results)
        return text

    return render


FORMATS: dict[str, Callable[[Sequence[Result]], str]] = {
    ReportFormat.console: _renderer("console"),
    ReportFormat.json: _renderer("jsonout"),
    ReportFormat.sarif: _renderer("sarif"),
    ReportFormat.junit: _renderer("junit"),
    ReportFormat.github: _renderer("github"),
}

__all__ = ["FORMATS", "ReportFormat"]
