"""Facility rules: the colocation facility against the site's racks, growth plan, recovery objective and compliance.

Each rule asks one criterion of `gpuctl.calc.facility` (shared with `gpuctl colo compare`); a site without a
`facility` section is not checked. Messages carry the figures and end with the guide they come from.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..calc import facility as fac
from ..model import Site
from .base import Hit, Rule, Severity, rule

SOURCES = (fac.INFLECT,)


def _hits(site: Site, check: fac.Check) -> Iterator[Hit]:
    if site.facility is None:
        return
    d = fac.demand(site)
    for s in check(site, site.facility, site.facility.needs, d):
        yield Hit("facility", f"{s.message} ({fac.INFLECT_URL})", s.field)


@rule(
    "FAC001",
    "facility-rack-power",
    Severity.ERROR,
    "The facility must power the densest rack now and every rack of the growth plan.",
    "Lower the rack's density, pick a facility with more kW per rack, or get its expansion path in writing.",
    sources=SOURCES,
)
def facility_rack_power(site: Site) -> Iterator[Hit]:
    """The densest rack's vendor-maximum load against `power.per_rack_kw_now`, and each growth step's planned kW
    per rack against the most the facility can reach (`expansion_path_kw`). Retrofitting an underpowered cage
    after hardware is racked is not practical."""
    yield from _hits(site, fac.rack_power)


@rule(
    "FAC002",
    "gpu-rack-density-path",
    Severity.WARNING,
    "A facility for GPU racks should offer >= 20 kW per rack now with a path to >= 30 kW.",
    "Choose a facility that commits >= 20 kW per rack and has a written path to >= 30 kW.",
    sources=SOURCES,
)
def gpu_rack_density_path(site: Site) -> Iterator[Hit]:
    """Criterion 1 of five: GPU inference racks run at 10-30 kW; a facility that cannot reach 30 kW per rack caps
    the next GPU generation. Checked only when the site has GPU servers."""
    yield from _hits(site, fac.density_path)


@rule(
    "FAC003",
    "facility-cooling",
    Severity.ERROR,
    "The facility must offer each rack's cooling type with enough capacity, now and for the growth plan.",
    "Pick a facility offering the rack's cooling (liquid or contained air) at the kW it sheds.",
    sources=(*SOURCES, "Cooling capacities per type: see CLG001 (the site's cooling_defaults_kw)."),
)
def facility_cooling(site: Site) -> Iterator[Hit]:
    """Each rack's `cooling.type` must be in `cooling_offered`, whose capacity (declared, else the site default for
    the type, as CLG001 uses) covers the rack's heat; liquid-cooled-only systems need DLC; planned growth needs a
    cooling type that sheds its kW per rack; GPU racks need liquid or hot-aisle-contained air (criterion 2)."""
    yield from _hits(site, fac.cooling)


@rule(
    "FAC004",
    "carrier-diversity",
    Severity.WARNING,
    "The facility should have at least two carriers (carrier-neutral interconnect).",
    "Choose a carrier-neutral facility, or order circuits from two carriers present in the building.",
    sources=SOURCES,
)
def carrier_diversity(site: Site) -> Iterator[Hit]:
    """Criterion 3: one carrier is one fibre path and one commercial counterparty."""
    yield from _hits(site, fac.carriers)


@rule(
    "FAC005",
    "gpu-references",
    Severity.WARNING,
    "The provider should name referenceable customers running GPU racks there.",
    "Ask the provider for GPU customers you can call, and list them under facility.gpu_references.",
    sources=SOURCES,
)
def gpu_references(site: Site) -> Iterator[Hit]:
    """Criterion 4: proven GPU deployment experience, shown by customers who will take a reference call."""
    yield from _hits(site, fac.gpu_references)


@rule(
    "FAC006",
    "facility-sla",
    Severity.WARNING,
    "The facility needs SLAs on power availability and a remote-hands response within the recovery objective.",
    "Negotiate a power availability SLA and a remote-hands response no slower than needs.recovery_time_objective_min.",
    sources=SOURCES,
)
def facility_sla(site: Site) -> Iterator[Hit]:
    """Criterion 5 and contract term 3: without a hardware-layer remote-hands SLA a failed PSU or GPU waits for
    someone to travel; the response time must fit the site's recovery objective."""
    yield from _hits(site, fac.sla)


@rule(
    "FAC007",
    "power-commitment",
    Severity.ERROR,
    "The contract must commit kW per rack for the full term, covering the planned racks' peak.",
    "Get a committed kW per rack at the planned peak for the whole term written into the contract.",
    sources=SOURCES,
)
def power_commitment(site: Site) -> Iterator[Hit]:
    """Contract term 1: a power commitment guaranteeing per-rack kW for the full term. Racks with their own
    `contracted_kw` are checked by PWR001 (that figure is their budget); racks without one and every growth step
    inside the term need `contract.committed_kw_per_rack` at their peak."""
    yield from _hits(site, fac.power_commitment)


@rule(
    "FAC008",
    "expansion-right",
    Severity.WARNING,
    "The contract should give an expansion right at a pre-agreed rate.",
    "Negotiate an expansion right with a price per kW-month fixed in the contract.",
    sources=SOURCES,
)
def expansion_right(site: Site) -> Iterator[Hit]:
    """Contract term 2: default enterprise terms leave a growing GPU cluster exposed on expansion."""
    yield from _hits(site, fac.expansion_right)


@rule(
    "FAC009",
    "compliance-certifications",
    Severity.ERROR,
    "The facility must carry every certification the site's workloads need.",
    "Choose a facility certified for the workloads (HIPAA, SOC 2, FedRAMP...), or move those workloads.",
    sources=SOURCES,
)
def compliance_certifications(site: Site) -> Iterator[Hit]:
    """The site's `security.compliance` profile (hipaa, soc2, fedramp) against the facility's `certifications`:
    regulated data may only be processed in a facility that carries the certification."""
    yield from _hits(site, fac.compliance)


RULES: tuple[Rule, ...] = (
    facility_rack_power,
    gpu_rack_density_path,
    facility_cooling,
    carrier_diversity,
    gpu_references,
    facility_sla,
    power_commitment,
    expansion_right,
    compliance_certifications,
)
