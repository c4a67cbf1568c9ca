"""`gpuctl plan`: validate, then summarize what the site adds up to."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ..plan import summarize
from ..report import FORMATS
from .common import ConsoleJson, format_option, load_valid_site, site_files, wide


def _print(summary: dict[str, Any], console: Console) -> None:
    t = summary["totals"]
    console.print(
        f"[bold]{escape(summary['site'])}[/] ({escape(summary['market'] or 'no market set')}): {t['racks']} racks, "
        f"{t['servers']} servers, {t['gpus']} GPUs, {t['load_kw']} kW of {t['budget_kw']} kW budget"
    )
    racks = Table(title="racks")
    for col in (
        "rack",
        "servers",
        "GPUs",
        "load kW",
        "budget kW",
        "headroom kW",
        "A+B redundant",
        "cooling kW",
        "space U",
        "weight kg",
    ):
        racks.add_column(col, justify="right" if col not in ("rack",) else "left")
    for r in summary["racks"]:
        red = "n/a" if r["redundant"] is None else ("yes" if r["redundant"] else "NO")
        racks.add_row(
            r["name"],
            str(r["servers"]),
            str(r["gpus"]),
            f"{r['load_kw']:.1f}",
            f"{r['budget_kw']:.1f}",
            f"{r['headroom_kw']:.1f}",
            red,
            f"{r['cooling_kw']:g}" if r["cooling_kw"] else "-",
            r["space_u"],
            f"{r['weight_kg']:,.0f}",
        )
    console.print(racks)
    _table(
        console,
        "GPU node pools",
        ("pool", "purpose", "nodes", "GPUs", "GPU model", "GPUs requested"),
        [
            (p["name"], p["purpose"], p["nodes"], p["gpus"], ", ".join(p["gpu_models"]), p["gpus_requested"])
            for p in summary["node_pools"]
        ],
    )
    _table(
        console,
        "deployments",
        ("deployment", "model", "engine", "pool", "tp×pp×replicas", "GPUs"),
        [
            (d["name"], d["model"], d["engine"], d["pool"], f"{d['tp']}×{d['pp']}×{d['replicas']}", d["gpus"])
            for d in summary["deployments"]
        ],
    )


def _table(console: Console, title: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    table = Table(title=title)
    for col in columns:
        table.add_column(col)
    for row in rows:
        table.add_row(*(Text(str(cell)) for cell in row))
    console.print(table)


def plan(
    path: Annotated[Path, typer.Argument(help="A site.yaml, or a directory searched for site.yaml files.")],
    format: Annotated[ConsoleJson, format_option()] = ConsoleJson.console,
) -> int:
    """Validate the site, then print what it adds up to: power, space and GPUs per rack, pool and model.

    Stops with the findings (exit 1) when validation finds errors, as provision and the Pulumi program do.
    """
    summaries = []
    for file in site_files(path):
        valid = load_valid_site(file, "planning")
        if valid is None:
            return 1
        loaded, result = valid
        summaries.append(summarize(loaded.site))
        if format == "console":
            console = Console(highlight=False, width=wide())
            if result.findings or result.suppressed:
                typer.echo(FORMATS["console"]([result]), nl=False)
            _print(summaries[-1], console)
    if format == "json":
        typer.echo(json.dumps(summaries if len(summaries) > 1 else summaries[0], indent=2, allow_nan=False))
    return 0
