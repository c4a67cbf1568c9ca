"""Run rules over a loaded site: findings with locations, suppressions applied."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..errors import Problem, SpecError
from ..loader import LoadedSite
from .base import Finding, Rule, Severity
from .registry import RULES, lookup


@dataclass
class Result:
    file: str
    site: str
    findings: list[Finding] = field(default_factory=list)
    suppressed: list[Finding] = field(default_factory=list)
    rules_run: tuple[Rule, ...] = ()

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    def failed(self, strict: bool = False) -> bool:
        return any(f.severity == Severity.ERROR or (strict and f.severity == Severity.WARNING) for f in self.findings)


def check_suppressions(loaded: LoadedSite) -> None:
    """Unknown rule names in suppressions are spec errors (exit 2), not silently ignored."""
    problems = []
    for i, sup in enumerate(loaded.site.suppressions):
        if lookup(sup.rule) is None:
            pos = loaded.locator.position(("suppressions", i, "rule"))
            problems.append(
                Problem(
                    f"unknown rule '{sup.rule}'",
                    file=loaded.file,
                    line=pos.line if pos else None,
                    column=pos.column if pos else None,
                    path=f"suppressions[{i}].rule",
                    hint="`gpuctl rules` lists IDs and slugs",
                )
            )
    if problems:
        raise SpecError("invalid suppressions", problems)


def evaluate(loaded: LoadedSite, rules: Iterable[Rule] = RULES) -> Result:
    check_suppressions(loaded)
    rules = tuple(rules)
    site = loaded.site
    result = Result(file=loaded.file, site=site.name, rules_run=rules)
    sups = [(lookup(s.rule), s) for s in site.suppressions]
    for r in rules:
        for hit in r.check(site):
            where = loaded.position(f"{hit.target}.{hit.field}" if hit.field else hit.target)
            finding = Finding(
                rule_id=r.id,
                slug=r.slug,
                severity=r.severity,
                target=hit.target,
                message=hit.message,
                file=loaded.file,
                line=where.line if where else None,
                column=where.column if where else None,
            )
            reason = next((s.reason for rr, s in sups if rr is r and _target_matches(s.target, hit.target)), None)
            if reason is None:
                result.findings.append(finding)
            else:
                result.suppressed.append(dataclasses.replace(finding, suppressed_by=reason))
    result.findings.sort(key=lambda f: (f.line or 0, f.severity.rank, f.rule_id))
    return result


def _target_matches(pattern: str, target: str) -> bool:
    """Shell-style `*` and `?`; brackets are literal because every target path contains them."""
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(regex, target) is not None
