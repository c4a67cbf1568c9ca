"""`gpuctl tco`: when does owning pay for itself, and should the team move at all?"""

from __future__ import annotations

import csv
import io
import json
import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml_rs
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..errors import Problem, SpecError, UsageError
from ..fsutil import read_text_capped
from ..loader import Locator, load_site, syntax_position, toml_position
from ..rules import evaluate
from ..tco import Scenario, curves, decide, sensitivity, summary
from ..tco.chart import render
from ..tco.decide import Decision
from ..tco.model import MAX_GPUS, MAX_MONTHS
from ..tco.site import scenario_for_site
from .common import MkdirOpt, format_option, require_extra, wide
from .tco_telemetry import Telemetry, hybrid_notes, hybrid_plan, measured_inputs, telemetry_notes

MAX_SCENARIO_BYTES = 2**20  # a reviewed scenario is a screenful of figures
# Scenario fields the command line sets, and the option that sets each (errors name the option).
OPTIONS = {
    "cloud_rate_per_gpu_hour": "--cloud-rate",
    "utilization": "--utilization",
    "months": "--months",
    "gpus": "--gpus",
    "gpu_price_usd": "--gpu-price",
    "power_price_per_kwh": "--power-price",
    "colocation_per_gpu_month": "--colocation",
    "staffing_per_month": "--staffing",
    "egress_gb_per_month": "--egress-gb",
    "hybrid_bare_metal_share": "--hybrid-share",
}


def read_scenario(path: Path) -> tuple[dict[str, Any], str]:
    """The scenario's inputs and its text (TOML when the name ends in .toml, else YAML)."""
    text = read_text_capped(path, MAX_SCENARIO_BYTES, "scenario")
    file = str(path)
    toml = path.suffix.lower() == ".toml"
    try:
        data = tomllib.loads(text) if toml else yaml_rs.loads(text)
    except (tomllib.TOMLDecodeError, yaml_rs.YAMLDecodeError) as exc:
        message = str(exc).strip()
        line, column = syntax_position(exc, text)
        detail = message.splitlines()[-1].strip() if message else "malformed"
        kind = "TOML" if toml else "YAML"
        if not toml and line is None and "duplicate mapping key" in message:
            dups = list(Locator(text).duplicate_keys())
            if dups:
                key, first, second = dups[0]
                problem = f"key '{key}' appears twice in one mapping (first at line {first.line})"
                raise SpecError("duplicate keys", [Problem(problem, file, second.line, second.column)]) from None
        raise SpecError(f"malformed {kind}", [Problem(f"malformed {kind}: {detail}", file, line, column)]) from None
    except RecursionError:
        raise SpecError("bad scenario", [Problem("nested too deeply for a scenario", file=file)]) from None
    if not isinstance(data, dict):
        raise SpecError("bad scenario", [Problem("a scenario is a mapping of inputs", file=file, line=1)])
    return data, text


def build(data: dict[str, Any], file: str | None, text: str | None, cli: dict[str, Any] | None = None) -> Scenario:
    """The scenario from a file's inputs overridden by the command line's; errors name the option or the line."""
    cli = cli or {}
    try:
        return Scenario.model_validate({**data, **cli})
    except ValidationError as exc:
        toml = file is not None and file.lower().endswith(".toml")
        locator = Locator(text) if text and not toml else None
        problems = []
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            value = err.get("input")
            message = err["msg"] if isinstance(value, dict) else f"{err['msg']} (got {_short(value)})"
            if loc and loc[0] in cli:
                problems.append(Problem(message, file="<command line>", path=OPTIONS.get(str(loc[0]), str(loc[0]))))
                continue
            pos = locator.position(loc) if locator else (toml_position(text, loc) if toml and text else None)
            problems.append(
                Problem(
                    message,
                    file=file or "<command line>",
                    line=pos.line if pos else None,
                    column=pos.column if pos else None,
                    path=".".join(str(p) for p in loc),
                )
            )
        raise SpecError("invalid TCO inputs", problems) from None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _money(v: float) -> str:
    return f"${v:,.0f}"


def _pct(pct: float | None) -> str:
    """A share of the cloud's cost; n/a when the cloud costs nothing (a free cloud rate)."""
    return "n/a" if pct is None else f"{pct:.0f}%"


