"""playbooks/tasks/drain.yml, run for real by ansible-playbook on this machine: a node that has joined a cluster is
never changed undrained by default. Without a kubeconfig to drain it with, the run stops (naming --kubeconfig and the
--no-drain opt-out); a host that has not joined, or an explicit opt-out, goes on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"

pytestmark = pytest.mark.skipif(not ANSIBLE_PLAYBOOK.exists(), reason="ansible-playbook is not beside the interpreter")


def run_drain(
    tmp_path: Path, joined: bool, check: bool = False, **variables: object
) -> subprocess.CompletedProcess[str]:
    kubelet_conf = tmp_path / "kubelet.conf"
    if joined:
        kubelet_conf.write_text("apiVersion: v1\nkind: Config\n")
    play = [
        {
            "name": "drain gate",
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "tasks": [{"ansible.builtin.import_tasks": str(ROOT / "playbooks" / "tasks" / "drain.yml")}],
        }
    ]
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump(play))
    extra = tmp_path / "extra.yml"
    extra.write_text(
        yaml.safe_dump(
            {"gpuctl_kubelet_conf": str(kubelet_conf), "ansible_python_interpreter": sys.executable, **variables}
        )
    )
    env = {**os.environ, "ANSIBLE_LOCALHOST_WARNING": "false", "ANSIBLE_NOCOLOR": "1"}
    env["ANSIBLE_LIBRARY"] = str(ROOT / "playbooks" / "library")
    return subprocess.run(
        [str(ANSIBLE_PLAYBOOK), *(["--check"] if check else []), "-i", "localhost,", "-e", f"@{extra}", str(playbook)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )


def test_a_joined_node_without_a_kubeconfig_stops_the_run(tmp_path: Path) -> None:
    out = run_drain(tmp_path, joined=True)
    assert out.returncode != 0, out.stdout
    assert "has joined a Kubernetes cluster" in out.stdout
    assert "--kubeconfig" in out.stdout and "--no-drain" in out.stdout  # how to fix it, both ways


def test_a_host_that_has_not_joined_goes_on(tmp_path: Path) -> None:
    out = run_drain(tmp_path, joined=False)
    assert out.returncode == 0, out.stdout
    assert "failed=0" in out.stdout


def test_the_opt_out_changes_a_joined_node_undrained_and_says_so(tmp_path: Path) -> None:
    out = run_drain(tmp_path, joined=True, gpuctl_allow_undrained=True)
    assert out.returncode == 0, out.stdout
    assert "without a drain (--no-drain)" in out.stdout


def test_check_mode_reports_instead_of_stopping(tmp_path: Path) -> None:
    """--check changes nothing, so it goes on to show every change and says that a real run would stop."""
    out = run_drain(tmp_path, joined=True, check=True)
    assert out.returncode == 0, out.stdout
    assert "a real run stops here" in out.stdout
