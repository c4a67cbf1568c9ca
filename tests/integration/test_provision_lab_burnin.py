"""Burn-in and live verify on the lab's provisioned hosts, through the lab's test Kubernetes API (gpuctl.lab.kube_api),
where the nodes are those provisioning joined: kubeadm join with the rendered JoinConfiguration, then the stand-in
kubelet registers the Node (Ready, the pool's labels and taints, the GPUs its nvidia-smi lists). Faults are
injected into the hosts' hardware (gpuctl.lab.faults): low NCCL bus bandwidth on the DGX, an XID on the L4 server,
then a DGX with 7 of its 8 GPUs. Each stays cordoned or fails verify, which names it.

Runs after test_provision_lab.py (same session lab); provisions first so it does not depend on its order."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

from gpuctl.lab import core, faults
from gpuctl.loader import load_site
from gpuctl.provision.k8s_api import BURNIN_REASON, set_burnin_verdict
from gpuctl.render.k8s import BURNIN_LABEL

from .conftest import LAB_SITE
from .test_provision_lab import gpuctl, provision

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cluster(lab: core.LabState) -> Iterator[tuple[Any, str]]:
    """The lab's API with the nodes provisioning joined (no node is added through the API by the test); provisioned
    once for the module."""
    assert lab.kubeconfig
    assert provision()["rc"] == 0
    core_api = client.CoreV1Api(config.new_client_from_config(config_file=lab.kubeconfig))  # type: ignore[no-untyped-call]
    yield core_api, lab.kubeconfig


def read_node(core_api: Any, name: str) -> dict[str, Any]:
    return core_api.api_client.sanitize_for_serialization(core_api.read_node(name))  # type: ignore[no-any-return]


def burnin(kubeconfig: str, *extra: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    start = time.perf_counter()
    out = gpuctl("burnin", "lab-a", "--site", str(LAB_SITE), "--lab", "--kubeconfig", kubeconfig, "-f", "json", *extra)
    assert out.stdout, out.stderr
    data = json.loads(out.stdout)
    print(
        f"burnin: {time.perf_counter() - start:.1f} s wall ({data['elapsed_s']} s playbook); per host (dcgmi + "
        "all_reduce_perf): " + ", ".join(f"{n['host']} {n['elapsed_s']} s" for n in data["nodes"])
    )
    return out.returncode, {n["host"]: n for n in data["nodes"]}


def verify_failures(kubeconfig: str) -> dict[tuple[str, str], str]:
    out = gpuctl("verify", "lab-a", "--site", str(LAB_SITE), "--lab", "--kubeconfig", kubeconfig, "-f", "json")
    rows = json.loads(out.stdout)
    assert (out.returncode == 1) == any(not r["passed"] for r in rows)
    return {(r["host"], r["check"]): r["message"] for r in rows if not r["passed"]}


def test_burnin_gate_and_live_verify(lab: core.LabState, cluster: tuple[Any, str], tmp_path: Path) -> None:
    core_api, kubeconfig = cluster
    site = load_site(LAB_SITE).site
    for _, server in site.all_servers():  # joined and registered by the kubelet, Ready with the host's GPUs
        n = read_node(core_api, server.name)
        assert [c["status"] for c in n["status"]["conditions"] if c["type"] == "Ready"] == ["True"]
        assert n["status"]["allocatable"]["nvidia.com/gpu"] == str(site.gpu_count(server))
        assert n["metadata"]["labels"]["topology.gpuctl.dev/rack"] == "lab-a"
    before = {h: faults.read(lab, h) for h in ("lab-dgx-1", "lab-l4-1")}
    faults.inject(lab, "lab-dgx-1", nccl_busbw_gbs=300.0)
    faults.inject(lab, "lab-l4-1", gpu={2: {"xid": 79}})
    try:
        junit = tmp_path / "burnin.xml"
        rc, nodes = burnin(kubeconfig, "--junit", str(junit))
        assert rc == 1
        assert {h for h, n in nodes.items() if n["passed"]} == {"lab-l40s-1", "lab-l40s-2"}
        assert nodes["lab-dgx-1"]["reason"].startswith("nccl-allreduce: bus bandwidth 297.7 GB/s < 432 GB/s")
        assert nodes["lab-l4-1"]["reason"] == "xid: GPU 2 XID 79"
        assert junit.read_text().count("<failure") == 2

        for name in nodes:
            node = read_node(core_api, name)
            passed = nodes[name]["passed"]
            assert bool(node["spec"].get("unschedulable")) is (not passed), name
            assert (node["metadata"].get("labels", {}).get(BURNIN_LABEL) == "passed") is passed, name
        l4 = read_node(core_api, "lab-l4-1")
        assert l4["metadata"]["annotations"][BURNIN_REASON] == "xid: GPU 2 XID 79"

        failing = verify_failures(kubeconfig)
        assert set(failing) == {("lab-dgx-1", "node-burnin"), ("lab-l4-1", "xid"), ("lab-l4-1", "node-burnin")}
        assert failing[("lab-dgx-1", "node-burnin")].startswith("cordoned: nccl-allreduce: bus bandwidth 297.7")
        assert failing[("lab-l4-1", "xid")] == "GPU 2 XID 79"
    finally:
        for host, hw in before.items():
            faults.inject(lab, host, **hw)

    # Mended, the nodes pass a second burn-in at the known-hardware level and verify is green.
    rc, nodes = burnin(kubeconfig)
    assert rc == 0 and all(n["passed"] for n in nodes.values())
    # passing once made the L40S servers known hardware: the known-hardware level from then on
    assert nodes["lab-l40s-1"]["diag_level"] == nodes["lab-l40s-2"]["diag_level"] == 2
    assert not any(read_node(core_api, h)["spec"].get("unschedulable") for h in nodes)
    assert all(read_node(core_api, h)["metadata"]["labels"][BURNIN_LABEL] == "passed" for h in nodes)
    assert verify_failures(kubeconfig) == {}


def test_verify_fails_when_the_host_has_fewer_gpus_than_the_catalog(
    lab: core.LabState, cluster: tuple[Any, str]
) -> None:
    _, kubeconfig = cluster
    before = faults.read(lab, "lab-dgx-1")
    faults.inject(lab, "lab-dgx-1", remove_gpus=1)
    try:
        failing = verify_failures(kubeconfig)
        assert failing[("lab-dgx-1", "gpus")] == (
            "nvidia-smi sees 7× NVIDIA H100 80GB HBM3 (81559 MiB); declared 8× NVIDIA H100 80GB HBM3 (81559 MiB)"
        )
        rc, nodes = burnin(kubeconfig)
        assert rc == 1 and not nodes["lab-dgx-1"]["passed"]
        assert "8 requested but only 7 were found" in nodes["lab-dgx-1"]["reason"]
    finally:
        faults.inject(lab, "lab-dgx-1", **before)
        # the session's API is shared with later tests: the mended node passes again
        set_burnin_verdict(kubeconfig, "lab-dgx-1", True, "")
