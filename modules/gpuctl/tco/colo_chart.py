"""The offers compared as a chart: cost over the horizon per offer, coloured by how many criteria it meets."""

from __future__ import annotations

import io
from pathlib import Path

from ..calc import facility
from ..fsutil import write_atomic
from .colo import OfferResult


def render(results: list[OfferResult], months: int, path: Path, title: str, mkdir: bool = False) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    total = len(facility.CRITERIA)
    with matplotlib.rc_context({"svg.fonttype": "none", "text.parse_math": False, "svg.hashsalt": "colo"}):
        fig, ax = plt.subplots(figsize=(9, 1.2 + 0.6 * len(results)))
        try:
            rows = list(range(len(results)))[::-1]
            colours = [
                "#009E73" if len(r.met) == total else "#E69F00" if len(r.met) >= total - 2 else "#D55E00"
                for r in results
            ]
            ax.barh(rows, [r.horizon_usd for r in results], color=colours, height=0.55)
            for y, r in zip(rows, results, strict=True):
                ax.annotate(
                    f"${r.horizon_usd:,.0f} · {len(r.met)}/{total} criteria",
                    (r.horizon_usd, y),
                    xytext=(4, -3),
                    textcoords="offset points",
                    fontsize=9,
                )
            ax.set_yticks(rows, [r.name for r in results])
            ax.set_xlim(0, max(r.horizon_usd for r in results) * 1.45)
            ax.set_xlabel(f"colocation cost over {months} months (USD), growth plan included")
            ax.set_title(title, loc="left")
            ax.spines[["top", "right"]].set_visible(False)
            fig.tight_layout()
            buf = io.BytesIO()
            fig.savefig(buf, format=path.suffix.lower()[1:], metadata={"Date": None} if path.suffix == ".svg" else None)
        finally:
            plt.close(fig)
    write_atomic(path, buf.getvalue(), parents=mkdir, what="chart")
