"""Network rules: bonds, LACP, link monitoring, SR-IOV, MTU, training fabric, addresses."""

from __future__ import annotations

from collections.abc import Iterator
from ipaddress import ip_network

from ..model import Bond, NicPort, Rack, Server, Site
from . import paths
from .base import Hit, Severity, rule

BONDING = "Linux Documentation/networking/bonding.rst (https://docs.kernel.org/networking/bonding.html)"
NETPLAN = "netplan doc/netplan-yaml.md (https://github.com/canonical/netplan/blob/main/doc/netplan-yaml.md)"
ICE = "intel/ethernet-linux-ice README (https://github.com/intel/ethernet-linux-ice/blob/HEAD/README)"


def _ports(server: Server) -> dict[str, tuple[str, NicPort]]:
    return {p.name: (nic.name, p) for nic in server.nics for p in nic.ports}


def _bonds(site: Site) -> Iterator[tuple[Rack, Server, Bond]]:
    for rack, server in site.all_servers():
        for bond in server.bonds:
            yield rack, server, bond


@rule(
    "NET001",
    "bond-speed-mismatch",
    Severity.ERROR,
    "Members of a load-sharing bond must run at the same speed.",
    "Use ports of the same speed, or make the bond active-backup.",
    sources=(BONDING + ": 802.3ad groups share the same speed and duplex",),
)
def bond_speed_mismatch(site: Site) -> Iterator[Hit]:
    """802.3ad aggregates only ports of equal speed (others end up in a separate, unused aggregator);
    balance-rr/xor spread traffic evenly and the slow member throttles the bond. active-backup may mix."""
    for rack, server, bond in _bonds(site):
        if bond.mode == "active-backup":
            continue
        ports = _ports(server)
        speeds = {m: ports[m][1].speed_gbps for m in bond.members if m in ports}
        if len(set(speeds.values())) > 1:
            shown = ", ".join(f"{m} {s:g}G" for m, s in speeds.items())
            yield Hit(paths.bond(rack, server, bond), f"{bond.mode} members differ in speed: {shown}", "members")


@rule(
    "NET002",
    "lacp-switch-lag",
    Severity.ERROR,
    "A bond's mode must match the LAG configured on its switches.",
    "Declare the switch side (lacp or mlag for 802.3ad, static for balance-rr/xor, none otherwise).",
    sources=(
        BONDING + ": 802.3ad needs a switch that supports IEEE 802.3ad",
        "IBM Documentation, bonding 802.3ad mode (same speed, MII monitoring): "
        "https://www.ibm.com/docs/en/linuxonibm/l0wlcb00/l0wlcb00_8023admode.html",
    ),
)
def lacp_switch_lag(site: Site) -> Iterator[Hit]:
    """802.3ad needs LACP on the switch (MLAG when members land on two switches); balance-rr, balance-xor
    and broadcast need a static port-channel; active-backup, balance-tlb and balance-alb need no switch
    LAG, and an LACP LAG facing them suspends the ports."""
    for rack, server, bond in _bonds(site):
        lag = bond.switch_lag
        kind = lag.kind if lag else None
        ports = _ports(server)
        switches: set[str] = {sw for m in bond.members if m in ports and (sw := ports[m][1].switch)}
        if lag:
            switches |= set(lag.switches)
        target = paths.bond(rack, server, bond)
        if bond.mode == "802.3ad":
            if kind not in ("lacp", "mlag"):
                yield Hit(
                    target,
                    f"802.3ad needs an LACP LAG on the switch; declared: {kind or 'nothing'}",
                    "switch_lag" if lag else "mode",
                )
            elif len(switches) > 1 and kind != "mlag":
                yield Hit(
                    target,
                    f"members land on {len(switches)} switches ({', '.join(sorted(switches))}); "
                    "an LACP LAG across switches needs MLAG",
                    "switch_lag",
                )
        elif bond.mode in ("balance-rr", "balance-xor", "broadcast"):
            if kind != "static":
                yield Hit(
                    target,
                    f"{bond.mode} needs a static port-channel on the switch; declared: {kind or 'nothing'}",
                    "switch_lag" if lag else "mode",
                )
        elif kind in ("lacp", "mlag", "static"):
            yield Hit(target, f"{bond.mode} needs no switch LAG, but a {kind} LAG is declared", "switch_lag")


