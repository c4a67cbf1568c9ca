"""Cordon, drain and uncordon against the test Kubernetes API (gpuctl.lab.kube_api: real PodDisruptionBudgets,
schema validation of every object); the serving manifests the Pulumi program applies validate against the
Kubernetes schemas."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gpuctl.lab.kube_api import Server
from gpuctl.loader import load_site
from gpuctl.provision.k8s_api import NODE_CONFIG, configure_node, drain, uncordon
from gpuctl.render import kschema, serving
from tests.conftest import EXAMPLE


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[Server, str]]:
    with Server() as server:
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(server.kubeconfig())
        yield server, str(kubeconfig)


def test_every_serving_manifest_validates() -> None:
    manifests = serving.manifests(load_site(EXAMPLE).site)
    assert {m["kind"] for m in manifests} == {
        *("Deployment", "Service", "NetworkPolicy", "PodDisruptionBudget", "ConfigMap", "ScaledObject"),
        *("ServiceAccount", "Role", "RoleBinding", "PriorityClass"),
    }
    for m in manifests:
        kschema.validate(m)
    dep = next(m for m in manifests if m["kind"] == "Deployment" and m["metadata"]["name"] == "llama-70b-chat")
    container = dep["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["limits"] == container["resources"]["requests"] == {"nvidia.com/gpu": "4"}
    assert container["args"][container["args"].index("--tensor-parallel-size") + 1] == "4"
    assert dep["spec"]["template"]["spec"]["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"}
    ]


def test_drain_evicts_all_but_daemonsets_and_waits_out_a_pdb(api: tuple[Server, str]) -> None:
    server, kubeconfig = api
    c = server.cluster
    for node in ("gpu-a01", "gpu-a02", "gpu-a03"):
        c.add_node(node, gpus=4)
    c.add_pod("inference", "vllm-0", "gpu-a01", {"app": "vllm"})
    c.add_pod("inference", "vllm-1", "gpu-a01", {"app": "vllm"})
    c.add_pod("inference", "vllm-2", "gpu-a02", {"app": "vllm"})
    c.add_pod("gpu-operator", "dcgm-exporter-x", "gpu-a01", owner_kind="DaemonSet")
    # two of three replicas must stay up: one eviction at a time, each waiting for the replacement to run
    c.add_pdb("inference", "vllm", {"app": "vllm"}, minAvailable=2)
    changed, evicted = drain(kubeconfig, "gpu-a01", timeout_s=30)
    assert changed
    assert sorted(evicted) == ["inference/vllm-0", "inference/vllm-1"]
    assert c.get("nodes", None, "gpu-a01")["spec"]["unschedulable"] is True
    assert c.pods_on("gpu-a01") == ["gpu-operator/dcgm-exporter-x"]
    assert len(c.pods_on("gpu-a02")) + len(c.pods_on("gpu-a03")) == 3, "replacements run elsewhere"
    assert uncordon(kubeconfig, "gpu-a01") is True
    assert c.get("nodes", None, "gpu-a01")["spec"]["unschedulable"] is False
    assert uncordon(kubeconfig, "gpu-a01") is False


def test_drain_gives_up_when_a_pdb_never_allows(api: tuple[Server, str]) -> None:
    server, kubeconfig = api
    server.cluster.add_node("n1")
    server.cluster.add_pod("inference", "stuck", "n1", {"app": "one"})
    server.cluster.add_pdb("inference", "one", {"app": "one"}, maxUnavailable=0)
    with pytest.raises(RuntimeError, match="HTTP 429"):
        drain(kubeconfig, "n1", timeout_s=3)
    assert server.cluster.pods_on("n1") == ["inference/stuck"]


def test_provisioning_uncordons_only_what_it_cordoned(api: tuple[Server, str]) -> None:
    from gpuctl.provision.k8s_api import CORDONED_BY, cordoned_by_provisioning

    server, kubeconfig = api
    c = server.cluster
    c.add_node("mine")
    c.add_node("burnin-failed")
    drain(kubeconfig, "mine", timeout_s=5)
    assert c.get("nodes", None, "mine")["metadata"]["annotations"] == {CORDONED_BY: "provision"}
    assert cordoned_by_provisioning(kubeconfig, "mine") and not cordoned_by_provisioning(kubeconfig, "gone")
    # burn-in cordoned this one (no mark): provisioning leaves it cordoned
    c.get("nodes", None, "burnin-failed")["spec"]["unschedulable"] = True
    assert uncordon(kubeconfig, "burnin-failed") is False
    assert c.get("nodes", None, "burnin-failed")["spec"]["unschedulable"] is True
    assert uncordon(kubeconfig, "mine") is True
    node = c.get("nodes", None, "mine")
    assert node["spec"]["unschedulable"] is False and CORDONED_BY not in node["metadata"].get("annotations", {})


def test_configure_node_sets_the_specs_labels_and_taints_and_removes_only_its_own(api: tuple[Server, str]) -> None:
    server, kubeconfig = api
    node = server.cluster.add_node("gpu-a01", gpus=4)
    node["metadata"]["labels"] |= {"gpuctl.io/pool": "l40s", "owner.example/keep": "yes"}
    node["spec"]["taints"] = [{"key": "operator.example/maint", "effect": "NoExecute"}]
    gpu_taint = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
    assert configure_node(kubeconfig, "gpu-a01", {"gpuctl.io/pool": "l40s", "team": "search"}, [gpu_taint])
    got = server.cluster.get("nodes", None, "gpu-a01")
    assert got["metadata"]["labels"]["team"] == "search" and got["metadata"]["labels"]["owner.example/keep"] == "yes"
    assert got["spec"]["taints"] == [{"key": "operator.example/maint", "effect": "NoExecute"}, gpu_taint]
    assert not configure_node(kubeconfig, "gpu-a01", {"gpuctl.io/pool": "l40s", "team": "search"}, [gpu_taint])

    # the spec drops the team label and the taint: gone from the node; the operator's label and taint stay
    assert configure_node(kubeconfig, "gpu-a01", {"gpuctl.io/pool": "l40s"}, [], dry_run=True)
    assert server.cluster.get("nodes", None, "gpu-a01")["metadata"]["labels"]["team"] == "search", "dry run"
    assert configure_node(kubeconfig, "gpu-a01", {"gpuctl.io/pool": "l40s"}, [])
    got = server.cluster.get("nodes", None, "gpu-a01")
    assert "team" not in got["metadata"]["labels"] and got["metadata"]["labels"]["owner.example/keep"] == "yes"
    assert got["spec"]["taints"] == [{"key": "operator.example/maint", "effect": "NoExecute"}]
    assert got["metadata"]["annotations"][NODE_CONFIG] == '{"labels": ["gpuctl.io/pool"], "taints": []}'
