"""Rack space and weight."""

from __future__ import annotations

from dataclasses import dataclass

from ..model import Rack, Site

G = 9.80665  # m/s², standard gravity


@dataclass(frozen=True)
class Mounted:
    kind: str  # servers, switches, devices, pdus
    name: str
    position_u: int | None
    height_u: int

    @property
    def top_u(self) -> int | None:
        return None if self.position_u is None else self.position_u + self.height_u - 1


def mounted(site: Site, rack: Rack) -> list[Mounted]:
    out = [Mounted("servers", s.name, s.position_u, site.server_spec(s).height_u) for s in rack.servers]
    out += [Mounted("switches", w.name, w.position_u, w.height_u) for w in rack.switches]
    out += [Mounted("devices", d.name, d.position_u, d.height_u) for d in rack.devices]
    out += [Mounted("pdus", p.name, p.position_u, p.height_u) for p in rack.pdus if p.height_u > 0]
    return out


def used_u(site: Site, rack: Rack) -> int:
    return sum(m.height_u for m in mounted(site, rack)) + rack.reserved_u


def equipment_kg(site: Site, rack: Rack) -> float:
    return (
        sum(site.server_weight_kg(s) for s in rack.servers)
        + sum(w.weight_kg for w in rack.switches)
        + sum(d.weight_kg for d in rack.devices)
        + sum(p.weight_kg for p in rack.pdus)
    )


def floor_load_kpa(site: Site, rack: Rack) -> float:
    """(equipment + tare) × g over the footprint, in kPa: the load spread over the cabinet footprint only, a
    conservative estimate (not a standard's method) to compare with ANSI/TIA-942's distributed ratings."""
    return (equipment_kg(site, rack) + rack.tare_weight_kg) * G / 1000 / rack.footprint.area_m2
