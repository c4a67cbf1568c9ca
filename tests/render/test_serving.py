"""The serving objects beyond a single pod: multi-node replicas (LeaderWorkerSet), autoscaling (KEDA), the router,
failure-domain spreading and PDBs; every object validated against the Kubernetes schemas and the real CRDs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from gpuctl.loader import load_site
from gpuctl.model import Site
from gpuctl.render import autoscaling, kschema, objects, router, serving
from tests.conftest import ROOT

FIXTURES = Path(__file__).parent / "fixtures"
RULES = ROOT / "tests" / "rules"


def site_of(path: Path) -> Site:
    return load_site(path).site


def by_key(objs: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["kind"], o["metadata"]["name"]): o for o in objs}


def gpus(pod: dict[str, Any]) -> str:
    container = pod["containers"][0]
    assert container["resources"]["limits"] == container["resources"]["requests"]
    return str(container["resources"]["limits"]["nvidia.com/gpu"])


def test_tp8_pp2_on_8_gpu_nodes_is_two_pods_of_8_gpus_per_replica() -> None:
    """The issue's case: 16 GPUs per replica on 8-GPU nodes renders a LeaderWorkerSet group of two 8-GPU pods."""
    site = site_of(RULES / "SRV002" / "pass.yaml")
    objs = by_key(serving.manifests(site))
    lws = objs[("LeaderWorkerSet", "d1")]
    kschema.validate(lws)
    group = lws["spec"]["leaderWorkerTemplate"]
    assert group["size"] == 2 and group["restartPolicy"] == "RecreateGroupOnPodRestart"
    leader, worker = group["leaderTemplate"]["spec"], group["workerTemplate"]["spec"]
    assert gpus(leader) == gpus(worker) == "8"
    assert "--pipeline-parallel-size 2" in leader["containers"][0]["args"][-1]
    assert "ports" not in worker["containers"][0]  # only the leader serves HTTP
    assert ("Deployment", "d1") not in objs
    assert objs[("PodDisruptionBudget", "d1")]["spec"]["maxUnavailable"] == 1  # a pod costs its group


def test_a_replica_that_fits_a_node_is_one_pod_with_all_its_gpus(tmp_path: Path) -> None:
    text = (RULES / "SRV002" / "pass.yaml").read_text().replace("tensor_parallel_size: 8", "tensor_parallel_size: 4")
    (tmp_path / "site.yaml").write_text(text)
    objs = by_key(serving.manifests(site_of(tmp_path / "site.yaml")))
    pod = objs[("Deployment", "d1")]["spec"]["template"]["spec"]
    assert gpus(pod) == "8" and "--pipeline-parallel-size" in pod["containers"][0]["args"]


def test_every_gpu_pod_uses_the_nvidia_runtime_and_needs_burn_in() -> None:
    for site_file in (ROOT / "inventories" / "fra1" / "site.yaml", RULES / "SRV002" / "pass.yaml"):
        pods = []
        for obj in objects.site_objects(site_of(site_file)):
            spec = obj.get("spec", {})
            if (
                obj["kind"] == "Deployment"
                and spec["template"]["metadata"]["labels"].get("gpuctl.io/component") == "engine"
            ):
                pods.append(spec["template"]["spec"])
            if obj["kind"] == "LeaderWorkerSet":
                group = spec["leaderWorkerTemplate"]
                pods += [group["leaderTemplate"]["spec"], group["workerTemplate"]["spec"]]
        assert pods
        for pod in pods:
            assert pod["runtimeClassName"] == "nvidia"
            [term] = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
                "nodeSelectorTerms"
            ]
            assert {
                "key": "node-restriction.kubernetes.io/gpuctl-burnin",
                "operator": "In",
                "values": ["passed"],
            } in term["matchExpressions"]
            keys = {(c["topologyKey"], c["whenUnsatisfiable"]) for c in pod["topologySpreadConstraints"]}
            assert keys == {
                ("topology.gpuctl.dev/rack", "DoNotSchedule"),
                ("topology.gpuctl.dev/pdu-feeds", "ScheduleAnyway"),
            }


