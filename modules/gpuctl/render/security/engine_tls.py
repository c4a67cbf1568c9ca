"""Engine-side TLS: the engine serves its API with TLS and requires a client certificate from the site CA.

The site gateway does not call engines: it sends to the deployment's router (or burst gateway), which reaches the
engines through the proxy below (security/gateway.py says why), so no NetworkPolicy admits anyone on TLS_PORT and
the engine's TLS listener serves only its own pod's proxy.

When: a site with API clients (a gateway) and an engine with native TLS (`tls_args`: vLLM). The engine then listens
on TLS_PORT with its deployment's server certificate (Secret `<deployment>-engine-tls`, from the site PKI).

Why a proxy beside it: vllm-router (0.1.17) cannot speak TLS to the engines at all. Its service discovery builds
`http://<pod IP>:<port>` (src/service_discovery.rs `PodInfo::worker_url`, vllm-project/router) and it has no option
for a CA or a client certificate (`vllm-router --help`, tests/render/fixtures/vllm-router-0.1.17-help.txt); the
kubelet's HTTP probes present no client certificate either. So each engine pod runs a small HAProxy (the gateway's
image) on the engine's usual port that passes only the OpenAI allow-list, /health and /metrics to the engine over
mutual TLS with the deployment's certificate; the router and the probes use that port unchanged, and Prometheus a
second listener (METRICS_PORT) that passes /metrics only. The NetworkPolicies admit only the deployment's own router
on the API port and only the monitoring namespace on the metrics one. The router -> pod hop is plain HTTP
inside the namespace: that is the router's limit, not a choice (docs/security.md).
"""

from __future__ import annotations

from typing import Any

from ... import engines
from ...model import Deployment, Site
from ...model.security import OPENAI_ENDPOINTS
from ..labels import labels
from . import haproxy
from .certs import service_names

TLS_PORT = 8443
TLS_DIR = "/etc/gpuctl/engine-tls"
PROXY_CONF_DIR = "/etc/gpuctl/engine-proxy"
# What the plain port passes: the API the gateway also allows and the router's (and kubelet's) health check.
PROXY_PATHS = (*OPENAI_ENDPOINTS, "/health")
# Prometheus' scrape has its own listener, which passes /metrics only: the NetworkPolicy admits the monitoring
# namespace there and not on the API port (security/k8s.py).
METRICS_PORT = 8001
# Secret keys: vLLM reads the certificate and key apart, HAProxy wants them in one PEM.
CERT, KEY, CA, PAIR = "tls.crt", "tls.key", "ca.crt", "tls.pem"


def enabled(site: Site, dep: Deployment) -> bool:
    has_gateway = bool(site.security.clients)
    return has_gateway and getattr(engines.get(dep.engine), "tls_args", None) is not None


def secret_name(dep: Deployment) -> str:
    return f"{dep.name}-engine-tls"


def proxy_name(dep: Deployment) -> str:
    return f"{dep.name}-engine-proxy"


def scrape_port(site: Site, dep: Deployment) -> tuple[str, int]:
    """(container port name, number) Prometheus scrapes the engine pods on: the proxy's metrics listener with
    engine TLS, else the engine's own metrics port (named `http` when it shares the API listener, as vLLM's does)."""
    if enabled(site, dep):
        return "metrics", METRICS_PORT
    engine = engines.get(dep.engine)
    return ("http" if engine.metrics_port == engine.port else "metrics"), engine.metrics_port


def engine_args(site: Site, dep: Deployment, args: list[str], tls_dir: str = TLS_DIR) -> list[str]:
    """The engine's args with TLS: its port moved to TLS_PORT and the engine's TLS flags added."""
    if not enabled(site, dep):
        return args
    out = list(args)
    out[out.index("--port") + 1] = str(TLS_PORT)
    d = tls_dir.rstrip("/")
    tls_args = engines.get(dep.engine).tls_args  # type: ignore[attr-defined]  # enabled() checked it
    return [*out, *tls_args(f"{d}/{CERT}", f"{d}/{KEY}", f"{d}/{CA}", dep.engine_version)]


