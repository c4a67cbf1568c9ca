"""Inputs of the cost model: every figure named, with its unit and the source of its default.

Every default is an editable scenario assumption, most of them figures from a practitioner guide: Inflect,
"AI Inference on Bare Metal: Performance, Cost, and Deployment Guide",
https://inflect.com/blog/ai-inference-on-bare-metal-performance-cost-and-deployment-guide. The guide names
sources for two: H100 on GPU clouds at $3.50-4.50/hour (Lambda and CoreWeave GPU pricing, 2025:
https://lambda.ai/pricing, https://www.coreweave.com/pricing) and egress at $0.08-0.09/GB for the first 10 TB a
month (AWS data transfer pricing, 2025: https://aws.amazon.com/ec2/pricing/on-demand/, "Data Transfer"). List
prices change: check the pages. The rest has no cited source and is an assumption: $25,000-30,000 per H100
SXM5, $0.10/kWh (compare the site's contract, or EIA's average prices by sector, Electric Power Monthly table
5.6.A: https://www.eia.gov/electricity/monthly/epm_table_grapher.php?t=epmt_5_6_a), ~700 kWh per GPU-month,
$150-300 colocation per GPU-month, 70-80 % of steady traffic on bare metal in a hybrid, and the decision
signals in decide.py. Replace them with a site's quotes, contract and telemetry.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    """Unknown keys are errors; numbers are finite (TOML's `inf`/`nan`, YAML's `.inf`/`.nan` are refused)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# Upper bounds of what is physically or commercially meaningful, so a typo cannot overflow the arithmetic
# or print an absurd verdict: the largest GPU clusters are ~10^5-10^6 GPUs; a GPU-hour list price is $1-10;
# a GPU costs $10^3-10^5; power is $0.03-0.50/kWh; a month has at most 744 hours.
MAX_GPUS = 1_000_000
MAX_RATE_PER_GPU_HOUR = 1_000.0
MAX_PRICE_USD = 10_000_000.0
MAX_MONTHLY_USD = 1e10
MAX_PER_UNIT_USD = 1_000.0  # $/kWh, $/GB
MAX_EGRESS_GB = 1e9  # an exabyte a month
MAX_MONTHS = 240


class Signals(_Strict):
    """What a team knows beyond the numbers; None means unknown."""

    p99_missed_in_cloud: bool | None = Field(
        default=None, description="Shared cloud GPUs miss the P99 latency target (e.g. < 500 ms)."
    )
    data_constraints: bool | None = Field(
        default=None, description="Contracts or regulation require physical control (PHI, sovereignty, CUI)."
    )
    traffic: Literal["steady", "bursty", "seasonal"] | None = None
    retrain_interval_days: int | None = Field(
        default=None, ge=1, le=36_500, description="How often the model is redeployed."
    )
    infra_staff: int | None = Field(
        default=None, ge=0, le=1_000_000, description="People who can own hardware operations."
    )


class Scenario(_Strict):
    gpus: int = Field(default=8, gt=0, le=MAX_GPUS)
    utilization: float = Field(
        default=0.7, gt=0, le=1, description="Share of owned GPU-hours the workload actually needs."
    )
    months: int = Field(default=36, gt=0, le=MAX_MONTHS)
    hours_per_month: float = Field(
        default=24 * 30, gt=0, le=24 * 31, description="24 × 30, as in the guide's $4 × 720 h = $2,880."
    )
    cloud_rate_per_gpu_hour: float = Field(
        default=4.00,
        ge=0,
        le=MAX_RATE_PER_GPU_HOUR,
        description="H100 on GPU clouds: $3.50-4.50 (the guide, citing Lambda and CoreWeave 2025 list prices).",
    )
    gpu_price_usd: float = Field(
        default=27_500,
        ge=0,
        le=MAX_PRICE_USD,
        description="H100 SXM5 bought outright: $25,000-30,000 per GPU (assumption: the guide cites no source).",
    )
    amortization_months: int = Field(default=36, gt=0, le=MAX_MONTHS)
    power_price_per_kwh: float = Field(
        default=0.10, ge=0, le=MAX_PER_UNIT_USD, description="$0.10/kWh (assumption, the guide's 'assume')."
    )
    energy_kwh_per_gpu_month: float = Field(
        default=700,
        ge=0,
        le=100_000,
        description="Roughly 700 kWh per GPU-month (assumption, the guide's 'assume'; for comparison 700 W × "
        "720 h = 504 kWh for an H100 SXM board alone).",
    )
    average_draw_fraction: float = Field(
        default=0.76,
        gt=0,
        le=1,
        description="Average draw over nameplate maximum, used with a site's servers: the assumed 700 kWh per "
        "H100 per month over a DGX H100's 10.2 kW / 8 GPUs × 720 h gives 0.76.",
    )
    server_price_usd: dict[str, Annotated[float, Field(ge=0, le=MAX_PRICE_USD * 100)]] = Field(
        default_factory=dict, description="Price per server model id; with a site, replaces gpu_price_usd."
    )
    colocation_per_gpu_month: float = Field(
        default=225,
        ge=0,
        le=MAX_PRICE_USD,
        description="$150-300 per GPU-equivalent per month, midpoint (assumption: the guide cites no source).",
    )
    staffing_per_month: float = Field(
        default=0, ge=0, le=MAX_MONTHLY_USD, description="Loaded cost of the people who run it."
    )
    egress_gb_per_month: float = Field(default=0, ge=0, le=MAX_EGRESS_GB)
    cloud_egress_per_gb: float = Field(
        default=0.085,
        ge=0,
        le=MAX_PER_UNIT_USD,
        description="$0.08-0.09/GB, first 10 TB (the guide, citing AWS 2025 data transfer pricing).",
    )
    bare_metal_egress_per_gb: float = Field(
        default=0, ge=0, le=MAX_PER_UNIT_USD, description="Colo bandwidth is usually flat-rate."
    )
    hybrid_bare_metal_share: float = Field(
        default=0.75,
        ge=0,
        le=1,
        description="Steady traffic on bare metal in a hybrid (assumption: the guide's 'common pattern', 70-80%).",
    )
    monthly_inference_spend: float | None = Field(
        default=None,
        ge=0,
        le=MAX_MONTHLY_USD,
        description="Today's cloud inference bill; the model's cloud cost when omitted.",
    )
    signals: Signals = Field(default_factory=Signals)
