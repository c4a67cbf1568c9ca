"""The explicit list of rules. Adding a rule means adding it here (and its fixtures under tests/rules)."""

from __future__ import annotations

from . import cooling, facility, k8s, network, observability, power, scaling, security, serving, space, triton, vram
from .base import Rule

RULES: tuple[Rule, ...] = (
    *power.RULES,
    *cooling.RULES,
    *space.RULES,
    *network.RULES,
    *k8s.RULES,
    *vram.RULES,
    *facility.RULES,
    *serving.RULES,
    *scaling.RULES,
    *triton.RULES,
    *security.RULES,
    *observability.RULES,
)


def _index(rules: tuple[Rule, ...]) -> dict[str, Rule]:
    table: dict[str, Rule] = {}
    for r in rules:
        for key in (r.id, r.slug):
            if key in table:
                raise RuntimeError(f"duplicate rule id or slug: {key}")
            table[key] = r
    return table


BY_KEY = _index(RULES)


def lookup(key: str) -> Rule | None:
    """A rule by ID (PWR001) or slug (rack-power-budget)."""
    return BY_KEY.get(key) or BY_KEY.get(key.upper())
