"""`gpuctl pki`: exit codes and messages of issue, rotate and list."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def gpuctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from gpuctl.cli.app import main; main()", *args], capture_output=True, text=True
    )


def test_list_before_issue_names_every_missing_certificate_and_exits_1(tmp_path: Path) -> None:
    shutil.copy(ROOT / "inventories" / "lab" / "site.yaml", tmp_path / "site.yaml")
    out = gpuctl("pki", "list", str(tmp_path / "site.yaml"), "-f", "json")
    assert out.returncode == 1
    rows = json.loads(out.stdout)
    assert {(r["kind"], r["name"], r["state"]) for r in rows} == {
        ("ca", "ca", "missing"),
        ("server", "gpuctl-gateway", "missing"),
        ("client", "gpuctl-gateway", "missing"),
        ("server", "qwen-7b", "missing"),
        ("server", "llama-70b", "missing"),
        ("client", "lab-app", "missing"),
        ("client", "lab-embedder", "missing"),
    }


def test_issue_then_list_is_clean_and_an_unknown_name_is_exit_2(tmp_path: Path) -> None:
    shutil.copy(ROOT / "inventories" / "lab" / "site.yaml", tmp_path / "site.yaml")
    site = str(tmp_path / "site.yaml")
    issued = gpuctl("pki", "issue", site)
    assert issued.returncode == 0 and issued.stdout.startswith("issued (7): ca/ca, server/gpuctl-gateway")
    assert gpuctl("pki", "list", site).returncode == 0
    again = gpuctl("pki", "issue", site)
    assert again.stdout.startswith("unchanged (7):")
    bad = gpuctl("pki", "rotate", site, "--name", "nobody")
    assert bad.returncode == 2 and "no certificate named nobody in this site" in bad.stderr
    assert "Traceback" not in bad.stderr
