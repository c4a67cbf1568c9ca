"""Render rule results: console, json, sarif, junit, github. Pure functions from results to text."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..rules import Result
from . import console, github, jsonout, junit, sarif

FORMATS: dict[str, Callable[[Sequence[Result]], str]] = {
    "console": console.render,
    "json": jsonout.render,
    "sarif": sarif.render,
    "junit": junit.render,
    "github": github.render,
}

__all__ = ["FORMATS"]
