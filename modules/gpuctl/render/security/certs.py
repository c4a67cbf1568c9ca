"""The certificates a site needs: one server certificate per gateway and engine service, one client certificate
per API identity, and the gateway's own client certificate for mutual TLS to its upstreams."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ...model import Site
from ...model.security import RESERVED_CLIENT

GATEWAY = RESERVED_CLIENT


@dataclass(frozen=True)
class CertSpec:
    kind: Literal["server", "client"]
    name: str  # file stem, unique per kind
    common_name: str
    organization: str | None
    dns_names: tuple[str, ...]
    days: int
    # An engine's certificate is also its engine proxy's client certificate towards the engine (engine_tls.py).
    also_client: bool = False


def service_names(name: str, namespace: str) -> tuple[str, ...]:
    return (f"{name}.{namespace}.svc", f"{name}.{namespace}.svc.cluster.local")


def plan(site: Site) -> list[CertSpec]:
    sec = site.security
    lt = sec.certificates
    gw = sec.gateway
    out = [
        CertSpec(
            "server", GATEWAY, GATEWAY, "gpuctl", (*gw.hostnames, *service_names(GATEWAY, gw.namespace)), lt.server_days
        ),
        CertSpec("client", GATEWAY, GATEWAY, "gpuctl", (), lt.client_days),
    ]
    for dep in site.deployments:
        names = service_names(dep.name, dep.namespace)
        out.append(CertSpec("server", dep.name, names[0], "gpuctl", names, lt.server_days, also_client=True))
    for client in sec.clients:
        out.append(CertSpec("client", client.name, client.name, client.team, (), lt.client_days))
    return out
