"""`gpuctl pilot`: the three outputs as files, with exact figures from fra1's spec and tco.yaml.

qwen-7b-rag, one replica on one L40S: cloud 720 h × 0.72 × $3.85 + 40,000 GB × 1/40 × $0.085 = $2,080.84 a month;
bare metal $52,000 / 4 GPUs / 36 months = $361.11 + power 32.0 kW × 720 h × 0.76 / 40 GPUs × $0.14 = $61.29 +
colocation $210 + staffing $9,000 / 40 = $225: $857.40 a month, operations $496.29.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from tests.cli.test_validate_cli import gpuctl

SITE = "inventories/fra1/site.yaml"


def test_pilot_writes_comparison_runbook_and_staffing(tmp_path: Path) -> None:
    out = gpuctl("pilot", SITE, "--deployment", "qwen-7b-rag", "-o", str(tmp_path / "p"))
    assert out.returncode == 0, out.stderr
    files = sorted(p.name for p in (tmp_path / "p").iterdir())
    assert files == ["comparison.json", "comparison.md", "runbook.md", "staffing.csv", "staffing.md"]
    c = json.loads((tmp_path / "p/comparison.json").read_text())
    assert (c["gpus"], c["in_scope"], c["days"], c["utilization"]) == (1, True, 90, 0.72)
    assert (c["cloud_monthly"], c["bare_metal_monthly"], c["bare_metal_opex_monthly"]) == (2080.84, 857.4, 496.29)
    assert c["cloud_pilot"] == round(2080.84 * 3, 2)
    rows = list(csv.reader((tmp_path / "p/staffing.csv").open()))
    assert rows[0] == ["task", "per_month", "hours_each", "hours_per_month", "basis"]
    assert rows[1][0] == "hardware incidents (PSU, GPU XID, NIC)" and rows[1][4] == "40 GPUs × 0.0142 per GPU-month"
    assert [r[0] for r in rows[1:]] == [
        "hardware incidents (PSU, GPU XID, NIC)",
        "burn-in after repair",
        "driver and firmware upgrades",
        "runbook drills",
        "on-call alert handling",
        "capacity and cost review",
    ]


def test_runbook_follows_the_site(tmp_path: Path) -> None:
    out = gpuctl("pilot", SITE, "--deployment", "llama-70b-chat", "-o", str(tmp_path / "p"))
    assert out.returncode == 0, out.stderr
    book = (tmp_path / "p/runbook.md").read_text()
    # DGX H100 on one feed: 3 of 6 PSUs, 9.9 kW < 10.2 kW (the catalog's figures)
    assert "| NVIDIA DGX H100 (`dgx-h100`) | dgx-b01, dgx-b02 | 8 | 10.2 kW | 6 × 3.3 kW (4+2) | throttles" in book
    assert "| rack-b | 21.4 kW | 25.0 kW | the other feed carries the whole rack (21.4 kW ≤ 25.0 kW)" in book
    assert "| 48, 95, 119, 120 |" in book and "https://docs.nvidia.com/deploy/xid-errors/index.html" in book
    assert f"`gpuctl verify NODE --site {SITE}`" in book
    c = json.loads((tmp_path / "p/comparison.json").read_text())
    assert (c["gpus"], c["in_scope"]) == (4, True)


def test_bond_without_link_monitoring_is_named_in_the_runbook(tmp_path: Path) -> None:
    out = gpuctl("pilot", "inventories/ams2/site.yaml", "--deployment", "llama-70b-chat", "-o", str(tmp_path / "p"))
    assert out.returncode == 0, out.stderr
    book = (tmp_path / "p/runbook.md").read_text()
    assert "| l40s-01 | bond0 | 802.3ad | ens1f0np0, ens1f1np1 | off (miimon 0) |" in book
    assert "| rack-1 | 9.6 kW | single feed | single feed: every server in the rack loses power |" in book


def test_unknown_deployment_and_staffing_inputs_are_clear_errors(tmp_path: Path) -> None:
    out = gpuctl("pilot", SITE, "--deployment", "nope", "-o", str(tmp_path / "p"))
    assert out.returncode == 2 and "not a deployment of site fra1; declared: llama-70b-chat" in out.stderr
    bad = tmp_path / "staff.yaml"
    bad.write_text("hours_per_incident: -1\n")
    out = gpuctl("pilot", SITE, "--deployment", "qwen-7b-rag", "--staffing", str(bad), "-o", str(tmp_path / "q"))
    assert out.returncode == 2 and "hours_per_incident" in out.stderr and "Traceback" not in out.stderr
