"""Rack power: loads, feed capacities, budgets and per-phase line currents.

Formulas: 3-phase P = V_LL × I × √3 × PF × d (208 V × 30 A × √3 × 0.8 = 8,646 VA, as at
http://datacentermd.com/); 1-phase P = V × I × PF × d; d = the site's derating (NEC (NFPA 70)
210.19(A)(1)/210.20(A) and 645.5(A): 125 % of continuous load, so 0.8). A feed of n identical circuits
carries n × P. The budget is min(Σ feeds, contracted kW); with A+B feeds each feed alone must carry the
whole rack (https://www.metaltoad.com/blog/power-utilization-within-colocation-environment). Line
currents of 208 V 3-phase PDUs, whose banks sit line to line: Raritan,
https://www.raritan.com/blog/detail/how-to-calculate-current-on-a-3-phase-208v-rack-pdu-power-strip.
"""

from __future__ import annotations

import cmath
import math
from dataclasses import dataclass
from typing import Literal

from ..model import Circuit, Feed, PowerCord, Rack, Site, SiteSettings
from ..model.site import pdu_wiring

SQRT3 = math.sqrt(3)


def circuit_kw(circuit: Circuit, settings: SiteSettings) -> float:
    """Usable kW of the circuit(s) after power factor and derating."""
    per = circuit.voltage_v * circuit.amps * (SQRT3 if circuit.phases == 3 else 1.0)
    return per * settings.power_factor * settings.power_derating * circuit.count / 1000


def feed_kw(feed: Feed, settings: SiteSettings) -> float:
    return sum(circuit_kw(c, settings) for c in feed.circuits)


def feed_label(feed: Feed, settings: SiteSettings) -> str:
    """'415 V 3-phase 60 A, 0.8 derating' — the limit's provenance for messages."""
    circuits = " + ".join(c.label for c in feed.circuits)
    pf = f", PF {settings.power_factor:g}" if settings.power_factor != 1 else ""
    return f"{circuits}, {settings.power_derating:g} derating{pf}"


@dataclass(frozen=True)
class PoweredItem:
    kind: Literal["server", "switch", "device"]
    name: str
    kw: float
    cords: tuple[PowerCord, ...]


def powered_items(site: Site, rack: Rack) -> list[PoweredItem]:
    items = [PoweredItem("server", s.name, site.server_power_kw(s), tuple(s.power_cords)) for s in rack.servers]
    items += [PoweredItem("switch", w.name, w.max_power_kw, tuple(w.power_cords)) for w in rack.switches]
    items += [PoweredItem("device", d.name, d.max_power_kw, tuple(d.power_cords)) for d in rack.devices]
    return items


def rack_load_kw(site: Site, rack: Rack) -> float:
    return sum(i.kw for i in powered_items(site, rack))


@dataclass(frozen=True)
class Budget:
    feed_a_kw: float
    feed_b_kw: float | None
    contracted_kw: float | None

    @property
    def feeds_kw(self) -> float:
        return self.feed_a_kw + (self.feed_b_kw or 0.0)

    @property
    def budget_kw(self) -> float:
        return self.feeds_kw if self.contracted_kw is None else min(self.feeds_kw, self.contracted_kw)

    @property
    def limited_by_contract(self) -> bool:
        return self.contracted_kw is not None and self.contracted_kw < self.feeds_kw

    @property
    def redundant_kw(self) -> float | None:
        """What the rack may draw and survive the loss of either feed (None: single feed)."""
        if self.feed_b_kw is None:
            return None
        single = min(self.feed_a_kw, self.feed_b_kw)
        return single if self.contracted_kw is None else min(single, self.contracted_kw)


def rack_budget(site: Site, rack: Rack) -> Budget:
    s = site.settings
    b = feed_kw(rack.power.b, s) if rack.power.b is not None else None
    contracted = rack.contracted_kw
    if contracted is None and site.facility is not None:  # the facility contract's kW per rack is the default
        contracted = site.facility.contract.committed_kw_per_rack
    return Budget(feed_kw(rack.power.a, s), b, contracted)