def _console(result: dict[str, Any], decision: Decision, sens: list[dict[str, Any]], notes: list[str]) -> None:
    console = Console(highlight=False, width=wide())
    m = result["monthly"]
    t = Table(title="monthly cost")
    for col in ("", "cloud", "bare metal", "hybrid"):
        t.add_column(col, justify="right" if col else "left")
    t.add_row("total", _money(m["cloud"]), _money(m["bare_metal"]), _money(m["hybrid"]))
    t.add_row(
        "per GPU", _money(result["per_gpu_monthly"]["cloud"]), _money(result["per_gpu_monthly"]["bare_metal"]), ""
    )
    t.add_row(
        f"over {result['inputs']['months']} months",
        _money(result["total"]["cloud"]),
        _money(result["total"]["bare_metal"]),
        _money(result["total"]["hybrid"]),
    )
    console.print(t)
    parts = Table(title="bare metal per month")
    for col in ("hardware (amortized)", "power", "colocation", "staffing", "egress"):
        parts.add_column(col, justify="right")
    parts.add_row(
        _money(m["hardware_amortized"]),
        _money(m["power"]),
        _money(m["colocation"]),
        _money(m["staffing"]),
        _money(m["egress_bare_metal"]),
    )
    console.print(parts)
    pct = result["bare_metal_pct_of_cloud"]
    be = result["break_even_month"]
    console.print(
        Text(
            f"bare metal is {_pct(pct)} of cloud; owning pays for itself "
            + (f"in month {be}" if be is not None else "never at these inputs")
            + (
                f"; hybrid in month {result['hybrid_break_even_month']}"
                if result["hybrid_break_even_month"] is not None
                else ""
            )
        )
    )
    s = Table(title="sensitivity: bare metal % of cloud (break-even month)")
    s.add_column("utilization")
    rates = sorted({r["cloud_rate_per_gpu_hour"] for r in sens})
    for rate in rates:
        s.add_column(f"${rate:.2f}/h", justify="right")
    for u in sorted({r["utilization"] for r in sens}):
        cells = []
        for rate in rates:
            r = next(x for x in sens if x["utilization"] == u and x["cloud_rate_per_gpu_hour"] == rate)
            be_r = r["break_even_month"]
            cells.append(f"{_pct(r['bare_metal_pct_of_cloud'])} ({be_r if be_r is not None else 'never'})")
        s.add_row(f"{u:.0%}", *cells)
    console.print(s)
    d = Table(title=f"decision: {decision.verdict}")
    for col in ("signal", "status", "detail"):
        d.add_column(col)
    for sig in decision.signals:
        d.add_row(sig.name, sig.status, Text(sig.detail))
    for b in decision.blockers:
        d.add_row(Text(f"do not move yet if: {b.name}"), b.status, Text(b.detail))
    console.print(d)
    for reason in decision.reasons:
        console.print(Text(f"- {reason}"))
    for note in notes:
        console.print(Text(f"note: {note}"))


class TcoFormat(StrEnum):
    console = "console"
    json = "json"
    csv = "csv"  # the cumulative curves, one row a month