@pytest.fixture(scope="module")
def fra1() -> Site:
    return site_of(ROOT / "inventories" / "fra1" / "site.yaml")


def test_the_scaled_object_scales_at_the_saturation_point(fra1: Site) -> None:
    dep = next(d for d in fra1.deployments if d.name == "llama-70b-chat")
    obj = by_key(serving.manifests(fra1))[("ScaledObject", "llama-70b-chat")]
    kschema.validate(obj)
    spec = obj["spec"]
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "llama-70b-chat"}
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (2, 4)
    [trigger] = spec["triggers"]
    assert trigger["type"] == "prometheus" and trigger["metricType"] == "AverageValue"
    assert trigger["metadata"]["query"] == (
        '(sum(vllm:num_requests_running{model_name="llama-3.1-70b"}) or vector(0)) + '
        '(sum(vllm:num_requests_waiting{model_name="llama-3.1-70b"}) or vector(0))'
    )
    assert trigger["metadata"]["threshold"] == "64"  # max_num_seqs: one replica's capacity
    # demand 64 (one full replica) keeps the minimum; 129 in flight needs a third; the maximum caps it
    assert [autoscaling.desired_replicas(dep, d) for d in (0, 64, 128, 129, 1000)] == [2, 2, 2, 3, 4]
    deployment = by_key(serving.manifests(fra1))[("Deployment", "llama-70b-chat")]
    assert "replicas" not in deployment["spec"]  # KEDA owns the count: an apply must not reset it mid-peak
    assert deployment["spec"]["template"]["spec"]["priorityClassName"] == "gpuctl-serving-100"
    [priority] = [o for o in serving.manifests(fra1) if o["kind"] == "PriorityClass"]
    assert priority["value"] == 100


def test_an_autoscaled_workload_leaves_its_replica_count_to_keda(tmp_path: Path) -> None:
    """Deployment and LeaderWorkerSet alike: `spec.replicas` only when nothing autoscales them."""
    text = (RULES / "SRV002" / "pass.yaml").read_text()
    for scaled in (False, True):
        extra = ", replicas: 2, autoscaling: {min_replicas: 1, max_replicas: 3}" if scaled else ", replicas: 2"
        for tp in (8, 4):  # a LeaderWorkerSet of two 8-GPU pods, a Deployment of one 8-GPU pod
            site_text = re.sub(
                r"(node_pool: \w+)",
                rf"\1{extra}",
                text.replace("tensor_parallel_size: 8", f"tensor_parallel_size: {tp}"),
                count=1,
            )
            (tmp_path / "site.yaml").write_text(site_text)
            [workload] = [
                o
                for o in serving.manifests(site_of(tmp_path / "site.yaml"))
                if o["kind"] in ("Deployment", "LeaderWorkerSet") and o["metadata"]["name"] == "d1"
            ]
            kschema.validate(workload)
            assert workload["kind"] == ("LeaderWorkerSet" if tp == 8 else "Deployment")
            assert workload["spec"].get("replicas") == (None if scaled else 2)


def test_scaled_object_schema_rejects_a_typo() -> None:
    bad = {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": "x"},
        "spec": {"scaleTargetRef": {"name": "x"}, "triggers": [{"type": "prometheus", "metadata": {}}]},
    }
    kschema.validate(bad)
    with pytest.raises(kschema.ManifestError, match="should be non-empty"):
        kschema.validate({**bad, "spec": {**bad["spec"], "triggers": []}})
    with pytest.raises(kschema.ManifestError, match="maxReplicas"):
        kschema.validate({**bad, "spec": {**bad["spec"], "maxReplicas": 3}})
    lws = {
        "apiVersion": "leaderworkerset.x-k8s.io/v1",
        "kind": "LeaderWorkerSet",
        "metadata": {"name": "x"},
        "spec": {"leaderWorkerTemplate": {"size": 2, "workerTemplate": {"spec": {"containers": []}}, "sise": 1}},
    }
    with pytest.raises(kschema.ManifestError, match="sise"):
        kschema.validate(lws)


