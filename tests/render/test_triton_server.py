"""One Triton server with several models (tests/render/fixtures/triton/site.yaml): one pod with the replica's GPUs,
every model of the repository loaded by name, each config.pbtxt valid for Triton's schema, the TensorRT-LLM models'
KV caches capped to share the GPUs, the Python model's code copied from the model cache, and `gpuctl render -o`
writing the repository's ConfigMap."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from gpuctl.engines import triton
from gpuctl.loader import load_site
from gpuctl.model import Site
from gpuctl.render import autoscaling, kschema, objects, serving
from gpuctl.rules import evaluate
from gpuctl.rules.triton import shared_gpus
from tests.cli.test_validate_cli import gpuctl
from tests.engines.triton_schema import compile_model_config, parse

SITE = Path(__file__).parent / "fixtures" / "triton" / "site.yaml"


@pytest.fixture(scope="module")
def site() -> Site:
    return load_site(SITE).site


@pytest.fixture(scope="module")
def pb2(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    return compile_model_config(tmp_path_factory.mktemp("triton-proto"))


def find(objs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name)


def test_one_server_loads_every_model_of_its_repository(site: Site, pb2: ModuleType) -> None:
    objs = objects.site_objects(site)
    for obj in objs:
        kschema.validate(obj)  # the Kubernetes schemas (and the CRDs) of everything the site renders
    assert [o["metadata"]["name"] for o in objs if o["kind"] in ("Deployment", "LeaderWorkerSet")] == [
        "chat", "chat-router"
    ]  # fmt: skip
    pod = find(objs, "Deployment", "chat")["spec"]["template"]["spec"]
    engine = pod["containers"][0]
    assert engine["resources"]["limits"]["nvidia.com/gpu"] == "1"
    repository = find(objs, "ConfigMap", "chat-engine")["data"]
    configs = {
        k.removeprefix("repository__").removesuffix("__config.pbtxt"): v
        for k, v in repository.items()
        if k.endswith("__config.pbtxt")
    }
    # the OpenAI frontend's in-process server loads every model of the repository: exactly these nine
    assert sorted(triton.ENGINE.model_names(site.deployments[0])) == sorted(configs) and len(configs) == 9
    assert engine["command"][0] == "python3"
    assert engine["ports"] == [{"name": "http", "containerPort": 9000, "protocol": "TCP"}]  # OpenAI and metrics
    assert engine["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    for name, text in configs.items():
        assert parse(pb2, text).name == name
        assert "${" not in text
    # every ensemble's steps are models of this repository
    for name in ("llama-3.1-8b", "summarize"):
        steps = [s.model_name for s in parse(pb2, configs[name]).ensemble_scheduling.step]
        assert steps and set(steps) <= set(configs), name


def test_the_tensorrt_llm_models_share_the_gpu_within_the_memory_model(site: Site, pb2: ModuleType) -> None:
    dep = site.deployments[0]
    shared = shared_gpus(site, dep)
    assert shared is not None and shared.fits
    assert [m.name for m in shared.models] == ["chat", "summarize"]
    repository = serving.engine_files(site, dep)
    caps = []
    for step, model in (("tensorrt_llm", shared.models[0]), ("summarize-tensorrt_llm", shared.models[1])):
        params = parse(pb2, repository[f"repository__{step}__config.pbtxt"]).parameters
        cap = int(params["max_tokens_in_paged_kv_cache"].string_value)
        assert params["max_attention_window_size"].string_value == str(model.prediction.max_model_len)
        assert cap >= model.prediction.max_model_len  # at least one full-length sequence each
        caps.append(cap * model.prediction.kv_bytes_per_token / 2**30)
    # together the caps stay inside the KV memory left after both models' weights and activations
    assert sum(caps) <= shared.kv_gib + 1e-6
    assert shared.fixed_gib + shared.kv_gib <= shared.total_gib
    assert shared.fixed_gib > sum(m.prediction.weights_gib for m in shared.models)


def test_the_python_model_s_code_comes_from_the_model_cache(site: Site) -> None:
    pod = find(objects.site_objects(site), "Deployment", "chat")["spec"]["template"]["spec"]
    inits = {c["name"]: c for c in pod["initContainers"]}
    assert list(inits) == ["stage-weights", "stage-weights-1", "build-engine", "build-engine-1", "prepare-repository"]
    assert [e["value"] for e in inits["stage-weights-1"]["env"] if e["name"] == "STAGE_DEST"] == [
        "/models/rerankers/bge"
    ]
    script = inits["prepare-repository"]["command"][2]
    assert "cp /models/rerankers/bge/model.py /repository/rerank/1/model.py" in script
    assert pod["containers"][0]["args"][0] == "--model-repository=/repository"
    assert {"name": "repository", "emptyDir": {}} in pod["volumes"]


def test_both_engines_are_built_in_the_pod_from_one_converted_checkpoint(site: Site, pb2: ModuleType) -> None:
    """summarize is a second engine of the deployment's own model (a longer context, a smaller batch): both build
    init containers convert into the same keyed checkpoint (the first converts, the second finds it) and build
    their own engines."""
    dep = site.deployments[0]
    pod = find(objects.site_objects(site), "Deployment", "chat")["spec"]["template"]["spec"]
    build = next(c for c in pod["initContainers"] if c["name"] == "build-engine")
    assert build["image"] == pod["containers"][0]["image"]  # the backend's own TensorRT-LLM release builds
    assert build["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert {"name": "models", "mountPath": "/models"} in build["volumeMounts"]  # writable: the node's cache
    repository = serving.engine_files(site, dep)
    own = parse(pb2, repository["repository__tensorrt_llm__config.pbtxt"]).parameters["gpt_model_path"].string_value
    assert own.startswith("/models/llama-3.1-8b/trtllm-engines/") and own in build["command"][2]
    assert "--max_seq_len 8192" in build["command"][2]
    second = parse(pb2, repository["repository__summarize-tensorrt_llm__config.pbtxt"]).parameters
    other = next(c for c in pod["initContainers"] if c["name"] == "build-engine-1")
    path = second["gpt_model_path"].string_value
    assert path.startswith("/models/llama-3.1-8b/trtllm-engines/") and path != own and path in other["command"][2]
    assert "--max_seq_len 16384" in other["command"][2] and "--max_batch_size 16" in other["command"][2]
    checkpoint = [a for c in (build, other) for a in c["command"][2].split() if "/trtllm-checkpoints/" in a]
    assert len({a.split("/trtllm-checkpoints/")[1][:16] for a in checkpoint}) == 1


def test_a_python_model_on_the_gpu_takes_its_declared_memory_from_the_llms(tmp_path: Path, pb2: ModuleType) -> None:
    """One LLM and a Python model with 2 instances of 3 GiB on each GPU: the LLM's KV cache is capped to what is
    left after 6 GiB; at 60 GiB per instance the server no longer fits (SRV020)."""
    spec = yaml.safe_load(SITE.read_text())
    dep = spec["deployments"][0]
    dep["triton_models"] = [
        {
            "name": "embed",
            "backend": "python",
            "model": "embedders/e5",
            "gpu": True,
            "instance_count": 2,
            "gpu_memory_gib": 3,
        }
    ]
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(spec))
    site = load_site(path).site
    shared = shared_gpus(site, site.deployments[0])
    assert shared is not None and shared.other_gib == 6 and shared.fits
    alone = shared.models[0].prediction
    assert shared.fixed_gib == pytest.approx(alone.weights_gib + alone.activation_gib + alone.non_torch_gib + 6)
    text = serving.engine_files(site, site.deployments[0])["repository__tensorrt_llm__config.pbtxt"]
    params = parse(pb2, text).parameters
    assert int(params["max_tokens_in_paged_kv_cache"].string_value) == shared.kv_tokens[0]
    dep["triton_models"][0]["gpu_memory_gib"] = 60
    path.write_text(yaml.safe_dump(spec))
    findings = evaluate(load_site(path)).findings
    hit = next(f for f in findings if f.rule_id == "SRV020")
    assert "Python models 120.0 GiB" in hit.message


def test_render_writes_the_repository_config_map(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = gpuctl("render", str(SITE), "-o", str(out))
    assert done.returncode == 0, done.stderr
    written = yaml.safe_load((out / "inference" / "configmap-chat-engine.yaml").read_text())
    assert "repository__summarize-tensorrt_llm__config.pbtxt" in written["data"]
    assert written["data"]["repository__rerank__config.pbtxt"].startswith('name: "rerank"\nbackend: "python"')


def test_the_scaled_object_scales_on_every_llm_of_the_server(site: Site) -> None:
    """One trigger per TensorRT-LLM model, each on that model's tensorrt_llm step at its own capacity, validated
    against KEDA's CRD; the HPA takes the largest count, so the busy model scales the server while the other idles.
    The Python model (rerank) has no saturation point gpuctl knows and drives no trigger."""
    dep = site.deployments[0]
    obj = find(serving.manifests(site), "ScaledObject", dep.name)
    kschema.validate(obj)
    triggers = obj["spec"]["triggers"]
    assert [(t["name"], t["metadata"]["threshold"]) for t in triggers] == [
        ("tensorrt_llm", "32"),  # the deployment's model: target_concurrency 32
        ("summarize-tensorrt_llm", "16"),  # max_batch_size 16
    ]
    for t in triggers:
        query = t["metadata"]["query"]
        assert query.count(f'model="{t["name"]}"') == 2  # running (the backend's) and waiting (Triton's queue)
        assert 'request_type="scheduled"' in query and "nv_inference_pending_request_count" in query
    assert "rerank" not in str(triggers)
    # 20 requests on summarize alone (capacity 16) need a second replica; 20 on the chat model (capacity 32) do not
    assert autoscaling.desired_replicas(dep, [0, 20]) == 2
    assert autoscaling.desired_replicas(dep, [20, 0]) == 1
    assert autoscaling.desired_replicas(dep, [500, 500]) == 2  # max_replicas
