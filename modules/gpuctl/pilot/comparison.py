"""The pilot's cost comparison: one replica of the deployment (1-4 GPUs) in the colocation facility for 90 days
while the cloud deployment keeps running, priced with the site's scenario and, when given, measured utilisation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..model import Deployment, Site
from ..tco import Scenario, monthly

PILOT_DAYS = 90
PILOT_GPUS = (1, 4)  # the guide's scope: one model endpoint on one to four GPUs


@dataclass(frozen=True)
class Comparison:
    deployment: str
    gpus: int
    in_scope: bool
    days: int
    utilization: float
    utilization_source: str
    cloud_monthly: float
    bare_metal_monthly: float  # amortised hardware + operations
    bare_metal_opex_monthly: float
    cloud_pilot: float  # what the cloud side costs during the pilot (it keeps running)
    bare_metal_pilot: float  # hardware amortised over the pilot + operations
    bare_metal_pct_of_cloud: float | None

    def as_dict(self) -> dict[str, Any]:
        return {k: (round(v, 2) if isinstance(v, float) else v) for k, v in vars(self).items()}


def pilot_scenario(site: Site, dep: Deployment, scenario: Scenario) -> tuple[Scenario, list[str]]:
    """The site's scenario cut to one replica: its GPUs, the price per GPU of its pool's server model (from
    server_price_usd when given), and staffing and egress in proportion to its share of the site's GPUs."""
    gpus = dep.tensor_parallel_size * dep.pipeline_parallel_size
    site_gpus = sum(site.gpu_count(s) for _, s in site.all_servers()) or gpus
    share = gpus / site_gpus
    update: dict[str, object] = {
        "gpus": gpus,
        "staffing_per_month": scenario.staffing_per_month * share,
        "egress_gb_per_month": scenario.egress_gb_per_month * share,
    }
    notes = [
        f"staffing and egress in proportion to the pilot's {gpus} of {site_gpus} GPUs: "
        f"${scenario.staffing_per_month * share:,.0f}/month, {scenario.egress_gb_per_month * share:,.0f} GB/month"
    ]
    members = site.pool_servers(site.pool(dep.node_pool))
    if members and members[0].model in scenario.server_price_usd:
        server = members[0]
        per_gpu = scenario.server_price_usd[server.model] / max(site.gpu_count(server), 1)
        update["gpu_price_usd"] = per_gpu
        notes.append(f"hardware ${per_gpu:,.0f} per GPU: server_price_usd of {server.model} / its GPUs")
    return scenario.model_copy(update=update), notes


def compare(dep: Deployment, scenario: Scenario, measured_utilization: float | None, source: str) -> Comparison:
    """`scenario` is already cut to the pilot (pilot_scenario)."""
    gpus = scenario.gpus
    util = measured_utilization if measured_utilization is not None else scenario.utilization
    s = scenario.model_copy(update={"utilization": util})
    m = monthly(s)
    months = PILOT_DAYS / 30
    return Comparison(
        deployment=dep.name,
        gpus=gpus,
        in_scope=PILOT_GPUS[0] <= gpus <= PILOT_GPUS[1],
        days=PILOT_DAYS,
        utilization=util,
        utilization_source=source if measured_utilization is not None else "assumed (scenario)",
        cloud_monthly=m.cloud,
        bare_metal_monthly=m.bare_metal,
        bare_metal_opex_monthly=m.bare_metal_opex,
        cloud_pilot=m.cloud * months,
        bare_metal_pilot=m.bare_metal * months,
        bare_metal_pct_of_cloud=m.bare_metal / m.cloud * 100 if m.cloud else None,
    )


def markdown(c: Comparison, site: str, notes: list[str]) -> str:
    scope = (
        "within the guide's pilot scope of 1-4 GPUs"
        if c.in_scope
        else f"OUTSIDE the guide's pilot scope of 1-4 GPUs: one replica needs {c.gpus}"
    )
    pct = f"{c.bare_metal_pct_of_cloud:.0f} %" if c.bare_metal_pct_of_cloud is not None else "n/a"
    out = [
        f"# Pilot cost comparison: {site} / {c.deployment}",
        "",
        f"One replica on {c.gpus} GPU(s), {scope}, for {c.days} days with the cloud deployment running in parallel.",
        "",
        "| | cloud | bare metal |",
        "|---|---:|---:|",
        f"| per month | ${c.cloud_monthly:,.0f} | ${c.bare_metal_monthly:,.0f} "
        f"(operations ${c.bare_metal_opex_monthly:,.0f}) |",
        f"| over the pilot | ${c.cloud_pilot:,.0f} | ${c.bare_metal_pilot:,.0f} |",
        "",
        f"Bare metal costs {pct} of cloud at {c.utilization:.1%} utilisation ({c.utilization_source}).",
        "",
        "## Inputs",
        "",
        *[f"- {n}" for n in notes],
        "",
    ]
    return "\n".join(out)
