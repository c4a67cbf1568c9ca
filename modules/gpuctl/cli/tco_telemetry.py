"""`gpuctl tco --prometheus`: measured inputs from a Prometheus server, what was measured vs assumed, and the hybrid
sizing per deployment (tco/telemetry.py does the querying and the arithmetic)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..loader import load_site
from ..model import Site
from ..tco import Scenario
from ..tco.telemetry import Measured, Prometheus, check_window, hybrid_sizing, measure


@dataclass
class Telemetry:
    url: str
    window: str
    site: Site
    whole: Measured  # the site's GPUs (or the one deployment's pool)
    per: dict[str, Measured]  # by deployment

    def as_dict(self) -> dict[str, Any]:
        return {
            "prometheus": self.url,
            "window": self.window,
            "measured": asdict(self.whole),
            "deployments": {name: asdict(m) for name, m in self.per.items()},
        }


def measured_inputs(url: str, site_file: Path, window: str, deployment: str | None) -> Telemetry:
    check_window(window)
    site = load_site(site_file).site
    prom = Prometheus(url)
    chosen = _deployments(site, deployment)
    whole = measure(prom, site, window, None if deployment is None else chosen[0])
    return Telemetry(prom.url, window, site, whole, {d.name: measure(prom, site, window, d) for d in chosen})


def _deployments(site: Site, name: str | None) -> list[Any]:
    if name is None:
        return list(site.deployments)
    found = [d for d in site.deployments if d.name == name]
    if not found:
        known = ", ".join(d.name for d in site.deployments) or "none"
        raise UsageError(f"--deployment {name}: not a deployment of site {site.name}; declared: {known}")
    return found


def telemetry_notes(t: Telemetry, s: Scenario) -> list[str]:
    m = t.whole
    notes = []
    if m.utilization is None:
        notes.append(
            f"utilisation assumed {s.utilization:.0%}: no DCGM_FI_DEV_GPU_UTIL series for the site's GPUs at "
            f"{t.url} over {t.window}"
        )
    else:
        notes.append(
            f"utilisation measured {m.utilization:.1%}: average DCGM_FI_DEV_GPU_UTIL of {m.gpus_reporting} GPUs "
            f"over {t.window} ({t.url})"
        )
    if m.tokens_per_s is not None:
        notes.append(
            f"measured {m.tokens_per_s:,.1f} generated tokens/s (peak {m.peak_tokens_per_s or 0:,.1f}), "
            f"{m.requests_per_s or 0:,.3f} requests/s over {t.window}"
        )
    else:
        notes.append("no token counters of the site's engines found: hybrid sizing needs them")
    assumed = [
        "cloud rate",
        "hardware price",
        "power price",
        "colocation",
        "staffing",
        f"hybrid share {s.hybrid_bare_metal_share:.0%}",
    ]
    notes.append("assumed (scenario or defaults): " + ", ".join(assumed))
    return notes


def hybrid_plan(t: Telemetry, s: Scenario) -> list[dict[str, Any]]:
    out = []
    for dep in t.site.deployments:
        if dep.name not in t.per:
            continue
        sizing = hybrid_sizing(
            dep, t.per[dep.name], s.hybrid_bare_metal_share, s.utilization, s.hours_per_month, s.cloud_rate_per_gpu_hour
        )
        out.append({"deployment": dep.name, "sizing": None if sizing is None else asdict(sizing)})
    return out


def hybrid_notes(plan: list[dict[str, Any]]) -> list[str]:
    notes = []
    for entry in plan:
        z = entry["sizing"]
        if z is None:
            notes.append(f"hybrid {entry['deployment']}: no measured tokens, no sizing")
            continue
        notes.append(
            f"hybrid {entry['deployment']}: {z['share']:.0%} of {z['steady_tokens_per_s']:,.1f} tokens/s steady on "
            f"bare metal = {z['bare_metal_replicas']} replica(s) of {z['capacity_per_replica']:,.1f} tokens/s "
            f"(now {z['replicas_now']}); cloud burst up to {z['cloud_peak_replicas']} replica(s) at the "
            f"{z['peak_tokens_per_s']:,.1f} tokens/s peak, {z['cloud_gpu_hours_month']:,.0f} GPU-hours = "
            f"${z['cloud_burst_usd_month']:,.0f}/month"
        )
    return notes
