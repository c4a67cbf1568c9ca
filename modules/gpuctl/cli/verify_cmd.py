"""`gpuctl verify TARGET`: check hosts against the site spec with testinfra."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..provision.verify import CheckResult, verify
from ..report.junit import host_checks
from .common import emit, format_option, wide
from .provision_cmd import SiteOpt, lab_overlay


class VerifyFormat(StrEnum):
    console = "console"
    json = "json"
    junit = "junit"


def junit(results: list[CheckResult]) -> str:
    return host_checks("gpuctl verify", [(r.host, r.check, r.passed, r.skipped, r.message) for r in results])


def verify_cmd(
    target: Annotated[str, typer.Argument(help="A rack, a node pool, a host, or all.")],
    site: SiteOpt,
    lab: Annotated[bool, typer.Option("--lab", help="Check the running lab's hosts.")] = False,
    kubeconfig: Annotated[
        Path | None,
        typer.Option("--kubeconfig", help="Also check each node through the API: Ready, GPUs, burn-in gate."),
    ] = None,
    format: Annotated[VerifyFormat, format_option()] = VerifyFormat.console,
) -> int:
    """Check hosts against the site spec: exit 0 all passed, 1 any check failed, 2 bad input."""
    results = verify(
        site, target, overlay=lab_overlay() if lab else None, kubeconfig=str(kubeconfig) if kubeconfig else None
    )
    failed = [r for r in results if not r.passed]
    if format == "json":
        emit(json.dumps([vars(r) for r in results], indent=2, allow_nan=False) + "\n", None)
    elif format == "junit":
        emit(junit(results), None)
    else:
        console = Console(highlight=False, width=wide())
        t = Table(title=Text(f"verify {target}: {len(results) - len(failed)} passed, {len(failed)} failed"))
        for col in ("host", "check", "result", "detail"):
            t.add_column(col)
        for r in sorted(results, key=lambda r: (r.passed, r.host, r.check)):
            t.add_row(r.host, r.check, "skip" if r.skipped else "pass" if r.passed else "FAIL", Text(r.message))
        console.print(t)
    return 1 if failed else 0
