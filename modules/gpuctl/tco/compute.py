"""The cost model: monthly cost each way, cumulative curves, break-even, sensitivity."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from .model import Scenario


@dataclass(frozen=True)
class Monthly:
    cloud: float
    bare_metal: float  # amortized hardware + operations
    bare_metal_opex: float  # operations only (what is paid monthly when hardware is bought up front)
    hybrid: float
    hardware_amortized: float
    power: float
    colocation: float
    staffing: float
    egress_cloud: float
    egress_bare_metal: float


def monthly(s: Scenario) -> Monthly:
    gpu_hours = s.gpus * s.hours_per_month * s.utilization
    egress_cloud = s.egress_gb_per_month * s.cloud_egress_per_gb
    cloud = gpu_hours * s.cloud_rate_per_gpu_hour + egress_cloud
    hardware = s.gpus * s.gpu_price_usd / s.amortization_months
    power = s.gpus * s.energy_kwh_per_gpu_month * s.power_price_per_kwh
    colo = s.gpus * s.colocation_per_gpu_month
    egress_bm = s.egress_gb_per_month * s.bare_metal_egress_per_gb
    opex = power + colo + s.staffing_per_month + egress_bm
    share = s.hybrid_bare_metal_share
    # Hybrid: bare metal sized for `share` of the steady load (fewer GPUs, same staff); the rest in cloud.
    hybrid_bm = share * (hardware + power + colo + egress_bm) + (s.staffing_per_month if share > 0 else 0.0)
    hybrid = hybrid_bm + (1 - share) * cloud
    return Monthly(
        cloud, hardware + opex, opex, hybrid, hardware, power, colo, s.staffing_per_month, egress_cloud, egress_bm
    )


@dataclass(frozen=True)
class Curves:
    month: list[int]
    cloud: list[float]
    bare_metal: list[float]
    hybrid: list[float]


def curves(s: Scenario) -> Curves:
    """Cumulative cash out: hardware bought at month 0, operations and cloud paid monthly."""
    m = monthly(s)
    capex = s.gpus * s.gpu_price_usd
    share = s.hybrid_bare_metal_share
    months = list(range(s.months + 1))
    hybrid_opex = share * (m.power + m.colocation + m.egress_bare_metal) + (m.staffing if share else 0.0)
    return Curves(
        month=months,
        cloud=[m.cloud * t for t in months],
        bare_metal=[capex + m.bare_metal_opex * t for t in months],
        hybrid=[share * capex + (hybrid_opex + (1 - share) * m.cloud) * t for t in months],
    )


def break_even_month(capex: float, opex: float, cloud: float) -> int | None:
    """First whole month at whose end owning has cost no more than renting (None: never)."""
    if capex <= 0:
        return 0 if opex <= cloud else None
    if cloud <= opex:
        return None
    return math.ceil(capex / (cloud - opex) - 1e-9)


def summary(s: Scenario) -> dict[str, Any]:
    m = monthly(s)
    capex = s.gpus * s.gpu_price_usd
    share = s.hybrid_bare_metal_share
    hybrid_opex = share * (m.power + m.colocation + m.egress_bare_metal) + (m.staffing if share else 0.0)
    be = break_even_month(capex, m.bare_metal_opex, m.cloud)
    be_h = break_even_month(share * capex, hybrid_opex + (1 - share) * m.cloud, m.cloud)
    c = curves(s)
    return {
        "inputs": s.model_dump(exclude={"signals"}),
        "monthly": asdict(m),
        "per_gpu_monthly": {"cloud": m.cloud / s.gpus, "bare_metal": m.bare_metal / s.gpus},
        "bare_metal_pct_of_cloud": (m.bare_metal / m.cloud * 100) if m.cloud else None,
        "capex": capex,
        "break_even_month": be,
        "hybrid_break_even_month": be_h,
        "total": {"cloud": c.cloud[-1], "bare_metal": c.bare_metal[-1], "hybrid": c.hybrid[-1]},
        "savings_over_horizon": c.cloud[-1] - c.bare_metal[-1],
    }


def sensitivity(
    s: Scenario,
    utilizations: tuple[float, ...] = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0),
    rates: tuple[float, ...] = (3.50, 4.00, 4.50),
) -> list[dict[str, Any]]:
    rows = []
    for rate in rates:
        for u in utilizations:
            alt = s.model_copy(update={"utilization": u, "cloud_rate_per_gpu_hour": rate})
            m = monthly(alt)
            rows.append(
                {
                    "cloud_rate_per_gpu_hour": rate,
                    "utilization": u,
                    "bare_metal_pct_of_cloud": m.bare_metal / m.cloud * 100 if m.cloud else None,
                    "break_even_month": break_even_month(alt.gpus * alt.gpu_price_usd, m.bare_metal_opex, m.cloud),
                }
            )
    return rows