@rule(
    "NET003",
    "bond-link-monitoring",
    Severity.ERROR,
    "Every bond needs MII link monitoring.",
    "Set mii_monitor_interval_ms (100 is the kernel's suggested starting point).",
    sources=(NETPLAN + ": mii-monitor-interval defaults to 0 (disabled)", BONDING),
)
def bond_link_monitoring(site: Site) -> Iterator[Hit]:
    """netplan's default mii-monitor-interval is 0: no link monitoring, so a dead member keeps receiving
    traffic. 802.3ad only works with the MII monitor."""
    for rack, server, bond in _bonds(site):
        if not bond.mii_monitor_interval_ms:
            shown = "unset (netplan default 0)" if bond.mii_monitor_interval_ms is None else "0"
            yield Hit(
                paths.bond(rack, server, bond),
                f"mii_monitor_interval_ms is {shown}: link failures go unseen",
                "mii_monitor_interval_ms" if bond.mii_monitor_interval_ms is not None else "mode",
            )


@rule(
    "NET004",
    "sriov-vf-limit",
    Severity.ERROR,
    "SR-IOV virtual functions must stay within the NIC's and firmware's limits.",
    "Lower sriov_vfs, or raise the firmware's NUM_OF_VFS (mlxconfig) and declare sriov_totalvfs.",
    sources=(
        "NVIDIA MLNX_OFED 23.10 LTS, SR-IOV: 127 VFs per port: "
        "https://docs.nvidia.com/networking/display/mlnxofedv23106161lts/single-root-io-virtualization-(sr-iov)",
        "NVIDIA DOCA 3.0, SR-IOV: https://docs.nvidia.com/doca/archive/3-0-0/SR-IOV",
        ICE + ": 256 VFs total (all ports)",
    ),
)
def sriov_vf_limit(site: Site) -> Iterator[Hit]:
    """Per port: VFs ≤ min(the NIC's per-port maximum, the declared firmware sriov_totalvfs). Per
    device: Σ VFs ≤ the NIC's device maximum (Intel E810: 256 over all ports). VFs on a port without a
    NIC model cannot be checked and are reported."""
    for rack, server in site.all_servers():
        for nic in server.nics:
            spec = site.nic_spec(nic.model)
            total = 0
            for port in nic.ports:
                if not port.sriov_vfs:
                    continue
                total += port.sriov_vfs
                target = paths.port(rack, server, nic.name, port.name)
                if spec is None:
                    yield Hit(
                        target,
                        f"{port.sriov_vfs} VFs on a NIC without a model; declare nics[].model",
                        "sriov_vfs",
                    )
                    continue
                limits = [(spec.max_vfs_per_port, f"{spec.name} maximum per port")]
                if port.sriov_totalvfs is not None:
                    limits.append((port.sriov_totalvfs, "firmware sriov_totalvfs"))
                limit, why = min(limits)
                if port.sriov_vfs > limit:
                    yield Hit(target, f"{port.sriov_vfs} VFs > {limit} ({why})", "sriov_vfs")
            if spec and spec.max_vfs_per_device is not None and total > spec.max_vfs_per_device:
                yield Hit(
                    f"{paths.server(rack, server)}.nics[{nic.name}]",
                    f"{total} VFs over all ports > {spec.max_vfs_per_device} ({spec.name} maximum per device)",
                    "ports",
                )


