"""Measured inputs for the cost model, read from a Prometheus HTTP API (`/api/v1/query`): GPU utilisation from the
DCGM exporter, tokens and requests per second from the serving engine's own counters, over a window.

"Teams should model this using actual utilization telemetry, not projections" (Inflect, AI Inference on Bare
Metal, https://inflect.com/blog/ai-inference-on-bare-metal-performance-cost-and-deployment-guide). Queries:
- utilisation: avg(avg_over_time(DCGM_FI_DEV_GPU_UTIL{Hostname=~"<servers>"}[window])) / 100 (the exporter's GPU
  utilisation gauge in percent: https://github.com/NVIDIA/dcgm-exporter/blob/main/etc/default-counters.csv);
- tokens/s and requests/s: sum(rate(<engine counter>[window])), the counter names from the engine's metric table
  (engines/vllm.py: vllm:generation_tokens_total, vllm:request_success_total), filtered by the engine's
  `served_model_label` when it has one (vLLM: model_name = --served-model-name, the deployment's model);
- peak tokens/s: max_over_time(sum(rate(counter[5m]))[window:1m]).

Hybrid sizing: the bare-metal share of the steady (average) traffic becomes a replica count; the rest, and the
peaks above the bare-metal capacity, is the cloud-burst budget.
"""

from __future__ import annotations

import json
import math
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from .. import engines
from ..errors import GpuctlError, UsageError
from ..model import Deployment, Site

_WINDOW = re.compile(r"^[1-9][0-9]{0,4}[smhdw]$")
_URL = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+(/[A-Za-z0-9._~/-]*)?$")
GPU_UTIL = "DCGM_FI_DEV_GPU_UTIL"
TIMEOUT_S = 30


class TelemetryError(GpuctlError):
    """Prometheus could not be asked, or answered something that is not a query result."""

    exit_code = 1


def check_window(window: str) -> str:
    if not _WINDOW.match(window):
        raise UsageError(f"--window {window!r}: a Prometheus duration such as 30m, 24h, 7d or 4w")
    return window


def check_url(url: str) -> str:
    if not _URL.match(url):
        raise UsageError(f"--prometheus {url!r}: an http(s)://host[:port][/path] URL of the Prometheus server")
    return url.rstrip("/")


