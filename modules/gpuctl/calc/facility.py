"""The colocation criteria and contract terms, checked for one set of terms (the site's facility or an offer)
against what the site draws now and plans to draw. The FAC rules and `gpuctl colo compare` both ask here.

Figures from Inflect, "AI Inference on Bare Metal: Performance, Cost, and Deployment Guide" (INFLECT below):
GPU racks need >= 20 kW per rack with a path to >= 30 kW; liquid cooling or high-density air with hot-aisle
containment; carrier-neutral interconnect; referenceable GPU customers; SLAs on power availability and remote-hands
response; and in the contract a power commitment per rack for the full term, an expansion right at a pre-agreed
rate and a remote-hands SLA with defined response times. Certifications: "for workloads subject to HIPAA, SOC 2, or
FedRAMP requirements, the colocation facility must carry the relevant certifications" (same guide).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..model import Rack, Site
from ..model.facility import ColoTerms, FacilityNeeds, GrowthStep
from .cooling import cooling_capacity_kw
from .power import rack_load_kw

INFLECT_URL = "https://inflect.com/blog/ai-inference-on-bare-metal-performance-cost-and-deployment-guide"
INFLECT = f"Inflect, AI Inference on Bare Metal: Performance, Cost, and Deployment Guide: {INFLECT_URL}"
MIN_GPU_RACK_KW = 20.0
PATH_GPU_RACK_KW = 30.0
MIN_CARRIERS = 2
# Cooling the guide accepts for GPU racks: liquid (direct or rear-door) or air with hot-aisle containment.
CRITERION_1 = f"criterion 1: >= {MIN_GPU_RACK_KW:g} kW per rack with a path to >= {PATH_GPU_RACK_KW:g} kW"
TERM_1 = "contract term 1 of 3: a power commitment per rack for the full term"
TERM_3 = "contract term 3 of 3: a remote-hands SLA with defined response times"
DENSE_COOLING = ("air_contained", "rdhx_passive", "rdhx_active", "dlc")


@dataclass(frozen=True)
class Shortfall:
    field: str  # under the terms (power.per_rack_kw_now, contract.term_months, ...)
    message: str


@dataclass(frozen=True)
class Demand:
    """What the site draws: per rack now, and the growth plan."""

    racks: list[tuple[Rack, float]]  # (rack, peak kW)
    gpu_racks: int
    growth: list[GrowthStep]
    liquid_only: list[str]  # servers that cannot run without DLC

    @property
    def densest(self) -> tuple[str, float]:
        rack, kw = max(self.racks, key=lambda r: r[1])
        return rack.name, kw

    @property
    def peak_kw_per_rack(self) -> float:
        return max([kw for _, kw in self.racks] + [g.kw_per_rack for g in self.growth])

    def kw_at_month(self, month: int) -> float:
        """Total kW drawn in a month of the term (1-based), racks added per the growth plan at their planned peak."""
        now = sum(kw for _, kw in self.racks)
        return now + sum(g.add_racks * g.kw_per_rack for g in self.growth if (g.quarter - 1) * 3 < month)

    def racks_at_month(self, month: int) -> int:
        return len(self.racks) + sum(g.add_racks for g in self.growth if (g.quarter - 1) * 3 < month)


def demand(site: Site) -> Demand:
    racks = [(r, rack_load_kw(site, r)) for r in site.racks]
    gpu_racks = sum(1 for r in site.racks if any(site.gpu_count(s) > 0 for s in r.servers))
    growth = list(site.facility.growth) if site.facility else []
    liquid = [s.name for _, s in site.all_servers() if site.server_spec(s).liquid_cooled_only]
    return Demand(racks, gpu_racks, growth, liquid)


def _kw(v: float) -> str:
    return f"{v:.1f} kW"


def rack_power(site: Site, t: ColoTerms, needs: FacilityNeeds, d: Demand) -> list[Shortfall]:
    out = []
    name, kw = d.densest
    if kw > t.power.per_rack_kw_now + 1e-9:
        out.append(
            Shortfall(
                "power.per_rack_kw_now",
                f"densest rack {name} draws {_kw(kw)} > {_kw(t.power.per_rack_kw_now)} per rack available now",
            )
        )
    for g in d.growth:
        if g.kw_per_rack > t.power.reachable_kw + 1e-9:
            out.append(
                Shortfall(
                    "power.expansion_path_kw",
                    f"growth in quarter {g.quarter} plans {_kw(g.kw_per_rack)} per rack > "
                    f"{_kw(t.power.reachable_kw)} the facility can reach",
                )
            )
    return out


def density_path(site: Site, t: ColoTerms, needs: FacilityNeeds, d: Demand) -> list[Shortfall]:
    if d.gpu_racks == 0:
        return []
    out = []
    if t.power.per_rack_kw_now < MIN_GPU_RACK_KW:
        out.append(
            Shortfall(
                "power.per_rack_kw_now",
                f"{_kw(t.power.per_rack_kw_now)} per rack now < {MIN_GPU_RACK_KW:g} kW ({CRITERION_1})",
            )
        )
    if t.power.reachable_kw < PATH_GPU_RACK_KW:
        path = "no expansion path" if t.power.expansion_path_kw is None else "expansion path"
        out.append(
            Shortfall(
                "power.expansion_path_kw",
                f"{path}: {_kw(t.power.reachable_kw)} per rack at most < {PATH_GPU_RACK_KW:g} kW ({CRITERION_1})",
            )
        )
    return out


def cooling(site: Site, t: ColoTerms, needs: FacilityNeeds, d: Demand) -> list[Shortfall]:
    out = []
    offered = ", ".join(c.type for c in t.cooling_offered)
    capacities: list[float] = []
    for c in t.cooling_offered:
        cap = c.capacity_kw if c.capacity_kw is not None else site.settings.cooling_defaults_kw.get(c.type)
        if cap is not None:
            capacities.append(cap)
    for rack, kw in d.racks:
        mine = t.cooling(rack.cooling.type)
        if mine is None:
            out.append(Shortfall("cooling_offered", f"rack {rack.name} needs {rack.cooling.type}; offered: {offered}"))
            continue
        cap, _ = cooling_capacity_kw(site, rack.model_copy(update={"cooling": mine}))
        if cap is not None and kw > cap + 1e-9:
            out.append(
                Shortfall(
                    "cooling_offered",
                    f"rack {rack.name} sheds {_kw(kw)} of heat > {cap:g} kW of {mine.type} offered",
                )
            )
    if d.liquid_only and t.cooling("dlc") is None:
        out.append(
            Shortfall("cooling_offered", f"{', '.join(d.liquid_only)} need direct liquid cooling; offered: {offered}")
        )
    best = max(capacities, default=0.0)
    for g in d.growth:
        if g.kw_per_rack > best + 1e-9:
            out.append(
                Shortfall(
                    "cooling_offered",
                    f"growth in quarter {g.quarter} plans {_kw(g.kw_per_rack)} per rack > {best:g} kW the best "
                    f"cooling offered sheds",
                )
            )
    if d.gpu_racks and not any(c.type in DENSE_COOLING for c in t.cooling_offered):
        out.append(
            Shortfall(
                "cooling_offered",
                f"offered {offered}: GPU racks need liquid cooling or high-density air with hot-aisle containment "
                "(criterion 2)",
            )
        )
    return out


def carriers(site: Site, t: ColoTerms, needs: FacilityNeeds, d: Demand) -> list[Shortfall]:
    if len(set(t.carriers)) >= MIN_CARRIERS:
        return []
    names = ", ".join(t.carriers) or "none"
    return [
        Shortfall(
            "carriers",
            f"{len(set(t.carriers))} carrier(s) ({names}) < {MIN_CARRIERS}: no carrier-neutral interconnect "
            "(criterion 3)",
        )
    ]


def gpu_references(site: Site, t: ColoTerms, needs: FacilityNeeds, d: Demand) -> list[Shortfall]:
    if t.gpu_references:
        return []
    return [Shortfall("gpu_references", "no referenceable GPU customer named (criterion 4)")]


def sla(site: Site, t: ColoTerms, needs: FacilityNeeds, d: Demand) -> list[Shortfall]:
    out = []
    if t.sla.power_availability_pct is None:
        out.append(Shortfall("sla", "no power availability SLA (criterion 5)"))
    response = t.sla.remote_hands_response_min
    rto = needs.recovery_time_objective_min
    if response is None:
        out.append(
            Shortfall(
                "sla",
                f"no remote-hands response time (criterion 5; {TERM_3})",
            )
        )
    elif rto is not None and response > rto:
        out.append(
            Shortfall(
                "sla.remote_hands_response_min",
                f"remote hands respond in {response} min > {rto} min recovery objective (contract term 3 of 3)",
            )
        )
    return out


def power_commitment(site: Site, t: ColoTerms, needs: FacilityNeeds, d: Demand) -> list[Shortfall]:
    out = []
    c = t.contract
    uncovered = [r.name for r, _ in d.racks if r.contracted_kw is None]
    if c.committed_kw_per_rack is None:
        if uncovered or d.growth:
            who = ", ".join(uncovered) if uncovered else "the planned racks"
            out.append(
                Shortfall(
                    "contract",
                    f"no committed kW per rack for {who} ({TERM_1})",
                )
            )
        return out
    if c.term_months is None:
        out.append(
            Shortfall(
                "contract",
                f"the power commitment has no term ({TERM_1})",
            )
        )
    term = c.term_months or 0
    for g in d.growth:
        if (g.quarter - 1) * 3 < term and g.kw_per_rack > c.committed_kw_per_rack + 1e-9:
            out.append(
                Shortfall(
                    "contract.committed_kw_per_rack",
                    f"growth in quarter {g.quarter} plans {_kw(g.kw_per_rack)} per rack > "
                    f"{_kw(c.committed_kw_per_rack)} committed for the {term}-month term (contract term 1 of 3)",
                )
            )
    return out


def expansion_right(site: Site, t: ColoTerms, needs: FacilityNeeds, d: Demand) -> list[Shortfall]:
    c = t.contract
    if not c.expansion_right:
        return [
            Shortfall("contract", "no expansion right (contract term 2 of 3: an expansion right at a pre-agreed rate)")
        ]
    if c.expansion_rate_per_kw_month is None:
        return [
            Shortfall("contract.expansion_right", "expansion right without a pre-agreed rate (contract term 2 of 3)")
        ]
    return []


def compliance(site: Site, t: ColoTerms, needs: FacilityNeeds, d: Demand) -> list[Shortfall]:
    """The site's compliance profile (`security.compliance`, one fact shared with the SEC rules) against the
    facility's certifications."""
    profile = site.security.compliance
    if profile == "none" or profile in t.certifications:
        return []
    have = ", ".join(t.certifications) or "none"
    return [Shortfall("certifications", f"security.compliance is {profile}; the facility carries {have}")]


