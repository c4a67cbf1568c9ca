"""Cumulative cost curves with the break-even point marked, rendered headless (Agg/SVG)."""

from __future__ import annotations

import io
from pathlib import Path

from ..errors import UsageError
from ..fsutil import write_atomic
from .compute import break_even_month, curves, monthly
from .model import Scenario

WIDTH_IN, HEIGHT_IN, DPI = 12, 7, 100  # 1200 × 700 px


def render(s: Scenario, path: Path, title: str, mkdir: bool = False) -> None:
    """Draw in memory, then write atomically (`write_atomic`): never half a file, a device or a directory."""
    if path.suffix.lower() not in (".png", ".svg"):
        raise UsageError(f"--chart {path}: use a .png or .svg file name")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    c = curves(s)
    m = monthly(s)
    plt.rcParams["text.parse_math"] = False  # dollar signs are currency here, not mathtext
    fig, ax = plt.subplots(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    try:
        ax.plot(c.month, c.cloud, label=f"cloud (${m.cloud:,.0f}/month)", color="#d62728", linewidth=2)
        ax.plot(
            c.month,
            c.bare_metal,
            label=f"bare metal (${s.gpus * s.gpu_price_usd:,.0f} up front + ${m.bare_metal_opex:,.0f}/month)",
            color="#1f77b4",
            linewidth=2,
        )
        ax.plot(
            c.month,
            c.hybrid,
            label=f"hybrid ({s.hybrid_bare_metal_share:.0%} on bare metal)",
            color="#2ca02c",
            linewidth=2,
            linestyle="--",
        )
        be = break_even_month(s.gpus * s.gpu_price_usd, m.bare_metal_opex, m.cloud)
        if be is not None and be <= s.months:
            y = c.bare_metal[be]
            ax.axvline(be, color="grey", linewidth=1, linestyle=":")
            ax.scatter([be], [y], color="black", zorder=5)
            ax.annotate(f"break-even: month {be}", (be, y), textcoords="offset points", xytext=(10, -18))
        ax.set_xlabel("month")
        ax.set_ylabel("cumulative cost (USD)")
        ax.set_title(title)
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"${v / 1000:,.0f}k"))
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper left")
        ax.set_xlim(0, s.months)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format=path.suffix.lower()[1:], dpi=DPI)
    finally:
        plt.close(fig)
    write_atomic(path, buf.getvalue(), parents=mkdir, what="chart")
