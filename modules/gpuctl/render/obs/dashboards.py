"""Grafana dashboards generated from the site with a typed builder (grafana-foundation-sdk), not hand-written JSON:
the site overview (rack GPU power against one feed's usable kW and the headroom left if a feed is lost, GPUs
reporting against the spec, XIDs, firing alerts), per-model serving (rate-based P50/P95/P99 TTFT, inter-token
latency and e2e; tokens/s per GPU; queue depth; KV cache; replicas up) and per-node GPU detail.

Queries read gpuctl's recording rules (render/obs/rules.py) or the dcgm-exporter series directly, never lifetime
averages. Datasource: the Prometheus kube-prometheus-stack provisions for Grafana, uid "prometheus"
(chart values.yaml `grafana.sidecar.datasources.uid`). Delivered as files and as ConfigMaps the Grafana sidecar
loads (label `observability.dashboard_labels`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from grafana_foundation_sdk.builders import dashboard as gd
from grafana_foundation_sdk.builders import prometheus, stat, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef, VariableRefresh

from ... import engines
from ...model import Site
from ..k8s import MANAGED_BY
from . import gpu_facts as g

DATASOURCE = DataSourceRef(type_val="prometheus", uid="prometheus")
NODE_VARIABLE = "hostname"  # the per-node dashboard's variable; queries say hostname=~"$hostname"


@dataclass(frozen=True)
class Panel:
    title: str
    queries: tuple[tuple[str, str], ...]  # (PromQL, legend)
    unit: str
    kind: str = "timeseries"  # or "stat"


def _build(panel: Panel) -> Any:
    builder: Any = stat.Panel() if panel.kind == "stat" else timeseries.Panel()
    builder = builder.title(panel.title).unit(panel.unit).datasource(DATASOURCE).height(8).span(8)
    for i, (expr, legend) in enumerate(panel.queries):
        builder = builder.with_target(
            prometheus.Dataquery().expr(expr).legend_format(legend).ref_id(chr(ord("A") + i)).datasource(DATASOURCE)
        )
    return builder


def _dashboard(
    uid: str, title: str, rows: list[tuple[str, list[Panel]]], variables: tuple[Any, ...] = ()
) -> dict[str, Any]:
    builder = gd.Dashboard(title).uid(uid).tags(["gpuctl"]).refresh("30s").time("now-6h", "now").readonly()
    for variable in variables:
        builder = builder.with_variable(variable)
    for row_title, panels in rows:
        builder = builder.with_row(gd.Row(row_title))
        for panel in panels:
            builder = builder.with_panel(_build(panel))
    data: dict[str, Any] = json.loads(json.dumps(builder.build(), cls=JSONEncoder))
    return data


def site_overview(site: Site) -> dict[str, Any]:
    power = [
        Panel(
            "Rack GPU power vs one feed's usable kW",
            (("gpuctl:rack_gpu_power:kw", "{{rack}} GPUs"), ("gpuctl:rack_one_feed_usable:kw", "{{rack}} one feed")),
            "kwatt",
        ),
        Panel(
            "Headroom on one feed (feed loss)",
            (("gpuctl:rack_one_feed_usable:kw - on (rack) gpuctl:rack_gpu_power:kw", "{{rack}}"),),
            "kwatt",
            "stat",
        ),
    ]
    gpus = [
        Panel(
            "GPUs reporting vs the spec",
            (
                (f"count({g.TEMP})", "reporting"),
                ("sum(gpuctl:node_gpus:expected)", "in the spec"),
            ),
            "short",
            "stat",
        ),
        Panel("XIDs in the exporter's window", ((f"sum by (xid) ({g.XID_COUNT})", "XID {{xid}}"),), "short"),
        Panel("Alerts firing", (('count by (severity) (ALERTS{alertstate="firing"})', "{{severity}}"),), "short"),
    ]
    return _dashboard(f"gpuctl-{site.name}-site", f"gpuctl {site.name}: site", [("Power", power), ("GPUs", gpus)])


def serving(site: Site) -> dict[str, Any]:
    """One row per deployment; a panel only where the engine version exports the signal."""
    rows = []
    for dep in site.deployments:
        signals = engines.get(dep.engine).metrics(dep.engine_version)
        sel = f'{{deployment="{dep.name}"}}'
        latency = [
            Panel(
                title,
                tuple((f"gpuctl:{signal}_seconds:p{q}{sel}", f"P{q}") for q in (50, 95, 99)),
                "s",
            )
            for title, signal in (
                ("Time to first token", "time_to_first_token"),
                ("Inter-token latency", "inter_token_latency"),
                ("End-to-end latency", "e2e_latency"),
            )
            if signal in signals and signals[signal].kind == "histogram"
        ]
        load = [
            panel
            for signal, panel in (
                (
                    "generation_tokens",
                    Panel(
                        "Tokens/s per GPU",
                        ((f"gpuctl:generation_tokens_per_gpu:rate5m{sel}", "tokens/s/GPU"),),
                        "short",
                    ),
                ),
                (
                    "requests_waiting",
                    Panel("Requests waiting", ((f"gpuctl:requests_waiting:sum{sel}", "waiting"),), "short"),
                ),
                (
                    "kv_cache_usage",
                    Panel(
                        "KV cache",
                        ((f"gpuctl:kv_cache_usage:max{sel}", "max"), (f"gpuctl:kv_cache_usage:avg{sel}", "avg")),
                        "percentunit",
                    ),
                ),
            )
            if signal in signals
        ]
        if signals:  # the replicas are counted by their engines' scrape targets
            load.append(Panel("Replicas up", ((f"gpuctl:replicas_up:sum{sel}", "up"),), "short", "stat"))
        if "prefix_cache_hits" in signals:
            load.append(
                Panel(
                    "Prefix cache hit ratio", ((f"gpuctl:prefix_cache_hit_ratio:rate5m{sel}", "hits"),), "percentunit"
                )
            )
        if dep.burst is not None:
            load.append(
                Panel(
                    "Served locally (not burst)", ((f"gpuctl:gateway_local_share:rate5m{sel}", "local"),), "percentunit"
                )
            )
        rows.append((f"{dep.name} ({dep.engine})", latency + load))
    return _dashboard(f"gpuctl-{site.name}-serving", f"gpuctl {site.name}: serving", rows)


def gpu_node(site: Site) -> dict[str, Any]:
    node = f'{{{g.HOST_LABEL}=~"${NODE_VARIABLE}"}}'
    panels = [
        Panel(
            "Temperature vs its slowdown temperature",
            ((f"{g.TEMP}{node}", "GPU {{gpu}}"), (f"{g.SLOWDOWN_TEMP}{node}", "GPU {{gpu}} slowdown")),
            "celsius",
        ),
        Panel(
            "Power vs enforced limit",
            ((f"{g.POWER}{node}", "GPU {{gpu}}"), (f"{g.POWER_LIMIT}{node}", "GPU {{gpu}} limit")),
            "watt",
        ),
        Panel("Utilisation", ((f"{g.GPU_UTIL}{node}", "GPU {{gpu}}"),), "percent"),
        Panel(
            "Framebuffer used",
            ((f"{g.FB_USED}{node} / ({g.FB_USED}{node} + {g.FB_FREE}{node})", "GPU {{gpu}}"),),
            "percentunit",
        ),
        Panel("XIDs in the window", ((f"{g.XID_COUNT}{node}", "GPU {{gpu}} XID {{xid}}"),), "short"),
        Panel("Double-bit ECC errors (10 m)", ((f"increase({g.ECC_DBE}{node}[10m])", "GPU {{gpu}}"),), "short"),
    ]
    variable = (
        gd.QueryVariable(NODE_VARIABLE)
        .label("Node")
        .datasource(DATASOURCE)
        .query(f"label_values({g.TEMP}, {g.HOST_LABEL})")
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
    )
    return _dashboard(f"gpuctl-{site.name}-gpu-node", f"gpuctl {site.name}: GPU node", [("GPUs", panels)], (variable,))


def dashboards(site: Site) -> dict[str, dict[str, Any]]:
    """File name -> dashboard JSON model."""
    return {
        "gpuctl-site.json": site_overview(site),
        "gpuctl-serving.json": serving(site),
        "gpuctl-gpu-node.json": gpu_node(site),
    }


def panel_queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title, PromQL) of every query in a dashboard."""
    return [
        (panel.get("title", ""), target["expr"])
        for panel in dashboard.get("panels", [])
        for target in panel.get("targets", [])
        if "expr" in target
    ]


def dashboard_configmaps(site: Site) -> list[dict[str, Any]]:
    o = site.observability
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": name.removesuffix(".json"),
                "namespace": o.namespace,
                "labels": {**MANAGED_BY, **o.dashboard_labels},
            },
            "data": {name: json.dumps(model, indent=1, sort_keys=True)},
        }
        for name, model in dashboards(site).items()
    ]
