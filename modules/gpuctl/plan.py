"""The plan summary: what a site adds up to, per rack, pool and deployment. Pure data from a Site.

`rack_summary` and `pool_summary` are the one place these figures are put together: `gpuctl plan` prints
them and the Pulumi components (infra/components.py) carry them as properties and stack outputs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .calc import power, space
from .calc.cooling import cooling_capacity_kw
from .model import NodePool, Rack, Site


@dataclass(frozen=True)
class RackSummary:
    servers: int
    gpus: int
    load_kw: float
    budget_kw: float
    redundant_kw: float | None  # what the rack may draw and survive a feed loss; None: single feed
    cooling_kw: float | None
    used_u: int
    weight_kg: float

    @property
    def headroom_kw(self) -> float:
        return self.budget_kw - self.load_kw

    @property
    def redundant(self) -> bool | None:
        """A+B: does the rack survive the loss of either feed (None: it has one feed)."""
        return None if self.redundant_kw is None else self.load_kw <= self.redundant_kw + 1e-9


def rack_summary(site: Site, rack: Rack) -> RackSummary:
    budget = power.rack_budget(site, rack)
    return RackSummary(
        servers=len(rack.servers),
        gpus=sum(site.gpu_count(s) for s in rack.servers),
        load_kw=power.rack_load_kw(site, rack),
        budget_kw=budget.budget_kw,
        redundant_kw=budget.redundant_kw,
        cooling_kw=cooling_capacity_kw(site, rack)[0],
        used_u=space.used_u(site, rack),
        weight_kg=space.equipment_kg(site, rack),
    )


@dataclass(frozen=True)
class PoolSummary:
    nodes: list[str]
    gpus: int
    gpu_models: list[str]
    gpus_requested: int


def pool_summary(site: Site, pool: NodePool) -> PoolSummary:
    members = site.pool_servers(pool)
    return PoolSummary(
        nodes=[s.name for s in members],
        gpus=sum(site.gpu_count(s) for s in members),
        gpu_models=sorted({g.id for s in members if (g := site.gpu_spec(s)) is not None}),
        gpus_requested=sum(d.gpus_total for d in site.deployments if d.node_pool == pool.name),
    )


def summarize(site: Site) -> dict[str, Any]:
    racks: list[dict[str, Any]] = []
    for rack in site.racks:
        r = rack_summary(site, rack)
        racks.append(
            {
                "name": rack.name,
                "servers": r.servers,
                "gpus": r.gpus,
                "load_kw": round(r.load_kw, 2),
                "budget_kw": round(r.budget_kw, 2),
                "headroom_kw": round(r.headroom_kw, 2),
                "redundant": r.redundant,
                "redundant_budget_kw": None if r.redundant_kw is None else round(r.redundant_kw, 2),
                "cooling_kw": r.cooling_kw,
                "space_u": f"{r.used_u}/{rack.height_u}",
                "weight_kg": round(r.weight_kg, 1),
            }
        )
    pools = []
    for pool in site.node_pools:
        p = pool_summary(site, pool)
        pools.append(
            {
                "name": pool.name,
                "purpose": pool.purpose,
                "nodes": len(p.nodes),
                "gpus": p.gpus,
                "gpu_models": p.gpu_models,
                "gpus_requested": p.gpus_requested,
            }
        )
    deployments = [
        {
            "name": d.name,
            "model": d.model,
            "engine": d.engine,
            "pool": d.node_pool,
            "tp": d.tensor_parallel_size,
            "pp": d.pipeline_parallel_size,
            "replicas": d.replicas,
            "gpus": d.gpus_total,
        }
        for d in site.deployments
    ]
    return {
        "site": site.name,
        "market": site.market,
        "totals": {
            "racks": len(site.racks),
            "servers": sum(len(r.servers) for r in site.racks),
            "gpus": sum(int(r["gpus"]) for r in racks),
            "load_kw": round(sum(float(r["load_kw"]) for r in racks), 2),
            "budget_kw": round(sum(float(r["budget_kw"]) for r in racks), 2),
        },
        "racks": racks,
        "node_pools": pools,
        "deployments": deployments,
    }
