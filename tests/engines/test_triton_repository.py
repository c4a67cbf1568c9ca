"""The Triton model repository gpuctl generates: tensorrtllm_backend v0.17.0's ensemble filled from its own
templates, plain Python models, every config.pbtxt parsed by Triton's real ModelConfig schema (common r25.01)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from types import ModuleType

import pytest
from google.protobuf import text_format

from gpuctl.engines import triton, triton_repository
from gpuctl.engines.triton_repository import LlmModel, TemplateError
from gpuctl.model import Deployment

from .triton_schema import compile_model_config, parse

ENGINE = triton.ENGINE
TEMPLATES = Path(triton_repository.__file__).parent / triton_repository.TEMPLATE_DIR


@pytest.fixture(scope="module")
def pb2(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    return compile_model_config(tmp_path_factory.mktemp("triton-proto"))


def deployment(**fields: object) -> Deployment:
    return Deployment.model_validate(
        {"name": "chat", "model": "llama-3.1-8b", "node_pool": "h100", "engine": "triton", **fields}
    )


def configs(files: dict[str, str]) -> dict[str, str]:
    """config.pbtxt per model; the engine's files put the repository under `repository/`."""
    return {
        k.removeprefix("repository__").removesuffix("__config.pbtxt"): v
        for k, v in files.items()
        if k.endswith("__config.pbtxt")
    }


