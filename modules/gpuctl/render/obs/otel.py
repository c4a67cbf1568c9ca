"""Tracing: the OpenTelemetry Collector configuration rendered from the spec, and the engine flags that send
traces to it. Nothing is rendered when the site names no trace backend (`observability.trace_backend_url`).

The collector receives OTLP (gRPC on `otlp_collector_port`, HTTP on 4318), batches under a memory limit, and
exports OTLP/HTTP to the backend (receivers/processors/exporters as in the Collector's configuration reference,
https://opentelemetry.io/docs/collector/configuration/). Engines reach it through its Service in the
observability namespace. The router sends no traces: in vllm-router 0.1.17 the Rust core takes
`enable_trace`/`otlp_traces_endpoint` (`vllm_router_rs.Router(...)`'s signature in the wheel), but its command line
(`vllm_router/router_args.py`, tests/render/fixtures/vllm-router-0.1.17-help.txt) exposes neither, so a router
started as gpuctl renders it cannot be told where to send traces.

The collector runs as a Deployment with this configuration in a ConfigMap and a Service on both OTLP ports
(`collector_objects`, through render.objects). Image: the OpenTelemetry Collector "contrib" distribution, which
carries the `resource` processor the pipeline uses (open-telemetry/opentelemetry-collector-releases,
distributions/otelcol-contrib/manifest.yaml); its Dockerfile there runs it as user 10001:10001. No collector
binary is available on this machine (none on PyPI or in Debian), so the configuration is checked by its
structure in tests, not by the collector itself.
"""

from __future__ import annotations

import hashlib
from typing import Any

import yaml

from ... import engines
from ...model import Deployment, Site
from ..k8s import MANAGED_BY

COLLECTOR = "gpuctl-otel-collector"
OTLP_HTTP_PORT = 4318  # the OTLP/HTTP default (OTLP specification, https://opentelemetry.io/docs/specs/otlp/)
IMAGE = "docker.io/otel/opentelemetry-collector-contrib:0.153.0"
CONFIG_DIR = "/etc/gpuctl-otel"
COLLECTOR_UID = 10001  # distributions/otelcol-contrib/Dockerfile: USER 10001:10001


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


def collector_objects(site: Site) -> list[dict[str, Any]]:
    """The collector's ConfigMap, Deployment and Service in the observability namespace (none without tracing).
    The pod passes Pod Security `restricted`; a change of configuration changes the pod template's checksum
    annotation, so the Deployment rolls."""
    config = collector_config(site)
    if config is None:
        return []
    o = site.observability
    text = yaml.safe_dump(config, sort_keys=False)
    labels = {**MANAGED_BY, "app.kubernetes.io/name": COLLECTOR}
    match = {"app.kubernetes.io/name": COLLECTOR}
    meta = {"name": COLLECTOR, "namespace": o.namespace, "labels": labels}
    ports = [("otlp-grpc", o.otlp_collector_port, "grpc"), ("otlp-http", OTLP_HTTP_PORT, "http")]
    container = {
        "name": "otel-collector",
        "image": IMAGE,
        "args": [f"--config={CONFIG_DIR}/config.yaml"],
        "ports": [{"name": n, "containerPort": p, "protocol": "TCP"} for n, p, _ in ports],
        "readinessProbe": {"tcpSocket": {"port": "otlp-grpc"}, "periodSeconds": 10},
        "livenessProbe": {"tcpSocket": {"port": "otlp-grpc"}, "periodSeconds": 20},
        # memory_limiter's percentages are of this limit (the collector reads its cgroup's limit)
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "config", "mountPath": CONFIG_DIR, "readOnly": True}],
    }
    pod_security = {
        "runAsNonRoot": True,
        "runAsUser": COLLECTOR_UID,
        "runAsGroup": COLLECTOR_UID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    checksum = hashlib.sha256(text.encode()).hexdigest()
    return [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"config.yaml": text}},
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta,
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": match},
                "template": {
                    "metadata": {"labels": labels, "annotations": {"gpuctl.dev/config-sha256": checksum}},
                    "spec": {
                        "automountServiceAccountToken": False,
                        "securityContext": pod_security,
                        "containers": [container],
                        "volumes": [{"name": "config", "configMap": {"name": COLLECTOR}}],
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta,
            "spec": {
                "selector": match,
                "ports": [
                    {"name": n, "port": p, "targetPort": n, "protocol": "TCP", "appProtocol": a} for n, p, a in ports
                ],
            },
        },
    ]
