"""`gpuctl burnin TARGET`: DCGM diagnostic and NCCL all-reduce per node; only passing nodes may serve."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..provision.burnin import Verdict, as_json, burnin
from ..report.junit import host_checks
from .common import emit, format_option, wide
from .provision_cmd import SiteOpt, lab_overlay


class BurninFormat(StrEnum):
    console = "console"
    json = "json"
    junit = "junit"


def junit(verdicts: list[Verdict]) -> str:
    return host_checks(
        "gpuctl burnin", [(v.host, c.name, c.passed, c.skipped, c.message) for v in verdicts for c in v.checks]
    )


def burnin_cmd(
    target: Annotated[str, typer.Argument(help="A rack, a node pool, a host, or all.")],
    site: SiteOpt,
    lab: Annotated[bool, typer.Option("--lab", help="Burn in the running lab's hosts.")] = False,
    kubeconfig: Annotated[
        Path | None,
        typer.Option("--kubeconfig", help="Label and uncordon passing nodes, cordon and annotate failing ones."),
    ] = None,
    new_hardware: Annotated[
        bool, typer.Option("--new-hardware", help="Run the new-hardware diagnostic level on every node.")
    ] = False,
    json_file: Annotated[Path | None, typer.Option("--json", help="Also write the results as JSON here.")] = None,
    junit_file: Annotated[Path | None, typer.Option("--junit", help="Also write the results as JUnit here.")] = None,
    format: Annotated[BurninFormat, format_option()] = BurninFormat.console,
) -> int:
    """Burn in nodes: exit 0 all passed, 1 any node failed, 2 bad input."""
    verdicts, elapsed = burnin(
        site,
        target,
        overlay=lab_overlay() if lab else None,
        kubeconfig=str(kubeconfig) if kubeconfig else None,
        new_hardware=new_hardware,
    )
    if json_file:
        emit(as_json(verdicts, elapsed), json_file)
    if junit_file:
        emit(junit(verdicts), junit_file)
    if format == "json":
        emit(as_json(verdicts, elapsed), None)
    elif format == "junit":
        emit(junit(verdicts), None)
    else:
        failed = [v for v in verdicts if not v.passed]
        console = Console(highlight=False, width=wide())
        t = Table(title=Text(f"burnin {target}: {len(verdicts) - len(failed)} passed, {len(failed)} failed"))
        for col in ("node", "verdict", "diag level", "seconds", "node state", "why"):
            t.add_column(col)
        for v in sorted(verdicts, key=lambda v: (v.passed, v.host)):
            why = v.reason or "; ".join(c.message for c in v.checks)
            t.add_row(
                v.host, "pass" if v.passed else "FAIL", str(v.diag_level), f"{v.elapsed_s:.1f}", v.node, Text(why)
            )
        console.print(t)
    return 0 if all(v.passed for v in verdicts) else 1
