"""The plan summary: what a site adds up to, per rack, pool and deployment. Pure data from a Site."""

from __future__ import annotations

from typing import Any

from .calc import power, space
from .model import Site
from .rules.cooling import cooling_capacity_kw


def summarize(site: Site) -> dict[str, Any]:
    racks: list[dict[str, Any]] = []
    for rack in site.racks:
        load = power.rack_load_kw(site, rack)
        budget = power.rack_budget(site, rack)
        redundant = budget.redundant_kw
        cooling, _ = cooling_capacity_kw(site, rack)
        racks.append(
            {
                "name": rack.name,
                "servers": len(rack.servers),
                "gpus": sum(site.gpu_count(s) for s in rack.servers),
                "load_kw": round(load, 2),
                "budget_kw": round(budget.budget_kw, 2),
                "headroom_kw": round(budget.budget_kw - load, 2),
                "redundant": None if redundant is None else load <= redundant + 1e-9,
                "redundant_budget_kw": None if redundant is None else round(redundant, 2),
                "cooling_kw": cooling,
                "space_u": f"{space.used_u(site, rack)}/{rack.height_u}",
                "weight_kg": round(space.equipment_kg(site, rack), 1),
            }
        )
    pools = []
    for pool in site.node_pools:
        members = site.pool_servers(pool)
        models = sorted({g.id for s in members if (g := site.gpu_spec(s)) is not None})
        gpus = sum(site.gpu_count(s) for s in members)
        used = sum(d.gpus_total for d in site.deployments if d.node_pool == pool.name)
        pools.append(
            {
                "name": pool.name,
                "purpose": pool.purpose,
                "nodes": len(members),
                "gpus": gpus,
                "gpu_models": models,
                "gpus_requested": used,
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
