"""ComponentResources: the site, its racks, power feeds, servers, bonds, SR-IOV ports and GPU node pools.

Type tokens `gpuctl:<module>:<Type>`; names derive from model IDs so URNs stay stable; children are
parented; outputs are registered. Racks renamed in the spec (`previous_names`) are aliased, not replaced.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi

from ..calc import power
from ..model import Bond, NicPort, NodePool, Rack, Server, Site
from ..plan import pool_summary, rack_summary


def _aliases(old_names: list[str], suffix: str = "") -> list[pulumi.Alias | str]:
    return [pulumi.Alias(name=f"{old}{suffix}") for old in old_names]


def _opts(parent: pulumi.Resource, aliases: list[pulumi.Alias | str] | None = None) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(parent=parent, aliases=aliases or None)


@dataclass(frozen=True)
class FeedArgs:
    rack: Rack
    feed: str  # "a" or "b"
    site: Site


class PowerFeed(pulumi.ComponentResource):
    def __init__(self, name: str, args: FeedArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        feed = args.rack.power.feed(args.feed)  # type: ignore[arg-type]
        assert feed is not None
        usable = power.feed_kw(feed, args.site.settings)
        props = {
            "feed": args.feed,
            "circuits": [c.model_dump() for c in feed.circuits],
            "usableKw": usable,
            "label": power.feed_label(feed, args.site.settings),
        }
        super().__init__("gpuctl:dc:PowerFeed", name, props, opts)
        self.usable_kw = pulumi.Output.from_input(round(usable, 3))
        self.register_outputs({"usableKw": self.usable_kw})


@dataclass(frozen=True)
class BondArgs:
    server: Server
    bond: Bond


class NetBond(pulumi.ComponentResource):
    def __init__(self, name: str, args: BondArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        b = args.bond
        props = {
            "host": args.server.name,
            "bond": b.name,
            "mode": b.mode,
            "members": list(b.members),
            "mtu": b.mtu or 1500,
            "miiMonitorIntervalMs": b.mii_monitor_interval_ms or 0,
            "lacpRate": b.lacp_rate,
            "vlans": [v.id for v in b.vlans],
            "switchLag": b.switch_lag.kind if b.switch_lag else None,
        }
        super().__init__("gpuctl:net:Bond", name, props, opts)
        self.register_outputs({"members": props["members"], "mode": b.mode})


@dataclass(frozen=True)
class SriovArgs:
    server: Server
    nic: str
    port: NicPort


class SriovPort(pulumi.ComponentResource):
    def __init__(self, name: str, args: SriovArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        p = args.port
        props = {
            "host": args.server.name,
            "nic": args.nic,
            "port": p.name,
            "virtualFunctions": p.sriov_vfs,
            "speedGbps": p.speed_gbps,
            "mtu": p.mtu,
        }
        super().__init__("gpuctl:net:SriovPort", name, props, opts)
        self.register_outputs({"virtualFunctions": p.sriov_vfs})


@dataclass(frozen=True)
class ServerArgs:
    site: Site
    rack: Rack
    server: Server


class DcServer(pulumi.ComponentResource):
    def __init__(self, name: str, args: ServerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        s, site = args.server, args.site
        gpu = site.gpu_spec(s)
        props = {
            "rack": args.rack.name,
            "model": s.model,
            "positionU": s.position_u,
            "gpuModel": gpu.id if gpu else None,
            "gpus": site.gpu_count(s),
            "maxPowerKw": site.server_power_kw(s),
        }
        super().__init__("gpuctl:dc:Server", name, props, opts)
        self.bonds = [NetBond(f"{s.name}-{b.name}", BondArgs(s, b), _opts(self)) for b in s.bonds]
        self.sriov = [
            SriovPort(f"{s.name}-{p.name}", SriovArgs(s, nic.name, p), _opts(self))
            for nic in s.nics
            for p in nic.ports
            if p.sriov_vfs
        ]
        self.gpus = pulumi.Output.from_input(site.gpu_count(s))
        self.register_outputs({"gpus": self.gpus, "maxPowerKw": props["maxPowerKw"]})


@dataclass(frozen=True)
class RackArgs:
    site: Site
    rack: Rack


class DcRack(pulumi.ComponentResource):
    def __init__(self, name: str, args: RackArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        site, rack = args.site, args.rack
        r = rack_summary(site, rack)
        self.summary: dict[str, Any] = {
            "loadKw": round(r.load_kw, 3),
            "budgetKw": round(r.budget_kw, 3),
            "headroomKw": round(r.headroom_kw, 3),
            "redundancy": "single-feed" if r.redundant is None else ("n+n" if r.redundant else "degraded"),
            "coolingKw": r.cooling_kw,
            "gpus": r.gpus,
        }
        super().__init__("gpuctl:dc:Rack", name, {"rack": rack.name, "heightU": rack.height_u, **self.summary}, opts)
        self.feeds = [
            PowerFeed(
                f"{rack.name}-feed-{f}",
                FeedArgs(rack, f, site),
                _opts(self, _aliases(rack.previous_names, f"-feed-{f}")),
            )
            for f in ("a", "b")
            if rack.power.feed(f) is not None
        ]
        self.servers = [DcServer(s.name, ServerArgs(site, rack, s), _opts(self)) for s in rack.servers]
        self.load_kw = pulumi.Output.from_input(self.summary["loadKw"])
        self.headroom_kw = pulumi.Output.from_input(self.summary["headroomKw"])
        self.register_outputs(dict(self.summary))


@dataclass(frozen=True)
class PoolArgs:
    site: Site
    pool: NodePool


class GpuNodePool(pulumi.ComponentResource):
    def __init__(self, name: str, args: PoolArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        pool = args.pool
        p = pool_summary(args.site, pool)
        self.summary = {
            "purpose": pool.purpose,
            "nodes": p.nodes,
            "gpus": p.gpus,
            "gpuModel": ",".join(p.gpu_models),
            "migStrategy": pool.mig_strategy,
        }
        super().__init__("gpuctl:k8s:GpuNodePool", name, dict(self.summary), opts)
        self.gpus = pulumi.Output.from_input(self.summary["gpus"])
        self.register_outputs(dict(self.summary))


@dataclass(frozen=True)
class SiteArgs:
    site: Site


class DcSite(pulumi.ComponentResource):
    """The whole site; its `spec` input carries the validated spec so policies can re-run the rules."""

    def __init__(self, name: str, args: SiteArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        site = args.site
        spec = json.loads(site.model_dump_json(exclude_none=True))
        super().__init__("gpuctl:dc:Site", name, {"name": site.name, "market": site.market, "spec": spec}, opts)
        self.racks = [DcRack(r.name, RackArgs(site, r), _opts(self, _aliases(r.previous_names))) for r in site.racks]
        self.pools = [GpuNodePool(p.name, PoolArgs(site, p), _opts(self)) for p in site.node_pools]
        self.register_outputs({"racks": len(self.racks), "pools": len(self.pools)})
