"""Cloud burst: an nginx gateway in front of the router sends overflow to the deployment's OpenAI-compatible burst
endpoint when the local replicas are saturated or none is healthy.

vllm-router 0.1.17 has no outside fallback (its options, tests/render/fixtures/vllm-router-0.1.17-help.txt, list
worker URLs, discovery, retries and circuit breakers, all towards its own workers), so the split is the gateway's:
- saturated: the local upstream (the router's Service) takes at most `max_conns` connections per gateway pod, the
  deployment's capacity (max replicas × max_num_seqs) shared over the gateway pods; past it nginx has no live
  upstream and answers 502 internally (https://nginx.org/en/docs/http/ngx_http_upstream_module.html#max_conns);
- unhealthy: the router answers 503 (`no_available_workers`) when every replica is down, or the connection fails;
  until its health check has marked a dead replica down (up to `health_check_interval_s`) it answers 500 ("Request
  failed: error sending request for url ...", seen with the real router when every replica was SIGKILLed), so 500
  counts as unhealthy too (an engine's own 500 is then retried at the burst endpoint, which costs a request there);
- either way `error_page 500 502 503 504 = @burst` replays the request to the burst endpoint, with its API key from
  a Secret (key `api-key`) that an init container writes into an nginx include; the key is never on a command line
  or in the rendered files.
The access log records the upstream of every request (`route=local|burst`), and a copy of each record goes by
syslog over loopback UDP to an mtail sidecar (https://google.github.io/mtail/), which counts it as
`gpuctl_gateway_requests_total{deployment, route, code}` on its metrics port: the split, for Prometheus, next to the
router's own `vllm_router_requests_total`. UDP keeps the gateway independent of its metrics: a dead sidecar loses
counts, never requests. nginx's syslog records carry no line end and mtail reads a datagram stream by lines, so the
record format ends with one.

Public API for tests and tools: `gateway_config(site, dep, router_url=..., auth_file=...)`, `split_program(dep)`,
`METRICS_ARGS` (the sidecar's mtail arguments).
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlsplit

from ..model import Deployment, Site
from . import router
from .k8s import restricted_context
from .labels import client_peers, labels, monitoring_peer, selector

PORT = 8080
REPLICAS = 2
AUTH_DIR = "/run/gpuctl-burst"
AUTH_FILE = f"{AUTH_DIR}/auth.conf"
CONFIG_DIR = "/etc/nginx/gpuctl"
METRICS_PORT = 3903  # mtail's default port
METRICS_SYSLOG = "127.0.0.1:5140"
PROGS_DIR = "/etc/mtail"
PROGRAM = "gateway.mtail"
METRIC = "gpuctl_gateway_requests_total"
NGINX_UID = 101  # the official nginx image's `nginx` user (docker-library/nginx Dockerfile: useradd --uid 101)
NOBODY = 65534  # mtail's image is the site's own build: any unprivileged uid will do
# An API key of these characters only can sit in an nginx string unquoted-safe.
_KEY_CHARS = "A-Za-z0-9._~+/=-"
_WRITE_AUTH = (
    'case "$API_KEY" in *[!'
    + _KEY_CHARS
    + "]*) echo 'burst api-key has characters outside "
    + _KEY_CHARS
    + "' >&2; exit 1;; esac; "
    + 'printf \'proxy_set_header Authorization "Bearer %s";\\n\' "$API_KEY" > '
    + AUTH_FILE
)


def capacity(dep: Deployment) -> int:
    """Requests the local replicas run at once at their maximum scale: past this they queue."""
    return dep.replicas_max * (dep.engine_max_num_seqs or 1)


def gateway_config(
    site: Site,
    dep: Deployment,
    router_url: str | None = None,
    auth_file: str = AUTH_FILE,
    run_dir: str = "/tmp",
    listen: str = str(PORT),
    metrics_syslog: str = METRICS_SYSLOG,
) -> str:
    """nginx.conf of the gateway; `router_url`, `auth_file`, `run_dir` (pid and buffers), `listen` and
    `metrics_syslog` (the sidecar's UDP address) default to the pod's (a test outside Kubernetes points them at
    local processes)."""
    burst = dep.burst
    assert burst is not None
    local = urlsplit(router_url or f"http://{router.name(dep)}.{dep.namespace}.svc.cluster.local:{router.PORT}")
    remote = urlsplit(burst.url)
    prefix = remote.path.rstrip("/")
    per_pod = max(1, math.ceil(capacity(dep) / REPLICAS))
    rewrite = f"        rewrite ^/v1/(.*)$ {prefix}/$1 break;\n" if prefix != "/v1" else ""
    return f"""# gpuctl: burst gateway of deployment {dep.name} (DO NOT EDIT: rendered from the site spec)
worker_processes 1;
pid {run_dir}/nginx.pid;
error_log stderr warn;
events {{
    worker_connections 4096;
}}
http {{
    client_body_temp_path {run_dir}/nginx-body;
    proxy_temp_path {run_dir}/nginx-proxy;
    fastcgi_temp_path {run_dir}/nginx-fastcgi;
    uwsgi_temp_path {run_dir}/nginx-uwsgi;
    scgi_temp_path {run_dir}/nginx-scgi;
    log_format gpuctl_split '$time_iso8601 status=$status route=$gpuctl_route upstream=$upstream_addr '
                            'upstream_status=$upstream_status request_time=$request_time';
    log_format gpuctl_metrics 'status=$status route=$gpuctl_route\\n';
    access_log /dev/stdout gpuctl_split;
    access_log syslog:server={metrics_syslog},nohostname,tag=gpuctl_gateway gpuctl_metrics;
    upstream gpuctl_local {{
        server {local.hostname}:{local.port} max_conns={per_pod};
    }}
    server {{
        listen {listen};
        client_max_body_size 16m;
        set $gpuctl_route local;
        location = /healthz {{
            access_log off;
            return 200 "ok\\n";
        }}
        location / {{
            proxy_pass http://gpuctl_local;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_read_timeout 600s;
            proxy_next_upstream error timeout;
            proxy_intercept_errors on;
            error_page 500 502 503 504 = @burst;
        }}
        location @burst {{
            set $gpuctl_route burst;
{rewrite}            include {auth_file};
            proxy_pass {remote.scheme}://{remote.netloc};
            proxy_set_header Host {remote.netloc};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_read_timeout 600s;
            proxy_ssl_server_name on;
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate /etc/ssl/certs/ca-certificates.crt;
        }}
    }}
}}
"""


def split_program(dep: Deployment) -> str:
    """The sidecar's mtail program: one counter of the gateway's records by route and status."""
    return f"""# gpuctl: request split of the burst gateway of deployment {dep.name} (DO NOT EDIT: rendered)
counter {METRIC} by deployment, route, code
/ status=(?P<code>\\d{{3}}) route=(?P<route>local|burst)$/ {{
  {METRIC}["{dep.name}"][$route][$code]++
}}
"""


METRICS_ARGS = [
    "--progs",
    PROGS_DIR,
    "--logs",
    f"udp://{METRICS_SYSLOG}",
    "--address",
    "0.0.0.0",
    "--port",
    str(METRICS_PORT),
    "--emit_prog_label=false",
    "--logtostderr",
]


def name(dep: Deployment) -> str:
    return f"{dep.name}-gateway"


def _meta(dep: Deployment) -> dict[str, Any]:
    return {"name": name(dep), "namespace": dep.namespace, "labels": labels(dep, "gateway")}


def objects(site: Site, dep: Deployment) -> list[dict[str, Any]]:
    if dep.burst is None:
        return []
    burst = dep.burst
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(dep)}
    config["data"] = {"nginx.conf": gateway_config(site, dep), PROGRAM: split_program(dep)}
    probe = {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 5}
    key = {"name": "API_KEY", "valueFrom": {"secretKeyRef": {"name": burst.credential_secret, "key": "api-key"}}}
    pod = {
        "initContainers": [
            {
                "name": "burst-auth",
                "image": burst.gateway_image,
                "command": ["sh", "-c", _WRITE_AUTH],
                "env": [key],
                "securityContext": restricted_context(NGINX_UID),
                "volumeMounts": [{"name": "auth", "mountPath": AUTH_DIR}],
            }
        ],
        "containers": [
            {
                "name": "nginx",
                "image": burst.gateway_image,
                # -e: the error log before the configuration is read; every path nginx writes is under /tmp
                "command": ["nginx", "-e", "stderr", "-g", "daemon off;", "-c", f"{CONFIG_DIR}/nginx.conf"],
                "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
                "readinessProbe": probe,
                "livenessProbe": probe,
                "securityContext": restricted_context(NGINX_UID),
                "volumeMounts": [
                    {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
                    {"name": "auth", "mountPath": AUTH_DIR, "readOnly": True},
                    {"name": "tmp", "mountPath": "/tmp"},
                ],
            },
            {
                "name": "metrics",
                "image": burst.metrics_image,
                "command": ["mtail", *METRICS_ARGS],
                "ports": [{"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"}],
                "readinessProbe": {"httpGet": {"path": "/metrics", "port": "metrics"}, "periodSeconds": 10},
                "securityContext": restricted_context(NOBODY),
                "volumeMounts": [{"name": "program", "mountPath": PROGS_DIR, "readOnly": True}],
            },
        ],
        "volumes": [
            {
                "name": "config",
                "configMap": {"name": name(dep), "items": [{"key": "nginx.conf", "path": "nginx.conf"}]},
            },
            {"name": "program", "configMap": {"name": name(dep), "items": [{"key": PROGRAM, "path": PROGRAM}]}},
            {"name": "auth", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
            {"name": "tmp", "emptyDir": {}},
        ],
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(dep),
        "spec": {
            "replicas": REPLICAS,
            "selector": {"matchLabels": selector(dep, "gateway")},
            "template": {"metadata": {"labels": labels(dep, "gateway")}, "spec": pod},
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(dep),
        "spec": {
            "selector": selector(dep, "gateway"),
            "ports": [
                {"name": "http", "port": PORT, "targetPort": "http", "protocol": "TCP"},
                {"name": "metrics", "port": METRICS_PORT, "targetPort": "metrics", "protocol": "TCP"},
            ],
        },
    }
    pdb = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _meta(dep),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector(dep, "gateway")}},
    }
    remote = urlsplit(burst.url)
    remote_port = remote.port or (443 if remote.scheme == "https" else 80)
    clients = client_peers(dep)
    policy = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {**_meta(dep), "name": f"{name(dep)}-clients"},
        "spec": {
            "podSelector": {"matchLabels": selector(dep, "gateway")},
            "policyTypes": ["Ingress", "Egress"],
            # an empty `from` would admit every source: without declared clients only Prometheus comes in
            "ingress": [
                *([{"from": clients, "ports": [{"port": PORT, "protocol": "TCP"}]}] if clients else []),
                {"from": [monitoring_peer(site)], "ports": [{"port": METRICS_PORT, "protocol": "TCP"}]},
            ],
            # the router, the burst endpoint (outside the cluster: by port) and DNS
            "egress": [
                {
                    "to": [{"podSelector": {"matchLabels": selector(dep, "router")}}],
                    "ports": [{"port": router.PORT, "protocol": "TCP"}],
                },
                {"ports": [{"port": remote_port, "protocol": "TCP"}]},
                {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]},
            ],
        },
    }
    return [config, deployment, service, pdb, policy]
