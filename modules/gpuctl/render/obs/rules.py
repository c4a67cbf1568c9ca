"""Prometheus recording and alerting rules generated from the site, as plain rule files (`promtool check rules`
reads them; `gpuctl obs render` writes them) and as the groups the PrometheusRule objects carry.

Three files:
- gpuctl-site.rules.yml: the spec as series (GPUs expected per node, with its rack; usable kW of one feed per
  rack, from calc.power, the pre-flight arithmetic), rack GPU power, and the alerts that compare them;
- gpuctl-gpu.rules.yml: DCGM alerts per GPU (XID fatal vs other, ECC, row remap, temperature against the GPU's own
  slowdown temperature, power against the enforced limit), GPUs missing, exporter blind, targets down;
- gpuctl-serving.rules.yml: per deployment, recording rules from the engine's own metric names at its version
  (P50/P95/P99 of TTFT, inter-token latency and e2e from histogram rates; tokens/s per GPU; KV cache; prefix hit
  ratio; queue depth; replicas up), SLO burn rates (multi-window, multi-burn-rate) and the serving alerts.

Serving series are selected by `deployment="<name>"`: every serving scrape target carries that label (the
PodMonitor sets it; the lab's Prometheus configuration too). `for_override` replaces every `for:` (the lab test's
build of the rules uses seconds, not minutes).
"""

from __future__ import annotations

from typing import Any

from ...calc.power import rack_budget
from ...engines import Metric, get
from ...model import Deployment, Site
from .. import burst
from . import gpu_facts as g
from .promql import edge_at_or_below, le_matcher, selector

RULE_FILES = ("gpuctl-site.rules.yml", "gpuctl-gpu.rules.yml", "gpuctl-serving.rules.yml")
Rule = dict[str, Any]

QUANTILES = (0.5, 0.95, 0.99)
LATENCY_SIGNALS = ("time_to_first_token", "inter_token_latency", "e2e_latency")
# SRE workbook burn rates for a 30-day budget: page when 2 % is spent in 1 h (14.4) confirmed over 5 m, ticket
# when 5 % is spent in 6 h (6) confirmed over 30 m (https://sre.google/workbook/alerting-on-slos/, table 5-8).
BURN = (("GpuctlSloBurnFast", 14.4, "1h", "5m", "critical"), ("GpuctlSloBurnSlow", 6.0, "6h", "30m", "warning"))
WINDOWS = ("5m", "30m", "1h", "6h")
# A deployment's engine scrape targets: its routers' targets carry the deployment too, with component="router".
ENGINE_TARGETS = 'up{{deployment="{}",component!="router"}}'
LATENCY_OBJECTIVE = 0.99  # the SLO names P99 latencies: 1 % of requests may be slower


def _alert(name: str, expr: str, for_: str, severity: str, summary: str, **labels: str) -> Rule:
    return {
        "alert": name,
        "expr": expr,
        "for": for_,
        "labels": {"severity": severity, **labels},
        "annotations": {"summary": summary, "description": summary + " (value: {{ $value | humanize }})."},
    }


def _record(name: str, expr: str, **labels: str) -> Rule:
    rule: Rule = {"record": name, "expr": expr}
    if labels:
        rule["labels"] = labels
    return rule


# ----- site: the spec as series -----


def site_groups(site: Site) -> list[dict[str, Any]]:
    o = site.observability
    inventory: list[Rule] = []
    for rack, server in site.all_servers():
        gpus = site.gpu_count(server)
        if gpus:
            inventory.append(
                _record(
                    "gpuctl:node_gpus:expected", f"vector({gpus})", **{g.HOST_LABEL: server.name, "rack": rack.name}
                )
            )
    for rack in site.racks:
        if any(site.gpu_count(s) for s in rack.servers):
            budget = rack_budget(site, rack)
            one_feed = budget.redundant_kw if budget.redundant_kw is not None else budget.budget_kw
            inventory.append(_record("gpuctl:rack_one_feed_usable:kw", f"vector({one_feed:.3f})", rack=rack.name))
    power = [
        _record(
            "gpuctl:rack_gpu_power:kw",
            f"sum by (rack) ({g.POWER} * on ({g.HOST_LABEL}) group_left (rack) "
            f"(gpuctl:node_gpus:expected > bool 0)) / 1000",
        ),
        _alert(
            "GpuctlRackPowerNearFeed",
            f"gpuctl:rack_gpu_power:kw / on (rack) gpuctl:rack_one_feed_usable:kw > {o.rack_feed_ratio:g}",
            "5m",
            "critical",
            f"Rack {{{{ $labels.rack }}}}: GPU power alone is over {o.rack_feed_ratio:.0%} of what one feed can "
            "carry; losing the other feed would trip it",
        ),
    ]
    return [{"name": "gpuctl-site-inventory", "rules": inventory}, {"name": "gpuctl-site-power", "rules": power}]


