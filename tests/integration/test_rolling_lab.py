"""Day 2 in the lab, on hosts that are joined nodes of the test Kubernetes API (provisioned here first when this file
runs alone): a driver change in the spec rolls one node at a time with cordon and drain (PodDisruptionBudgets
honoured); a roll killed after some hosts finished resumes exactly the others; version overrides with -e are refused."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

from gpuctl.lab import core
from gpuctl.provision import runner

from .conftest import LAB_SITE
from .test_provision_lab import failing_checks, gpuctl, provision, ssh

pytestmark = pytest.mark.integration

NEW = "550.144.03-0ubuntu1"
HOSTS = ["lab-dgx-1", "lab-l4-1", "lab-l40s-1", "lab-l40s-2"]


class CordonWatcher(threading.Thread):
    """Polls the API: which nodes are cordoned at once, and the order they were cordoned in."""

    def __init__(self, kubeconfig: str) -> None:
        super().__init__(daemon=True)
        self.api = client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig))  # type: ignore[no-untyped-call]
        self.stop = threading.Event()
        self.most_at_once = 0
        self.order: list[str] = []

    def run(self) -> None:
        while not self.stop.is_set():
            cordoned = [n.metadata.name for n in self.api.list_node().items if n.spec.unschedulable]
            self.most_at_once = max(self.most_at_once, len(cordoned))
            self.order += [n for n in cordoned if n not in self.order]
            time.sleep(0.2)


def spec_with_driver(tmp_path: Path, version: str) -> Path:
    site = tmp_path / "site.yaml"
    text = LAB_SITE.read_text()
    site.write_text(text.replace("racks:\n", f"provisioning:\n  driver_version: {version}\n\nracks:\n", 1))
    return site


def pods_with_budget(kubeconfig: str) -> Any:
    api = config.new_client_from_config(config_file=kubeconfig)  # type: ignore[no-untyped-call]
    core_api, policy = client.CoreV1Api(api), client.PolicyV1Api(api)
    if "inference" not in [n.metadata.name for n in core_api.list_namespace().items]:
        core_api.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "inference"}})
    for host in HOSTS:
        core_api.create_namespaced_pod("inference", {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"m-{host}", "labels": {"app": "m"},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "m", "uid": "u"}]},
            "spec": {"nodeName": host, "containers": [{"name": "c", "image": "x"}]},
            "status": {"phase": "Running"},
        })  # fmt: skip
    policy.create_namespaced_pod_disruption_budget("inference", {
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "m"},
        "spec": {"selector": {"matchLabels": {"app": "m"}}, "minAvailable": 3},
    })  # fmt: skip
    return core_api


def driver_on(lab: core.LabState, host: str) -> set[str]:
    return set(ssh(lab, host, "nvidia-smi --query-gpu=driver_version --format=csv,noheader").split())


def test_version_overrides_are_refused(tmp_path: Path) -> None:
    # Refused as bad usage before the running lab is looked up: the same with no lab up (an empty lab directory) as
    # with the session's lab, so this holds alone, in this file and in the whole suite.
    for lab_env in ({"GPUCTL_LAB_DIR": str(tmp_path / "no-lab")}, {}):
        out = gpuctl("provision", "lab-a", "--site", str(LAB_SITE), "--lab", "--playbook", "upgrade_drivers.yml",
                     "-e", f"nvidia_driver_version={NEW}", env=lab_env)  # fmt: skip
        assert out.returncode == 2, out.stderr
        assert "provisioning.driver_version" in out.stderr and "Traceback" not in out.stderr


def test_driver_change_rolls_one_node_at_a_time_and_a_killed_roll_resumes_the_rest(
    lab: core.LabState, tmp_path: Path
) -> None:
    assert lab.kubeconfig
    if failing_checks():  # this file alone (or first) on the session's lab: its hosts are fresh, make them nodes
        assert provision("--kubeconfig", lab.kubeconfig)["rc"] == 0  # joined hosts: a disruptive change drains
    assert failing_checks() == set(), "start from verified hosts (the journal then holds no failed verify)"
    core_api = pods_with_budget(lab.kubeconfig)
    site = spec_with_driver(tmp_path, NEW)
    journal = runner.STATE_DIR / "lab" / "journal.json"  # where the runner keeps it, wherever pytest runs from
    args = ["provision", "lab-a", "--site", str(site), "--lab", "--kubeconfig", lab.kubeconfig]
    watcher = CordonWatcher(lab.kubeconfig)
    watcher.start()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from gpuctl.cli.app import main; main()", *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip

    def finished() -> list[str]:
        try:
            hosts = json.loads(journal.read_text()).get("provision", {}).get("hosts", {})
        except (OSError, ValueError):
            return []
        return sorted(h for h in HOSTS if hosts.get(h, {}).get("status") == "ok"
                      and hosts[h].get("run", "").endswith(f"-{proc.pid}"))  # fmt: skip

    deadline = time.monotonic() + 900
    while len(finished()) < 1 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = finished()
    assert 1 <= len(done) < len(HOSTS), f"kill after some hosts finished, not all: {done}"
    resumed = gpuctl(*args, "--resume", "-f", "json", timeout=1500)
    data = json.loads(resumed.stdout)
    watcher.stop.set()
    watcher.join()
    print(f"killed after {done}; resumed {sorted(data['hosts'])}; cordon order {watcher.order}")
    assert resumed.returncode == 0, data
    assert sorted(data["hosts"]) == sorted(set(HOSTS) - set(done)), "resume runs exactly the hosts not finished"
    assert watcher.most_at_once == 1, "one node at a time"
    assert sorted(watcher.order) == HOSTS, "every node was cordoned for its change"
    for host in HOSTS:
        assert driver_on(lab, host) == {NEW.split("-")[0]}
    nodes = core_api.list_node().items
    assert not [n.metadata.name for n in nodes if n.spec.unschedulable], "every node uncordoned"
    running = [p for p in core_api.list_namespaced_pod("inference").items if p.status.phase == "Running"]
    assert len(running) >= 3 and all(p.metadata.name != "m-lab-dgx-1" for p in running), "pods were evicted"
    # the spec is the only source: a plain run with it changes nothing (no downgrade)
    again = gpuctl(*args, "-f", "json", timeout=1500)
    assert again.returncode == 0 and json.loads(again.stdout)["changed"] == 0
