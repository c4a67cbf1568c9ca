"""CrossGuard policies: the same pre-flight rules, run on the resource graph (`pulumi preview --policy-pack`).

One stack policy per registered rule, built from the registry: errors are mandatory, warnings and info
advisory. Each reads the validated spec the `gpuctl:dc:Site` component carries and runs the rule code
itself, so nothing here re-implements a check. Importing this module starts nothing; `policy/__main__.py`
builds the PolicyPack (which blocks serving gRPC).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pulumi_policy import EnforcementLevel, StackValidationArgs, StackValidationPolicy

from ..errors import GpuctlError
from ..loader import load_site_text
from ..rules import RULES, Finding, Rule, Severity, evaluate

SITE_TYPE = "gpuctl:dc:Site"
_LEVEL = {
    Severity.ERROR: EnforcementLevel.MANDATORY,
    Severity.WARNING: EnforcementLevel.ADVISORY,
    Severity.INFO: EnforcementLevel.ADVISORY,
}


def findings_for_stack(args: StackValidationArgs) -> list[Finding] | str:
    """Every finding for every site in the stack, or a message when a spec cannot be read."""
    out: list[Finding] = []
    for res in args.resources:
        if res.resource_type != SITE_TYPE:
            continue
        spec: Any = res.props.get("spec")
        if not isinstance(spec, dict):
            return f"{res.name}: the {SITE_TYPE} resource carries no spec"
        try:
            loaded = load_site_text(json.dumps(spec), f"{res.name} (stack resource)")
        except GpuctlError as exc:
            return f"{res.name}: {exc.render()}"
        out += evaluate(loaded).findings
    return out


def _validator(rule: Rule) -> Callable[[StackValidationArgs, Callable[..., None]], None]:
    def validate(args: StackValidationArgs, report_violation: Callable[..., None]) -> None:
        found = findings_for_stack(args)
        if isinstance(found, str):
            if rule is RULES[0]:  # report an unreadable spec once, not once per rule
                report_violation(found, None)
            return
        for f in found:
            if f.rule_id == rule.id:
                report_violation(f"{f.target}: {f.message}. {rule.remediation}", None)

    return validate


def policies() -> list[StackValidationPolicy]:
    return [
        StackValidationPolicy(
            name=r.slug,
            description=f"{r.id}: {r.summary}",
            validate=_validator(r),
            enforcement_level=_LEVEL[r.severity],
            remediation_steps=r.remediation,
        )
        for r in RULES
    ]