# ----- phases -----
# Phasor angles of the line-to-line bank currents on a delta PDU (Kirchhoff's current law: each line
# carries the difference of the two bank currents meeting there; Raritan note above).
_DELTA_ANGLE = {"L1-L2": 30.0, "L2-L3": -90.0, "L3-L1": 150.0}


@dataclass(frozen=True)
class PhaseLoad:
    pdu: str
    wiring: Literal["delta", "wye", "single"]
    breaker_a: float
    limit_a: float  # breaker × derating
    line_a: dict[str, float]  # L1/L2/L3 (or L1 alone) -> amps
    bank_kva: dict[str, float]
    circuit_label: str

    @property
    def imbalance_pct(self) -> float | None:
        values = list(self.line_a.values())
        if len(values) < 3:
            return None
        avg = sum(values) / len(values)
        return None if avg <= 0 else (max(values) - min(values)) / avg * 100


def line_currents(wiring: str, bank_va: dict[str, float], voltage_v: float) -> dict[str, float]:
    """Per-line current from per-phase apparent power (VA) on a PDU's banks."""
    if wiring == "single":
        return {"L1": sum(bank_va.values()) / voltage_v}
    if wiring == "wye":
        v_ln = voltage_v / SQRT3  # 415 V line-to-line is 240 V line-to-neutral
        return {ph: bank_va.get(ph, 0.0) / v_ln for ph in ("L1", "L2", "L3")}
    i = {ph: cmath.rect(bank_va.get(ph, 0.0) / voltage_v, math.radians(a)) for ph, a in _DELTA_ANGLE.items()}
    return {
        "L1": abs(i["L1-L2"] - i["L3-L1"]),
        "L2": abs(i["L2-L3"] - i["L1-L2"]),
        "L3": abs(i["L3-L1"] - i["L2-L3"]),
    }


def phase_loads(site: Site, rack: Rack, lost_feed: Literal["a", "b"] | None = None) -> list[PhaseLoad]:
    """Line currents of every PDU with cords on it; with `lost_feed`, as if that feed had failed and each
    item's load moved to its cords on the other feed."""
    pdus = {p.name: p for p in rack.pdus}
    bank_phase = {(p.name, b.name): b.phase for p in rack.pdus for b in p.banks}
    va: dict[str, dict[str, float]] = {p.name: {} for p in rack.pdus}
    for item in powered_items(site, rack):
        live = [c for c in item.cords if lost_feed is None or pdus[c.pdu].feed != lost_feed]
        if not live:
            continue
        share_va = item.kw * 1000 / site.settings.power_factor / len(live)
        for cord in live:
            phase = bank_phase[(cord.pdu, cord.bank)]
            va[cord.pdu][phase] = va[cord.pdu].get(phase, 0.0) + share_va
    out = []
    for pdu in rack.pdus:
        if not va[pdu.name]:
            continue
        feed = rack.power.feed(pdu.feed)
        assert feed is not None  # checked by the model
        circuit = feed.circuits[pdu.circuit]
        wiring = pdu_wiring(pdu.wiring, circuit.phases, circuit.voltage_v)
        out.append(
            PhaseLoad(
                pdu=pdu.name,
                wiring=wiring,
                breaker_a=circuit.amps,
                limit_a=circuit.amps * site.settings.power_derating,
                line_a=line_currents(wiring, va[pdu.name], circuit.voltage_v),
                bank_kva={ph: v / 1000 for ph, v in va[pdu.name].items()},
                circuit_label=f"{circuit.voltage_v:g} V {'3-phase' if circuit.phases == 3 else '1-phase'} "
                f"{circuit.amps:g} A",
            )
        )
    return out


def heat_btu_h(kw: float) -> float:
    return kw * 3412.14
