"""Provisioning for real over SSH against the lab's hosts: twice (idempotent), verify, break, resume, upgrade."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from gpuctl.lab import core

from .conftest import LAB_SITE

pytestmark = pytest.mark.integration


def gpuctl(*args: str, timeout: int = 600, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from gpuctl.cli.app import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **env} if env else None,  # env: another lab instance (test_firewall_lab.py)
    )


def provision(*extra: str) -> dict:  # type: ignore[type-arg]
    out = gpuctl("provision", "lab-a", "--site", str(LAB_SITE), "--lab", "-f", "json", *extra)
    assert out.stdout, out.stderr
    data = json.loads(out.stdout)
    data["rc"] = out.returncode
    print(
        f"provision {' '.join(extra) or '(full)'}: {data['status']}, changed {data['changed']} in "
        f"{data['elapsed_s']} s: " + ", ".join(f"{h} {v['changed']}" for h, v in sorted(data["hosts"].items()))
    )
    return data


def failing_checks() -> set[tuple[str, str]]:
    out = gpuctl("verify", "lab-a", "--site", str(LAB_SITE), "--lab", "-f", "json")
    return {(r["host"], r["check"]) for r in json.loads(out.stdout) if not r["passed"]}


def ssh(lab: core.LabState, host: str, command: str) -> str:
    out = subprocess.run(["ssh", "-F", lab.ssh_config, host, command], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_provision_verify_break_resume(lab: core.LabState) -> None:
    assert len(lab.hosts) == 4
    assert len({h.gpu_name for h in lab.hosts}) == 3  # L40S, H100 (NVSwitch), L4

    # The session's lab is shared: test_kubernetes_lab.py may have provisioned these hosts already (it proves the
    # run from fresh hosts), so this first run need not change every host; the second must change none.
    first = provision()
    assert first["rc"] == 0 and first["status"] == "successful"
    assert set(first["hosts"]) == {h.name for h in lab.hosts}

    second = provision()
    assert second["rc"] == 0
    assert second["changed"] == 0, "a second run must change nothing"

    assert failing_checks() == set()

    ssh(lab, "lab-dgx-1", "dpkg -r nvidia-fabricmanager-550")
    ssh(lab, "lab-l40s-2", "/etc/init.d/nvidia-dcgm stop")
    # with its host engine stopped, DCGM cannot report the host's XIDs either (dcgmi fails as the real one does)
    assert failing_checks() == {
        ("lab-dgx-1", "fabric-manager"),
        ("lab-l40s-2", "dcgm-hostengine"),
        ("lab-l40s-2", "xid"),
    }

    # lab-dgx-1 is a node of the lab's cluster and its fabric manager change restarts the driver: it is drained
    # first (without a kubeconfig the run would stop before changing it)
    assert lab.kubeconfig
    mended = provision("--resume", "--kubeconfig", lab.kubeconfig)
    assert mended["rc"] == 0
    assert set(mended["hosts"]) == {"lab-dgx-1", "lab-l40s-2"}, "--resume re-runs only the broken hosts"
    assert failing_checks() == set()


def test_containerd_is_the_real_package_with_the_nvidia_runtime_merged(lab: core.LabState) -> None:
    """The real Debian containerd and runc from the lab's repository; the configuration as containerd itself merges
    it (its built-in defaults under gpuctl's file), read back from the real binary."""
    host = "lab-l4-1"
    assert "1.6.20~ds1" in ssh(lab, host, "containerd --version")
    assert ssh(lab, host, "dpkg-query -W -f='${Version}' runc") == "1.1.5+ds1-1+deb12u1"
    dump = ssh(lab, host, "containerd --config /etc/containerd/config.toml config dump")
    runtimes = 'plugins."io.containerd.grpc.v1.cri".containerd.runtimes'
    nvidia = dump.split(f"[{runtimes}.nvidia.options]", 1)[1].split("[", 1)[0]
    runc = dump.split(f"[{runtimes}.runc.options]", 1)[1].split("[", 1)[0]
    assert 'BinaryName = "/usr/bin/nvidia-container-runtime"' in nvidia and "SystemdCgroup = true" in nvidia
    assert "SystemdCgroup = true" in runc
    assert 'sandbox_image = "registry.k8s.io/pause:3.10"' in dump
    assert 'default_runtime_name = "runc"' in dump, "the NVIDIA runtime is not the default (RuntimeClass nvidia)"
    assert 'bin_dir = "/usr/lib/cni"' in dump, "Debian's defaults kept"


def test_network_role_renders_bonds_vlans_and_vfs(lab: core.LabState) -> None:
    netdev = ssh(lab, "lab-l40s-1", "cat /run/systemd/network/10-netplan-bond0.netdev")
    assert "Kind=bond" in netdev and "Mode=802.3ad" in netdev and "MIIMonitorSec=100ms" in netdev
    assert "MTUBytes=9000" in netdev
    vlan = ssh(lab, "lab-l40s-1", "cat /run/systemd/network/10-netplan-bond0.100.netdev")
    assert "Kind=vlan" in vlan and "Id=100" in vlan
    assert "virtual-function-count: 8" in ssh(lab, "lab-l40s-1", "cat /etc/netplan/60-gpuctl.yaml")
