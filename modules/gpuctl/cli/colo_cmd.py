"""`gpuctl colo compare OFFERS --site SITE`: rank colocation quotes against what the site needs and costs."""

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
from pydantic import TypeAdapter, ValidationError
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..calc import facility
from ..errors import Problem, SpecError, UsageError
from ..fsutil import read_text_capped
from ..loader import Locator, load_site, syntax_position, toml_position
from ..model.facility import Offer
from ..tco.colo import OfferResult, compare
from .common import MkdirOpt, format_option, require_extra, wide
from .report_cmd import site_scenario

MAX_OFFERS_BYTES = 2**20
colo_app = typer.Typer(help="Colocation: compare facility offers against the site.", no_args_is_help=True)


class ColoFormat(StrEnum):
    console = "console"
    json = "json"
    csv = "csv"


def read_offers(path: Path) -> list[Offer]:
    """A YAML list of quotes (or a mapping with `offers:`), or TOML `[[offers]]`; errors point at the line."""
    text = read_text_capped(path, MAX_OFFERS_BYTES, "offers")
    toml = path.suffix.lower() == ".toml"
    try:
        data = tomllib.loads(text) if toml else yaml_rs.loads(text)
    except (tomllib.TOMLDecodeError, yaml_rs.YAMLDecodeError) as exc:
        detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else "malformed"
        kind = "TOML" if toml else "YAML"
        line, column = syntax_position(exc, text)
        raise SpecError("malformed offers", [Problem(f"malformed {kind}: {detail}", str(path), line, column)]) from None
    prefix: tuple[str, ...] = ()
    if isinstance(data, dict) and "offers" in data:
        data, prefix = data["offers"], ("offers",)
    if not isinstance(data, list) or not data:
        raise SpecError("bad offers", [Problem("offers are a non-empty list of quotes (or `offers:`)", str(path), 1)])
    try:
        offers = TypeAdapter(list[Offer]).validate_python(data)
    except ValidationError as exc:
        locator = None if toml else Locator(text)
        problems = []
        for err in exc.errors(include_url=False):
            loc = prefix + tuple(err["loc"])
            pos = locator.position(loc) if locator else toml_position(text, loc)
            problems.append(
                Problem(
                    err["msg"],
                    str(path),
                    pos.line if pos else None,
                    pos.column if pos else None,
                    ".".join(str(p) for p in loc),
                )
            )
        raise SpecError("invalid offers", problems) from None
    names = [o.name for o in offers]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise SpecError("invalid offers", [Problem(f"offer name '{dup}' appears twice", str(path))])
    return offers


@colo_app.command("compare")
def compare_cmd(
    offers_file: Annotated[Path, typer.Argument(metavar="OFFERS", help="Quotes: a YAML list, or TOML [[offers]].")],
    site: Annotated[Path, typer.Option(help="The site.yaml the offers must serve.")],
    scenario: Annotated[
        Path | None, typer.Option(help="TCO inputs; default: tco.yaml beside the site file when there is one.")
    ] = None,
    format: Annotated[ColoFormat, format_option()] = ColoFormat.console,
    chart: Annotated[Path | None, typer.Option(help="Write a bar chart of the offers' cost (.svg or .png).")] = None,
    mkdir: MkdirOpt = False,
) -> int:
    """Which criteria each offer meets, its monthly and horizon cost for this site, and the TCO effect."""
    if chart is not None:
        require_extra("report", "gpuctl colo compare --chart")
        if chart.suffix.lower() not in (".svg", ".png"):
            raise UsageError(f"--chart {chart}: use a .svg or .png file name")
    offers = read_offers(offers_file)
    loaded = load_site(site)
    s, _notes, _given, _name = site_scenario(loaded.site, site, scenario)
    results = compare(loaded.site, offers, s)
    baseline = {"colocation_per_gpu_month": s.colocation_per_gpu_month, "months": s.months, "gpus": s.gpus}
    if chart is not None:
        from ..tco.colo_chart import render

        render(results, s.months, chart, f"{loaded.site.name}: colocation offers", mkdir=mkdir)
    if format == ColoFormat.json:
        out = {"site": loaded.site.name, "baseline": baseline, "offers": [r.as_dict() for r in results]}
        typer.echo(json.dumps(out, indent=2, allow_nan=False))
    elif format == ColoFormat.csv:
        typer.echo(_csv(results), nl=False)
    else:
        _console(loaded.site.name, results, baseline)
    return 0


def _csv(results: list[OfferResult]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    keys = [c.key for c in facility.CRITERIA]
    w.writerow(
        [
            "rank",
            "offer",
            "provider",
            "criteria_met",
            "monthly_usd",
            "horizon_usd",
            "colocation_per_gpu_month",
            "tco_bare_metal_usd",
            "tco_break_even_month",
            *keys,
        ]
    )
    for rank, r in enumerate(results, 1):
        w.writerow(
            [
                rank,
                r.name,
                r.provider,
                len(r.met),
                f"{r.monthly_usd:.2f}",
                f"{r.horizon_usd:.2f}",
                f"{r.colocation_per_gpu_month:.2f}",
                f"{r.tco_bare_metal_usd:.2f}",
                "" if r.tco_break_even_month is None else r.tco_break_even_month,
                *("met" if k in r.met else "; ".join(r.missed[k]) for k in keys),
            ]
        )
    return buf.getvalue()


def _console(site: str, results: list[OfferResult], baseline: dict[str, Any]) -> None:
    console = Console(highlight=False, width=wide())
    t = Table(title=f"{site}: colocation offers, {baseline['months']} months, {baseline['gpus']} GPUs")
    for col in (
        "#",
        "offer",
        "criteria",
        "monthly",
        f"{baseline['months']} months",
        "$/GPU-month",
        "bare-metal TCO",
        "break-even",
    ):
        t.add_column(col, justify="left" if col in ("offer", "criteria") else "right")
    total = len(facility.CRITERIA)
    for rank, r in enumerate(results, 1):
        be = r.tco_break_even_month
        t.add_row(
            str(rank),
            Text(f"{r.name}\n{r.provider}"),
            f"{len(r.met)}/{total}",
            f"${r.monthly_usd:,.0f}",
            f"${r.horizon_usd:,.0f}",
            f"${r.colocation_per_gpu_month:,.0f}",
            f"${r.tco_bare_metal_usd:,.0f}",
            f"month {be}" if be is not None else "never",
        )
    console.print(t)
    console.print(Text(f"baseline assumption: ${baseline['colocation_per_gpu_month']:,.0f}/GPU-month colocation"))
    for r in results:
        for key, messages in r.missed.items():
            for m in messages:
                console.print(Text(f"{r.name}: misses {key}: {m}"))
        for n in r.notes:
            console.print(Text(f"{r.name}: note: {n}"))