def router_options() -> tuple[set[str], set[str]]:
    text = (FIXTURES / "vllm-router-0.1.17-help.txt").read_text()
    options = set(re.findall(r"^\s+(--[a-z][a-z0-9-]*)", text, re.M))
    policies = set(re.search(r"--policy \{([a-z_,]+)\}", text).group(1).split(","))  # type: ignore[union-attr]
    return options, policies


def test_router_command_uses_only_options_vllm_router_defines(fra1: Site) -> None:
    options, policies = router_options()
    dep = next(d for d in fra1.deployments if d.name == "llama-70b-chat")
    for cmd in (router.router_command(fra1, dep), router.router_command(fra1, dep, ["http://127.0.0.1:8001"])):
        assert cmd[0] == "vllm-router"
        used = {a for a in cmd if a.startswith("--")}
        assert used <= options, used - options
        assert cmd[cmd.index("--policy") + 1] in policies
    discovered = router.router_command(fra1, dep)
    at = discovered.index("--selector")
    assert discovered[at + 1 : at + 3] == ["gpuctl.io/deployment=llama-70b-chat", "gpuctl.io/component=engine"]
    assert discovered[discovered.index("--service-discovery-port") + 1] == "8000"
    assert "--worker-urls" not in discovered


def test_router_is_replicated_with_a_pdb_and_may_read_pods(fra1: Site) -> None:
    objs = by_key(serving.manifests(fra1))
    deployment = objs[("Deployment", "llama-70b-chat-router")]
    assert deployment["spec"]["replicas"] == 2
    assert objs[("PodDisruptionBudget", "llama-70b-chat-router")]["spec"]["maxUnavailable"] == 1
    role = objs[("Role", "llama-70b-chat-router")]
    assert role["rules"] == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == "llama-70b-chat-router"


def test_rolling_update_stays_inside_the_pdb(fra1: Site) -> None:
    for dep in fra1.deployments:
        objs = by_key(serving.manifests(fra1))
        rolling = objs[("Deployment", dep.name)]["spec"]["strategy"]["rollingUpdate"]
        pdb = objs[("PodDisruptionBudget", dep.name)]["spec"]
        assert rolling == {"maxSurge": 0, "maxUnavailable": 1} and pdb["maxUnavailable"] == dep.max_unavailable == 1


def test_weights_are_staged_by_an_init_container_with_the_token_from_a_secret(fra1: Site) -> None:
    objs = by_key(serving.manifests(fra1))
    pod = objs[("Deployment", "llama-70b-chat")]["spec"]["template"]["spec"]
    [init] = pod["initContainers"]
    env = {e["name"]: e.get("value") for e in init["env"]}
    assert env["STAGE_SOURCE_URL"] == "https://models.fra1.example.net/llama-3.1-70b-instruct"
    assert env["STAGE_SIZE_KIB"] == str(132 * 1024 * 1024)
    assert {"name": "models", "mountPath": "/models"} in init["volumeMounts"]  # writable for staging
    assert {"name": "models", "mountPath": "/models", "readOnly": True} in pod["containers"][0]["volumeMounts"]
    script = objs[("ConfigMap", "llama-70b-chat-stage")]["data"]["stage-weights.sh"]
    assert script.startswith("#!/bin/sh") and "sha256sum -c" in script
    assert "initContainers" not in objs[("Deployment", "qwen-7b-rag")]["spec"]["template"]["spec"]


def test_every_rendered_object_validates_and_has_a_unique_key(fra1: Site) -> None:
    objs = objects.site_objects(fra1)
    keys = [objects.object_key(o) for o in objs]
    assert len(keys) == len(set(keys))
    for obj in objs:
        kschema.validate(obj)
    kinds = {o["kind"] for o in objs}
    assert {"ScaledObject", "PodDisruptionBudget", "PriorityClass", "RuntimeClass", "ConfigMap"} <= kinds
    assert {"Namespace/inference", "Namespace/gpu-operator"} <= set(keys)
