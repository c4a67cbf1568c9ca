"""The host packet filter of each server (nftables), from the spec's networks, pools and gateway.

One table, `inet gpuctl`, replaced atomically in one transaction (the file deletes and re-creates it), so the
tables of kube-proxy and the CNI are never touched. Input policy drop:
- established/related, loopback, ICMP: accepted;
- SSH only from management networks and the bastion;
- every other port from the other servers of the host's own pool (NCCL, torch.distributed, KV transfer: their ports are
  ephemeral or set per job, so the pool's addresses are the boundary);
- Kubernetes node-to-node ports (kubelet, VXLAN/Geneve overlays, BGP) from the site's servers;
- serving ports of the engines on this pool only from the gateway's sources;
- exporter ports only from management networks (where Prometheus scrapes from);
- the spec's extra openings; everything else counted, then dropped.
Output and forward: the BMC networks are unreachable from the host and from its pods (counted drop).
"""

from __future__ import annotations

import contextlib
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Any

from ... import engines
from ...model import Server, Site

TABLE = "gpuctl"
# Node-to-node ports of Kubernetes: kubelet API 10250/tcp (https://kubernetes.io/docs/reference/networking/ports-and-protocols/),
# VXLAN 8472/udp (flannel) and 4789/udp (Calico, Cilium), Geneve 6081/udp (Cilium, OVN), BGP 179/tcp (Calico).
K8S_NODE_TCP = (10250, 179)
K8S_NODE_UDP = (8472, 4789, 6081)
# Exporters Prometheus scrapes on the host: node_exporter 9100 (prometheus/node_exporter README), dcgm-exporter
# 9400 (NVIDIA/dcgm-exporter README, default --address :9400).
EXPORTER_PORTS = (9100, 9400)

Net = IPv4Network | IPv6Network


def _split(nets: list[Net]) -> tuple[list[str], list[str]]:
    v4 = sorted({str(n) for n in nets if n.version == 4})
    v6 = sorted({str(n) for n in nets if n.version == 6})
    return v4, v6


def _addresses(server: Server) -> list[Net]:
    return [ip_network(a.ip) for a in server.addresses]


def _bastion_host(bastion: str) -> str:
    """The host of [user@]host[:port]; an IPv6 address is in brackets."""
    rest = bastion.rpartition("@")[2]
    return rest[1 : rest.index("]")] if rest.startswith("[") else rest.split(":")[0]


def _pool_of(site: Site, server: Server) -> Any:
    return next((p for p in site.node_pools if server in site.pool_servers(p)), None)


def sources(site: Site, server: Server) -> dict[str, list[Net]]:
    """The address sets of one host's policy, by name."""
    nets = {n.name: n for n in site.networks}
    mgmt: list[Net] = [n.cidr for n in site.networks if n.purpose == "management"]
    bastion = site.provisioning.ssh.bastion
    if bastion:
        with contextlib.suppress(ValueError):  # a bastion by name: its network must be a management network
            mgmt.append(ip_network(_bastion_host(bastion)))
    pool = _pool_of(site, server)
    peers = [a for s in (site.pool_servers(pool) if pool else []) if s.name != server.name for a in _addresses(s)]
    nodes = [a for _, s in site.all_servers() if s.name != server.name for a in _addresses(s)]
    bmc = [n.cidr for n in site.networks if n.purpose == "bmc"]
    out: dict[str, list[Net]] = {
        "ssh": mgmt,
        "pool": peers,
        "nodes": nodes,
        "gateway": list(site.security.gateway.sources),
        "monitoring": [n.cidr for n in site.networks if n.purpose == "management"],
        "bmc": bmc,
    }
    for opening in site.security.firewall.allow:
        out[f"allow_{opening.name}"] = [
            nets[opening.from_network].cidr if opening.from_network else opening.from_cidr  # type: ignore[list-item]
        ]
    return out


def serving_ports(site: Site, server: Server) -> list[int]:
    pool = _pool_of(site, server)
    if pool is None:
        return []
    return sorted({engines.get(d.engine).port for d in site.deployments if d.node_pool == pool.name})


def _set(name: str, family: str, nets: list[str]) -> list[str]:
    kind = "ipv4_addr" if family == "4" else "ipv6_addr"
    lines = [f"    set {name}_v{family} {{", f"        type {kind}", "        flags interval"]
    if nets:
        lines.append(f"        elements = {{ {', '.join(nets)} }}")
    return [*lines, "    }"]


def _ports(ports: tuple[int, ...] | list[int]) -> str:
    return str(ports[0]) if len(ports) == 1 else "{ " + ", ".join(map(str, ports)) + " }"


def ruleset(site: Site, server: Server) -> str:
    """The nft script for one host ('' when the site's firewall is off: the role removes the table)."""
    if site.security.firewall.mode == "off":
        return ""
    sets = sources(site, server)
    head = [
        f"# DO NOT EDIT: rendered by gpuctl for {server.name} from the site spec (render/security/nftables.py)",
        f"table inet {TABLE} {{}}",
        f"delete table inet {TABLE}",
        f"table inet {TABLE} {{",
    ]
    body: list[str] = []
    for name, nets in sets.items():
        v4, v6 = _split(nets)
        body += _set(name, "4", v4) + _set(name, "6", v6)
    rules = [
        "        ct state established,related accept",
        "        ct state invalid counter drop",
        '        iif "lo" accept',
        '        meta l4proto { 1, 58 } accept comment "icmp, ipv6-icmp"',  # numbers: no /etc/protocols needed
    ]

    def allow(match: str, name: str, comment: str) -> None:
        for fam, key in (("4", "ip"), ("6", "ip6")):
            rules.append(f'        {key} saddr @{name}_v{fam} {match}accept comment "{comment}"')

    allow("tcp dport 22 ", "ssh", "ssh from management and the bastion")
    rules.append('        tcp dport 22 counter drop comment "ssh from anywhere else, own pool included"')
    allow("", "pool", "own pool: NCCL, torch.distributed, KV transfer")
    allow(f"tcp dport {_ports(K8S_NODE_TCP)} ", "nodes", "kubernetes node to node (tcp)")
    allow(f"udp dport {_ports(K8S_NODE_UDP)} ", "nodes", "kubernetes overlay (udp)")
    ports = serving_ports(site, server)
    if ports:
        allow(f"tcp dport {_ports(ports)} ", "gateway", "serving ports from the gateway")
    allow(f"tcp dport {_ports(EXPORTER_PORTS)} ", "monitoring", "exporters from management")
    for opening in site.security.firewall.allow:
        port = f"{opening.protocol} dport {opening.port} " if opening.port else f"meta l4proto {opening.protocol} "
        allow(port, f"allow_{opening.name}", f"opening {opening.name}")
    rules.append('        counter comment "dropped: not allowed by the site spec"')
    body += ["    chain input {", "        type filter hook input priority filter; policy drop;", *rules, "    }"]
    for chain in ("output", "forward"):
        body += [
            f"    chain {chain} {{",
            f"        type filter hook {chain} priority filter; policy accept;",
            '        ip daddr @bmc_v4 counter drop comment "BMC networks are unreachable from hosts and pods"',
            '        ip6 daddr @bmc_v6 counter drop comment "BMC networks are unreachable from hosts and pods"',
            "    }",
        ]
    return "\n".join([*head, *body, "}"]) + "\n"
