"""The mTLS gateway's configuration (HAProxy 2.6, Debian 12's `haproxy`), rendered from the spec.

Why HAProxy: its `json_query` converter (2.1+) reads `model` from the buffered JSON body without a scripting
module (nginx needs njs, a separate module, for that); TLS client verification, per-identity stick-table rate
limits, upstream mutual TLS and a Prometheus exporter (USE_PROMEX, built into Debian's package) are all native;
and certificates are reloaded without dropping connections (`-sf` hands the listeners over).

What it enforces, in order: a client certificate from the site CA (`verify required`: no certificate, another CA's
or an expired one fail the handshake); the path is on the identity's endpoint list (else 403); POST bodies name a
model the identity may call (else 403; a body that is not JSON or larger than the buffer has no model: 403); the
identity's rate (else 429). GET /v1/models is answered by the gateway with the identity's own models. Every other
path: 403.

Where a request goes: the deployment's router Service (cache-aware routing, retries, health checks), or its burst
gateway when the deployment bursts (which then sends to the router or the cloud). Neither serves TLS (vllm-router
0.1.17 has no TLS options, tests/render/fixtures/vllm-router-0.1.17-help.txt; the burst gateway listens plain), so
that hop is plain HTTP inside the cluster, admitted by NetworkPolicy from the gateway pods only (security/k8s.py).
An upstream that does serve TLS (`Upstream.tls`, e.g. an engine a test calls directly) is reached with the
gateway's client certificate, its certificate verified (`upstream_tls`).

Files the configuration names (gpuctl.pki.gateway_files writes them, 0600 where a key is inside):
server.pem, client-ca.pem, upstream-ca.pem, upstream-client.pem, plus the maps rendered here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ...model import Deployment, Site
from .. import burst, router
from . import haproxy
from .certs import service_names

# Prompts are JSON: the body must fit the buffer to be read (HAProxy: req.body sees at most tune.bufsize).
MAX_BODY_BYTES = 1024 * 1024
MAPS = ("endpoints.map", "models.map", "routes.map", "model_list.map", "rate.map")


@dataclass(frozen=True)
class Upstream:
    host: str
    port: int
    server_name: str  # the name its certificate must carry (SNI and verifyhost)
    tls: bool = False  # whether it serves TLS (then mutual TLS with the gateway's client certificate)


def entry(dep: Deployment) -> tuple[str, int]:
    """The Service (name, port) the gateway sends a deployment's requests to: its burst gateway when it bursts,
    else its router. Both plain HTTP."""
    return (burst.name(dep), burst.PORT) if dep.burst is not None else (router.name(dep), router.PORT)


def upstreams(site: Site) -> dict[str, Upstream]:
    """Each deployment's entry Service, by deployment name (tests and the lab pass their own addresses)."""
    out = {}
    for dep in site.deployments:
        svc, port = entry(dep)
        name = service_names(svc, dep.namespace)[1]
        out[dep.name] = Upstream(name, port, name, tls=False)
    return out


