"""What a rule is, and what it produces.

A rule is a small named unit: stable ID, slug, severity, one-line summary, remediation sentence, and
a check that yields hits for a `Site`. Rules know nothing of files or output formats; the engine
attaches locations and suppressions, the report package renders.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from ..model import Site


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 0, "warning": 1, "info": 2}[self.value]


@dataclass(frozen=True)
class Hit:
    """One problem a check found: what (target path), why (with the arithmetic), where to point."""

    target: str
    message: str
    field: str | None = None  # sub-key of target the YAML location should point at


Check = Callable[[Site], Iterable[Hit]]


@dataclass(frozen=True)
class Rule:
    id: str
    slug: str
    severity: Severity
    summary: str
    remediation: str
    family: str
    check: Check = field(repr=False, compare=False)
    sources: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.remediation.endswith("."):
            raise ValueError(f"{self.id}: remediation must be a sentence ending in a period")

    @property
    def doc(self) -> str:
        return (self.check.__doc__ or "").strip()


def rule(
    id: str,
    slug: str,
    severity: Severity,
    summary: str,
    remediation: str,
    sources: tuple[str, ...] = (),
) -> Callable[[Check], Rule]:
    """Turn a check function into a `Rule`. Registers nothing: the registry lists rules explicitly."""

    def wrap(check: Check) -> Rule:
        family = check.__module__.rsplit(".", 1)[-1]
        return Rule(id, slug, severity, summary, remediation, family, check, sources)

    return wrap


@dataclass(frozen=True)
class Finding:
    rule_id: str
    slug: str
    severity: Severity
    target: str
    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    suppressed_by: str | None = None  # the suppression's reason

    def as_dict(self) -> dict[str, object]:
        return {
            "rule": self.rule_id,
            "slug": self.slug,
            "severity": self.severity.value,
            "target": self.target,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "column": self.column,
        }
