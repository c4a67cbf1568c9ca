"""`gpuctl report`: one self-contained HTML file of a site (inline SVG and CSS, no script, nothing fetched).

The CLI passes what lives in sibling layers (the TCO curves) as plain data; everything else is derived here from the
site and its findings. Templates: templates/report/ in the repository (packaged as gpuctl/report/html/templates).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from markupsafe import Markup

from ...loader import LoadedSite
from ...rules import Result
from . import charts, data

U_PX = 16  # height of one rack unit in the elevation drawing
RACK_W = 400  # width of the mounting area


def _templates() -> Path:
    packaged = Path(__file__).parent / "templates"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[4] / "templates" / "report"


_CITED = re.compile(r"^(.*) \((https://[^\s()]+)\)$", re.DOTALL)


def cited(message: str) -> Markup:
    """A finding's message with its trailing source URL as a short link (the text stays escaped)."""
    m = _CITED.match(message)
    if m is None:
        return Markup.escape(message)
    return Markup('{} <a href="{}" class="src">source</a>').format(m.group(1), m.group(2))


def render(loaded: LoadedSite, result: Result, tco: dict[str, Any] | None = None) -> str:
    """The report as one HTML document. `tco`: {"curves": {...}, "inputs": [(name, value, measured?)], ...}."""
    import jinja2

    site = loaded.site
    racks = [data.rack_view(site, r, result) for r in site.racks]
    phases = data.phases(site)
    vram = data.vram(site)
    figures = {
        "power": charts.rack_power(racks),
        "headroom": charts.headroom(racks),
        "phases": charts.phase_currents(phases) if phases else None,
        "vram": charts.vram(vram) if vram else None,
        "tco": charts.tco(tco["curves"]) if tco else None,
    }
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_templates()),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["cited"] = cited
    return env.get_template("site.html.j2").render(
        site=site,
        file=Path(loaded.file).name,
        result=result,
        racks=racks,
        phases=phases,
        vram=vram,
        vram_colours=charts.VRAM_COLOURS,
        pools=data.pools(site),
        criteria=data.criteria(site),
        figures=figures,
        tco=tco,
        U_PX=U_PX,
        RACK_W=RACK_W,
    )
