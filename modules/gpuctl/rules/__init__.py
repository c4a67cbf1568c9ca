"""Pre-flight rules: small named units with IDs, evaluated by the engine."""

from .base import Finding, Hit, Rule, Severity, rule
from .engine import Result, evaluate
from .registry import RULES, lookup

__all__ = ["RULES", "Finding", "Hit", "Result", "Rule", "Severity", "evaluate", "lookup", "rule"]
