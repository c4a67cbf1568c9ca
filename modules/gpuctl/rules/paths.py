"""Target paths as users read them, and as the locator resolves them to file:line."""

from __future__ import annotations

from ..model import Bond, Deployment, NodePool, Pdu, Rack, Server


def rack(r: Rack) -> str:
    return f"racks[{r.name}]"


def server(r: Rack, s: Server) -> str:
    return f"racks[{r.name}].servers[{s.name}]"


def bond(r: Rack, s: Server, b: Bond) -> str:
    return f"{server(r, s)}.bonds[{b.name}]"


def port(r: Rack, s: Server, nic: str, name: str) -> str:
    return f"{server(r, s)}.nics[{nic}].ports[{name}]"


def pdu(r: Rack, p: Pdu) -> str:
    return f"racks[{r.name}].pdus[{p.name}]"


def item(r: Rack, kind: str, name: str) -> str:
    return f"racks[{r.name}].{kind}[{name}]"


def pool(p: NodePool) -> str:
    return f"node_pools[{p.name}]"


def deployment(d: Deployment) -> str:
    return f"deployments[{d.name}]"
