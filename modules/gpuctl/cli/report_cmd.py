"""`gpuctl report SITE -o site.html`: the site as one self-contained HTML page (rack elevations, power, cooling,
weight, node pools, VRAM, findings, facility criteria, TCO curves)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import UsageError
from ..fsutil import write_atomic
from ..loader import load_site
from ..model import Site
from ..rules import evaluate
from ..tco import Scenario, break_even_month, curves, monthly
from ..tco.site import scenario_for_site
from ..tco.telemetry import Prometheus, check_window, measure
from .common import MkdirOpt, require_extra
from .tco_cmd import build, read_scenario

# The scenario inputs the report lists, with their labels and formats.
INPUTS = (
    ("gpus", "GPUs", "{:,.0f}"),
    ("utilization", "GPU utilisation", "{:.0%}"),
    ("cloud_rate_per_gpu_hour", "cloud $/GPU-hour", "${:,.2f}"),
    ("gpu_price_usd", "hardware per GPU", "${:,.0f}"),
    ("power_price_per_kwh", "power $/kWh", "${:,.3f}"),
    ("energy_kwh_per_gpu_month", "energy kWh/GPU-month", "{:,.0f}"),
    ("colocation_per_gpu_month", "colocation $/GPU-month", "${:,.0f}"),
    ("staffing_per_month", "staffing $/month", "${:,.0f}"),
    ("hybrid_bare_metal_share", "hybrid: share on bare metal", "{:.0%}"),
)


def tco_section(scenario: Scenario, given: set[str], file: str | None, derived: dict[str, str]) -> dict[str, Any]:
    """The TCO curves and where each input came from: `derived` (measured by telemetry, or from the site), the
    scenario file, or the default assumption."""
    c = curves(scenario)
    m = monthly(scenario)
    inputs = []
    for key, label, fmt in INPUTS:
        value = getattr(scenario, key)
        if key in derived:
            source = derived[key]
        elif key in given:
            source = f"assumed: {file}"
        else:
            source = "assumed: gpuctl default (modules/gpuctl/tco/model.py)"
        inputs.append((label, fmt.format(value), source))
    be = break_even_month(scenario.gpus * scenario.gpu_price_usd, m.bare_metal_opex, m.cloud)
    return {
        "curves": {
            "month": c.month,
            "cloud": c.cloud,
            "bare_metal": c.bare_metal,
            "hybrid": c.hybrid,
            "break_even_month": be,
        },
        "inputs": inputs,
        "notes": [],
    }


def report(
    site: Annotated[Path, typer.Argument(help="The site.yaml to report on.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The HTML file to write (atomically).")],
    scenario: Annotated[
        Path | None,
        typer.Option(help="TCO inputs (YAML/TOML); default: tco.yaml beside the site file when there is one."),
    ] = None,
    prometheus: Annotated[
        str | None, typer.Option(help="Prometheus URL: the TCO section uses the measured GPU utilisation.")
    ] = None,
    window: Annotated[str, typer.Option(help="Telemetry window (Prometheus duration).")] = "7d",
    mkdir: MkdirOpt = False,
) -> int:
    """Write one self-contained HTML report of the site: opens from a file, fetches nothing."""
    require_extra("report", "gpuctl report")
    if output.suffix.lower() not in (".html", ".htm"):
        raise UsageError(f"--output {output}: use a .html file name")
    loaded = load_site(site)
    result = evaluate(loaded)
    tco = _tco(loaded.site, site, scenario, prometheus, window)
    from ..report.html import render

    write_atomic(output, render(loaded, result, tco), parents=mkdir, what="report")
    typer.echo(f"{output}: {loaded.site.name}, {len(result.findings)} finding(s)")
    return 0


def site_scenario(
    site: Site, site_file: Path, scenario: Path | None
) -> tuple[Scenario, list[str], set[str], str | None]:
    """The TCO scenario for a site: --scenario, else tco.yaml beside the site file, else the defaults; with the
    site's GPUs, energy and server prices filled in. Returns (scenario, notes, keys the file set, file name)."""
    beside = site_file.parent / "tco.yaml"
    path = scenario if scenario is not None else (beside if beside.is_file() else None)
    data, text = read_scenario(path) if path is not None else ({}, None)
    base = build(data, str(path) if path else None, text)
    s, notes = scenario_for_site(site, base)
    return s, notes, set(data), path.name if path else None


def _tco(
    site: Site, site_file: Path, scenario: Path | None, prometheus: str | None, window: str
) -> dict[str, Any] | None:
    try:
        s, notes, given, name = site_scenario(site, site_file, scenario)
    except UsageError:
        return None  # a site without GPU servers has nothing to compare with cloud GPUs
    derived = {"gpus": "site spec", "energy_kwh_per_gpu_month": "site spec: nameplate kW × average draw"}
    if prometheus is not None:
        m = measure(Prometheus(prometheus), site, check_window(window))
        if m.utilization is not None:
            s = s.model_copy(update={"utilization": m.utilization})
            derived["utilization"] = f"measured: DCGM_FI_DEV_GPU_UTIL of {m.gpus_reporting} GPUs over {window}"
        else:
            notes.append(f"no DCGM_FI_DEV_GPU_UTIL series for the site's GPUs at {prometheus}: utilisation assumed")
    if s.server_price_usd:
        derived["gpu_price_usd"] = f"assumed: {name} server_price_usd over the site's servers"
    section = tco_section(s, given, name, derived)
    section["notes"] = notes
    return section