# ----- GPUs (dcgm-exporter) -----


def gpu_groups(site: Site) -> list[dict[str, Any]]:
    o = site.observability
    on = f"on ({g.HOST_LABEL}, gpu) group_left ()"  # keep every label of the GPU's series (UUID, modelName...)
    gpu = f"{{{{ $labels.{g.HOST_LABEL} }}}} GPU {{{{ $labels.gpu }}}}"
    fatal, app = g.regex(g.FATAL_XIDS), g.regex(g.APPLICATION_XIDS)
    alerts = [
        _alert(
            "GpuctlXidFatal",
            f'max by ({g.HOST_LABEL}, gpu, UUID, xid) ({g.XID_COUNT}{{xid=~"{fatal}"}}) > 0',
            "0m",
            "critical",
            f"{gpu}: XID {{{{ $labels.xid }}}}, which needs a GPU reset or a reboot (NVIDIA XID catalog)",
        ),
        _alert(
            "GpuctlXid",
            f'max by ({g.HOST_LABEL}, gpu, UUID, xid) ({g.XID_COUNT}{{xid!~"0|{fatal}|{app}"}}) > 0',
            "0m",
            "warning",
            f"{gpu}: XID {{{{ $labels.xid }}}}",
        ),
        _alert(
            "GpuctlEccDoubleBit",
            f"increase({g.ECC_DBE}[10m]) > 0",
            "0m",
            "critical",
            f"{gpu}: uncorrectable (double-bit) ECC errors",
        ),
        _alert("GpuctlRowRemapFailure", f"{g.ROW_REMAP_FAILURE} > 0", "0m", "critical", f"{gpu}: row remapping failed"),
        _alert(
            "GpuctlGpuNearSlowdown",
            f"{g.TEMP} >= {on} ({g.SLOWDOWN_TEMP} - {o.gpu_slowdown_margin_c:g}) "
            f"and on ({g.HOST_LABEL}, gpu) {g.SLOWDOWN_TEMP} > 0",
            "2m",
            "warning",
            f"{gpu}: within {o.gpu_slowdown_margin_c:g} °C of its own slowdown temperature",
        ),
        _alert(
            "GpuctlGpuPowerNearLimit",
            f"{g.POWER} / {on} ({g.POWER_LIMIT} > 0) > {o.power_limit_ratio:g}",
            "5m",
            "warning",
            f"{gpu}: power over {o.power_limit_ratio:.0%} of its enforced limit",
        ),
        _alert(
            "GpuctlGpuMissing",
            f"count by ({g.HOST_LABEL}) ({g.TEMP}) < on ({g.HOST_LABEL}) group_left gpuctl:node_gpus:expected",
            "1m",
            "critical",
            f"{{{{ $labels.{g.HOST_LABEL} }}}}: fewer GPUs report than the site spec declares",
        ),
        _alert(
            "GpuctlGpuMetricsAbsent",
            f"gpuctl:node_gpus:expected unless on ({g.HOST_LABEL}) count by ({g.HOST_LABEL}) ({g.TEMP})",
            "2m",
            "critical",
            f"{{{{ $labels.{g.HOST_LABEL} }}}}: no GPU metrics at all (dcgm-exporter down, or up but blind)",
        ),
        _alert("GpuctlTargetDown", "up == 0", "2m", "warning", "{{ $labels.job }} {{ $labels.instance }} is down"),
    ]
    return [{"name": "gpuctl-gpu", "rules": alerts}]


# ----- serving -----


def _metrics(dep: Deployment) -> dict[str, Metric]:
    return dict(get(dep.engine).metrics(dep.engine_version))


def scraped(dep: Deployment) -> bool:
    """Whether the deployment's engine version exports Prometheus metrics (trtllm-serve as gpuctl renders it does
    not): without them no monitor scrapes its engines and no rule counts their replicas."""
    return bool(_metrics(dep))


