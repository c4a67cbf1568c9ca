"""Fill a scenario's hardware figures from a site spec: GPU count, server prices, nameplate power."""

from __future__ import annotations

from ..errors import UsageError
from ..model import Site
from .model import Scenario


def scenario_for_site(site: Site, base: Scenario) -> tuple[Scenario, list[str]]:
    servers = [s for _, s in site.all_servers() if site.gpu_count(s) > 0]
    gpus = sum(site.gpu_count(s) for s in servers)
    if gpus == 0:
        raise UsageError(f"site {site.name} has no GPU servers: nothing to compare with cloud GPUs")
    notes = [f"{gpus} GPUs in {len(servers)} servers from site {site.name}"]
    update: dict[str, object] = {"gpus": gpus}
    kw = sum(site.server_power_kw(s) for s in servers)
    energy = kw * base.hours_per_month * base.average_draw_fraction / gpus
    update["energy_kwh_per_gpu_month"] = energy
    notes.append(
        f"energy {energy:,.0f} kWh/GPU-month = {kw:.1f} kW nameplate × {base.hours_per_month:g} h × "
        f"{base.average_draw_fraction:g} average draw / {gpus} GPUs"
    )
    if base.server_price_usd:
        missing = sorted({s.model for s in servers} - set(base.server_price_usd))
        if missing:
            raise UsageError(f"server_price_usd has no price for {', '.join(missing)}")
        capex = sum(base.server_price_usd[s.model] for s in servers)
        update["gpu_price_usd"] = capex / gpus
        notes.append(f"hardware ${capex:,.0f} from server_price_usd (${capex / gpus:,.0f} per GPU)")
    else:
        models = sorted({g.id for s in servers if (g := site.gpu_spec(s)) is not None})
        notes.append(
            f"hardware priced at ${base.gpu_price_usd:,.0f} per GPU for {', '.join(models)} (the default "
            "H100 SXM5 price, an assumption): set server_price_usd for this site's real quotes"
        )
    others = sorted({g.id for s in servers if (g := site.gpu_spec(s)) is not None and not g.id.startswith("h100")})
    if others and "cloud_rate_per_gpu_hour" not in base.model_fields_set:
        notes.append(
            f"cloud priced at ${base.cloud_rate_per_gpu_hour:.2f} per GPU-hour, the default H100 rate, for "
            f"{', '.join(others)}: set cloud_rate_per_gpu_hour to the rate of the cloud instance you would rent "
            "instead, or the comparison flatters the owned hardware"
        )
    return base.model_copy(update=update), notes
