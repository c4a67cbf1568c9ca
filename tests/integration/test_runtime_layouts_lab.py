"""A change that restarts the container runtime on a joined node rolls it (cordon, drain, change, uncordon) in each
distribution's layout, and restarts that layout's service: kubeadm's containerd, k3s's k3s-agent, RKE2's
rke2-agent. The lab fakes k3s and RKE2 on a kubeadm-joined host the way the role detects them: their data-dir, the
kubelet kubeconfig their agent writes once joined, and their agent's init script (it records stop and start)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from gpuctl.lab import core
from gpuctl.provision.roles import role_defaults

from .conftest import LAB_SITE
from .test_provision_lab import failing_checks, gpuctl, provision, ssh
from .test_rolling_lab import CordonWatcher

pytestmark = pytest.mark.integration

HOST = "lab-l4-1"
ROLE = role_defaults()["containerd"]


@pytest.fixture
def joined(lab: core.LabState) -> Iterator[core.LabState]:
    """The session's hosts as verified Kubernetes nodes (provisioned here when this file runs alone)."""
    assert lab.kubeconfig
    if failing_checks():
        assert provision("--kubeconfig", lab.kubeconfig)["rc"] == 0  # joined hosts: a disruptive change drains
    yield lab


def roll(lab: core.LabState) -> tuple[dict, list[str]]:  # type: ignore[type-arg]
    """One containerd run on HOST with restarts on (the lab's default is off: no runtime runs in it); the nodes
    cordoned during it, in order."""
    assert lab.kubeconfig
    watcher = CordonWatcher(lab.kubeconfig)
    watcher.start()
    out = gpuctl("provision", HOST, "--site", str(LAB_SITE), "--lab", "--kubeconfig", lab.kubeconfig,
                 "--tags", "containerd", "-e", "containerd_restart=true", "-f", "json")  # fmt: skip
    watcher.stop.set()
    watcher.join()
    assert out.stdout, out.stderr
    data = json.loads(out.stdout)
    assert out.returncode == 0 and data["status"] == "successful", data
    return data, watcher.order


def init_script(service: str) -> str:
    """An init script under the service's name that records the calls the restart makes."""
    return (
        f'printf \'#!/bin/sh\\ncase "$1" in stop|start) echo "$1" >> /var/log/{service}.calls;; esac\\n\' '
        f"> /etc/init.d/{service} && chmod 0755 /etc/init.d/{service}"
    )


@pytest.mark.parametrize("layout", ["k3s", "rke2"])
def test_a_runtime_change_on_a_k3s_or_rke2_node_rolls_it_and_restarts_its_agent(
    joined: core.LabState, layout: str
) -> None:
    data_dir = ROLE["containerd_distribution_dirs"][layout]
    template = ROLE["containerd_config_files"][layout]
    kubeconfig = ROLE["containerd_kubelet_kubeconfigs"][layout]
    service = ROLE["containerd_services"][layout]
    kubeadm_config = ssh(joined, HOST, f"md5sum {ROLE['containerd_config_files']['kubeadm']}")
    ssh(joined, HOST, f"mkdir -p {data_dir}/agent && touch {kubeconfig} && {init_script(service)}")
    try:
        first, cordoned = roll(joined)
        assert cordoned == [HOST], "the template change restarts the agent: the node is cordoned and drained first"
        assert first["hosts"][HOST]["changed"] >= 2  # the template, the restart
        text = ssh(joined, HOST, f"cat {template}")
        assert '{{ template "base" . }}' in text.splitlines() and 'runtimes."nvidia"]' in text
        assert ssh(joined, HOST, f"cat /var/log/{service}.calls").split() == ["stop", "start"]
        assert ssh(joined, HOST, f"md5sum {ROLE['containerd_config_files']['kubeadm']}") == kubeadm_config

        again, cordoned = roll(joined)
        assert cordoned == [] and again["changed"] == 0, "nothing pending: no drain, no restart"
        assert ssh(joined, HOST, f"cat /var/log/{service}.calls").split() == ["stop", "start"]
        assert failing_checks() == set(), "verify reads the runtime from the layout's template"
    finally:
        ssh(joined, HOST, f"rm -rf {data_dir} /etc/init.d/{service} /var/log/{service}.calls")


def test_a_runtime_change_on_a_kubeadm_node_rolls_it(joined: core.LabState) -> None:
    config = ROLE["containerd_config_files"]["kubeadm"]
    service = ROLE["containerd_services"]["kubeadm"]
    assert ssh(joined, HOST, f"test -e /etc/init.d/{service} || echo absent").strip() == "absent"
    ssh(joined, HOST, f"echo '# changed by hand' >> {config} && {init_script(service)}")
    try:
        _, cordoned = roll(joined)
        assert cordoned == [HOST]
        assert "# changed by hand" not in ssh(joined, HOST, f"cat {config}")
        assert ssh(joined, HOST, f"cat /var/log/{service}.calls").split() == ["stop", "start"]
        _, cordoned = roll(joined)
        assert cordoned == []
    finally:
        ssh(joined, HOST, f"rm -f /etc/init.d/{service} /var/log/{service}.calls")