@rule(
    "NET005",
    "mtu-consistency",
    Severity.ERROR,
    "MTU must agree across bond members, the bond, its VLANs, VFs, switch ports and networks.",
    "Set the same MTU on every layer, with switch ports at least as large as the host's.",
    sources=(NETPLAN + ": MTU default 1500", ICE + ": max MTU 9702"),
)
def mtu_consistency(site: Site) -> Iterator[Hit]:
    """A bond member with a different MTU than the bond, a VLAN larger than its bond, a VF larger than
    its PF, an MTU above the NIC's maximum, a switch port smaller than the host, or an address on an
    interface whose MTU differs from its network's: each drops large frames silently."""
    switch_mtu = {w.name: w.port_mtu for r in site.racks for w in r.switches if w.port_mtu}
    networks = {n.name: n for n in site.networks}
    for rack, server in site.all_servers():
        ports = _ports(server)
        mtu_of: dict[str, int] = {name: p.mtu for name, (_, p) in ports.items()}
        for nic in server.nics:
            spec = site.nic_spec(nic.model)
            for port in nic.ports:
                target = paths.port(rack, server, nic.name, port.name)
                if spec and port.mtu > spec.max_mtu:
                    yield Hit(target, f"MTU {port.mtu} > {spec.max_mtu} ({spec.name} maximum)", "mtu")
                if port.vf_mtu and port.vf_mtu > port.mtu:
                    yield Hit(target, f"VF MTU {port.vf_mtu} > PF MTU {port.mtu}", "vf_mtu")
                sw = switch_mtu.get(port.switch or "")
                if sw and sw < port.mtu:
                    yield Hit(target, f"MTU {port.mtu} > {sw} on switch {port.switch}", "mtu")
        for bond in server.bonds:
            target = paths.bond(rack, server, bond)
            bond_mtu = bond.mtu or 1500
            mtu_of[bond.name] = bond_mtu
            differ = [f"{m} {ports[m][1].mtu}" for m in bond.members if m in ports and ports[m][1].mtu != bond_mtu]
            if differ:
                yield Hit(target, f"bond MTU {bond_mtu} but members {', '.join(differ)}", "mtu")
            for vlan in bond.vlans:
                vlan_mtu = vlan.mtu or bond_mtu
                mtu_of[f"{bond.name}.{vlan.id}"] = vlan_mtu
                if vlan_mtu > bond_mtu:
                    yield Hit(target, f"VLAN {vlan.id} MTU {vlan_mtu} > bond MTU {bond_mtu}", "vlans")
            if bond.switch_lag and bond.switch_lag.mtu and bond.switch_lag.mtu < bond_mtu:
                yield Hit(target, f"bond MTU {bond_mtu} > {bond.switch_lag.mtu} on the switch LAG", "switch_lag")
        for addr in server.addresses:
            net = networks.get(addr.network)
            if net and addr.interface and addr.interface in mtu_of and mtu_of[addr.interface] != net.mtu:
                yield Hit(
                    paths.server(rack, server),
                    f"{addr.interface} MTU {mtu_of[addr.interface]} but network {net.name} is MTU {net.mtu}",
                    "addresses",
                )


@rule(
    "NET006",
    "gpu-fabric-bandwidth",
    Severity.ERROR,
    "Training nodes need compute-fabric bandwidth per GPU.",
    "Add compute NICs (one 400G port per H100/H200-class GPU), or mark the pool as inference.",
    sources=(
        "NVIDIA DGX SuperPOD RA featuring DGX H100, RA-11333-001 V11: 8×NDR400 per system, one per GPU (copy at "
        "https://cidian.kuaisou.com/dgx-superpod-reference-architecture-dgx-h100)",
        "NVIDIA GB300 NVL72 Enterprise RA: east-west fabric optional for inference: "
        "https://docs.nvidia.com/enterprise-reference-architectures/nvl72-ai-factory/latest/"
        "network-logical-architecture.html",
    ),
)
def gpu_fabric_bandwidth(site: Site) -> Iterator[Hit]:
    """In training pools, Σ speed of ports with role compute ≥ GPUs × the GPU's fabric need (400 Gb/s for
    H100/H200/B200, per the SuperPOD RA). Inference pools may omit the east-west fabric."""
    for pool in site.node_pools:
        if pool.purpose != "training":
            continue
        for server in site.pool_servers(pool):
            gpu = site.gpu_spec(server)
            if gpu is None or not gpu.training_fabric_gbps:
                continue
            need = gpu.training_fabric_gbps * site.gpu_count(server)
            have = sum(p.speed_gbps for n in server.nics for p in n.ports if p.role == "compute")
            if have < need:
                rack = site.rack_of(server.name)
                yield Hit(
                    paths.server(rack, server),
                    f"{have:g} Gb/s of compute ports < {need:g} Gb/s needed ({site.gpu_count(server)} × "
                    f"{gpu.training_fabric_gbps:g} Gb/s per {gpu.name}) in training pool {pool.name}",
                    "nics",
                )


