"""Inputs of the cost model: every figure named, with its unit and the source of its default.

Defaults come from the seed document (shared/seeds/000_*: "AI Inference on Bare Metal: Performance,
Cost, and Deployment Guide"), which cites Lambda Labs and CoreWeave 2025 GPU pricing and AWS 2025
data-transfer pricing.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Signals(_Strict):
    """What a team knows beyond the numbers; None means unknown."""

    p99_missed_in_cloud: bool | None = Field(
        default=None, description="Shared cloud GPUs miss the P99 latency target (e.g. < 500 ms)."
    )
    data_constraints: bool | None = Field(
        default=None, description="Contracts or regulation require physical control (PHI, sovereignty, CUI)."
    )
    traffic: Literal["steady", "bursty", "seasonal"] | None = None
    retrain_interval_days: int | None = Field(default=None, ge=1, description="How often the model is redeployed.")
    infra_staff: int | None = Field(default=None, ge=0, description="People who can own hardware operations.")


class Scenario(_Strict):
    gpus: int = Field(default=8, gt=0)
    utilization: float = Field(
        default=0.7, gt=0, le=1, description="Share of owned GPU-hours the workload actually needs."
    )
    months: int = Field(default=36, gt=0, le=240)
    hours_per_month: float = Field(default=24 * 30, gt=0, description="The seed's 24 × 30.")
    cloud_rate_per_gpu_hour: float = Field(
        default=4.00, ge=0, description="H100 on GPU clouds: $3.50-4.50 (Lambda, CoreWeave 2025)."
    )
    gpu_price_usd: float = Field(default=27_500, ge=0, description="H100 SXM5 bought outright: $25,000-30,000 per GPU.")
    amortization_months: int = Field(default=36, gt=0)
    power_price_per_kwh: float = Field(default=0.10, ge=0)
    energy_kwh_per_gpu_month: float = Field(default=700, ge=0, description="The seed: roughly 700 kWh per GPU.")
    average_draw_fraction: float = Field(
        default=0.76,
        gt=0,
        le=1,
        description="Average draw over nameplate maximum, used with a site's servers: the seed's 700 kWh per "
        "H100 per month over a DGX H100's 10.2 kW / 8 GPUs × 720 h gives 0.76.",
    )
    server_price_usd: dict[str, float] = Field(
        default_factory=dict, description="Price per server model id; with a site, replaces gpu_price_usd."
    )
    colocation_per_gpu_month: float = Field(
        default=225, ge=0, description="$150-300 per GPU-equivalent per month (midpoint)."
    )
    staffing_per_month: float = Field(default=0, ge=0, description="Loaded cost of the people who run it.")
    egress_gb_per_month: float = Field(default=0, ge=0)
    cloud_egress_per_gb: float = Field(default=0.085, ge=0, description="$0.08-0.09/GB, first 10 TB (AWS 2025).")
    bare_metal_egress_per_gb: float = Field(default=0, ge=0, description="Colo bandwidth is usually flat-rate.")
    hybrid_bare_metal_share: float = Field(
        default=0.75, ge=0, le=1, description="Steady traffic on bare metal in a hybrid (the seed: 70-80%)."
    )
    monthly_inference_spend: float | None = Field(
        default=None, ge=0, description="Today's cloud inference bill; the model's cloud cost when omitted."
    )
    signals: Signals = Field(default_factory=Signals)