def test_the_templates_are_the_released_files() -> None:
    """Each vendored file has the SHA-256 recorded with its source path at tensorrtllm_backend v0.17.0."""
    source = json.loads((TEMPLATES / "SOURCE.json").read_text())
    assert source["tag"] == "v0.17.0" and len(source["commit"]) == 40
    on_disk = {str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*") if p.is_file() and p.name != "SOURCE.json"}
    assert on_disk == set(source["files"])
    for rel, entry in source["files"].items():
        assert hashlib.sha256((TEMPLATES / rel).read_bytes()).hexdigest() == entry["sha256"], rel
        assert entry["path"] == f"all_models/inflight_batcher_llm/{rel.removesuffix('.txt')}"


def test_the_schema_says_no(pb2: ModuleType) -> None:
    """The checker can fail: an unknown field, a wrong type, an unknown enum value."""
    assert parse(pb2, 'name: "m"\nbackend: "python"\nmax_batch_size: 8\n').max_batch_size == 8
    for bad in ("max_batch_sizes: 8", 'max_batch_size: "8"', "instance_group [ { kind: KIND_TPU } ]"):
        with pytest.raises(text_format.ParseError):
            parse(pb2, bad)


def test_every_config_of_the_ensemble_parses_with_triton_s_schema(pb2: ModuleType) -> None:
    dep = deployment(target_concurrency=48, tensor_parallel_size=2)
    files = ENGINE.files(dep, 16384)
    models = configs(files)
    assert set(models) == {"preprocessing", "tensorrt_llm", "postprocessing", "ensemble"}
    parsed = {name: parse(pb2, text) for name, text in models.items()}
    for name, config in parsed.items():
        assert config.name == name and config.max_batch_size == 48
        assert "${" not in models[name], name
    assert parsed["preprocessing"].backend == "python" == parsed["postprocessing"].backend
    assert parsed["tensorrt_llm"].backend == "tensorrtllm" and parsed["ensemble"].platform == "ensemble"
    assert parsed["tensorrt_llm"].model_transaction_policy.decoupled is True
    assert parsed["tensorrt_llm"].dynamic_batching.default_queue_policy.max_queue_size == 0
    params = {k: v.string_value for k, v in parsed["tensorrt_llm"].parameters.items()}
    assert params["gpt_model_type"] == "inflight_fused_batching"  # batching_strategy
    assert params["gpt_model_path"] == "/models/llama-3.1-8b"  # engine_dir
    assert params["kv_cache_free_gpu_mem_fraction"] == "0.9"
    assert params["max_attention_window_size"] == "16384"
    assert "max_tokens_in_paged_kv_cache" not in params  # one model: the fraction alone sizes the cache
    assert not any(v.startswith("${") for v in params.values())
    pre = {k: v.string_value for k, v in parsed["preprocessing"].parameters.items()}
    assert pre["tokenizer_dir"] == "/models/llama-3.1-8b" and pre["visual_model_path"] == ""
    steps = [s.model_name for s in parsed["ensemble"].ensemble_scheduling.step]
    assert steps == ["preprocessing", "tensorrt_llm", "postprocessing"]
    # the Python steps' code is the released code; tensorrt_llm and ensemble get an empty version directory
    assert files["repository__preprocessing__1__model.py"] == (TEMPLATES / "preprocessing/1/model.py.txt").read_text()
    assert files["repository__postprocessing__1__model.py"].startswith("# Copyright")
    assert {"repository__tensorrt_llm__1__.keep", "repository__ensemble__1__.keep"} <= set(files)


def test_each_template_placeholder_is_filled_or_its_optional_parameter_removed() -> None:
    """Mandatory placeholders of docs/model_config.md all get a value; what stays unset is an optional one."""
    llm = ENGINE.llm(deployment(), None)
    values = llm.values()
    for model in (*triton_repository.STEPS, triton_repository.ENSEMBLE):
        raw = triton_repository.template(f"{model}/config.pbtxt")
        live = "".join(line for line in raw.splitlines(keepends=True) if not line.startswith("#"))
        wanted = set(re.findall(r"\$\{(\w+)\}", live))
        unset = wanted - set(values) - set(triton_repository.FILL_DEFAULTS)
        assert unset <= triton_repository.OPTIONAL[model], (model, unset - triton_repository.OPTIONAL[model])
        assert "${" not in triton_repository.fill(model, values)
    with pytest.raises(TemplateError, match="engine_dir"):
        triton_repository.fill("tensorrt_llm", {k: v for k, v in values.items() if k != "engine_dir"})


def test_a_second_llm_gets_its_own_step_names_and_a_kv_cap(pb2: ModuleType) -> None:
    llm = LlmModel("summarize", "/models/m/engine", "/models/m", 4, 0.9, max_tokens_in_paged_kv_cache=12345)
    models = configs(llm.repository())
    assert set(models) == {"summarize", "summarize-preprocessing", "summarize-tensorrt_llm", "summarize-postprocessing"}
    ensemble = parse(pb2, models["summarize"])
    assert [s.model_name for s in ensemble.ensemble_scheduling.step] == [
        "summarize-preprocessing", "summarize-tensorrt_llm", "summarize-postprocessing",
    ]  # fmt: skip
    trt = parse(pb2, models["summarize-tensorrt_llm"])
    assert trt.parameters["max_tokens_in_paged_kv_cache"].string_value == "12345"


def test_a_python_model_on_the_gpu_declares_its_memory() -> None:
    with pytest.raises(ValueError, match="needs gpu_memory_gib"):
        deployment(triton_models=[{"name": "rerank", "backend": "python", "model": "rerankers/bge", "gpu": True}])


def test_a_python_model_config_parses(pb2: ModuleType) -> None:
    dep = deployment(
        triton_models=[
            {
                "name": "rerank",
                "backend": "python",
                "model": "rerankers/bge",
                "gpu": True,
                "instance_count": 2,
                "gpu_memory_gib": 3,
            }
        ]
    )
    files = ENGINE.files(dep, 8192)
    config = parse(pb2, files["repository__rerank__config.pbtxt"])
    assert (config.name, config.backend, config.max_batch_size) == ("rerank", "python", 8)
    assert config.instance_group[0].count == 2 and config.instance_group[0].kind == pb2.ModelInstanceGroup.KIND_GPU
    assert ENGINE.model_names(dep)[-1] == "rerank"
    assert "--load-model=rerank" in ENGINE.args(dep, 8192)
