"""Observability rules: SLO thresholds the engine's histograms can resolve, monitors the site's Prometheus will
select, and SLOs the serving capacity can meet."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

from .. import engines
from ..model import Site
from . import paths
from .base import Hit, Severity, rule
from .vram import deployment_prediction

SRE_WORKBOOK = "Google SRE workbook, Alerting on SLOs: https://sre.google/workbook/alerting-on-slos/"
KPS_SELECTORS = (
    "kube-prometheus-stack values.yaml, prometheus.prometheusSpec.serviceMonitorSelectorNilUsesHelmValues / "
    "podMonitorSelectorNilUsesHelmValues / ruleSelectorNilUsesHelmValues (true: select by the release label): "
    "https://github.com/prometheus-community/helm-charts/blob/kube-prometheus-stack-88.5.3/charts/"
    "kube-prometheus-stack/values.yaml"
)
HISTOGRAM_QUANTILE = (
    "Prometheus, histogram_quantile: linear interpolation within a bucket: "
    "https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile"
)
SLO_FIELDS = {"time_to_first_token": "ttft_p99_s", "inter_token_latency": "itl_p99_s", "e2e_latency": "e2e_p99_s"}


def _edge(value: float) -> str:
    return f"{value:g} s"


@rule(
    "OBS001",
    "slo-between-buckets",
    Severity.WARNING,
    "A latency SLO should sit on a bucket edge of the engine version's histogram.",
    "Move the objective to one of the bucket edges named in the message.",
    sources=(HISTOGRAM_QUANTILE, SRE_WORKBOOK),
)
def slo_between_buckets(site: Site) -> Iterator[Hit]:
    """Between two edges, histogram_quantile interpolates and the burn-rate rules can only count requests slower
    than an edge: gpuctl counts against the edge below the objective (alerting early). The edges are the engine
    version's defaults (engines/vllm.py, checked against each release's source)."""
    for dep in site.deployments:
        if dep.slo is None:
            continue
        metrics = engines.get(dep.engine).metrics(dep.engine_version)
        version = dep.engine_version or "default"
        for signal, threshold in dep.slo.latency().items():
            metric = metrics.get(signal)
            if metric is None or not metric.buckets:
                yield Hit(
                    paths.deployment(dep),
                    f"{dep.engine} {version} exports no {signal} histogram: "
                    f"slo.{SLO_FIELDS[signal]} cannot be alerted on",
                    "slo",
                )
            elif threshold not in metric.buckets:
                lower = max((b for b in metric.buckets if b < threshold), default=None)
                upper = min((b for b in metric.buckets if b > threshold), default=None)
                if lower is not None and upper is not None:
                    where = f"falls between {metric.name} buckets {_edge(lower)} and {_edge(upper)}"
                elif lower is not None:
                    where = f"is above {metric.name}'s last bucket edge {_edge(lower)}"
                else:
                    where = f"is below {metric.name}'s first bucket edge {_edge(metric.buckets[0])}"
                counted = lower if lower is not None else metric.buckets[0]
                yield Hit(
                    paths.deployment(dep),
                    f"slo.{SLO_FIELDS[signal]} {_edge(threshold)} {where} ({dep.engine} {version}); "
                    f"alerts count against {_edge(counted)}",
                    "slo",
                )


@rule(
    "OBS002",
    "monitors-ignored",
    Severity.ERROR,
    "gpuctl's monitors and rules must carry the label the site's kube-prometheus-stack selects by.",
    "Set cluster.service_monitor_labels to include release: <observability.release>.",
    sources=(KPS_SELECTORS,),
)
def monitors_ignored(site: Site) -> Iterator[Hit]:
    """kube-prometheus-stack's Prometheus selects ServiceMonitors, PodMonitors and PrometheusRules by
    `release: <Helm release>` unless its selectors were opened: without the label nothing is scraped and no rule
    evaluated ("no data"), with no error anywhere."""
    o = site.observability
    labels = site.cluster.service_monitor_labels
    if labels.get("release") != o.release:
        have = ", ".join(f"{k}: {v}" for k, v in sorted(labels.items())) or "no labels"
        yield Hit(
            "cluster",
            f"observability.release is {o.release} but cluster.service_monitor_labels has {have}: its Prometheus "
            f"ignores gpuctl's ServiceMonitors, PodMonitors and PrometheusRules",
            "service_monitor_labels",
        )


@rule(
    "OBS003",
    "slo-unreachable",
    Severity.WARNING,
    "A latency SLO needs the declared concurrency to fit in the KV cache.",
    "Add replicas, raise tensor_parallel_size, use an fp8 KV cache, lower target_concurrency, or relax the SLO.",
    sources=(SRE_WORKBOOK,),
)
def slo_unreachable(site: Site) -> Iterator[Hit]:
    """When target_concurrency requests need more KV tokens than a replica holds (the VRAM engine's prediction),
    the excess waits in the queue for a running request to finish: its time to first token includes another
    request's whole generation, so a P99 latency objective cannot hold at that concurrency."""
    for dep in site.deployments:
        if dep.slo is None or not dep.slo.latency():
            continue
        p = deployment_prediction(site, dep)
        if p is None or not p.fits or p.workload_fits is not False or p.workload_tokens is None:
            continue
        fit = p.kv_cache_tokens * (dep.target_concurrency or 1) // max(p.workload_tokens, 1)
        yield Hit(
            paths.deployment(dep),
            f"{dep.target_concurrency} concurrent requests need {p.workload_tokens:,} KV tokens, a replica holds "
            f"{p.kv_cache_tokens:,} (about {fit} requests): the rest queue, so the P99 latency SLO cannot hold",
            "slo",
        )


KEDA_PROMETHEUS = (
    "KEDA Prometheus scaler, serverAddress (the Prometheus the query runs on): "
    "https://keda.sh/docs/2.20/scalers/prometheus/; Kubernetes Service DNS <service>.<namespace>.svc: "
    "https://kubernetes.io/docs/concepts/services-networking/dns-pod-service/"
)
QUEUE_SIGNALS = ("requests_running", "requests_waiting")  # what render/autoscaling.py scales on


@rule(
    "OBS004",
    "autoscaling-without-queue-metric",
    Severity.ERROR,
    "A deployment that autoscales needs an engine version that exports its queue depth.",
    "Drop autoscaling for this deployment, or serve it with an engine version that exports queue metrics.",
    sources=(KEDA_PROMETHEUS,),
)
def autoscaling_without_queue_metric(site: Site) -> Iterator[Hit]:
    """KEDA scales on running + waiting requests read from Prometheus; an engine version that exports neither
    (trtllm-serve as gpuctl renders it exports no Prometheus metrics at all) leaves the scaler nothing to read."""
    for dep in site.deployments:
        if dep.autoscaling is None:
            continue
        metrics = engines.get(dep.engine).metrics(dep.engine_version)
        if not any(signal in metrics for signal in QUEUE_SIGNALS):
            version = dep.engine_version or "default"
            yield Hit(
                paths.deployment(dep),
                f"{dep.engine} {version} exports no queue metric (running or waiting requests): KEDA has nothing "
                "to scale on",
                "autoscaling",
            )


@rule(
    "OBS005",
    "prometheus-namespace-mismatch",
    Severity.ERROR,
    "The Prometheus KEDA queries must be the one in security.monitoring_namespace, where the policies admit it.",
    "Point autoscaling.prometheus_url at the Prometheus Service in security.monitoring_namespace, or set "
    "security.monitoring_namespace to where Prometheus runs.",
    sources=(KEDA_PROMETHEUS,),
)
def prometheus_namespace_mismatch(site: Site) -> Iterator[Hit]:
    """The spec says where Prometheus runs in `security.monitoring_namespace` (NetworkPolicies admit scrapes from
    there); an autoscaling prometheus_url naming an in-cluster Service of another namespace contradicts it: either
    the scaler queries a Prometheus that cannot scrape the engines, or the policies admit the wrong namespace."""
    where = site.security.monitoring_namespace
    for dep in site.deployments:
        if dep.autoscaling is None:
            continue
        host = urlsplit(dep.autoscaling.prometheus_url).hostname or ""
        parts = host.split(".")
        if len(parts) >= 3 and parts[2] == "svc" and parts[1] != where:
            yield Hit(
                paths.deployment(dep),
                f"autoscaling.prometheus_url queries {host} in namespace {parts[1]}, but "
                f"security.monitoring_namespace says Prometheus runs in {where}",
                "autoscaling",
            )


RULES = (
    slo_between_buckets,
    monitors_ignored,
    slo_unreachable,
    autoscaling_without_queue_metric,
    prometheus_namespace_mismatch,
)