def tco(
    site: Annotated[Path | None, typer.Argument(help="Optional site.yaml: GPUs, power and servers from it.")] = None,
    scenario: Annotated[
        Path | None, typer.Option(help="Inputs in a YAML or TOML file (reviewable in a PR), at most 1 MiB.")
    ] = None,
    cloud_rate: Annotated[float | None, typer.Option(help="Cloud $/GPU-hour, 0-1,000 (default 4.00).")] = None,
    utilization: Annotated[
        float | None, typer.Option(help="Share of owned GPU-hours needed, (0, 1] (default 0.7).")
    ] = None,
    months: Annotated[
        int | None, typer.Option(max=MAX_MONTHS, help=f"Horizon in months, 1-{MAX_MONTHS} (default 36).")
    ] = None,
    gpus: Annotated[int | None, typer.Option(max=MAX_GPUS, help=f"GPU count (without a site), 1-{MAX_GPUS:,}.")] = None,
    gpu_price: Annotated[
        float | None, typer.Option(help="Purchase price per GPU, USD, 0-10,000,000 (default 27,500).")
    ] = None,
    power_price: Annotated[float | None, typer.Option(help="$/kWh, 0-1,000 (default 0.10).")] = None,
    colocation: Annotated[
        float | None, typer.Option(help="Colocation $/GPU-month, 0-10,000,000 (default 225).")
    ] = None,
    staffing: Annotated[float | None, typer.Option(help="Staffing $/month, 0-10^10 (default 0).")] = None,
    egress_gb: Annotated[float | None, typer.Option(help="Egress GB/month, 0-10^9 (default 0).")] = None,
    hybrid_share: Annotated[float | None, typer.Option(help="Steady load on bare metal in hybrid, 0-1.")] = None,
    format: Annotated[TcoFormat, format_option()] = TcoFormat.console,
    chart: Annotated[
        Path | None,
        typer.Option(
            help="Write cumulative cost curves to a .png or .svg (atomically; never over a directory or device). "
            "Needs the tco extra."
        ),
    ] = None,
    mkdir: MkdirOpt = False,
    prometheus: Annotated[
        str | None,
        typer.Option(
            help="Prometheus URL: measured GPU utilisation (DCGM) replaces the assumed one; tokens/s and request "
            "rates size the hybrid split. Needs a SITE."
        ),
    ] = None,
    window: Annotated[str, typer.Option(help="Telemetry window, a Prometheus duration (7d, 24h, 4w).")] = "7d",
    deployment: Annotated[
        str | None, typer.Option(help="With --prometheus: measure and size this deployment (default: all of them).")
    ] = None,
) -> int:
    """Cloud vs bare metal vs hybrid: monthly cost, break-even month, sensitivity and the decision signals."""
    if chart is not None:
        require_extra("tco", "gpuctl tco --chart")
    telemetry: Telemetry | None = None
    if prometheus is not None:
        if site is None:
            raise UsageError("--prometheus needs a SITE: the GPUs it measures are the site's")
        if utilization is not None:
            raise UsageError("--utilization and --prometheus both set utilisation; give one")
        telemetry = measured_inputs(prometheus, site, window, deployment)
        if telemetry.whole.utilization is not None:
            utilization = telemetry.whole.utilization
    data, text = read_scenario(scenario) if scenario is not None else ({}, None)
    cli = _given(
        cloud_rate_per_gpu_hour=cloud_rate,
        utilization=utilization,
        months=months,
        gpus=gpus,
        gpu_price_usd=gpu_price,
        power_price_per_kwh=power_price,
        colocation_per_gpu_month=colocation,
        staffing_per_month=staffing,
        egress_gb_per_month=egress_gb,
        hybrid_bare_metal_share=hybrid_share,
    )
    s = build(data, str(scenario) if scenario else None, text, cli)
    notes: list[str] = []
    title = f"{s.gpus} GPUs"
    if site is not None:
        s, title = _with_site(site, s, scenario, text, notes, gpus_given=gpus is not None)
    result, decision, sens = summary(s), decide(s), sensitivity(s)
    if telemetry is not None:
        notes += telemetry_notes(telemetry, s)
        plan = hybrid_plan(telemetry, s)
        notes += hybrid_notes(plan)
        result["telemetry"] = telemetry.as_dict() | {"hybrid": plan}
    if chart is not None:
        subtitle = f"cloud ${s.cloud_rate_per_gpu_hour:.2f}/GPU-hour, utilization {s.utilization:.0%}"
        render(s, chart, f"{title}, {subtitle}", mkdir=mkdir)
        notes.append(f"chart written to {chart}")
    if format == TcoFormat.json:
        typer.echo(_json(result, decision, sens, notes))
    elif format == TcoFormat.csv:
        typer.echo(_csv(s), nl=False)
    else:
        _console(result, decision, sens, notes)
    return 0


def _given(**options: Any) -> dict[str, Any]:
    """The scenario fields the command line sets (an option left out keeps the file's or the default figure)."""
    return {field: value for field, value in options.items() if value is not None}


def _with_site(
    site: Path, s: Scenario, scenario: Path | None, text: str | None, notes: list[str], gpus_given: bool
) -> tuple[Scenario, str]:
    """The scenario with the site's GPU count, nameplate power and server prices, and the chart's title; notes what
    it took from the site. A scenario whose server prices miss a model of the site is an error at that key."""
    loaded = load_site(site)
    if evaluate(loaded).failed():
        notes.append(f"{site} has pre-flight errors (gpuctl validate); costs assume it gets fixed")
    if gpus_given:
        raise UsageError("--gpus and a SITE both set the GPU count; give one")
    try:
        s, site_notes = scenario_for_site(loaded.site, s)
    except UsageError as exc:  # the scenario's server prices do not cover the site: point at them
        if scenario is None or text is None:
            raise
        toml = scenario.suffix.lower() == ".toml"
        pos = toml_position(text, ("server_price_usd",)) if toml else Locator(text).position(("server_price_usd",))
        where = (pos.line, pos.column) if pos else (None, None)
        raise SpecError(exc.message, [Problem(exc.message, str(scenario), *where)]) from None
    notes += site_notes
    return s, f"site {loaded.site.name}: {s.gpus} GPUs"


def _json(result: dict[str, Any], decision: Decision, sens: list[dict[str, Any]], notes: list[str]) -> str:
    out = result | {
        "decision": {
            "verdict": decision.verdict,
            "reasons": decision.reasons,
            "signals": [vars(x) for x in decision.signals],
            "blockers": [vars(x) for x in decision.blockers],
        },
        "sensitivity": sens,
        "notes": notes,
    }
    return json.dumps(out, indent=2, allow_nan=False)


def _csv(s: Scenario) -> str:
    c = curves(s)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["month", "cloud_usd", "bare_metal_usd", "hybrid_usd"])
    for row in zip(c.month, c.cloud, c.bare_metal, c.hybrid, strict=True):
        w.writerow([row[0], *(f"{v:.2f}" for v in row[1:])])
    return buf.getvalue()
