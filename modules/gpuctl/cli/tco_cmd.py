"""`gpuctl tco`: when does owning pay for itself, and should the team move at all?"""

from __future__ import annotations

import csv
import io
import json
import tomllib
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml_rs
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..errors import Problem, SpecError, UsageError
from ..loader import Locator, load_site
from ..rules import evaluate
from ..tco import Scenario, decide, sensitivity, summary
from ..tco.chart import render
from ..tco.site import scenario_for_site
from .common import wide


def read_scenario(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(str(exc), [Problem(exc.strerror or str(exc), file=str(path))]) from None
    try:
        data = tomllib.loads(text) if path.suffix.lower() == ".toml" else yaml_rs.loads(text)
    except (tomllib.TOMLDecodeError, yaml_rs.YAMLDecodeError) as exc:
        raise SpecError("bad scenario", [Problem(f"cannot parse: {exc}".splitlines()[0], file=str(path))]) from None
    if not isinstance(data, dict):
        raise SpecError("bad scenario", [Problem("a scenario is a mapping of inputs", file=str(path), line=1)])
    return data


def build(data: dict[str, Any], file: str | None, text: str | None) -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        locator = Locator(text) if text else None
        problems = []
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            pos = locator.position(loc) if locator else None
            key = ".".join(str(p) for p in loc)
            value = err.get("input")
            problems.append(
                Problem(
                    f"{err['msg']} (got {value!r})" if not isinstance(value, dict) else err["msg"],
                    file=file or "<command line>",
                    line=pos.line if pos else None,
                    column=pos.column if pos else None,
                    path=key,
                )
            )
        raise SpecError("invalid TCO inputs", problems) from None


def _money(v: float) -> str:
    return f"${v:,.0f}"


def _console(result: dict[str, Any], decision: Any, sens: list[dict[str, Any]], notes: list[str]) -> None:
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
            f"bare metal is {pct:.0f}% of cloud; owning pays for itself "
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
            cells.append(f"{r['bare_metal_pct_of_cloud']:.0f}% ({be_r if be_r is not None else 'never'})")
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


def tco(
    site: Annotated[Path | None, typer.Argument(help="Optional site.yaml: GPUs, power and servers from it.")] = None,
    scenario: Annotated[Path | None, typer.Option(help="Inputs in a YAML or TOML file (reviewable in a PR).")] = None,
    cloud_rate: Annotated[float | None, typer.Option(help="Cloud $/GPU-hour (default 4.00).")] = None,
    utilization: Annotated[
        float | None, typer.Option(help="Share of owned GPU-hours needed, 0-1 (default 0.7).")
    ] = None,
    months: Annotated[int | None, typer.Option(help="Horizon in months (default 36).")] = None,
    gpus: Annotated[int | None, typer.Option(help="GPU count (without a site).")] = None,
    gpu_price: Annotated[float | None, typer.Option(help="Purchase price per GPU, USD (default 27,500).")] = None,
    power_price: Annotated[float | None, typer.Option(help="$/kWh (default 0.10).")] = None,
    colocation: Annotated[float | None, typer.Option(help="Colocation $/GPU-month (default 225).")] = None,
    staffing: Annotated[float | None, typer.Option(help="Staffing $/month (default 0).")] = None,
    egress_gb: Annotated[float | None, typer.Option(help="Egress GB/month (default 0).")] = None,
    hybrid_share: Annotated[float | None, typer.Option(help="Steady load on bare metal in hybrid, 0-1.")] = None,
    format: Annotated[str, typer.Option("--format", "-f", help="console, json or csv.")] = "console",
    chart: Annotated[Path | None, typer.Option(help="Write cumulative cost curves to a .png or .svg.")] = None,
) -> int:
    """Cloud vs bare metal vs hybrid: monthly cost, break-even month, sensitivity and the decision signals."""
    if format not in ("console", "json", "csv"):
        raise UsageError("--format is console, json or csv")
    data: dict[str, Any] = {}
    text = None
    if scenario is not None:
        data = read_scenario(scenario)
        text = scenario.read_text(encoding="utf-8") if scenario.suffix.lower() != ".toml" else None
    overrides = {
        "cloud_rate_per_gpu_hour": cloud_rate,
        "utilization": utilization,
        "months": months,
        "gpus": gpus,
        "gpu_price_usd": gpu_price,
        "power_price_per_kwh": power_price,
        "colocation_per_gpu_month": colocation,
        "staffing_per_month": staffing,
        "egress_gb_per_month": egress_gb,
        "hybrid_bare_metal_share": hybrid_share,
    }
    cli = {k: v for k, v in overrides.items() if v is not None}
    if cli:
        build({**data, **cli}, None, None)  # command-line values are reported as such when invalid
    s = build({**data, **cli}, str(scenario) if scenario else None, text)
    notes: list[str] = []
    title = f"{s.gpus} GPUs"
    if site is not None:
        loaded = load_site(site)
        if evaluate(loaded).failed():
            notes.append(f"{site} has pre-flight errors (gpuctl validate); costs assume it gets fixed")
        if gpus is not None:
            raise UsageError("--gpus and a SITE both set the GPU count; give one")
        s, site_notes = scenario_for_site(loaded.site, s)
        notes += site_notes
        title = f"site {loaded.site.name}: {s.gpus} GPUs"
    result = summary(s)
    decision = decide(s)
    sens = sensitivity(s)
    if chart is not None:
        render(s, chart, f"{title}, cloud ${s.cloud_rate_per_gpu_hour:.2f}/GPU-hour, utilization {s.utilization:.0%}")
        notes.append(f"chart written to {chart}")
    if format == "json":
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
        typer.echo(json.dumps(out, indent=2))
    elif format == "csv":
        from ..tco import curves

        c = curves(s)
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["month", "cloud_usd", "bare_metal_usd", "hybrid_usd"])
        for row in zip(c.month, c.cloud, c.bare_metal, c.hybrid, strict=True):
            w.writerow([row[0], *(f"{v:.2f}" for v in row[1:])])
        typer.echo(buf.getvalue(), nl=False)
    else:
        _console(result, decision, sens, notes)
    return 0
