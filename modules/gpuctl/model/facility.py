"""The colocation facility a site lives in (or an offer for one): what it provides, what the contract commits,
and what the site needs from it over time.

The criteria and contract terms come from Inflect, "AI Inference on Bare Metal: Performance, Cost, and
Deployment Guide" (https://inflect.com/blog/ai-inference-on-bare-metal-performance-cost-and-deployment-guide):
five criteria for a provider (>= 20 kW per rack with a path to >= 30 kW; liquid cooling or high-density air with
hot-aisle containment; carrier-neutral interconnect; proven GPU deployments with referenceable customers; SLAs on
power availability and remote-hands response) and three contract terms (a power commitment per rack for the full
term; an expansion right at a pre-agreed rate; a remote-hands SLA with defined response times).

Cooling reuses the rack's `Cooling` (type and capacity; the site's defaults per type when omitted), the market is
the site's `market`, and a rack's own `contracted_kw` overrides the contract's committed kW per rack.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from .base import Kilowatts, Name, NonNegativeInt, Strict, Text
from .rack import Cooling

Certification = Literal["soc2", "hipaa", "fedramp", "iso27001", "pci-dss"]
Money = Annotated[float, Field(ge=0, le=1e9)]


class FacilityPower(Strict):
    per_rack_kw_now: Kilowatts = Field(description="kW the facility can deliver to one rack today.")
    expansion_path_kw: Kilowatts | None = Field(
        default=None, description="kW per rack the facility can deliver after its announced expansion (None: none)."
    )

    @property
    def reachable_kw(self) -> float:
        return max(self.per_rack_kw_now, self.expansion_path_kw or 0.0)


class FacilitySla(Strict):
    power_availability_pct: float | None = Field(
        default=None, ge=90, le=100, description="Contracted power availability, e.g. 99.999."
    )
    remote_hands_response_min: NonNegativeInt | None = Field(
        default=None, le=10_080, description="Contracted remote-hands response time at the hardware layer."
    )


class FacilityContract(Strict):
    committed_kw_per_rack: Kilowatts | None = Field(
        default=None,
        description="kW per rack the provider guarantees for the whole term (a rack's contracted_kw overrides it).",
    )
    term_months: int | None = Field(default=None, ge=1, le=240)
    expansion_right: bool = Field(default=False, description="The right to add racks or kW during the term.")
    expansion_rate_per_kw_month: Money | None = Field(
        default=None, description="Pre-agreed price of expansion capacity, USD per kW-month."
    )
    remote_hands_included_hours_month: float | None = Field(default=None, ge=0, le=10_000)
    remote_hands_per_hour: Money | None = None


class GrowthStep(Strict):
    quarter: int = Field(ge=1, le=80, description="Quarter of the term (1 = the first three months).")
    add_racks: NonNegativeInt = Field(default=0, le=10_000)
    kw_per_rack: Kilowatts = Field(description="Peak draw planned for each rack added in that quarter.")


class FacilityNeeds(Strict):
    """What the site's workloads need from any facility (their compliance profile is `security.compliance`)."""

    recovery_time_objective_min: NonNegativeInt | None = Field(
        default=None, le=10_080, description="How long a hardware fault may take to reach hands in the cage."
    )


class ColoTerms(Strict):
    """What a provider offers: shared by the site's facility and by the quotes `gpuctl colo compare` ranks."""

    provider: Text
    certifications: list[Certification] = Field(default_factory=list)
    carriers: list[Text] = Field(default_factory=list, max_length=500, description="Carriers present in the building.")
    cooling_offered: list[Cooling] = Field(min_length=1, max_length=10)
    power: FacilityPower
    sla: FacilitySla = Field(default_factory=FacilitySla)
    contract: FacilityContract = Field(default_factory=FacilityContract)
    gpu_references: list[Text] = Field(
        default_factory=list, max_length=100, description="Referenceable customers running GPU racks there."
    )

    @model_validator(mode="after")
    def _one_entry_per_cooling_type(self) -> ColoTerms:
        types = [c.type for c in self.cooling_offered]
        if len(set(types)) != len(types):
            raise ValueError("cooling_offered lists a cooling type twice")
        return self

    def cooling(self, kind: str) -> Cooling | None:
        return next((c for c in self.cooling_offered if c.type == kind), None)


class Facility(ColoTerms):
    needs: FacilityNeeds = Field(default_factory=FacilityNeeds)
    growth: list[GrowthStep] = Field(default_factory=list, max_length=80)


class Offer(ColoTerms):
    """One quote: the terms, the market and the prices (USD)."""

    name: Name
    market: Text | None = None
    price_per_kw_month: Money | None = Field(default=None, description="Power-based pricing: per committed kW.")
    price_per_rack_month: Money | None = Field(default=None, description="Space-based pricing: per cabinet.")
    cross_connect_per_month: Money = 0
    cross_connects: int = Field(default=2, ge=0, le=1000, description="How many the site orders (two carriers).")
    remote_hands_hours_month: float = Field(default=0, ge=0, le=10_000, description="Hours expected per month.")
    setup_usd: Money = Field(default=0, description="One-time installation fee.")

    @model_validator(mode="after")
    def _priced(self) -> Offer:
        if self.price_per_kw_month is None and self.price_per_rack_month is None:
            raise ValueError("an offer needs price_per_kw_month or price_per_rack_month (or both)")
        return self
