"""From fresh lab hosts to Kubernetes nodes: provision installs the pinned kubelet/kubeadm/kubectl stand-ins, joins with
a JoinConfiguration through the lab's test Kubernetes API (bootstrap token from a 0600 file), and each node registers
Ready with its pool's labels and taints, the topology labels, and the GPUs its own nvidia-smi lists."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

from gpuctl.lab import core

from .test_provision_lab import provision, ssh

pytestmark = pytest.mark.integration

POOLS = {"lab-l40s-1": "l40s", "lab-l40s-2": "l40s", "lab-dgx-1": "h100", "lab-l4-1": "l4"}
GPU_TAINT = [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]


def api(lab: core.LabState) -> Any:
    assert lab.kubeconfig
    return client.CoreV1Api(config.new_client_from_config(config_file=lab.kubeconfig))  # type: ignore[no-untyped-call]


def node(lab: core.LabState, name: str) -> dict[str, Any]:
    return api(lab).api_client.sanitize_for_serialization(api(lab).read_node(name))  # type: ignore[no-any-return]


def gpus_on(lab: core.LabState, host: str) -> int:
    return sum(1 for line in ssh(lab, host, "nvidia-smi -L").splitlines() if line.startswith("GPU "))


def wait_for(predicate: Any, timeout: float = 40.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(1)


def test_fresh_hosts_join_ready_with_labels_taints_and_gpus(lab: core.LabState) -> None:
    assert lab.bootstrap_token_file and oct(Path(lab.bootstrap_token_file).stat().st_mode & 0o777) == "0o600"
    out = provision()
    assert out["rc"] == 0, out
    for host, pool in POOLS.items():
        n = node(lab, host)
        labels = n["metadata"]["labels"]
        assert labels["topology.gpuctl.dev/rack"] == "lab-a"
        assert labels["topology.gpuctl.dev/pdu-feeds"] == "a"
        assert labels["gpuctl.io/pool"] == pool
        assert "node-restriction.kubernetes.io/gpuctl-burnin" not in labels, "only burn-in sets the gate label"
        assert (n["spec"].get("taints") or []) == ([] if pool == "l4" else GPU_TAINT)
        ready = wait_for(lambda h=host: node(lab, h)["status"].get("conditions"))
        assert [c["status"] for c in ready if c["type"] == "Ready"] == ["True"]
        allocatable = node(lab, host)["status"]["allocatable"]
        assert allocatable["nvidia.com/gpu"] == str(gpus_on(lab, host)) and allocatable["pods"] == "110"
        assert ssh(lab, host, "dpkg-query -W -f='${Version}' kubelet") == "1.32.0-1.1"
        assert "gpuctl-join.yaml" not in ssh(lab, host, "ls /etc/kubernetes"), "the token file outlived the join"
    # a second run joins nobody again and changes nothing
    again = provision("--tags", "kubernetes")
    assert again["rc"] == 0 and again["changed"] == 0


def test_check_mode_on_provisioned_hosts_reports_nothing_and_changes_nothing(lab: core.LabState) -> None:
    watched = "/etc/containerd/config.toml /etc/default/kubelet /etc/apt/sources.list.d/gpuctl-nvidia.list"
    before = {h.name: ssh(lab, h.name, f"stat -c '%n %Y %s' {watched}; dpkg-query -W") for h in lab.hosts}
    out = provision("--check")
    assert out["rc"] == 0 and out["changed"] == 0, out
    after = {h.name: ssh(lab, h.name, f"stat -c '%n %Y %s' {watched}; dpkg-query -W") for h in lab.hosts}
    assert after == before


def test_allocatable_gpus_come_from_the_host_not_the_spec(lab: core.LabState) -> None:
    from gpuctl.lab import faults

    original = faults.read(lab, "lab-l4-1")
    faults.inject(lab, "lab-l4-1", remove_gpus=1)
    try:
        seen = wait_for(lambda: node(lab, "lab-l4-1")["status"]["allocatable"]["nvidia.com/gpu"] == "3", 30)
        assert seen, "the kubelet reports what the host's nvidia-smi lists (3), not the spec's 4"
    finally:
        faults.inject(lab, "lab-l4-1", gpus=original["gpus"])


def test_a_label_change_restarts_the_kubelet(lab: core.LabState, tmp_path: Path) -> None:
    from .conftest import LAB_SITE

    site = tmp_path / "site.yaml"
    site.write_text(
        LAB_SITE.read_text().replace(
            "{name: l4, servers: [lab-l4-1]}", "{name: l4, servers: [lab-l4-1], labels: {team: search}}"
        )
    )
    before = ssh(lab, "lab-l4-1", "cat /run/kubelet.pid")
    from .test_provision_lab import gpuctl

    out = gpuctl("provision", "lab-l4-1", "--site", str(site), "--lab", "--tags", "kubernetes", "-f", "json")
    assert out.returncode == 0, out.stdout + out.stderr
    assert json.loads(out.stdout)["changed"] >= 2  # the env file, the restart
    assert "team=search" in ssh(lab, "lab-l4-1", "cat /etc/default/kubelet")
    assert ssh(lab, "lab-l4-1", "cat /run/kubelet.pid") != before, "the kubelet was restarted"
    restore = provision("--tags", "kubernetes")
    assert restore["rc"] == 0
