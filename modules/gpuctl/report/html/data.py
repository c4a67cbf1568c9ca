"""What the HTML report shows, as plain data gathered from the site, its findings and the TCO curves.

Pure functions of a `Site` and a rules `Result`; the charts (charts.py) and the template only lay it out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ...calc import facility, power, space
from ...calc.cooling import cooling_capacity_kw
from ...model import Rack, Site
from ...rules import Finding, Result, Severity
from ...rules.vram import deployment_prediction

_DEVICE = re.compile(r"^racks\[([^\]]+)\]\.(servers|switches|devices|pdus)\[([^\]]+)\]")
_RACK = re.compile(r"^racks\[([^\]]+)\]$")


@dataclass
class DeviceView:
    kind: str  # servers, switches, devices, pdus
    name: str
    model: str  # the catalog's full name
    model_id: str  # short: the catalog id, a switch's model, a device's kind
    bottom_u: int
    height_u: int
    kw: float
    kg: float
    state: str  # error | warning | ok | passive
    findings: list[Finding] = field(default_factory=list)
    lane: int = 0  # 1 when it overlaps a device drawn before it (drawn beside it)
    lanes: int = 1

    @property
    def top_u(self) -> int:
        return self.bottom_u + self.height_u - 1


@dataclass
class RackView:
    name: str
    height_u: int
    devices: list[DeviceView]
    unplaced: list[DeviceView]
    rack_findings: list[Finding]
    load_kw: float
    budget_kw: float
    one_feed_kw: float | None
    cooling_kw: float | None
    cooling_type: str
    weight_kg: float  # equipment + tare
    weight_rating_kg: float
    used_u: int


def _state(findings: list[Finding], passive: bool) -> str:
    if any(f.severity == Severity.ERROR for f in findings):
        return "error"
    if any(f.severity == Severity.WARNING for f in findings):
        return "warning"
    return "passive" if passive else "ok"


def findings_by_device(result: Result) -> tuple[dict[tuple[str, str], list[Finding]], dict[str, list[Finding]]]:
    """Findings keyed by (rack, device name), and those that concern a whole rack."""
    devices: dict[tuple[str, str], list[Finding]] = {}
    racks: dict[str, list[Finding]] = {}
    for f in result.findings:
        if m := _DEVICE.match(f.target):
            devices.setdefault((m.group(1), m.group(3)), []).append(f)
        elif m := _RACK.match(f.target):
            racks.setdefault(m.group(1), []).append(f)
    return devices, racks


def _devices(site: Site, rack: Rack, found: dict[tuple[str, str], list[Finding]]) -> list[DeviceView]:
    out = []
    for s in rack.servers:
        spec = site.server_spec(s)
        fs = found.get((rack.name, s.name), [])
        out.append(
            DeviceView(
                "servers",
                s.name,
                spec.name,
                spec.id,
                s.position_u or 0,
                spec.height_u,
                site.server_power_kw(s),
                site.server_weight_kg(s),
                _state(fs, False),
                fs,
            )
        )
    for w in rack.switches:
        fs = found.get((rack.name, w.name), [])
        out.append(
            DeviceView(
                "switches",
                w.name,
                w.model or f"{w.role} switch",
                w.model or w.role,
                w.position_u or 0,
                w.height_u,
                w.max_power_kw,
                w.weight_kg,
                _state(fs, False),
                fs,
            )
        )
    for d in rack.devices:
        fs = found.get((rack.name, d.name), [])
        out.append(
            DeviceView(
                "devices",
                d.name,
                d.kind,
                d.kind,
                d.position_u or 0,
                d.height_u,
                d.max_power_kw,
                d.weight_kg,
                _state(fs, True),
                fs,
            )
        )
    for p in rack.pdus:
        if p.height_u > 0:
            fs = found.get((rack.name, p.name), [])
            out.append(
                DeviceView(
                    "pdus",
                    p.name,
                    f"PDU, feed {p.feed.upper()}",
                    "PDU",
                    p.position_u or 0,
                    p.height_u,
                    0.0,
                    p.weight_kg,
                    _state(fs, True),
                    fs,
                )
            )
    return out


def _lay_out(devices: list[DeviceView]) -> None:
    """Devices that overlap (a spec error the rules report) are drawn side by side, not on top of each other."""
    placed: list[DeviceView] = []
    for d in sorted(devices, key=lambda d: (d.bottom_u, d.name)):
        clash = [p for p in placed if p.bottom_u <= d.top_u and d.bottom_u <= p.top_u]
        if clash:
            d.lane = 1 + max(p.lane for p in clash)
            for p in clash:
                p.lanes = d.lanes = max(p.lanes, d.lane + 1)
        placed.append(d)


def rack_view(site: Site, rack: Rack, result: Result) -> RackView:
    found, rack_found = findings_by_device(result)
    every = _devices(site, rack, found)
    placed = [d for d in every if d.bottom_u > 0]
    _lay_out(placed)
    budget = power.rack_budget(site, rack)
    cooling, _ = cooling_capacity_kw(site, rack)
    return RackView(
        name=rack.name,
        height_u=rack.height_u,
        devices=placed,
        unplaced=[d for d in every if d.bottom_u == 0],
        rack_findings=rack_found.get(rack.name, []),
        load_kw=power.rack_load_kw(site, rack),
        budget_kw=budget.budget_kw,
        one_feed_kw=budget.redundant_kw,
        cooling_kw=cooling,
        cooling_type=rack.cooling.type,
        weight_kg=space.equipment_kg(site, rack) + rack.tare_weight_kg,
        weight_rating_kg=rack.static_weight_rating_kg,
        used_u=space.used_u(site, rack),
    )


@dataclass
class PhaseView:
    rack: str
    pdu: str
    circuit: str
    limit_a: float
    line_a: dict[str, float]


def phases(site: Site) -> list[PhaseView]:
    return [
        PhaseView(rack.name, p.pdu, p.circuit_label, p.limit_a, p.line_a)
        for rack in site.racks
        for p in power.phase_loads(site, rack)
    ]


@dataclass
class VramView:
    deployment: str
    model: str
    gpu: str
    layout: str
    total_gib: float
    parts: dict[str, float]  # weights, activation, non-torch, CUDA graphs, KV cache, free
    kv_tokens: int
    max_concurrency: float
    fits: bool


def vram(site: Site) -> list[VramView]:
    out = []
    for dep in site.deployments:
        p = deployment_prediction(site, dep, with_workload=True)
        if p is None:
            continue
        graphs = p.cuda_graph_gib
        used = p.weights_gib + p.activation_gib + p.non_torch_gib + graphs + max(p.kv_cache_gib, 0.0)
        parts = {
            "weights": p.weights_gib,
            "activation": p.activation_gib,
            "non-torch": p.non_torch_gib,
            "CUDA graphs": graphs,
            "KV cache": max(p.kv_cache_gib, 0.0),
            "free": max(p.total_gib - used, 0.0),
        }
        out.append(
            VramView(
                dep.name,
                p.model,
                p.gpu,
                f"tp {p.tensor_parallel_size} × pp {p.pipeline_parallel_size}",
                p.total_gib,
                parts,
                p.kv_cache_tokens,
                p.max_concurrency,
                p.fits,
            )
        )
    return out


@dataclass
class CriterionView:
    title: str
    met: bool
    shortfalls: list[str]


def criteria(site: Site) -> list[CriterionView]:
    if site.facility is None:
        return []
    assessed = facility.assess(site, site.facility)
    return [
        CriterionView(c.title, not assessed[c.key], [s.message for s in assessed[c.key]]) for c in facility.CRITERIA
    ]


def pools(site: Site) -> list[dict[str, Any]]:
    out = []
    for pool in site.node_pools:
        members = site.pool_servers(pool)
        out.append(
            {
                "name": pool.name,
                "purpose": pool.purpose,
                "nodes": [s.name for s in members],
                "gpus": sum(site.gpu_count(s) for s in members),
                "gpu_models": sorted({g.name for s in members if (g := site.gpu_spec(s)) is not None}),
                "deployments": [d.name for d in site.deployments if d.node_pool == pool.name],
                "requested": sum(d.gpus_total for d in site.deployments if d.node_pool == pool.name),
            }
        )
    return out
