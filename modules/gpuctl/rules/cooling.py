"""Cooling rules: heat load against the rack's cooling, and liquid-only systems."""

from __future__ import annotations

from collections.abc import Iterator

from ..calc import power as calc
from ..model import Rack, Site
from . import paths
from .base import Hit, Severity, rule


def cooling_capacity_kw(site: Site, rack: Rack) -> tuple[float | None, str]:
    if rack.cooling.capacity_kw is not None:
        return rack.cooling.capacity_kw, "declared"
    value = site.settings.cooling_defaults_kw.get(rack.cooling.type)
    return value, f"site default for {rack.cooling.type}"


@rule(
    "CLG001",
    "cooling-capacity",
    Severity.ERROR,
    "Rack heat load must not exceed the rack's cooling capacity.",
    "Spread the load over more racks, or move the rack to containment, a rear-door heat exchanger or DLC.",
    sources=("reference power-and-network.md §1e: air 15-20 kW open, ~30-35 kW contained; RDHx 35/60 kW",),
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
    sources=("GB200/GB300 NVL72 have no air option (reference §1e)",),
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
