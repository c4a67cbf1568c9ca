"""Small PromQL builders shared by the rules and the dashboards."""

from __future__ import annotations

from ...engines import Metric


def selector(metric: Metric, suffix: str = "", **labels: str) -> str:
    """`name<suffix>{fixed labels, labels}`; label values are spec names (patterns forbid quotes)."""
    pairs = [*metric.labels, *sorted(labels.items())]
    inner = ",".join(f'{k}="{v}"' for k, v in pairs)
    return f"{metric.name}{suffix}{{{inner}}}" if inner else f"{metric.name}{suffix}"


def le_matcher(edge: float) -> str:
    """Matches a bucket's `le` whichever way the client formatted the edge: Python's prometheus_client writes
    1.0 as "1.0", Go clients as "1", and Prometheus 3 normalises to "1.0"."""
    if float(edge).is_integer():
        return f'le=~"{int(edge)}(\\\\.0+)?"'
    return f'le="{float(edge)!r}"'


def edge_at_or_below(buckets: tuple[float, ...], threshold: float) -> float:
    """The bucket edge the burn-rate rules count against: the largest edge ≤ threshold (they then alert a little
    early, never late); the smallest edge when the threshold is below every edge."""
    below = [b for b in buckets if b <= threshold]
    return below[-1] if below else buckets[0]


def edges_around(buckets: tuple[float, ...], threshold: float) -> tuple[float | None, float | None]:
    lower = max((b for b in buckets if b < threshold), default=None)
    upper = min((b for b in buckets if b > threshold), default=None)
    return lower, upper
