"""Tracing: the OpenTelemetry Collector configuration rendered from the spec, and the engine flags that send
traces to it. Nothing is rendered when the site names no trace backend (`observability.trace_backend_url`).

The collector receives OTLP (gRPC on `otlp_collector_port`, HTTP on 4318), batches under a memory limit, and
exports OTLP/HTTP to the backend (receivers/processors/exporters as in the Collector's configuration reference,
https://opentelemetry.io/docs/collector/configuration/). Engines reach it through its Service in the
observability namespace. The router's traces are not wired: gpuctl renders no router yet, and vllm-router's
tracing flags were not checked; production-stack's router would take this same URL as `routerSpec.otel.endpoint`.
"""

from __future__ import annotations

from typing import Any

from ... import engines
from ...model import Deployment, Site

COLLECTOR = "gpuctl-otel-collector"
OTLP_HTTP_PORT = 4318  # the OTLP/HTTP default (OTLP specification, https://opentelemetry.io/docs/specs/otlp/)


def collector_endpoint(site: Site) -> str | None:
    """Where engines send OTLP/gRPC, or None when the site does not trace."""
    o = site.observability
    if o.trace_backend_url is None:
        return None
    return f"http://{COLLECTOR}.{o.namespace}.svc:{o.otlp_collector_port}"


def trace_args(site: Site, dep: Deployment) -> list[str]:
    """The engine's tracing flags for this deployment (engines that trace define `trace_args`)."""
    endpoint = collector_endpoint(site)
    engine = engines.get(dep.engine)
    flags = getattr(engine, "trace_args", None)
    if endpoint is None or flags is None:
        return []
    result: list[str] = flags(dep.engine_version, endpoint)
    return result


def collector_config(site: Site) -> dict[str, Any] | None:
    o = site.observability
    if o.trace_backend_url is None:
        return None
    return {
        "receivers": {
            "otlp": {
                "protocols": {
                    "grpc": {"endpoint": f"0.0.0.0:{o.otlp_collector_port}"},
                    "http": {"endpoint": f"0.0.0.0:{OTLP_HTTP_PORT}"},
                }
            }
        },
        "processors": {
            "memory_limiter": {"check_interval": "1s", "limit_percentage": 80, "spike_limit_percentage": 25},
            "batch": {"timeout": "5s", "send_batch_size": 1024},
            "resource": {"attributes": [{"key": "gpuctl.site", "value": site.name, "action": "upsert"}]},
        },
        "exporters": {"otlphttp": {"endpoint": o.trace_backend_url}},
        "service": {
            "pipelines": {
                "traces": {
                    "receivers": ["otlp"],
                    "processors": ["memory_limiter", "resource", "batch"],
                    "exporters": ["otlphttp"],
                }
            }
        },
    }
