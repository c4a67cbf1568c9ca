"""The decision report: four signals, the "do not move yet" conditions, and a verdict.

Signals, conditions and thresholds (utilization 50-60 %, $30,000-50,000 a month, P99 misses, data constraints;
under 40 %, bursty traffic, frequent retraining, no infrastructure staff) are the decision framework of Inflect's
"AI Inference on Bare Metal: Performance, Cost, and Deployment Guide",
https://inflect.com/blog/ai-inference-on-bare-metal-performance-cost-and-deployment-guide: a practitioner's
heuristic, not a measured or standard threshold. "Monthly or more often" for frequent retraining is gpuctl's
reading of the guide's "frequently retrained"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .compute import break_even_month, monthly
from .model import Scenario

Status = Literal["met", "not met", "unknown"]


@dataclass(frozen=True)
class Signal:
    name: str
    status: Status
    detail: str


@dataclass(frozen=True)
class Decision:
    verdict: Literal["pure cloud", "hybrid", "bare metal"]
    reasons: list[str]
    signals: list[Signal]
    blockers: list[Signal]


def _flag(value: bool | None) -> Status:
    return "unknown" if value is None else ("met" if value else "not met")


def decide(s: Scenario) -> Decision:
    spend = s.monthly_inference_spend if s.monthly_inference_spend is not None else monthly(s).cloud
    sig = s.signals
    signals = [
        Signal(
            "sustained utilization above 50-60%",
            "met" if s.utilization >= 0.5 else "not met",
            f"utilization {s.utilization:.0%}",
        ),
        Signal(
            "monthly inference spend of $30,000-50,000+",
            "met" if spend >= 30_000 else "not met",
            f"${spend:,.0f}/month" + ("" if s.monthly_inference_spend is not None else " (modelled cloud cost)"),
        ),
        Signal("P99 latency targets shared cloud misses", _flag(sig.p99_missed_in_cloud), "from signals"),
        Signal("data-handling constraints", _flag(sig.data_constraints), "from signals"),
    ]
    blockers = [
        Signal("GPU utilization under 40%", "met" if s.utilization < 0.4 else "not met", f"{s.utilization:.0%}"),
        Signal(
            "bursty or seasonal traffic",
            "unknown" if sig.traffic is None else ("met" if sig.traffic != "steady" else "not met"),
            sig.traffic or "traffic pattern not given",
        ),
        Signal(
            "model retrained and redeployed frequently (monthly or more often)",
            "unknown"
            if sig.retrain_interval_days is None
            else ("met" if sig.retrain_interval_days <= 30 else "not met"),
            "unknown" if sig.retrain_interval_days is None else f"every {sig.retrain_interval_days} days",
        ),
        Signal(
            "no infrastructure staff to own hardware",
            "unknown" if sig.infra_staff is None else ("met" if sig.infra_staff == 0 else "not met"),
            "unknown" if sig.infra_staff is None else f"{sig.infra_staff} people",
        ),
    ]
    met = [x for x in signals if x.status == "met"]
    stop = [b for b in blockers if b.status == "met"]
    if stop:
        return Decision("pure cloud", [f"do not move yet: {b.name} ({b.detail})" for b in stop], signals, blockers)
    if len(met) == len(signals):
        return Decision("bare metal", ["all four signals are present: a strong operational case"], signals, blockers)
    m = monthly(s)
    be = break_even_month(s.gpus * s.gpu_price_usd, m.bare_metal_opex, m.cloud)
    pays_back = be is not None and be <= s.months
    if signals[0].status == "met" and (len(met) >= 2 or pays_back):
        reasons = [f"{len(met)} of 4 signals met ({', '.join(x.name for x in met)})"]
        if pays_back:
            reasons.append(f"owned capacity pays for itself in month {be} of {s.months}")
        reasons.append(f"serve about {s.hybrid_bare_metal_share:.0%} of steady traffic from bare metal, burst in cloud")
        return Decision("hybrid", reasons, signals, blockers)
    reasons = [
        "utilization does not justify owned GPUs yet" if signals[0].status != "met" else "no signal beyond utilization",
        "model the economics again with measured utilization",
    ]
    return Decision("pure cloud", reasons, signals, blockers)
