"""Render rule results: console, json, sarif, junit, github. Pure functions from results to text."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import StrEnum

from ..rules import Result
from . import console, github, jsonout, junit, sarif


class ReportFormat(StrEnum):
    """The report formats, in the order --help lists them (a str: `FORMATS["json"]` works too)."""

    console = "console"
    json = "json"
    sarif = "sarif"
    junit = "junit"
    github = "github"


FORMATS: dict[str, Callable[[Sequence[Result]], str]] = {
    ReportFormat.console: console.render,
    ReportFormat.json: jsonout.render,
    ReportFormat.sarif: sarif.render,
    ReportFormat.junit: junit.render,
    ReportFormat.github: github.render,
}

__all__ = ["FORMATS", "ReportFormat"]