Check = Callable[[Site, ColoTerms, FacilityNeeds, Demand], list[Shortfall]]


@dataclass(frozen=True)
class Criterion:
    key: str
    title: str
    check: Check


CRITERIA: tuple[Criterion, ...] = (
    Criterion("rack-power", "powers the densest rack now and at the planned growth", rack_power),
    Criterion("density-path", f">= {MIN_GPU_RACK_KW:g} kW per rack, path to >= {PATH_GPU_RACK_KW:g} kW", density_path),
    Criterion("cooling", "liquid or contained air, enough for every rack", cooling),
    Criterion("carriers", f">= {MIN_CARRIERS} carriers (carrier-neutral)", carriers),
    Criterion("gpu-references", "referenceable GPU customers", gpu_references),
    Criterion("sla", "SLAs: power availability, remote hands within the recovery objective", sla),
    Criterion("power-commitment", "kW per rack committed for the full term", power_commitment),
    Criterion("expansion-right", "expansion right at a pre-agreed rate", expansion_right),
    Criterion("compliance", "certifications the workloads need", compliance),
)


def assess(site: Site, terms: ColoTerms, needs: FacilityNeeds | None = None) -> dict[str, list[Shortfall]]:
    """Every criterion's shortfalls for these terms (an empty list: met)."""
    needs = needs or (site.facility.needs if site.facility else FacilityNeeds())
    d = demand(site)
    return {c.key: c.check(site, terms, needs, d) for c in CRITERIA}