def _slo_ratios(dep: Deployment, m: dict[str, Metric]) -> list[tuple[str, float, dict[str, str]]]:
    """(slo name, allowed error ratio, PromQL of the error ratio per window) for each objective that can be
    computed from this engine version's metrics."""
    out: list[tuple[str, float, dict[str, str]]] = []
    if dep.slo is None:
        return out
    sel = {"deployment": dep.name}
    for signal, threshold in dep.slo.latency().items():
        metric = m.get(signal)
        if metric is None or metric.kind != "histogram" or not metric.buckets:
            continue
        edge = edge_at_or_below(metric.buckets, threshold)
        bucket = selector(metric, "_bucket", **sel)[:-1] + "," + le_matcher(edge) + "}"
        count = selector(metric, "_count", **sel)
        ratios = {
            w: f"1 - (sum by (deployment) (rate({bucket}[{w}])) / sum by (deployment) (rate({count}[{w}])))"
            for w in WINDOWS
        }
        out.append((signal, 1 - LATENCY_OBJECTIVE, ratios))
    http = m.get("http_requests")
    if dep.slo.availability is not None and http is not None:
        errors = selector(http, **sel, status="5xx")
        total = selector(http, **sel)
        ratios = {
            w: f"sum by (deployment) (rate({errors}[{w}])) / sum by (deployment) (rate({total}[{w}]))" for w in WINDOWS
        }
        out.append(("availability", 1 - dep.slo.availability, ratios))
    return out


def _serving_records(site: Site, dep: Deployment, m: dict[str, Metric]) -> list[Rule]:
    sel = {"deployment": dep.name}
    by = "by (deployment)"
    rules: list[Rule] = []
    for signal in LATENCY_SIGNALS:
        metric = m.get(signal)
        if metric is None or metric.kind != "histogram":
            continue
        for q in QUANTILES:
            expr = f"histogram_quantile({q}, sum by (deployment, le) (rate({selector(metric, '_bucket', **sel)}[5m])))"
            rules.append(_record(f"gpuctl:{signal}_seconds:p{round(q * 100)}", expr, **sel))
    if "generation_tokens" in m:
        tokens = f"sum {by} (rate({selector(m['generation_tokens'], **sel)}[5m]))"
        rules.append(_record("gpuctl:generation_tokens:rate5m", tokens, **sel))
        rules.append(_record("gpuctl:generation_tokens_per_gpu:rate5m", f"{tokens} / {dep.gpus_total}", **sel))
    if "kv_cache_usage" in m:
        kv = selector(m["kv_cache_usage"], **sel)
        rules.append(_record("gpuctl:kv_cache_usage:avg", f"avg {by} ({kv})", **sel))
        rules.append(_record("gpuctl:kv_cache_usage:max", f"max {by} ({kv})", **sel))
    if "prefix_cache_hits" in m and "prefix_cache_queries" in m:
        hits = f"sum {by} (rate({selector(m['prefix_cache_hits'], **sel)}[5m]))"
        queries = f"sum {by} (rate({selector(m['prefix_cache_queries'], **sel)}[5m]))"
        rules.append(_record("gpuctl:prefix_cache_hit_ratio:rate5m", f"{hits} / {queries}", **sel))
    if "requests_waiting" in m:
        rules.append(
            _record("gpuctl:requests_waiting:sum", f"sum {by} ({selector(m['requests_waiting'], **sel)})", **sel)
        )
    if m:
        rules.append(_record("gpuctl:replicas_up:sum", f"sum {by} ({ENGINE_TARGETS.format(dep.name)})", **sel))
    if dep.burst is not None:  # the burst gateway's split counter (render/burst.py METRIC)
        local = f'rate({burst.METRIC}{{deployment="{dep.name}",route="local"}}[5m])'
        every = f'rate({burst.METRIC}{{deployment="{dep.name}"}}[5m])'
        # `or 0 * ...`: while every request overflows no local series exists yet, and the share is 0, not absent
        share = f"(sum {by} ({local}) or 0 * sum {by} ({every})) / sum {by} ({every})"
        rules.append(_record("gpuctl:gateway_local_share:rate5m", share, **sel))
    for slo, _, ratios in _slo_ratios(dep, m):
        for window, expr in ratios.items():
            rules.append(_record(f"gpuctl:slo_error_ratio:rate{window}", expr, slo=slo, **sel))
    return rules


