"""netplan configuration per server as data: ports, bonds, VLANs, MTU, SR-IOV VF counts and addresses.

The inventory carries it (`network_netplan`) and templates/netplan.yaml.j2 writes it on the host, the one renderer
of the file; `gpuctl verify` compares the host's file with it. Key names from canonical/netplan
doc/netplan-yaml.md (https://github.com/canonical/netplan/blob/main/doc/netplan-yaml.md): bond `parameters`
(mode, lacp-rate, mii-monitor-interval, transmit-hash-policy), `virtual-function-count` on the PF, `link` on
VLANs."""

from __future__ import annotations

from ipaddress import ip_network
from typing import Any

from ..model import Server, Site


def netplan(site: Site, server: Server) -> dict[str, Any]:
    networks = {n.name: n for n in site.networks}
    ethernets: dict[str, dict[str, Any]] = {}
    bonds: dict[str, dict[str, Any]] = {}
    vlans: dict[str, dict[str, Any]] = {}
    members = {m for b in server.bonds for m in b.members}
    for nic in server.nics:
        for port in nic.ports:
            eth: dict[str, Any] = {"dhcp4": False, "dhcp6": False}
            if port.mtu != 1500:
                eth["mtu"] = port.mtu
            if port.sriov_vfs:
                eth["virtual-function-count"] = port.sriov_vfs
            if port.name in members:
                eth.pop("dhcp6")
            ethernets[port.name] = eth
    for bond in server.bonds:
        params: dict[str, Any] = {"mode": bond.mode}
        if bond.lacp_rate:
            params["lacp-rate"] = bond.lacp_rate
        if bond.mii_monitor_interval_ms:
            params["mii-monitor-interval"] = bond.mii_monitor_interval_ms
        if bond.transmit_hash_policy:
            params["transmit-hash-policy"] = bond.transmit_hash_policy
        b: dict[str, Any] = {"interfaces": list(bond.members), "parameters": params, "dhcp4": False}
        if bond.mtu:
            b["mtu"] = bond.mtu
        bonds[bond.name] = b
        for vlan in bond.vlans:
            v: dict[str, Any] = {"id": vlan.id, "link": bond.name, "dhcp4": False}
            mtu = vlan.mtu or (networks[vlan.network].mtu if vlan.network in networks else None)
            if mtu:
                v["mtu"] = mtu
            vlans[f"{bond.name}.{vlan.id}"] = v
    for addr in server.addresses:
        if not addr.interface:
            continue
        net = networks[addr.network]
        cidr = ip_network(net.cidr)
        target = vlans.get(addr.interface) or bonds.get(addr.interface) or ethernets.get(addr.interface)
        if target is None:
            continue
        target.setdefault("addresses", []).append(f"{addr.ip}/{cidr.prefixlen}")
        if net.gateway and net.purpose == "management":
            target.setdefault("routes", []).append({"to": "default", "via": str(net.gateway)})
    doc: dict[str, Any] = {"version": 2, "renderer": "networkd"}
    if ethernets:
        doc["ethernets"] = ethernets
    if bonds:
        doc["bonds"] = bonds
    if vlans:
        doc["vlans"] = vlans
    return doc