@rule(
    "NET007",
    "ip-address-conflict",
    Severity.ERROR,
    "Addresses must be unique, inside their network, and not its network, broadcast or gateway address.",
    "Give the interface a free host address of its network.",
)
def ip_address_conflict(site: Site) -> Iterator[Hit]:
    """Every address the site assigns (server interfaces, BMCs, switch management) is checked against all
    the others and against its network's CIDR."""
    networks = {n.name: n for n in site.networks}
    cidrs = {n.name: (ip_network(n.cidr), ip_network(n.cidr).num_addresses > 2) for n in site.networks}
    seen: dict[object, str] = {}
    entries: list[tuple[str, str, object, str | None]] = []  # target, field, ip, network
    for rack in site.racks:
        for server in rack.servers:
            target = paths.server(rack, server)
            entries += [(target, f"addresses[{i}].ip", a.ip, a.network) for i, a in enumerate(server.addresses)]
            if server.bmc:
                entries.append((target, "bmc.ip", server.bmc.ip, server.bmc.network))
        for switch in rack.switches:
            target = paths.item(rack, "switches", switch.name)
            entries += [(target, f"addresses[{i}].ip", a.ip, a.network) for i, a in enumerate(switch.addresses)]
    for target, field, ip, net_name in entries:
        if ip in seen:
            yield Hit(target, f"{ip} is also assigned to {seen[ip]}", field)
        else:
            seen[ip] = target
        net = networks.get(net_name or "")
        if net is None:
            continue
        cidr, has_hosts = cidrs[net.name]
        if ip not in cidr:
            yield Hit(target, f"{ip} is outside network {net.name} ({cidr})", field)
        elif has_hosts and ip in (cidr.network_address, cidr.broadcast_address):
            yield Hit(
                target,
                f"{ip} is the {'network' if ip == cidr.network_address else 'broadcast'} address "
                f"of {net.name} ({cidr})",
                field,
            )
        elif net.gateway is not None and ip == net.gateway:
            yield Hit(target, f"{ip} is the gateway of {net.name}", field)


@rule(
    "NET008",
    "nic-port-speed",
    Severity.ERROR,
    "A port's speed must be one its NIC supports.",
    "Use a speed from the NIC's catalog entry, or correct the NIC model.",
)
def nic_port_speed(site: Site) -> Iterator[Hit]:
    """A 100G port declared on a 25G NIC is a typo or the wrong card; either way the link will not come up
    as planned."""
    for rack, server in site.all_servers():
        for nic in server.nics:
            spec = site.nic_spec(nic.model)
            if spec is None:
                continue
            for port in nic.ports:
                if port.speed_gbps not in spec.speeds_gbps:
                    yield Hit(
                        paths.port(rack, server, nic.name, port.name),
                        f"{port.speed_gbps:g}G is not a speed of {spec.name} "
                        f"({', '.join(f'{s:g}G' for s in spec.speeds_gbps)})",
                        "speed_gbps",
                    )


RULES = (
    bond_speed_mismatch,
    lacp_switch_lag,
    bond_link_monitoring,
    sriov_vf_limit,
    mtu_consistency,
    gpu_fabric_bandwidth,
    ip_address_conflict,
    nic_port_speed,
)
