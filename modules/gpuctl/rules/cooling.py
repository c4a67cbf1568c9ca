"""Cooling rules: heat load against the rack's cooling, and liquid-only systems."""

from __future__ import annotations

from collections.abc import Iterator

from ..calc import power as calc
from ..calc.cooling import cooling_capacity_kw
from ..model import Site
from . import paths
from .base import Hit, Severity, rule


@rule(
    "CLG001",
    "cooling-capacity",
    Severity.ERROR,
    "Rack heat load must not exceed the rack's cooling capacity.",
    "Spread the load over more racks, or move the rack to containment, a rear-door heat exchanger or DLC.",
    sources=(
        "Yobitel, rear-door heat exchanger: air without containment ~15-20 kW; RDHx passive ~35, active ~60 kW: "
        "https://www.yobitel.com/knowledge-base/rear-door-heat-exchanger",
        "Intelligent Data Centres issue 56 p. 47: contained air up to ~35 kW, ASHRAE TC9.9 5th ed. H1 class: "
        "https://magazine.intelligentdatacentres.com/intelligent-data-centres-issue-56/0595290001696419118/p47",
        "factryze (secondary): practitioner air ceiling ~30 kW: "
        "https://factryze.ai/scale-atlas/power/dlc-watts-per-rack",
    ),
)
def cooling_capacity(site: Site) -> Iterator[Hit]:
    """All electrical input becomes heat (kW in = kW out; × 3,412 for BTU/h). The limit is the rack's
    declared cooling capacity, or the site default for its cooling type (air open 15, contained 30, RDHx
    passive 35, active 60 kW)."""
    for rack in site.racks:
        capacity, how = cooling_capacity_kw(site, rack)
        if capacity is None:
            continue
        load = calc.rack_load_kw(site, rack)
        if load > capacity + 1e-9:
            yield Hit(
                paths.rack(rack),
                f"{load:.1f} kW of heat ({calc.heat_btu_h(load):,.0f} BTU/h) > {capacity:g} kW cooling "
                f"({rack.cooling.type}, {how})",
                "cooling",
            )


@rule(
    "CLG002",
    "liquid-cooling-required",
    Severity.ERROR,
    "Liquid-cooled-only systems must sit in racks with direct liquid cooling.",
    "Place the system in a DLC rack, or change the rack's cooling type if the facility provides DLC.",
    sources=(
        "NVIDIA DGX GB200 User Guide, hardware (liquid-cooled rack): "
        "https://docs.nvidia.com/dgx/dgxgb200-user-guide/hardware.html",
        "NVIDIA GB300 NVL72 Enterprise RA, components (liquid-cooled, up to 142 kW): "
        "https://docs.nvidia.com/enterprise-reference-architectures/nvl72-ai-factory/latest/components.html",
    ),
)
def liquid_cooling_required(site: Site) -> Iterator[Hit]:
    """Systems such as GB200 NVL72 have no air-cooled variant; in an air or rear-door rack they cannot
    run at all."""
    for rack in site.racks:
        if rack.cooling.type == "dlc":
            continue
        for server in rack.servers:
            spec = site.server_spec(server)
            if spec.liquid_cooled_only:
                yield Hit(
                    paths.server(rack, server),
                    f"{spec.name} is liquid-cooled only; rack {rack.name} is {rack.cooling.type}",
                    "model",
                )


RULES = (cooling_capacity, liquid_cooling_required)
