"""`gpuctl colo compare`: exact criteria, costs and ranking for fra1's three quotes; bad quotes exit 2 at their line.

Hand arithmetic (fra1 draws 12.5 + 21.4 = 33.9 kW in 2 racks; growth +1 rack × 24 kW from month 7, +2 racks × 24 kW
from month 16; 36 months):
- fr5-renewal: 33.9 kW × $190 + 2 × $300 cross-connects + (6 - 4 included) h × $120 = $7,281 a month; growth at
  the $175 expansion rate: 24 kW × 30 months + 48 kW × 21 months = 302,400; + $5,000 setup: $569,516.
- fra-enterprise: 2 racks × $2,900 + 2 × $200 + 6 h × $150 = $7,100 a month; growth by racks: 1 × 30 + 2 × 21
  rack-months × $2,900 = $208,800; total $7,100 × 36 + $208,800 = $464,400.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_validate_cli import gpuctl
from tests.conftest import ROOT

OFFERS = ROOT / "inventories/fra1/offers.yaml"
SITE = ROOT / "inventories/fra1/site.yaml"


def test_offers_ranked_with_exact_costs_and_criteria() -> None:
    out = gpuctl("colo", "compare", str(OFFERS), "--site", str(SITE), "-f", "json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    got = [
        (o["name"], o["criteria_met"], o["monthly_usd"], o["horizon_usd"], sorted(o["missed"])) for o in data["offers"]
    ]
    assert got == [
        ("fr5-renewal", 9, 7281.0, 569516.0, []),
        ("fra-liquid-campus", 7, 6413.5, 502086.0, ["carriers", "gpu-references"]),
        (
            "fra-enterprise",
            1,
            7100.0,
            464400.0,
            [
                "compliance",
                "cooling",
                "density-path",
                "expansion-right",
                "gpu-references",
                "power-commitment",
                "rack-power",
                "sla",
            ],
        ),
    ]
    enterprise = data["offers"][2]
    assert enterprise["missed"]["density-path"] == [
        "15.0 kW per rack now < 20 kW (criterion 1: >= 20 kW per rack with a path to >= 30 kW)",
        "no expansion path: 15.0 kW per rack at most < 30 kW (criterion 1: >= 20 kW per rack with a path to >= 30 kW)",
    ]
    assert enterprise["missed"]["expansion-right"] == [
        "no expansion right (contract term 2 of 3: an expansion right at a pre-agreed rate)"
    ]
    # TCO effect: this offer's colocation per GPU-month replaces the scenario's assumption ($210).
    assert data["baseline"] == {"colocation_per_gpu_month": 210.0, "months": 36, "gpus": 40}
    assert data["offers"][0]["colocation_per_gpu_month"] == round(7281 / 40, 2)


def test_csv_and_chart(tmp_path: Path) -> None:
    chart = tmp_path / "offers.svg"
    out = gpuctl("colo", "compare", str(OFFERS), "--site", str(SITE), "-f", "csv", "--chart", str(chart))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("rank,offer,provider,criteria_met,monthly_usd,horizon_usd")
    assert lines[1].startswith("1,fr5-renewal,")
    assert len(lines) == 4
    svg = chart.read_text()
    assert "fra-enterprise" in svg and "$464,400 · 1/9 criteria" in svg


def test_offer_without_a_price_points_at_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "offers.yaml"
    bad.write_text(
        "- name: cheap\n  provider: X\n  cooling_offered: [{type: air_open}]\n  power: {per_rack_kw_now: 10}\n"
        "- name: typo\n  provider: Y\n  cooling_offered: [{type: air_open}]\n  power: {per_rack_kw_now: 10}\n"
        "  price_per_kw_month: 100\n  carrierz: [A]\n"
    )
    out = gpuctl("colo", "compare", str(bad), "--site", str(SITE))
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert f"{bad}:1" in out.stderr and "price_per_kw_month or price_per_rack_month" in out.stderr
    assert f"{bad}:10" in out.stderr and "carrierz" in out.stderr


def test_toml_offers_point_at_their_line(tmp_path: Path) -> None:
    """The same quotes as TOML `[[offers]]`: a field of the second offer, a sub-table of it, and a syntax error."""
    bad = tmp_path / "offers.toml"
    first = (
        '[[offers]]\nname = "cheap"\nprovider = "X"\ncooling_offered = [{type = "air_open"}]\nprice_per_kw_month = 90\n'
    )
    second = '[[offers]]\nname = "typo"\nprovider = "Y"\ncooling_offered = [{type = "air_open"}]\n'
    bad.write_text(
        first
        + "[offers.power]\nper_rack_kw_now = 10\n"
        + second
        + "price_per_kw_month = 100\n'carrierz' = [\"A\"]\n[offers.power]\nper_rack_kw_now = -1\n"
    )
    out = gpuctl("colo", "compare", str(bad), "--site", str(SITE))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert f"{bad}:13:1: " in out.stderr and "carrierz" in out.stderr  # offers[1].carrierz, not the first offer's
    assert f"{bad}:15:1: " in out.stderr and "per_rack_kw_now" in out.stderr  # offers[1].power.per_rack_kw_now
    bad.write_text(first + "price_per_kw_month = = 3\n")
    out = gpuctl("colo", "compare", str(bad), "--site", str(SITE))
    assert out.returncode == 2 and f"{bad}:6:" in out.stderr and "malformed TOML" in out.stderr
