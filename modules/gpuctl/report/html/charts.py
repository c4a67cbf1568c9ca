"""Charts of the HTML report as inline SVG, drawn by matplotlib (Agg, no display, no network).

Each function returns an `<svg>` element with role="img" and an aria-label that states what the chart shows in
words (the text alternative); text stays text (svg.fonttype none) so it is crisp, searchable and prints.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from html import escape
from typing import Any

from .data import PhaseView, RackView, VramView

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
BLUE, ORANGE, GREEN, VERMILION, SKY, PURPLE, YELLOW, GREY = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#56B4E9",
    "#CC79A7",
    "#F0E442",
    "#999999",
)
VRAM_COLOURS = {
    "weights": BLUE,
    "activation": ORANGE,
    "non-torch": PURPLE,
    "CUDA graphs": SKY,
    "KV cache": GREEN,
    "free": "#DDDDDD",
}
_SIZE = re.compile(r'<svg([^>]*?) width="[^"]+" height="[^"]+"')


@contextmanager
def _figure(width_in: float, height_in: float, ncols: int = 1) -> Iterator[tuple[Any, Any]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with matplotlib.rc_context(
        {
            "svg.fonttype": "none",
            "font.family": "sans-serif",
            "font.size": 10,
            "text.parse_math": False,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titlesize": 11,
            "axes.titleweight": "bold",
            "axes.titlelocation": "left",
        }
    ):
        fig, axes = plt.subplots(1, ncols, figsize=(width_in, height_in))
        try:
            yield fig, axes
        finally:
            plt.close(fig)


def _svg(fig: Any, label: str, salt: str) -> str:
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": salt}):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    text = _SIZE.sub(r'<svg\1 width="100%"', text, count=1)
    return text.replace("<svg", f'<svg role="img" aria-label="{escape(label)}" focusable="false"', 1)


def rack_power(racks: Sequence[RackView]) -> tuple[str, str]:
    label = "Rack power: " + "; ".join(
        f"{r.name} draws {r.load_kw:.1f} kW of a {r.budget_kw:.1f} kW budget"
        + (f", {r.one_feed_kw:.1f} kW usable on one feed" if r.one_feed_kw is not None else ", single feed")
        for r in racks
    )
    with _figure(7, 1.2 + 0.8 * len(racks)) as (fig, ax):
        names = [r.name for r in racks][::-1]
        rows = list(range(len(racks)))
        loads = [r.load_kw for r in racks][::-1]
        colours = [VERMILION if r.load_kw > r.budget_kw + 1e-9 else BLUE for r in racks][::-1]
        ax.barh(rows, loads, height=0.5, color=colours, label="load (vendor maximum)")
        for y, r in zip(rows, racks[::-1], strict=True):
            ax.plot([r.budget_kw] * 2, [y - 0.4, y + 0.4], color="black", linewidth=2)
            if r.one_feed_kw is not None:
                # shorter than the budget mark, so both stay visible when they coincide
                ax.plot(
                    [r.one_feed_kw] * 2, [y - 0.2, y + 0.2], color=ORANGE, linewidth=3.5, linestyle=(0, (1.5, 0.75))
                )
            ax.annotate(
                f"{r.load_kw:.1f} kW",
                (r.load_kw, y),
                xytext=(-5, -3),
                textcoords="offset points",
                fontsize=9,
                ha="right",
                color="white",
                fontweight="bold",
            )
        ax.plot([], [], color="black", linewidth=2, label="budget (feeds, contract)")
        ax.plot([], [], color=ORANGE, linewidth=3.5, linestyle=(0, (1.5, 0.75)), label="usable on one feed")
        ax.set_yticks(rows, names)
        ax.set_xlabel("kW")
        top = max([r.budget_kw for r in racks] + [r.load_kw for r in racks])
        ax.set_xlim(0, top * 1.15)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=9)
        ax.set_title("Power per rack: load vs budget vs one feed")
        return _svg(fig, label, "power"), label


def phase_currents(phases: Sequence[PhaseView]) -> tuple[str, str]:
    label = "Phase currents per PDU: " + "; ".join(
        f"{p.rack}/{p.pdu} " + ", ".join(f"{k} {v:.1f} A" for k, v in p.line_a.items()) + f" (limit {p.limit_a:.0f} A)"
        for p in phases
    )
    with _figure(8, 3.2) as (fig, ax):
        width = 0.25
        xs = list(range(len(phases)))
        for i, (line, colour) in enumerate((("L1", BLUE), ("L2", ORANGE), ("L3", GREEN))):
            values = [p.line_a.get(line, 0.0) for p in phases]
            ax.bar([x + (i - 1) * width for x in xs], values, width=width, color=colour, label=line)
        for x, p in zip(xs, phases, strict=True):
            ax.plot([x - 0.45, x + 0.45], [p.limit_a] * 2, color=VERMILION, linewidth=2)
        ax.plot([], [], color=VERMILION, linewidth=2, label="limit (breaker × derating)")
        ax.set_xticks(xs, [f"{p.rack}\n{p.pdu}" for p in phases], fontsize=8)
        ax.set_ylabel("line current (A)")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        ax.set_title("Line currents per PDU, all feeds up")
        return _svg(fig, label, "phases"), label


def headroom(racks: Sequence[RackView]) -> tuple[str, str]:
    label = "Cooling and weight headroom: " + "; ".join(
        f"{r.name} {r.load_kw:.1f} kW heat of {r.cooling_kw or 0:.0f} kW cooling ({r.cooling_type}), "
        f"{r.weight_kg:.0f} kg of {r.weight_rating_kg:.0f} kg rating"
        for r in racks
    )
    with _figure(8, 0.9 + 0.7 * len(racks), ncols=2) as (fig, (heat, weight)):
        rows = list(range(len(racks)))[::-1]
        for ax, used, cap, unit, title in (
            (heat, [r.load_kw for r in racks], [r.cooling_kw or 0.0 for r in racks], "kW", "Heat vs cooling"),
            (weight, [r.weight_kg for r in racks], [r.weight_rating_kg for r in racks], "kg", "Weight vs rating"),
        ):
            ax.barh(rows, cap, height=0.55, color="#E8E8E8", edgecolor=GREY)
            ax.barh(
                rows, used, height=0.3, color=[VERMILION if u > c else BLUE for u, c in zip(used, cap, strict=True)]
            )
            for y, u, c in zip(rows, used, cap, strict=True):
                ax.annotate(
                    f"{u:,.0f} / {c:,.0f} {unit}",
                    (max(u, c), y),
                    xytext=(4, -3),
                    textcoords="offset points",
                    fontsize=8,
                )
            ax.set_yticks(rows, [r.name for r in racks])
            ax.set_xlim(0, max(used + cap) * 1.45)
            ax.set_xlabel(unit)
            ax.set_title(title)
        fig.tight_layout()
        return _svg(fig, label, "headroom"), label


def vram(views: Sequence[VramView]) -> tuple[str, str]:
    label = "VRAM per GPU: " + "; ".join(
        f"{v.deployment} on {v.gpu} ({v.layout}), {v.total_gib:.1f} GiB: "
        + ", ".join(f"{k} {g:.1f} GiB" for k, g in v.parts.items())
        + f"; KV cache holds {v.kv_tokens:,} tokens"
        for v in views
    )
    with _figure(8, 1.0 + 0.6 * len(views)) as (fig, ax):
        rows = list(range(len(views)))[::-1]
        for name, colour in VRAM_COLOURS.items():
            left = [sum(list(v.parts.values())[: list(v.parts).index(name)]) for v in views]
            ax.barh(
                rows,
                [v.parts[name] for v in views],
                left=left,
                height=0.55,
                color=colour,
                label=name,
                edgecolor="white",
                linewidth=0.5,
            )
        for y, v in zip(rows, views, strict=True):
            note = f"{v.kv_tokens:,} KV tokens" if v.fits else "does not start"
            ax.annotate(
                note,
                (v.total_gib, y),
                xytext=(4, -3),
                textcoords="offset points",
                fontsize=8,
                color="black" if v.fits else VERMILION,
            )
        ax.set_yticks(rows, [f"{v.deployment}\n{v.gpu}, {v.layout}" for v in views], fontsize=8)
        ax.set_xlabel("GiB per GPU")
        ax.set_xlim(0, max(v.total_gib for v in views) * 1.3)
        ax.legend(
            loc="upper center",
            bbox_to_anchor=(0.5, -0.12 - 0.3 / max(len(views), 1)),
            ncol=6,
            frameon=False,
            fontsize=8,
        )
        ax.set_title("VRAM per GPU by deployment")
        return _svg(fig, label, "vram"), label


def tco(curves: dict[str, Any]) -> tuple[str, str]:
    months = curves["month"]
    be = curves.get("break_even_month")
    label = (
        f"Cumulative cost over {months[-1]} months: cloud ${curves['cloud'][-1]:,.0f}, bare metal "
        f"${curves['bare_metal'][-1]:,.0f}, hybrid ${curves['hybrid'][-1]:,.0f}; "
        + (f"owning breaks even in month {be}" if be is not None else "owning does not break even")
    )
    with _figure(8, 3.6) as (fig, ax):
        ax.plot(months, curves["cloud"], color=VERMILION, linewidth=2, label="cloud")
        ax.plot(months, curves["bare_metal"], color=BLUE, linewidth=2, label="bare metal")
        ax.plot(months, curves["hybrid"], color=GREEN, linewidth=2, linestyle="--", label="hybrid")
        if be is not None and be <= months[-1]:
            ax.axvline(be, color=GREY, linewidth=1, linestyle=":")
            ax.annotate(
                f"break-even: month {be}",
                (be, curves["bare_metal"][be]),
                xytext=(8, -14),
                textcoords="offset points",
                fontsize=9,
            )
        ax.set_xlabel("month")
        ax.set_ylabel("cumulative cost (USD)")
        ax.yaxis.set_major_formatter(
            lambda v, _: f"${v / 1e6:,.1f}M" if abs(v) >= 1e6 else (f"${v / 1e3:,.0f}k" if v else "$0")
        )
        ax.set_xlim(0, months[-1])
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper left", frameon=False)
        ax.set_title("Cumulative cost: cloud vs bare metal vs hybrid")
        return _svg(fig, label, "tco"), label