def _serving_alerts(site: Site, dep: Deployment, m: dict[str, Metric]) -> list[Rule]:
    o = site.observability
    sel = {"deployment": dep.name}
    name = dep.name
    by = "by (deployment)"
    alerts: list[Rule] = []
    if m:  # engines without metrics have no scrape target whose `up` could count them
        alerts.append(
            _alert(
                "GpuctlNoHealthyReplica",
                f"(sum {by} ({ENGINE_TARGETS.format(name)}) == 0) or absent({ENGINE_TARGETS.format(name)})",
                "1m",
                "critical",
                f"{name}: no replica answers its metrics endpoint",
            )
        )
    if "requests_waiting" in m:
        alerts.append(
            _alert(
                "GpuctlQueueSaturated",
                f"max {by} ({selector(m['requests_waiting'], **sel)}) > {o.queue_saturation_per_replica}",
                "5m",
                "warning",
                f"{name}: a replica has more than {o.queue_saturation_per_replica} requests waiting (saturated)",
            )
        )
    if "kv_cache_usage" in m:
        kv = selector(m["kv_cache_usage"], **sel)
        alerts.append(
            _alert(
                "GpuctlKvCacheHigh",
                f"max {by} ({kv}) > {o.kv_cache_warning:g}",
                "10m",
                "warning",
                f"{name}: KV cache over {o.kv_cache_warning:.0%}",
            )
        )
        alerts.append(
            _alert(
                "GpuctlKvCacheFull",
                f"max {by} ({kv}) > {o.kv_cache_critical:g}",
                "5m",
                "critical",
                f"{name}: KV cache over {o.kv_cache_critical:.0%}; requests are being preempted or queued",
            )
        )
    if "preemptions" in m:
        alerts.append(
            _alert(
                "GpuctlPreemptions",
                f"sum {by} (rate({selector(m['preemptions'], **sel)}[5m])) > 1",
                "5m",
                "warning",
                f"{name}: more than one preemption per second (KV cache exhausted)",
            )
        )
    if "http_requests" in m:
        errors = selector(m["http_requests"], **sel, status="5xx")
        total = selector(m["http_requests"], **sel)
        alerts.append(
            _alert(
                "GpuctlErrorRatioHigh",
                f"sum {by} (rate({errors}[5m])) / sum {by} (rate({total}[5m])) > {o.error_ratio:g}",
                "5m",
                "warning",
                f"{name}: more than {o.error_ratio:.1%} of requests answered 5xx",
            )
        )
    for slo, budget, _ in _slo_ratios(dep, m):
        for alert, factor, long, short, severity in BURN:
            limit = f"{factor * budget:.6g}"
            expr = (
                f'gpuctl:slo_error_ratio:rate{long}{{deployment="{name}",slo="{slo}"}} > {limit} and '
                f'gpuctl:slo_error_ratio:rate{short}{{deployment="{name}",slo="{slo}"}} > {limit}'
            )
            text = f"{name}: {slo} SLO error budget burning {factor:g}x too fast ({long} and {short} windows)"
            alerts.append(_alert(alert, expr, "2m" if severity == "critical" else "15m", severity, text, slo=slo))
    return alerts


def serving_groups(site: Site) -> list[dict[str, Any]]:
    groups = []
    for dep in site.deployments:
        m = _metrics(dep)
        alerts = _serving_alerts(site, dep, m)
        for alert in alerts:
            alert["labels"]["deployment"] = dep.name
        groups.append({"name": f"gpuctl-serving-{dep.name}-records", "rules": _serving_records(site, dep, m)})
        groups.append({"name": f"gpuctl-serving-{dep.name}-alerts", "rules": alerts})
    return groups


def rule_files(site: Site, for_override: str | None = None) -> dict[str, dict[str, Any]]:
    """File name -> rule file content ({"groups": [...]}), every alert labelled with the site."""
    files = {
        RULE_FILES[0]: site_groups(site),
        RULE_FILES[1]: gpu_groups(site),
        RULE_FILES[2]: serving_groups(site),
    }
    for groups in files.values():
        for group in groups:
            for rule in group["rules"]:
                if "alert" in rule:
                    rule["labels"]["site"] = site.name
                    if for_override is not None:
                        rule["for"] = for_override
    return {name: {"groups": groups} for name, groups in files.items() if groups}
