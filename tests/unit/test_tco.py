"""The cost model against the worked figures of the guide its defaults come from (Inflect, "AI Inference on Bare
Metal: Performance, Cost, and Deployment Guide",
https://inflect.com/blog/ai-inference-on-bare-metal-performance-cost-and-deployment-guide) and hand-computed cases."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from gpuctl.tco import Scenario, Signals, break_even_month, decide, monthly, summary
from tests.cli.test_validate_cli import gpuctl
from tests.conftest import ROOT


def one_h100(**kw: float) -> Scenario:
    return Scenario(gpus=1, utilization=1.0, **kw)  # type: ignore[arg-type]


def test_guide_cloud_figure_4_dollars_around_the_clock() -> None:
    # $4.00/h × 24 × 30 = $2,880 per H100 per month
    assert monthly(one_h100(cloud_rate_per_gpu_hour=4.0)).cloud == pytest.approx(2880)


@pytest.mark.parametrize(("price", "per_month"), [(25_000, 694.44), (30_000, 833.33)])
def test_guide_amortization_over_36_months(price: float, per_month: float) -> None:
    assert monthly(one_h100(gpu_price_usd=price)).hardware_amortized == pytest.approx(per_month, abs=0.01)


def test_guide_all_in_bare_metal_and_share_of_cloud() -> None:
    # midpoint inputs: 27,500/36 + 700 kWh × $0.10 + $225 colocation = 763.89 + 70 + 225 = 1,058.89
    m = monthly(one_h100())
    assert m.bare_metal == pytest.approx(1058.89, abs=0.01)
    assert 1000 <= m.bare_metal <= 1300
    # the guide's range ends: $25k with $300 colo = 1,064.44; $30k with $300 colo = 1,203.33
    assert monthly(one_h100(gpu_price_usd=25_000, colocation_per_gpu_month=300)).bare_metal == pytest.approx(
        1064.44, abs=0.01
    )
    high = monthly(one_h100(gpu_price_usd=30_000, colocation_per_gpu_month=300)).bare_metal
    assert high == pytest.approx(1203.33, abs=0.01)
    # "roughly 35-45% of cloud at sustained utilization": 1,058.89 / 2,880 = 36.8%, 1,203.33 / 2,880 = 41.8%
    assert summary(one_h100())["bare_metal_pct_of_cloud"] == pytest.approx(36.77, abs=0.01)
    assert 35 <= high / 2880 * 100 <= 45


def test_break_even_by_hand() -> None:
    # 8 GPUs at 60%: cloud 8 × 0.6 × 720 × $4 = $13,824/month; opex 8 × (70 + 225) = $2,360/month;
    # capex 8 × 27,500 = 220,000; 220,000 / (13,824 − 2,360) = 19.19 → month 20
    s = Scenario(gpus=8, utilization=0.6)
    m = monthly(s)
    assert m.cloud == pytest.approx(13_824)
    assert m.bare_metal_opex == pytest.approx(2_360)
    assert summary(s)["break_even_month"] == 20
    assert break_even_month(100, 10, 10) is None
    assert break_even_month(0, 5, 10) == 0


def test_staffing_and_egress_by_hand() -> None:
    # 4 GPUs, 100%: cloud 4 × 720 × 3.5 = 10,080 + egress 20,000 GB × 0.085 = 1,700 → 11,780
    # bare metal: 4 × 27,500 / 36 = 3,055.56 + power 280 + colo 900 + staff 5,000 = 9,235.56 → 78.4% of cloud
    s = Scenario(
        gpus=4, utilization=1.0, cloud_rate_per_gpu_hour=3.5, staffing_per_month=5000, egress_gb_per_month=20_000
    )
    r = summary(s)
    assert r["monthly"]["cloud"] == pytest.approx(11_780)
    assert r["monthly"]["bare_metal"] == pytest.approx(9_235.56, abs=0.01)
    assert r["bare_metal_pct_of_cloud"] == pytest.approx(78.40, abs=0.01)


def test_hybrid_by_hand() -> None:
    # share 0.75 of 8 GPUs at 70%: cloud 16,128; bare metal part 0.75 × (6,111.11 + 560 + 1,800) = 6,353.33;
    # cloud part 0.25 × 16,128 = 4,032 → hybrid 10,385.33
    assert monthly(Scenario()).hybrid == pytest.approx(10_385.33, abs=0.01)


def test_decision_verdicts() -> None:
    strong = Scenario(
        utilization=0.8,
        monthly_inference_spend=60_000,
        signals=Signals(
            p99_missed_in_cloud=True, data_constraints=True, traffic="steady", retrain_interval_days=120, infra_staff=3
        ),
    )
    assert decide(strong).verdict == "bare metal"
    bursty = strong.model_copy(update={"signals": strong.signals.model_copy(update={"traffic": "bursty"})})
    assert decide(bursty).verdict == "pure cloud"
    assert decide(Scenario(utilization=0.3)).verdict == "pure cloud"
    assert decide(Scenario(utilization=0.7)).verdict == "hybrid"
    no_staff = strong.model_copy(update={"signals": strong.signals.model_copy(update={"infra_staff": 0})})
    assert any("no infrastructure staff" in r for r in decide(no_staff).reasons)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_site_scenario_and_chart(tmp_path: Path) -> None:
    chart = tmp_path / "tco.png"
    out = gpuctl(
        "tco",
        str(ROOT / "inventories/fra1/site.yaml"),
        "--scenario",
        str(ROOT / "inventories/fra1/tco.yaml"),
        "--chart",
        str(chart),
        "-f",
        "json",
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["inputs"]["gpus"] == 40
    # 4 × 52,000 + 2 × 21,000 + 2 × 285,000 = 820,000 for 40 GPUs
    assert data["capex"] == pytest.approx(820_000)
    assert data["decision"]["verdict"] == "bare metal"
    assert png_size(chart) == (1200, 700)
    assert chart.stat().st_size > 20_000


def test_csv_has_a_row_per_month() -> None:
    out = gpuctl("tco", "--months", "12", "-f", "csv")
    rows = out.stdout.strip().splitlines()
    assert rows[0] == "month,cloud_usd,bare_metal_usd,hybrid_usd"
    assert len(rows) == 14
    assert rows[1] == "0,0.00,220000.00,165000.00"


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (["--gpu-price", "-1"], "greater than or equal to 0"),
        (["--utilization", "1.5"], "less than or equal to 1"),
        (["--gpus", "0"], "greater than 0"),
        (["--chart", "out.jpg"], "use a .png or .svg"),
    ],
)
def test_bad_input_exits_2(args: list[str], expect: str) -> None:
    out = gpuctl("tco", *args)
    assert out.returncode == 2
    assert expect in out.stderr
    assert "Traceback" not in out.stderr


def test_bad_scenario_file_names_the_line(tmp_path: Path) -> None:
    f = tmp_path / "tco.yaml"
    f.write_text("gpus: 8\ncloud_rate_per_gpu_hour: -3\n")
    out = gpuctl("tco", "--scenario", str(f))
    assert out.returncode == 2
    assert f"{f}:2:" in out.stderr


def test_a_site_of_other_gpus_is_told_the_cloud_rate_is_an_h100_rate() -> None:
    from gpuctl.loader import load_site
    from gpuctl.tco.site import scenario_for_site

    ams2 = load_site(ROOT / "inventories" / "ams2" / "site.yaml").site  # H100 and L40S servers
    _, notes = scenario_for_site(ams2, Scenario())
    assert [n for n in notes if n.startswith("cloud priced at $4.00") and "for l40s:" in n]
    _, chosen = scenario_for_site(ams2, Scenario(cloud_rate_per_gpu_hour=1.8))  # the user set it: no note
    assert not [n for n in chosen if n.startswith("cloud priced")]


def test_a_free_cloud_rate_prints_n_a_instead_of_a_percentage() -> None:
    """At $0/GPU-hour bare metal is no percentage of the cloud's cost: the console says n/a (json has null)."""
    out = gpuctl("tco", "--gpus", "8", "--utilization", "0.6", "--cloud-rate", "0")
    assert out.returncode == 0, out.stderr
    assert "internal error" not in out.stderr
    assert "bare metal is n/a of cloud; owning pays for itself never at these inputs" in " ".join(out.stdout.split())
    data = json.loads(gpuctl("tco", "--gpus", "8", "--cloud-rate", "0", "-f", "json").stdout)
    assert data["bare_metal_pct_of_cloud"] is None
