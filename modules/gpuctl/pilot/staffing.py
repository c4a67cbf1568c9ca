"""The staffing sheet: operational tasks per month derived from the site's size and its runbook, with every rate and
hour an explicit input (defaults are assumptions to replace with the team's own numbers)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from ..model import Site
from .runbook import Runbook

# Meta, "The Llama 3 Herd of Models" (arXiv:2407.21783, section 3.3.4, Table 5): 419 unexpected interruptions in a
# 54-day snapshot of 16,384 H100 GPUs, 78 % attributed to hardware: 419 / 16,384 / (54 / 30) per GPU-month.
LLAMA3_INTERRUPTIONS_PER_GPU_MONTH = 419 / 16_384 / (54 / 30)
LLAMA3 = "Meta, The Llama 3 Herd of Models, arXiv:2407.21783, Table 5 (training at full load)"


class StaffingInputs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    interruptions_per_gpu_month: float = Field(
        default=LLAMA3_INTERRUPTIONS_PER_GPU_MONTH,
        ge=0,
        le=10,
        description=f"Hardware incidents per GPU-month ({LLAMA3}).",
    )
    hours_per_incident: float = Field(
        default=3.0, ge=0, le=1000, description="Diagnose, drain, remote hands, verify (assumption)."
    )
    hours_per_burnin: float = Field(default=1.0, ge=0, le=1000, description="Burn-in after a repair (assumption).")
    upgrades_per_year: float = Field(default=4, ge=0, le=365, description="Driver/firmware rounds a year (assumption).")
    hours_per_server_upgrade: float = Field(
        default=0.5, ge=0, le=1000, description="Per server and round (assumption)."
    )
    drills_per_scenario_year: float = Field(default=2, ge=0, le=365, description="Runbook drills (assumption).")
    hours_per_drill: float = Field(default=1.0, ge=0, le=1000, description="(assumption)")
    on_call_hours_per_week: float = Field(default=4.0, ge=0, le=168, description="Alert handling (assumption).")
    capacity_review_hours_per_month: float = Field(default=4.0, ge=0, le=1000, description="(assumption)")
    hours_per_fte_month: float = Field(default=140.0, gt=0, le=744, description="Productive hours of one FTE.")


@dataclass(frozen=True)
class Task:
    name: str
    per_month: float
    hours_each: float
    basis: str

    @property
    def hours(self) -> float:
        return self.per_month * self.hours_each


def tasks(site: Site, runbook: Runbook, i: StaffingInputs) -> list[Task]:
    gpus = sum(site.gpu_count(s) for _, s in site.all_servers())
    servers = sum(1 for _ in site.all_servers())
    incidents = gpus * i.interruptions_per_gpu_month
    scenarios = len(runbook.models) + len(runbook.racks) + (1 if runbook.bonds else 0) + 1  # + the XID table
    return [
        Task("hardware incidents (PSU, GPU XID, NIC)", incidents, i.hours_per_incident,
             f"{gpus} GPUs × {i.interruptions_per_gpu_month:.4f} per GPU-month"),
        Task("burn-in after repair", incidents, i.hours_per_burnin, "one per incident"),
        Task("driver and firmware upgrades", servers * i.upgrades_per_year / 12, i.hours_per_server_upgrade,
             f"{servers} servers × {i.upgrades_per_year:g} rounds a year"),
        Task("runbook drills", scenarios * i.drills_per_scenario_year / 12, i.hours_per_drill,
             f"{scenarios} runbook scenarios × {i.drills_per_scenario_year:g} a year"),
        Task("on-call alert handling", 52 / 12, i.on_call_hours_per_week, "weeks a month"),
        Task("capacity and cost review", 1, i.capacity_review_hours_per_month, "monthly"),
    ]  # fmt: skip


def markdown(site: Site, ts: list[Task], i: StaffingInputs) -> str:
    total = sum(t.hours for t in ts)
    out = [
        f"# Staffing sheet: {site.name}",
        "",
        "Tasks per month derived from the site's size and its runbook; every rate and hour is an input "
        "(`gpuctl pilot --staffing FILE`). Defaults are assumptions except the incident rate, "
        f"from {LLAMA3}.",
        "",
        "| task | per month | hours each | hours/month | basis |",
        "|---|---:|---:|---:|---|",
    ]
    for t in ts:
        out.append(f"| {t.name} | {t.per_month:.2f} | {t.hours_each:g} | {t.hours:.1f} | {t.basis} |")
    out += [
        f"| **total** | | | **{total:.1f}** | {total / i.hours_per_fte_month:.2f} FTE at "
        f"{i.hours_per_fte_month:g} h/FTE-month |",
        "",
    ]
    return "\n".join(out)


def csv_rows(ts: list[Task]) -> list[list[str]]:
    rows = [["task", "per_month", "hours_each", "hours_per_month", "basis"]]
    rows += [[t.name, f"{t.per_month:.4f}", f"{t.hours_each:g}", f"{t.hours:.2f}", t.basis] for t in ts]
    return rows
