"""Human output: findings grouped by rack (or by pool/deployment), then a one-line summary per site."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..rules import Finding, Result, Severity

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def _group(f: Finding) -> str:
    """The rack, pool or deployment a finding belongs to: `racks[rack-a]` of a longer target."""
    end = f.target.find("]")
    return f.target[: end + 1] if end > 0 else f.target


def render(results: Sequence[Result]) -> str:
    buf = io.StringIO()
    width = int(os.environ.get("COLUMNS", "0") or 0) or 120
    console = Console(file=buf, width=width, force_terminal=False, no_color=True, highlight=False)
    for res in results:
        if res.findings:
            table = Table(title=Text(f"{res.site} — {res.file}"), show_lines=False, expand=False)
            table.add_column("group", no_wrap=True)
            table.add_column("severity", no_wrap=True)
            table.add_column("rule", no_wrap=True)
            table.add_column("target", overflow="fold", ratio=1)
            table.add_column("finding", overflow="fold", ratio=3)
            table.add_column("line", no_wrap=True)
            for f in sorted(res.findings, key=lambda f: (_group(f), f.severity.rank, f.line or 0)):
                group = _group(f)
                rest = f.target[len(group) + 1 :] if len(f.target) > len(group) else ""
                cells = (
                    group,
                    f.severity.value,
                    f"{f.rule_id} {f.slug}",
                    rest or "(itself)",
                    f.message,
                    f"{f.line}:{f.column}" if f.line else "",
                )
                table.add_row(*(Text(c) for c in cells))
            console.print(table)
        summary = (
            f"{res.site}: {res.count(Severity.ERROR)} error(s), {res.count(Severity.WARNING)} warning(s), "
            f"{res.count(Severity.INFO)} info, {len(res.suppressed)} suppressed — {len(res.rules_run)} rules"
        )
        console.print(Text(summary))
    return buf.getvalue()
