"""Total cost of ownership: cloud vs bare metal vs hybrid, with the decision signals."""

from .compute import break_even_month, curves, monthly, sensitivity, summary
from .decide import decide
from .model import Scenario, Signals

__all__ = ["Scenario", "Signals", "break_even_month", "curves", "decide", "monthly", "sensitivity", "summary"]
