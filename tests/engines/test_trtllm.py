"""TensorRT-LLM's trtllm-serve: image, command line (checked against the options of its released source), endpoints,
metrics and memory accounting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from gpuctl.engines import trtllm
from gpuctl.model import Deployment
from gpuctl.model.serving import RankMemory, SchedulerLimits, SchedulerRequest

ENGINE = trtllm.ENGINE
SERVE = json.loads((Path(__file__).parent / "fixtures" / "trtllm-serve-options.json").read_text())


def sizes(limits: SchedulerLimits) -> tuple[int, int]:
    return limits.max_num_seqs, limits.max_num_batched_tokens


def deployment(**fields: object) -> Deployment:
    return Deployment.model_validate(
        {"name": "chat", "model": "llama-3.1-8b", "node_pool": "h100", "engine": "trtllm", **fields}
    )


def test_image_command_and_endpoints() -> None:
    dep = deployment(target_concurrency=64, prompt_tokens=2000)
    assert ENGINE.image(None) == "nvcr.io/nvidia/tensorrt-llm/release:1.0.0"
    assert ENGINE.command(dep) == ["trtllm-serve", "serve"]
    assert ENGINE.args(dep, 8192) == [
        "/models/llama-3.1-8b", "--host", "0.0.0.0", "--port", "8000", "--backend", "pytorch",
        "--tp_size", "1", "--pp_size", "1", "--max_batch_size", "64", "--max_num_tokens", "2304",
        "--max_seq_len", "8192", "--kv_cache_free_gpu_memory_fraction", "0.9",
    ]  # fmt: skip
    assert ENGINE.files(dep, 8192) == {}
    assert (ENGINE.port, ENGINE.liveness_path, ENGINE.readiness_path) == (8000, "/health", "/health")
    assert (ENGINE.metrics_port, ENGINE.metrics_path) == (8000, "/prometheus/metrics")


@pytest.mark.parametrize(
    ("fields", "algo"),
    [({"precision": "fp8"}, {"quant_algo": "FP8"}),
     ({"precision": "fp8", "kv_cache_dtype": "fp8"}, {"quant_algo": "FP8", "kv_cache_quant_algo": "FP8"}),
     ({"precision": "int8"}, {"quant_algo": "W8A16"}),
     ({"precision": "int8", "quantization_method": "gptq"}, {"quant_algo": "W8A16_GPTQ"}),
     ({"precision": "int4"}, {"quant_algo": "W4A16_AWQ"}),
     ({"precision": "int4", "quantization_method": "gptq"}, {"quant_algo": "W4A16_GPTQ"})],
)  # fmt: skip
def test_quantization_reaches_the_llm_api_options(fields: dict[str, str], algo: dict[str, str]) -> None:
    dep = deployment(**fields)
    args = ENGINE.args(dep, None)
    assert args[args.index("--backend") + 1] == "tensorrt"  # the TensorRT backend builds the quantized engine
    assert args[-2:] == ["--extra_llm_api_options", "/etc/gpuctl/engine/extra-llm-api-options.yaml"]
    [(name, text)] = ENGINE.files(dep, None).items()
    assert name == "extra-llm-api-options.yaml" and yaml.safe_load(text) == {"quant_config": algo}
    assert set(algo.values()) <= set(SERVE["quant_algos"]) | set(SERVE["kv_cache_quant_algos"])


def test_an_fp8_kv_cache_alone_is_the_kv_cache_config_dtype() -> None:
    [(_, text)] = ENGINE.files(deployment(kv_cache_dtype="fp8"), None).items()
    assert yaml.safe_load(text) == {"kv_cache_config": {"dtype": "fp8"}}


@pytest.mark.parametrize(
    "fields",
    [{}, {"precision": "fp8", "kv_cache_dtype": "fp8", "tensor_parallel_size": 4, "pipeline_parallel_size": 2},
     {"precision": "int4", "target_concurrency": 8, "max_model_len": 4096}],
)  # fmt: skip
def test_every_rendered_option_is_one_trtllm_serve_defines(fields: dict[str, object]) -> None:
    """Options checked against tensorrt_llm/commands/serve.py (fixture: trtllm-serve-options.json)."""
    args = ENGINE.args(deployment(**fields), 2048)
    options = {a.removeprefix("--") for a in args if a.startswith("--")}
    assert options and options <= set(SERVE["options"])
    assert args[args.index("--backend") + 1] in SERVE["backends"]
    assert not args[0].startswith("--")  # the MODEL argument comes first


def test_a_misspelt_option_would_fail_the_fixture_check() -> None:
    assert "tensor_parallel" not in SERVE["options"] and "kv_cache_free_gpu_mem_fraction" not in SERVE["options"]


def test_trtllm_serve_as_rendered_exports_no_metrics() -> None:
    """trtllm-serve 1.0.0 has no Prometheus endpoint (tests/obs/test_trtllm_metrics.py checks the table against the
    release's fixture); whatever version a deployment names, gpuctl does not turn on `return_perf_metrics`."""
    assert ENGINE.metrics(None) == {} and ENGINE.metrics("1.2.0") == {}
    assert all("return_perf_metrics" not in text for text in ENGINE.files(deployment(precision="fp8"), 8192).values())


def test_kv_cache_is_a_fraction_of_free_memory() -> None:
    profile = ENGINE.memory_profile(None)
    used = RankMemory(15.0, 1.0, 0.13, 0.0)
    assert profile.kv_cache_gib(80.0, 0.5, used) == pytest.approx((80 - 15 - 1 - 0.13) * 0.9)  # utilization unused
    nothing_free = RankMemory(90.0, 1.0, 0.13, 0.0)
    assert profile.kv_cache_gib(80.0, 0.9, nothing_free) == 0.0
    assert (profile.version, profile.block_size, profile.graphs_in_budget) == ("trtllm", 32, True)
    assert sizes(profile.scheduler(SchedulerRequest("h100-sxm5-80gb", 79.18, 8192, None, None))) == (256, 8192)
    assert sizes(profile.scheduler(SchedulerRequest("h100-sxm5-80gb", 79.18, 8192, 64, 2048))) == (64, 2048)
    assert profile.cuda_graph_gib(80, 8) == 0.0 and profile.sampler_bytes_per_logit == 0.0
