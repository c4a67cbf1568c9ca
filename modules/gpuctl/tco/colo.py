"""Colocation offers against a site: which criteria each meets, what it costs this site per month and over the
horizon (with the growth plan), and what that does to the site's TCO.

Cost of an offer for one month: power (price per kW-month × the kW the racks draw at their vendor maximum), space
(price per rack-month × racks), cross-connects, and remote hands beyond the included hours. Growth racks are priced
at the pre-agreed expansion rate when the contract has one, else at the offer's list price per kW (noted).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..calc import facility
from ..model import Site
from ..model.facility import Offer
from .compute import break_even_month, monthly
from .model import Scenario


@dataclass(frozen=True)
class OfferResult:
    name: str
    provider: str
    market: str | None
    met: list[str]  # criterion keys met
    missed: dict[str, list[str]]  # criterion key -> shortfall messages
    monthly_usd: float  # the first month, today's racks
    horizon_usd: float  # setup + every month of the horizon, growth included
    colocation_per_gpu_month: float
    tco_bare_metal_usd: float  # the scenario's bare-metal total over the horizon with this offer's colocation
    tco_break_even_month: int | None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "provider": self.provider,
            "market": self.market,
            "criteria_met": len(self.met),
            "criteria_total": len(facility.CRITERIA),
            "missed": self.missed,
            "monthly_usd": round(self.monthly_usd, 2),
            "horizon_usd": round(self.horizon_usd, 2),
            "colocation_per_gpu_month": round(self.colocation_per_gpu_month, 2),
            "tco_bare_metal_usd": round(self.tco_bare_metal_usd, 2),
            "tco_break_even_month": self.tco_break_even_month,
            "notes": self.notes,
        }


def month_cost(o: Offer, kw_now: float, racks_now: int, kw: float, racks: int) -> float:
    """One month: today's kW at the offer's price, kW added since at the expansion rate (or the list price)."""
    added_kw = max(kw - kw_now, 0.0)
    kw_price = o.price_per_kw_month or 0.0
    expansion = o.contract.expansion_rate_per_kw_month if o.contract.expansion_right else None
    power = kw_now * kw_price + added_kw * (expansion if expansion is not None else kw_price)
    space = racks * (o.price_per_rack_month or 0.0)
    cross = o.cross_connects * o.cross_connect_per_month
    included = o.contract.remote_hands_included_hours_month or 0.0
    hands = max(o.remote_hands_hours_month - included, 0.0) * (o.contract.remote_hands_per_hour or 0.0)
    return power + space + cross + hands


def evaluate_offer(site: Site, offer: Offer, scenario: Scenario) -> OfferResult:
    assessed = facility.assess(site, offer)
    d = facility.demand(site)
    kw_now, racks_now = d.kw_at_month(0), d.racks_at_month(0)
    first = month_cost(offer, kw_now, racks_now, kw_now, racks_now)
    months = range(1, scenario.months + 1)
    total = offer.setup_usd + sum(
        month_cost(offer, kw_now, racks_now, d.kw_at_month(m), d.racks_at_month(m)) for m in months
    )
    notes = []
    if (
        d.growth
        and offer.price_per_kw_month
        and not (offer.contract.expansion_right and offer.contract.expansion_rate_per_kw_month is not None)
    ):
        notes.append("growth priced at the list price per kW: no pre-agreed expansion rate")
    if offer.remote_hands_hours_month and offer.contract.remote_hands_per_hour is None:
        notes.append("remote hands hours expected but no hourly rate quoted: not priced")
    per_gpu = first / scenario.gpus
    alt = scenario.model_copy(update={"colocation_per_gpu_month": per_gpu})
    m = monthly(alt)
    capex = alt.gpus * alt.gpu_price_usd
    return OfferResult(
        name=offer.name,
        provider=offer.provider,
        market=offer.market,
        met=[k for k, v in assessed.items() if not v],
        missed={k: [s.message for s in v] for k, v in assessed.items() if v},
        monthly_usd=first,
        horizon_usd=total,
        colocation_per_gpu_month=per_gpu,
        tco_bare_metal_usd=capex + m.bare_metal_opex * alt.months,
        tco_break_even_month=break_even_month(capex, m.bare_metal_opex, m.cloud),
        notes=notes,
    )


def compare(site: Site, offers: list[Offer], scenario: Scenario) -> list[OfferResult]:
    """Offers ranked: most criteria met first, then the lowest cost over the horizon."""
    results = [evaluate_offer(site, o, scenario) for o in offers]
    return sorted(results, key=lambda r: (-len(r.met), r.horizon_usd, r.name))