def per_replica_limit(site: Site, declared: int) -> int:
    """Each gateway replica counts its own requests (a stick table is per process; HAProxy peers would share it
    but need every replica's address up front, which a Deployment's pods do not have). The Service spreads
    connections over the replicas, so each replica allows declared / replicas, rounded down (never above what was
    declared in total), and at least 1 request per second."""
    return max(1, declared // site.security.gateway.replicas)


def maps(site: Site) -> dict[str, str]:
    """The lookup tables: `<client>:<path>` -> 1, `<client>:<model>` -> 1, `<client>:<model>` -> backend,
    `<client>` -> its /v1/models answer, `<client>` -> requests per second one replica allows (rate + burst, split
    over the gateway's replicas: per_replica_limit)."""
    endpoints, models, routes, model_list, rate = [], [], [], [], []
    deps = {d.name: d for d in site.deployments}
    for c in site.security.clients:
        endpoints += [f"{c.name}:{path} 1" for path in sorted(set(c.endpoints))]
        served: dict[str, str] = {}
        for name in c.deployments:
            served.setdefault(deps[name].model, name)
        for model, dep in sorted(served.items()):
            models.append(f"{c.name}:{model} 1")
            routes.append(f"{c.name}:{model} be_{dep}")
        listing = {
            "object": "list",
            "data": [{"id": m, "object": "model", "owned_by": "gpuctl"} for m in sorted(served)],
        }
        model_list.append(f"{c.name} {json.dumps(listing, separators=(',', ':'))}")
        if c.rate_limit is not None:
            rate.append(f"{c.name} {per_replica_limit(site, c.rate_limit.requests_per_second + c.rate_limit.burst)}")
    head = "# DO NOT EDIT: rendered by gpuctl from the site's security.clients\n"
    return {
        name: head + "".join(line + "\n" for line in lines)
        for name, lines in zip(MAPS, (endpoints, models, routes, model_list, rate), strict=True)
    }


def config(
    site: Site,
    tls_dir: str,
    bind: str = "0.0.0.0",
    ups: dict[str, Upstream] | None = None,
    admin_socket: str | None = None,
    maps_dir: str | None = None,
) -> str:
    """haproxy.cfg. `tls_dir` holds the certificate files, `maps_dir` (default: the same) the maps; `ups`
    overrides the Service addresses."""
    gw = site.security.gateway
    ups = ups if ups is not None else upstreams(site)
    d = tls_dir.rstrip("/")
    m = (maps_dir or tls_dir).rstrip("/")
    lines = [
        "# DO NOT EDIT: rendered by gpuctl from the site spec (render/security/gateway.py)",
        "global",
        "    log stderr format raw local0 info",
        f"    tune.bufsize {MAX_BODY_BYTES}",
        "    ssl-default-bind-options ssl-min-ver TLSv1.2",
        "    ssl-default-server-options ssl-min-ver TLSv1.2",
    ]
    if admin_socket:
        lines.append(f"    stats socket {admin_socket} mode 600 level admin")
    verify = "required" if gw.upstream_tls == "verify" else "none"
    lines += [
        *haproxy.DEFAULTS,
        "    option http-buffer-request",
        # Who called what and the verdict; never headers or bodies (prompts, keys).
        '    log-format "%ci %ft %b %ST %Tt client=%[var(txn.client)] %HM %HPO"',
        "",
        "backend st_rate",
        "    stick-table type string len 64 size 100k expire 10s store http_req_rate(1s)",
        "",
        "frontend api",
        f"    bind {bind}:{gw.port} ssl crt {d}/server.pem ca-file {d}/client-ca.pem verify required",
        "    http-request set-var(txn.client) ssl_c_s_dn(CN)",
        "    http-request set-var(txn.path) path",
        "    http-request set-var(txn.ep) var(txn.client),concat(:,txn.path)",
        f"    http-request deny deny_status 403 unless {{ var(txn.ep),map_str({m}/endpoints.map) -m found }}",
        "    http-request track-sc0 var(txn.client) table st_rate",
        f"    http-request set-var(txn.limit) var(txn.client),map_str_int({m}/rate.map,0)",
        "    http-request deny deny_status 429 if { var(txn.limit) -m int gt 0 } "
        "{ sc_http_req_rate(0),sub(txn.limit) gt 0 }",
        "    http-request return status 200 content-type application/json "
        f'lf-string "%[var(txn.client),map_str({m}/model_list.map)]" if {{ method GET }} {{ path /v1/models }}',
        "    http-request deny deny_status 405 unless { method POST }",
        "    http-request set-var(txn.model) req.body,json_query('$.model')",
        "    http-request set-var(txn.mk) var(txn.client),concat(:,txn.model)",
        f"    http-request deny deny_status 403 unless {{ var(txn.mk),map_str({m}/models.map) -m found }}",
        f"    use_backend %[var(txn.mk),map_str({m}/routes.map)]",
        "    default_backend be_deny",
        "",
        "backend be_deny",
        "    http-request deny deny_status 403",
        "",
        "frontend metrics",
        f"    bind {bind}:{gw.metrics_port}",
        "    http-request use-service prometheus-exporter if { path /metrics }",
        "    http-request deny deny_status 404",
    ]
    for dep in site.deployments:
        up = ups[dep.name]
        check = f" verifyhost {up.server_name}" if verify == "required" else ""
        tls = (
            f" ssl verify {verify} ca-file {d}/upstream-ca.pem crt {d}/upstream-client.pem "
            f"sni str({up.server_name}){check}"
        )
        lines += [
            "",
            f"backend be_{dep.name}",
            f"    server {dep.name} {up.host}:{up.port}{tls if up.tls else ''} init-addr last,libc,none",
        ]
    return "\n".join(lines) + "\n"
