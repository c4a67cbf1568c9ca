"""Faults: each gives a clear message naming the host and what to do, and a re-run or --resume finishes the job.

Runs after test_provision_lab.py (same session lab), so the hosts start provisioned."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from gpuctl.lab import core, faults

from .conftest import LAB_SITE
from .test_provision_lab import failing_checks, gpuctl, provision, ssh

pytestmark = pytest.mark.integration


def test_offline_mirror_run(lab: core.LabState) -> None:
    out = provision("--offline-mirror", f"{lab.repo_url}/mirror")
    assert out["rc"] == 0, out
    sources = ssh(lab, "lab-dgx-1", "cat /etc/apt/sources.list.d/gpuctl-nvidia.list")
    assert f"{lab.repo_url}/mirror" in sources


def test_package_missing_from_the_mirror(lab: core.LabState) -> None:
    ssh(lab, "lab-dgx-1", "dpkg -r nvidia-fabricmanager-550")
    out = gpuctl(
        "provision",
        "lab-a",
        "--site",
        str(LAB_SITE),
        "--lab",
        "--offline-mirror",
        f"{lab.repo_url}/partial",
        "--kubeconfig",  # lab-dgx-1 is a cluster node: a fabric manager change drains it first
        str(lab.kubeconfig),
        "-f",
        "json",
    )
    assert out.returncode == 1
    hosts = json.loads(out.stdout)["hosts"]
    assert [h for h, v in hosts.items() if v["status"] != "ok"] == ["lab-dgx-1"]
    assert "missing from the repository or mirror" in hosts["lab-dgx-1"]["hint"]
    # the complete mirror mends it
    assert (
        provision("--resume", "--offline-mirror", f"{lab.repo_url}/mirror", "--kubeconfig", str(lab.kubeconfig))["rc"]
        == 0
    )
    assert ("lab-dgx-1", "fabric-manager") not in failing_checks()


def test_unreachable_host_then_resume(lab: core.LabState) -> None:
    host = next(h for h in lab.hosts if h.name == "lab-l4-1")
    subprocess.run(["ip", "netns", "exec", host.netns, "ip", "link", "set", "eth0", "down"], check=True)
    try:
        out = gpuctl("provision", "lab-a", "--site", str(LAB_SITE), "--lab", "-f", "json")
        data = json.loads(out.stdout)
        assert out.returncode == 1
        assert data["hosts"]["lab-l4-1"]["status"] == "unreachable"
        assert all(v["status"] == "ok" for h, v in data["hosts"].items() if h != "lab-l4-1")
        assert "not reachable on SSH" in data["hosts"]["lab-l4-1"]["hint"]
    finally:
        subprocess.run(["ip", "netns", "exec", host.netns, "ip", "link", "set", "eth0", "up"], check=True)
    resumed = provision("--resume")
    assert resumed["rc"] == 0 and set(resumed["hosts"]) == {"lab-l4-1"}


def test_changed_host_key_is_refused(lab: core.LabState) -> None:
    known = Path(lab.known_hosts)
    original = known.read_text()
    other = next(line for line in original.splitlines() if line.startswith("lab-l40s-2,"))
    forged = [
        f"lab-l40s-1,{line.split(',', 1)[1].split(' ', 1)[0]} {other.split(' ', 1)[1]}"
        if line.startswith("lab-l40s-1,")
        else line
        for line in original.splitlines()
    ]
    known.write_text("\n".join(forged) + "\n")
    try:
        out = gpuctl("provision", "lab-l40s-1", "--site", str(LAB_SITE), "--lab", "-f", "json")
        assert out.returncode == 1
        assert "does not match known_hosts" in json.loads(out.stdout)["hosts"]["lab-l40s-1"]["hint"]
    finally:
        known.write_text(original)


def test_wrong_ssh_key_is_reported(lab: core.LabState) -> None:
    auth = (
        Path(next(h.dir for h in lab.hosts if h.name == "lab-l40s-2")) / "upper" / "root" / ".ssh" / "authorized_keys"
    )
    original = auth.read_text()
    auth.write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHJhbmRvbWtleWZvcnRlc3Rpbmdvbmx5MDEyMzQ1Njc4OQ other\n")
    subprocess.run(["ssh", "-F", lab.ssh_config, "-O", "exit", "lab-l40s-2"], capture_output=True)
    try:
        out = gpuctl("provision", "lab-l40s-2", "--site", str(LAB_SITE), "--lab", "-f", "json")
        assert out.returncode == 1
        assert "SSH key was refused" in json.loads(out.stdout)["hosts"]["lab-l40s-2"]["hint"]
    finally:
        auth.write_text(original)


def test_gpu_mismatch_is_named_by_verify(lab: core.LabState) -> None:
    original = faults.read(lab, "lab-l40s-2")
    faults.inject(lab, "lab-l40s-2", gpu={i: {"name": "NVIDIA L4", "memory_mib": 23034} for i in range(4)})
    try:
        assert failing_checks() == {("lab-l40s-2", "gpus")}
        out = gpuctl("verify", "lab-l40s-2", "--site", str(LAB_SITE), "--lab", "-f", "json")
        assert out.returncode == 1
        gpus = next(r for r in json.loads(out.stdout) if r["check"] == "gpus")
        assert "sees 4× NVIDIA L4 (23034 MiB); declared 4× NVIDIA L40S (46068 MiB)" in gpus["message"]
    finally:
        faults.inject(lab, "lab-l40s-2", gpus=original["gpus"])
