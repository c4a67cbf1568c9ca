"""GitHub Actions workflow commands: annotations on the exact YAML line of the pull request."""

from __future__ import annotations

from collections.abc import Sequence

from ..rules import Result, Severity

_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render(results: Sequence[Result]) -> str:
    lines = []
    for res in results:
        for f in res.findings:
            props = [f"file={_escape_property(f.file or '')}"]
            if f.line:
                props.append(f"line={f.line}")
            if f.column:
                props.append(f"col={f.column}")
            props.append(f"title={_escape_property(f'{f.rule_id} {f.slug}')}")
            lines.append(f"::{_COMMAND[f.severity]} {','.join(props)}::{_escape_data(f'{f.target}: {f.message}')}")
    return "\n".join(lines) + ("\n" if lines else "")
