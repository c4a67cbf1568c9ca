"""Observability in the spec: a deployment's service-level objectives and the site's monitoring stack (where
Prometheus and Alertmanager live, who receives alerts, where traces go, and the few thresholds a site may tune).

Defaults and their sources:
- kube-prometheus-stack selects ServiceMonitors, PodMonitors and PrometheusRules by the label `release: <Helm
  release>` (`prometheus.prometheusSpec.*SelectorNilUsesHelmValues: true`, chart values.yaml,
  https://github.com/prometheus-community/helm-charts/blob/kube-prometheus-stack-88.5.3/charts/kube-prometheus-stack/values.yaml);
  its Grafana sidecar loads ConfigMaps labelled `grafana_dashboard: "1"` (same file, grafana.sidecar.dashboards.label).
- Queue saturation: llm-d's endpoint picker counts an endpoint saturated at 5 waiting requests
  (`queueDepthThreshold`, https://github.com/llm-d/llm-d-router/blob/v0.10.0/pkg/epp/flowcontrol/saturationdetector/utilization/README.md).
- Multi-window, multi-burn-rate SLO alerts: Google SRE workbook, "Alerting on SLOs",
  https://sre.google/workbook/alerting-on-slos/ (2 % of a 30-day budget in 1 h = burn rate 14.4; 5 % in 6 h = 6).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from .base import DnsLabel, Name, NoCredentialsHttpUrl, ReleaseVersion, Strict
from .k8s import LabelKey, LabelValue

Seconds = Annotated[float, Field(gt=0, le=86_400)]
Severity = Literal["critical", "warning"]
SEVERITIES: tuple[Severity, ...] = ("critical", "warning")


class Slo(Strict):
    """A deployment's objectives: P99 latencies (seconds) and the share of requests answered without a 5xx."""

    ttft_p99_s: Seconds | None = Field(default=None, description="99 % of requests see their first token within this.")
    itl_p99_s: Seconds | None = Field(default=None, description="99 % of inter-token gaps are shorter than this.")
    e2e_p99_s: Seconds | None = Field(default=None, description="99 % of requests finish within this.")
    availability: float | None = Field(default=None, gt=0.5, lt=1, description="e.g. 0.999: 0.1 % may fail (5xx).")

    @model_validator(mode="after")
    def _something(self) -> Slo:
        if not any(v is not None for v in (self.ttft_p99_s, self.itl_p99_s, self.e2e_p99_s, self.availability)):
            raise ValueError("an slo names at least one of ttft_p99_s, itl_p99_s, e2e_p99_s, availability")
        return self

    def latency(self) -> dict[str, float]:
        """Latency objective per signal of the engine metric table (time_to_first_token, ...), seconds."""
        pairs = {
            "time_to_first_token": self.ttft_p99_s,
            "inter_token_latency": self.itl_p99_s,
            "e2e_latency": self.e2e_p99_s,
        }
        return {k: v for k, v in pairs.items() if v is not None}


class Receiver(Strict):
    """Where Alertmanager delivers: a webhook (Alertmanager's `webhook_configs`), for the severities listed."""

    name: Name
    webhook_url: NoCredentialsHttpUrl
    severities: list[Severity] = Field(default_factory=lambda: list(SEVERITIES), min_length=1)


class Observability(Strict):
    """The site's monitoring: which kube-prometheus-stack release scrapes gpuctl's monitors and evaluates its rules.
    Where that Prometheus runs is `security.monitoring_namespace` (the one fact the NetworkPolicies admit scrapes
    from; an installed release goes there); `namespace` below is gpuctl's own objects, not Prometheus's."""

    prometheus: Literal["existing", "install"] = Field(
        default="existing", description="existing: a kube-prometheus-stack release runs; install: gpuctl installs it."
    )
    release: DnsLabel = Field(
        default="kube-prometheus-stack", description="Helm release name of kube-prometheus-stack."
    )
    namespace: DnsLabel = Field(
        default="gpuctl-observability",
        description="gpuctl's own namespace for its rules, dashboards and collector (created by gpuctl; "
        "kube-prometheus-stack selects rules and monitors from every namespace by default).",
    )
    chart_version: ReleaseVersion = Field(default="88.5.3", description="kube-prometheus-stack chart (install).")
    receivers: list[Receiver] = Field(default_factory=list, max_length=64)
    trace_backend_url: NoCredentialsHttpUrl | None = Field(
        default=None, description="OTLP/HTTP endpoint of the trace backend the collector exports to (none: no tracing)."
    )
    otlp_collector_port: int = Field(default=4317, ge=1, le=65535, description="The collector's OTLP/gRPC port.")
    dashboard_labels: dict[LabelKey, LabelValue] = Field(
        default_factory=lambda: {"grafana_dashboard": "1"}, description="Labels the Grafana sidecar loads by."
    )
    gpu_slowdown_margin_c: float = Field(
        default=5, ge=0, le=30, description="Alert when a GPU is this close to its own slowdown temperature."
    )
    power_limit_ratio: float = Field(default=0.95, gt=0, le=1, description="GPU power / enforced limit to alert at.")
    rack_feed_ratio: float = Field(
        default=0.9, gt=0, le=1, description="Rack GPU power / usable kW of one feed to alert at."
    )
    queue_saturation_per_replica: int = Field(default=5, ge=1, le=100_000)
    kv_cache_warning: float = Field(default=0.90, gt=0, le=1)
    kv_cache_critical: float = Field(default=0.95, gt=0, le=1)
    error_ratio: float = Field(default=0.01, gt=0, lt=1, description="5xx share of requests to alert at.")
