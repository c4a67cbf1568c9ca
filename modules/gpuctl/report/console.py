"""Human output: findings grouped by rack (or by pool/deployment), then a one-line summary per site."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from ..rules import Finding, Result, Severity

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def _group(f: Finding) -> str:
    head = f.target.split(".", 1)[0]
    return head


def render(results: Sequence[Result]) -> str:
    buf = io.StringIO()
    width = int(os.environ.get("COLUMNS", "0") or 0) or 120
    console = Console(file=buf, width=width, force_terminal=False, no_color=True, highlight=False)
    for res in results:
        if res.findings:
            table = Table(title=f"{res.site} — {res.file}", show_lines=False, expand=False)
            for col in ("group", "severity", "rule", "target", "finding", "line"):
                table.add_column(col, overflow="fold")
            for f in sorted(res.findings, key=lambda f: (_group(f), f.severity.rank, f.line or 0)):
                table.add_row(
                    _group(f), f.severity.value, f"{f.rule_id} {f.slug}", f.target.split(".", 1)[-1]
                    if "." in f.target else f.target, f.message, f"{f.line}:{f.column}" if f.line else "",
                )
            console.print(table)
        summary = (
            f"{res.site}: {res.count(Severity.ERROR)} error(s), {res.count(Severity.WARNING)} warning(s), "
            f"{res.count(Severity.INFO)} info, {len(res.suppressed)} suppressed — {len(res.rules_run)} rules"
        )
        console.print(summary)
    return buf.getvalue()
