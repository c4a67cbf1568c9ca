"""`gpuctl verify TARGET`: check hosts against the site spec with testinfra."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..provision.verify import CheckResult, verify
from .common import emit, format_option, wide
from .provision_cmd import SiteOpt, lab_overlay


class VerifyFormat(StrEnum):
    console = "console"
    json = "json"
    junit = "junit"


def junit(results: list[CheckResult]) -> str:
    suites = ET.Element("testsuites", name="gpuctl verify")
    for host in sorted({r.host for r in results}):
        rows = [r for r in results if r.host == host]
        suite = ET.SubElement(
            suites, "testsuite", name=host, tests=str(len(rows)), failures=str(sum(not r.passed for r in rows))
        )
        for r in rows:
            case = ET.SubElement(suite, "testcase", classname=host, name=r.check)
            if not r.passed:
                ET.SubElement(case, "failure", message=r.message).text = r.message
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def verify_cmd(
    target: Annotated[str, typer.Argument(help="A rack, a node pool, a host, or all.")],
    site: SiteOpt,
    lab: Annotated[bool, typer.Option("--lab", help="Check the running lab's hosts.")] = False,
    format: Annotated[VerifyFormat, format_option()] = VerifyFormat.console,
) -> int:
    """Check hosts against the site spec: exit 0 all passed, 1 any check failed, 2 bad input."""
    results = verify(site, target, overlay=lab_overlay() if lab else None)
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
            t.add_row(r.host, r.check, "pass" if r.passed else "FAIL", Text(r.message))
        console.print(t)
    return 1 if failed else 0