def proxy_config(dep: Deployment, tls_dir: str = TLS_DIR, bind: str = "0.0.0.0", port: int | None = None,
                 upstream: str = f"127.0.0.1:{TLS_PORT}", metrics_port: int = METRICS_PORT) -> str:  # fmt: skip
    """haproxy.cfg of the engine pod's proxy (tests pass loopback addresses and their own directory)."""
    listen = engines.get(dep.engine).port if port is None else port
    name = service_names(dep.name, dep.namespace)[1]
    d = tls_dir.rstrip("/")
    return "\n".join(
        [
            "# DO NOT EDIT: rendered by gpuctl from the site spec (render/security/engine_tls.py)",
            "global",
            "    log stderr format raw local0 info",
            "    ssl-default-server-options ssl-min-ver TLSv1.2",
            *haproxy.DEFAULTS,
            '    log-format "%ci %ft %ST %Tt %HM %HPO"',  # never headers or bodies
            "",
            "frontend plain",
            f"    bind {bind}:{listen}",
            f"    http-request deny deny_status 403 unless {{ path {' '.join(PROXY_PATHS)} }}",
            "    default_backend engine",
            "",
            "frontend metrics",
            f"    bind {bind}:{metrics_port}",
            "    http-request deny deny_status 403 unless { method GET } { path /metrics }",
            "    default_backend engine",
            "",
            "backend engine",
            f"    server engine {upstream} ssl verify required ca-file {d}/{CA} crt {d}/{PAIR} "
            f"sni str({name}) verifyhost {name}",
            "",
        ]
    )


def config_map(dep: Deployment) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": proxy_name(dep), "namespace": dep.namespace, "labels": labels(dep, "engine")},
        "data": {"haproxy.cfg": proxy_config(dep, bind="0.0.0.0")},
    }


def secure_pod(site: Site, dep: Deployment, spec: dict[str, Any]) -> dict[str, Any]:
    """The engine pod with TLS: the engine's port becomes `https` (TLS_PORT), the proxy serves `http`, and the
    engine's probes go through the proxy (a named probe port resolves in its own container only)."""
    if not enabled(site, dep):
        return spec
    port = engines.get(dep.engine).port
    engine, *others = spec["containers"]
    engine = {**engine, "ports": [{"name": "https", "containerPort": TLS_PORT, "protocol": "TCP"}]}
    for probe in ("readinessProbe", "startupProbe", "livenessProbe"):
        if probe in engine:
            engine[probe] = {**engine[probe], "httpGet": {**engine[probe]["httpGet"], "port": port}}
    engine["volumeMounts"] = [*engine["volumeMounts"], {"name": "engine-tls", "mountPath": TLS_DIR, "readOnly": True}]
    proxy = {
        "name": "engine-proxy",
        "image": site.security.gateway.image,
        "args": ["-W", "-db", "-f", f"{PROXY_CONF_DIR}/haproxy.cfg"],
        "ports": [
            {"name": "http", "containerPort": port, "protocol": "TCP"},
            {"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"},
        ],
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
        "securityContext": haproxy.SECURITY_CONTEXT,
        "volumeMounts": [
            {"name": "engine-proxy", "mountPath": PROXY_CONF_DIR, "readOnly": True},
            {"name": "engine-tls", "mountPath": TLS_DIR, "readOnly": True},
        ],
    }
    volumes = [
        {"name": "engine-proxy", "configMap": {"name": proxy_name(dep)}},
        haproxy.tls_volume("engine-tls", secret_name(dep)),  # the engine and the proxy (uid 99) read it
    ]
    pod_sc = {**spec.get("securityContext", {}), **haproxy.POD_FS_GROUP}
    return {**spec, "securityContext": pod_sc, "containers": [engine, proxy, *others],
            "volumes": [*spec["volumes"], *volumes]}  # fmt: skip


def secure_service(site: Site, dep: Deployment, svc: dict[str, Any]) -> dict[str, Any]:
    """The Service gains the TLS port the gateway calls; `http` (the proxy) stays for the router and probes."""
    if not enabled(site, dep):
        return svc
    https = {"name": "https", "port": TLS_PORT, "targetPort": "https", "protocol": "TCP"}
    return {**svc, "spec": {**svc["spec"], "ports": [*svc["spec"]["ports"], https]}}