class Prometheus:
    def __init__(self, url: str) -> None:
        self.url = check_url(url)

    def query(self, promql: str) -> list[dict[str, Any]]:
        """An instant query's vector result (`/api/v1/query`)."""
        address = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        try:
            with urllib.request.urlopen(address, timeout=TIMEOUT_S) as response:
                body = json.loads(response.read(2**24))
        except urllib.error.HTTPError as exc:
            detail = exc.read(2000).decode("utf-8", "replace")
            raise TelemetryError(f"Prometheus at {self.url} refused {promql!r}: HTTP {exc.code} {detail}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise TelemetryError(f"Prometheus at {self.url} cannot be reached: {reason}") from None
        except json.JSONDecodeError:
            raise TelemetryError(f"Prometheus at {self.url} answered something that is not JSON") from None
        if body.get("status") != "success" or body.get("data", {}).get("resultType") != "vector":
            raise TelemetryError(f"Prometheus at {self.url}: {body.get('error') or 'not a vector result'}")
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def scalar(self, promql: str) -> float | None:
        """The one value of a query (None: no series)."""
        result = self.query(promql)
        if not result:
            return None
        value = float(result[0]["value"][1])
        return None if math.isnan(value) or math.isinf(value) else value


@dataclass
class Measured:
    window: str
    utilization: float | None  # 0-1, average over the window and the GPUs reporting
    gpus_reporting: int
    tokens_per_s: float | None  # generated tokens
    prompt_tokens_per_s: float | None
    requests_per_s: float | None
    peak_tokens_per_s: float | None
    queries: dict[str, str] = field(default_factory=dict)


def _hosts(names: list[str]) -> str:
    return "|".join(re.escape(n).replace("\\", "\\\\") for n in names)


def measure(prom: Prometheus, site: Site, window: str, deployment: Deployment | None = None) -> Measured:
    """What the site (or one deployment and its pool) actually did over the window."""
    check_window(window)
    if deployment is not None:
        servers = [s.name for s in site.pool_servers(site.pool(deployment.node_pool))]
        deployments = [deployment]
    else:
        servers = [s.name for _, s in site.all_servers() if site.gpu_count(s) > 0]
        deployments = list(site.deployments)
    util_sel = f'{GPU_UTIL}{{Hostname=~"{_hosts(servers)}"}}'
    q = {
        "utilization": f"avg(avg_over_time({util_sel}[{window}])) / 100",
        "gpus_reporting": f"count(count_over_time({util_sel}[{window}]))",
    }
    for signal in ("generation_tokens", "prompt_tokens", "request_success"):
        parts = []
        for dep in deployments:
            engine = engines.get(dep.engine)
            metric = engine.metrics(dep.engine_version).get(signal)
            if metric is None:
                continue
            sel = metric.selector
            # An engine that labels its series with the served model's name (vLLM: model_name) says so; the
            # series of other engines are the site's total.
            label_name = getattr(engine, "served_model_label", None)
            if label_name is not None:
                label = f'{label_name}="{dep.model}"'
                sel = sel[:-1] + f",{label}}}" if sel.endswith("}") else f"{sel}{{{label}}}"
            parts.append(sel)
        if parts:
            q[signal] = " + ".join(f"sum(rate({p}[{window}]))" for p in dict.fromkeys(parts))
            if signal == "generation_tokens":
                inner = " + ".join(f"sum(rate({p}[5m]))" for p in dict.fromkeys(parts))
                q["peak_tokens"] = f"max_over_time(({inner})[{window}:1m])"
    values = {k: prom.scalar(v) for k, v in q.items()}
    util = values["utilization"]
    return Measured(
        window=window,
        utilization=None if util is None else min(max(util, 0.0), 1.0),
        gpus_reporting=int(values["gpus_reporting"] or 0),
        tokens_per_s=values.get("generation_tokens"),
        prompt_tokens_per_s=values.get("prompt_tokens"),
        requests_per_s=values.get("request_success"),
        peak_tokens_per_s=values.get("peak_tokens"),
        queries=q,
    )


@dataclass(frozen=True)
class HybridSizing:
    deployment: str
    share: float
    steady_tokens_per_s: float
    peak_tokens_per_s: float
    capacity_per_replica: float  # tokens/s one replica serves at full use
    replicas_now: int
    bare_metal_replicas: int
    cloud_peak_replicas: int
    cloud_gpu_hours_month: float
    cloud_burst_usd_month: float


def hybrid_sizing(
    dep: Deployment, m: Measured, share: float, assumed_utilization: float, hours_per_month: float, cloud_rate: float
) -> HybridSizing | None:
    """Bare-metal replicas for `share` of the steady traffic; the rest and the peaks above that go to the cloud.

    One replica's capacity is what the current replicas served per replica, scaled to full use by the measured GPU
    utilisation (the assumed one when nothing was measured)."""
    if not m.tokens_per_s or m.tokens_per_s <= 0:
        return None
    util = m.utilization if m.utilization else assumed_utilization
    capacity = m.tokens_per_s / dep.replicas / util
    peak = max(m.peak_tokens_per_s or m.tokens_per_s, m.tokens_per_s)
    replicas = max(math.ceil(share * m.tokens_per_s / capacity - 1e-9), 1 if share > 0 else 0)
    bm_capacity = replicas * capacity
    cloud_avg = max(m.tokens_per_s - min(bm_capacity, m.tokens_per_s * share), 0.0)
    cloud_peak = math.ceil(max(peak - bm_capacity, 0.0) / capacity - 1e-9)
    gpu_hours = cloud_avg / capacity * dep.gpus_per_pod * dep.pipeline_parallel_size * hours_per_month
    return HybridSizing(
        deployment=dep.name,
        share=share,
        steady_tokens_per_s=m.tokens_per_s,
        peak_tokens_per_s=peak,
        capacity_per_replica=capacity,
        replicas_now=dep.replicas,
        bare_metal_replicas=replicas,
        cloud_peak_replicas=cloud_peak,
        cloud_gpu_hours_month=gpu_hours,
        cloud_burst_usd_month=gpu_hours * cloud_rate,
    )
