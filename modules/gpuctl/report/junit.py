"""JUnit XML: one test case per rule × target, so CI dashboards show what failed and where."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from ..rules import Result, Severity


def render(results: Sequence[Result]) -> str:
    suites = ET.Element("testsuites", name="gpuctl validate")
    for res in results:
        failures = sum(1 for f in res.findings if f.severity == Severity.ERROR)
        suite = ET.SubElement(suites, "testsuite", name=f"{res.site} ({res.file})")
        cases = 0
        failing = {f.rule_id for f in res.findings}
        for f in res.findings:
            cases += 1
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"{res.site}.{f.rule_id}.{f.slug}",
                name=f.target,
                file=f.file or "",
                line=str(f.line or 0),
            )
            where = f"{f.file}:{f.line}:{f.column}"
            if f.severity == Severity.ERROR:
                ET.SubElement(case, "failure", message=f.message, type=f.slug).text = f"{where}\n{f.message}"
            else:
                ET.SubElement(case, "system-out").text = f"{f.severity.value}: {where}: {f.message}"
        for f in res.suppressed:
            cases += 1
            case = ET.SubElement(suite, "testcase", classname=f"{res.site}.{f.rule_id}.{f.slug}", name=f.target)
            ET.SubElement(case, "skipped", message=f"suppressed: {f.suppressed_by}")
        for r in res.rules_run:
            if r.id not in failing:
                cases += 1
                ET.SubElement(suite, "testcase", classname=f"{res.site}.{r.id}.{r.slug}", name=res.site)
        suite.set("tests", str(cases))
        suite.set("failures", str(failures))
        suite.set("skipped", str(len(res.suppressed)))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def host_checks(title: str, rows: Sequence[tuple[str, str, bool, bool, str]]) -> str:
    """Live checks (`gpuctl verify`, `gpuctl burnin`): a suite per host, a case per (host, check, passed,
    skipped, message); a failed check is a failure, a skipped one says why."""
    suites = ET.Element("testsuites", name=title)
    for host in sorted({r[0] for r in rows}):
        mine = [r for r in rows if r[0] == host]
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=host,
            tests=str(len(mine)),
            failures=str(sum(not passed and not skipped for _, _, passed, skipped, _ in mine)),
            skipped=str(sum(skipped for *_, skipped, _ in mine)),
        )
        for _, check, passed, skipped, message in mine:
            case = ET.SubElement(suite, "testcase", classname=host, name=check)
            if skipped:
                ET.SubElement(case, "skipped", message=message)
            elif not passed:
                ET.SubElement(case, "failure", message=message).text = message
            else:
                ET.SubElement(case, "system-out").text = message
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
