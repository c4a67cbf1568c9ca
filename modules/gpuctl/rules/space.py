"""Space and weight rules: rack units, overlaps, cabinet rating, floor loading."""

from __future__ import annotations

from collections.abc import Iterator

from ..calc import space as calc
from ..model import Site
from . import paths
from .base import Hit, Severity, rule


@rule(
    "SPC001",
    "rack-space",
    Severity.ERROR,
    "Everything in a rack, placed or not, must fit its height.",
    "Move equipment to another rack or use a taller cabinet.",
    sources=(
        "EIA-310: 1U = 1.75 in (44.45 mm), as in Juniper's rack requirements: "
        "https://www.juniper.net/documentation/us/en/hardware/virtual-chassis-fabric/ex2300/topics/concept/"
        "rack-requirements.html",
    ),
)
def rack_space(site: Site) -> Iterator[Hit]:
    """Σ U of servers, switches, devices, horizontal PDUs and reserved units ≤ the rack's height.
    Unplaced equipment (no position_u) counts too, so a rack can be planned before it is laid out."""
    for rack in site.racks:
        items = calc.mounted(site, rack)
        used = calc.used_u(site, rack)
        if used > rack.height_u:
            unplaced = sum(m.height_u for m in items if m.position_u is None)
            detail = f"; {unplaced}U not yet placed" if unplaced else ""
            reserved = f" + {rack.reserved_u}U reserved" if rack.reserved_u else ""
            yield Hit(
                paths.rack(rack),
                f"{used}U needed ({len(items)} items{reserved}) > {rack.height_u}U{detail}",
                "height_u",
            )


@rule(
    "SPC002",
    "rack-position-overlap",
    Severity.ERROR,
    "No two pieces of equipment may occupy the same rack unit.",
    "Give one of them a free position_u.",
)
def rack_position_overlap(site: Site) -> Iterator[Hit]:
    """Each placed item occupies position_u … position_u + height_u − 1."""
    for rack in site.racks:
        owner: dict[int, calc.Mounted] = {}
        for m in calc.mounted(site, rack):
            if m.position_u is None or m.top_u is None:
                continue
            clash = next((owner[u] for u in range(m.position_u, m.top_u + 1) if u in owner), None)
            if clash is not None:
                yield Hit(
                    paths.item(rack, m.kind, m.name),
                    f"U{m.position_u}–U{m.top_u} overlaps {clash.name} at U{clash.position_u}–U{clash.top_u}",
                    "position_u",
                )
                continue
            for u in range(m.position_u, m.top_u + 1):
                owner[u] = m


@rule(
    "SPC003",
    "rack-weight",
    Severity.ERROR,
    "Equipment weight must not exceed the cabinet's static load rating.",
    "Move heavy systems to another cabinet or use one with a higher UL 2416 static rating.",
    sources=(
        "Belden: cabinet ratings to UL 2416; ~680 kg typical, 1,361 kg now common: "
        "https://www.belden.com/blogs/data-center/cabinet-load-ratings-matter-and-changes",
    ),
)
def rack_weight(site: Site) -> Iterator[Hit]:
    """Σ equipment kg (catalog weights, or declared) against the cabinet's static rating."""
    for rack in site.racks:
        kg = calc.equipment_kg(site, rack)
        if kg > rack.static_weight_rating_kg + 1e-9:
            yield Hit(
                paths.rack(rack),
                f"{kg:,.0f} kg of equipment > {rack.static_weight_rating_kg:,.0f} kg static rating",
                "static_weight_rating_kg",
            )


@rule(
    "SPC004",
    "floor-load",
    Severity.ERROR,
    "Distributed floor load of a rack must not exceed the floor rating.",
    "Spread heavy systems across racks, add load-spreading plates, or get a structural review.",
    sources=(
        "ANSI/TIA-942 distributed floor load: ≥7.2 kPa minimum, 12 kPa recommended (quoted at "
        "https://vdocuments.site/raise-flooringfloor-load.html)",
        "load spread over the cabinet footprint only: a conservative estimate, not a standard's method",
    ),
)
def floor_load(site: Site) -> Iterator[Hit]:
    """(equipment + tare) × 9.80665 / 1000 / footprint m² against the rack's (or site's) floor rating
    in kPa. Conservative: the load is spread over the cabinet footprint only."""
    for rack in site.racks:
        rating = rack.floor_rating_kpa or site.settings.floor_rating_kpa
        if rating is None:
            continue
        kpa = calc.floor_load_kpa(site, rack)
        if kpa > rating + 1e-9:
            total = calc.equipment_kg(site, rack) + rack.tare_weight_kg
            yield Hit(
                paths.rack(rack),
                f"{kpa:.1f} kPa ({total:,.0f} kg over {rack.footprint.area_m2:.2f} m²) > {rating:g} kPa floor rating",
                "floor_rating_kpa" if rack.floor_rating_kpa else "footprint",
            )


RULES = (rack_space, rack_position_overlap, rack_weight, floor_load)
