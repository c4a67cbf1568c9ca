"""Autoscaling: a KEDA ScaledObject per autoscaled deployment, on the engine's queue at its saturation point, and a
PriorityClass per priority so a pool whose maxima overlap knows who yields.

The saturation point: a replica runs at most max_num_seqs requests at once; past that, requests wait. The
trigger's query is the demand on the deployment, requests running plus waiting (engine metric names from
gpuctl.engines), and its threshold is one replica's capacity, max_num_seqs. KEDA's Prometheus scaler is an
AverageValue metric by default (https://keda.sh/docs/2.20/scalers/prometheus/), so the HPA asks for
ceil(demand / max_num_seqs) replicas, clamped to the spec's min and max: one more replica as soon as the queue holds
more than the replicas can run. An engine without a running gauge scales on its queue alone, at the same threshold.
Schema: the ScaledObject CRD of KEDA v2.20.2 (render/crds).

A Triton server with several TensorRT-LLM models scales on all of them: one trigger per model, each on that
model's demand at that model's capacity (`signals`); the HPA takes the largest replica count.

Public API for tests and tools: `signals(dep)`, `scaling_query(dep, served)`, `threshold(dep)` and
`desired_replicas(dep, demand)`.
"""

from __future__ import annotations

import math
from typing import Any

from .. import engines
from ..engines import triton
from ..engines.layout import layout
from ..model import Deployment, Site
from .labels import labels

KEDA_API = "keda.sh/v1alpha1"
# production-stack's KEDA template threshold for vllm:num_requests_waiting (helm/templates/scaledobject-vllm.yaml,
# vllm-project/production-stack a6c01db0): the capacity assumed when the spec gives neither max_num_seqs nor a
# target concurrency.
DEFAULT_THRESHOLD = 5
POLLING_INTERVAL_S = 15
COOLDOWN_S = 300


def threshold(dep: Deployment) -> int:
    return dep.engine_max_num_seqs or DEFAULT_THRESHOLD


def signals(dep: Deployment) -> list[tuple[str, int]]:
    """What the deployment scales on: (the model label its engine reports the demand under, the capacity of one
    replica for it). One per served model: a Triton server hosting several LLMs gets one per TensorRT-LLM model,
    each at its own saturation point; KEDA makes each trigger an external metric of the one HPA, and the HPA scales
    to the largest replica count any metric asks for (https://keda.sh/docs/2.20/reference/scaledobject-spec/#triggers,
    https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/#algorithm-details), so the busiest
    model decides."""
    engine = engines.get(dep.engine)
    if isinstance(engine, triton.Triton):
        return engine.scaled_models(dep, threshold(dep))
    return [(engine.served_model(dep), threshold(dep))]


def scaling_query(dep: Deployment, served: str | None = None) -> str:
    """PromQL of the demand on one served model (default: the deployment's first): running + waiting requests over
    its replicas (0 when none reports)."""
    engine = engines.get(dep.engine)
    metrics = engine.metrics(dep.engine_version)
    served = signals(dep)[0][0] if served is None else served
    model = served.replace("\\", "\\\\").replace('"', '\\"')
    parts = []
    for signal in ("requests_running", "requests_waiting"):
        metric = metrics.get(signal)
        if metric is None:
            continue
        matchers = [f'{engine.model_label}="{model}"', *(f'{k}="{v}"' for k, v in metric.labels)]
        parts.append(f"(sum({metric.name}{{{','.join(matchers)}}}) or vector(0))")
    if not parts:
        raise ValueError(f"engine {dep.engine} names no queue metric to scale on")
    return " + ".join(parts)


def desired_replicas(dep: Deployment, demand: float | list[float]) -> int:
    """What the HPA KEDA drives computes for AverageValue targets, clamped to the spec's bounds: the largest of
    ceil(demand / capacity) over the triggers (`demand` per signal, in `signals` order; a number: the first's)."""
    scaling = dep.autoscaling
    low, high = (scaling.min_replicas, scaling.max_replicas) if scaling else (dep.replicas, dep.replicas)
    demands = demand if isinstance(demand, list) else [demand]
    wanted = max(math.ceil(d / cap) for d, (_, cap) in zip(demands, signals(dep), strict=False))
    return max(low, min(high, wanted))


def priority_class_name(priority: int) -> str:
    return f"gpuctl-serving-{priority}"


def priority_classes(site: Site) -> list[dict[str, Any]]:
    """One PriorityClass per priority in use: a higher one may preempt a lower one's pods when the pool is full."""
    priorities = sorted({d.autoscaling.priority for d in site.deployments if d.autoscaling is not None})
    return [
        {
            "apiVersion": "scheduling.k8s.io/v1",
            "kind": "PriorityClass",
            "metadata": {"name": priority_class_name(p), "labels": {"app.kubernetes.io/managed-by": "gpuctl"}},
            "value": p,
            "globalDefault": False,
            "preemptionPolicy": "PreemptLowerPriority",
            "description": "gpuctl serving priority: lower values yield GPUs to higher ones.",
        }
        for p in priorities
    ]


def scaled_object(site: Site, dep: Deployment) -> dict[str, Any]:
    scaling = dep.autoscaling
    assert scaling is not None
    multi = layout(site, dep).multi_node
    scaled = signals(dep)
    target = (
        {"apiVersion": "leaderworkerset.x-k8s.io/v1", "kind": "LeaderWorkerSet"}
        if multi
        else {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
        }
    )
    return {
        "apiVersion": KEDA_API,
        "kind": "ScaledObject",
        "metadata": {"name": dep.name, "namespace": dep.namespace, "labels": labels(dep, "engine")},
        "spec": {
            "scaleTargetRef": {**target, "name": dep.name},
            "minReplicaCount": scaling.min_replicas,
            "maxReplicaCount": scaling.max_replicas,
            "pollingInterval": POLLING_INTERVAL_S,
            "cooldownPeriod": COOLDOWN_S,
            "advanced": {
                "horizontalPodAutoscalerConfig": {
                    "behavior": {
                        # A replica takes minutes to load its model: add fast, remove one at a time.
                        "scaleDown": {
                            "stabilizationWindowSeconds": COOLDOWN_S,
                            "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}],
                        }
                    }
                }
            },
            "triggers": [
                {
                    "type": "prometheus",
                    "metricType": "AverageValue",
                    **({"name": served} if len(scaled) > 1 else {}),
                    "metadata": {
                        "serverAddress": scaling.prometheus_url,
                        "query": scaling_query(dep, served),
                        "threshold": str(capacity),
                    },
                }
                for served, capacity in scaled
            ],
        },
    }


def objects(site: Site, dep: Deployment) -> list[dict[str, Any]]:
    return [scaled_object(site, dep)] if dep.autoscaling is not None else []
