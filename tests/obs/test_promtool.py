"""promtool (Debian's `prometheus` package) on every rule file gpuctl generates: `promtool check rules` for the
example sites and the test site, and `promtool test rules` on the unit tests in promtool/ (each alert fires on
its trigger and stays quiet on the near miss). The test build drops annotations only: promtool compares them
verbatim and they are text; `check rules` validates their templates in the full build."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from gpuctl.loader import load_site
from gpuctl.render.obs import rule_files

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
TESTS = sorted((HERE / "promtool").glob("*.test.yml"))
# The example sites that load (ams2 is the example with reference errors on purpose).
SITES = [HERE / "site.yaml", ROOT / "inventories" / "fra1" / "site.yaml", ROOT / "inventories" / "lab" / "site.yaml"]
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.usefixtures("promtool_installed")


def _write(files: dict[str, dict[str, Any]], where: Path, annotations: bool = True) -> list[Path]:
    out = []
    for name, content in files.items():
        if not annotations:
            for group in content["groups"]:
                for rule in group["rules"]:
                    rule.pop("annotations", None)
        path = where / name
        path.write_text(yaml.safe_dump(content, sort_keys=False))
        out.append(path)
    return out


@needs_promtool
@pytest.mark.parametrize("site_file", SITES, ids=lambda p: p.parent.name)
def test_promtool_check_rules_on_every_generated_file(site_file: Path, tmp_path: Path) -> None:
    paths = _write(rule_files(load_site(site_file).site), tmp_path)
    run = subprocess.run([PROMTOOL, "check", "rules", *map(str, paths)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "duplicate" not in run.stdout + run.stderr  # promtool only warns about duplicate rules


@needs_promtool
def test_promtool_unit_tests_pass(tmp_path: Path) -> None:
    _write(rule_files(load_site(HERE / "site.yaml").site), tmp_path, annotations=False)
    for test in TESTS:
        shutil.copy(test, tmp_path / test.name)
    run = subprocess.run(
        [PROMTOOL, "test", "rules", *(t.name for t in TESTS)], cwd=tmp_path, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr


@needs_promtool
def test_a_wrong_expectation_fails(tmp_path: Path) -> None:
    """The harness can fail: flip one expectation (the fatal XID then should be quiet) and promtool says so."""
    _write(rule_files(load_site(HERE / "site.yaml").site), tmp_path, annotations=False)
    data = yaml.safe_load((HERE / "promtool" / "gpu.test.yml").read_text())
    data["tests"][0]["alert_rule_test"][0]["exp_alerts"] = []
    (tmp_path / "wrong.test.yml").write_text(yaml.safe_dump(data))
    run = subprocess.run([PROMTOOL, "test", "rules", "wrong.test.yml"], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 1 and "GpuctlXidFatal" in run.stdout + run.stderr


def _alert_keys(files: dict[str, dict[str, Any]]) -> set[tuple[str, str]]:
    """(alert name, slo label or '') for every alert rule generated."""
    return {
        (rule["alert"], rule["labels"].get("slo", ""))
        for content in files.values()
        for group in content["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }


def test_every_generated_alert_has_a_firing_and_a_quiet_unit_test() -> None:
    fires: set[tuple[str, str]] = set()
    quiet: set[tuple[str, str]] = set()
    for test in TESTS:
        for case in yaml.safe_load(test.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                name = check["alertname"]
                if check["exp_alerts"]:
                    fires.update((name, a["exp_labels"].get("slo", "")) for a in check["exp_alerts"])
                else:
                    quiet.add(name)
    generated = _alert_keys(rule_files(load_site(HERE / "site.yaml").site))
    assert generated - fires == set(), f"alerts without a firing test: {sorted(generated - fires)}"
    assert {name for name, _ in generated} - quiet == set(), "alerts without a near-miss test"


@needs_promtool
def test_the_gateway_local_share_is_local_over_all_requests(tmp_path: Path) -> None:
    """fra1's bursting deployment: 3 local and 1 burst request/s -> 0.75; all burst (no local series) -> 0."""
    _write(rule_files(load_site(ROOT / "inventories" / "fra1" / "site.yaml").site), tmp_path, annotations=False)
    series = 'gpuctl_gateway_requests_total{{deployment="{d}",route="{r}",code="200",instance="{i}"}}'
    share = 'gpuctl:gateway_local_share:rate5m{deployment="%s"}'
    test = {
        "rule_files": ["gpuctl-serving.rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {"series": series.format(d="llama-70b-chat", r="local", i="a"), "values": "0+180x10"},
                    {"series": series.format(d="llama-70b-chat", r="burst", i="a"), "values": "0+60x10"},
                    {
                        "series": series.format(d="qwen-7b-rag", r="burst", i="b"),
                        "values": "0+60x10",
                    },  # no burst: no share
                ],
                "promql_expr_test": [
                    {
                        "expr": share % "llama-70b-chat",
                        "eval_time": "10m",
                        "exp_samples": [{"labels": share % "llama-70b-chat", "value": 0.75}],
                    }
                ],
            },
            {
                "interval": "1m",
                "input_series": [{"series": series.format(d="llama-70b-chat", r="burst", i="a"), "values": "0+60x10"}],
                "promql_expr_test": [
                    {
                        "expr": share % "llama-70b-chat",
                        "eval_time": "10m",
                        "exp_samples": [{"labels": share % "llama-70b-chat", "value": 0}],
                    }
                ],
            },
        ],
    }
    (tmp_path / "share.test.yml").write_text(yaml.safe_dump(test))
    run = subprocess.run([PROMTOOL, "test", "rules", "share.test.yml"], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
