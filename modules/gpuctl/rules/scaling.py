"""Serving scale rules: what the spec's replica counts mean once KEDA owns the replica count."""

from __future__ import annotations

from collections.abc import Iterator

from ..model import Site
from . import paths
from .base import Hit, Severity, rule


@rule(
    "SRV030",
    "autoscaling-replicas-in-bounds",
    Severity.ERROR,
    "With autoscaling, `replicas` (the steady count plans and capacity rules use) must lie within min/max_replicas.",
    "Set replicas between autoscaling.min_replicas and autoscaling.max_replicas, or widen the bounds.",
    sources=("KEDA scaling deployments: https://keda.sh/docs/2.20/concepts/scaling-deployments/",),
)
def autoscaling_replicas_in_bounds(site: Site) -> Iterator[Hit]:
    """KEDA's HPA owns the replica count between min and max, so the rendered workload carries no
    `spec.replicas` (a re-apply would reset a scaled-out Deployment mid-peak). The spec's `replicas` stays the
    steady count the plan, the GPU budget and telemetry read; outside the bounds KEDA never runs it."""
    for dep in site.deployments:
        scaling = dep.autoscaling
        if scaling is None or scaling.min_replicas <= dep.replicas <= scaling.max_replicas:
            continue
        yield Hit(
            paths.deployment(dep),
            f"replicas {dep.replicas} outside autoscaling bounds {scaling.min_replicas}..{scaling.max_replicas}: "
            "KEDA never runs that count",
            "replicas",
        )


RULES = (autoscaling_replicas_in_bounds,)
