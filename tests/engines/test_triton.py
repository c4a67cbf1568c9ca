"""Triton: its own engine and memory profile, which delegates to the TensorRT-LLM backend's and says so."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from gpuctl import catalog
from gpuctl.engines import triton, trtllm
from gpuctl.model import Deployment
from gpuctl.model.serving import RankMemory
from gpuctl.vram import EngineSettings, predict

ENGINE = triton.ENGINE
FIXTURES = Path(__file__).parent / "fixtures"


def test_image_and_metrics() -> None:
    assert ENGINE.image(None) == "nvcr.io/nvidia/tritonserver:25.01-trtllm-python-py3"
    assert ENGINE.readiness_path == "/v2/health/ready" and ENGINE.metrics_port == 8002
    assert set(ENGINE.metrics(None)) == {
        "request_success", "request_failure", "requests_waiting", "e2e_latency", "queue_time", "compute_time",
        "requests_running", "kv_cache_blocks_used", "kv_cache_blocks_max",
    }  # fmt: skip
    assert ENGINE.metrics(None)["requests_running"].selector == 'nv_trt_llm_request_metrics{request_type="scheduled"}'


def deployment(**fields: object) -> Deployment:
    return Deployment.model_validate(
        {"name": "chat", "model": "llama-3.1-8b", "node_pool": "h100", "engine": "triton", **fields}
    )


def test_the_server_runs_the_generated_repository_with_options_it_defines() -> None:
    """Options checked against triton-inference-server/server v2.54.0 src/command_line_parser.cc."""
    options = set(json.loads((FIXTURES / "tritonserver-v2.54.0-options.json").read_text())["options"])
    args = ENGINE.args(deployment(), 8192)
    assert ENGINE.command(deployment()) == ["tritonserver"]
    assert args[0] == "--model-repository=/etc/gpuctl/engine/repository"
    assert {a.removeprefix("--").partition("=")[0] for a in args} <= options
    assert "model-repo" not in options  # a misspelling would fail


def test_memory_is_the_tensorrt_llm_backend_s_under_its_own_name() -> None:
    profile = ENGINE.memory_profile(None)
    backend = trtllm.ENGINE.memory_profile(None)
    assert profile.backend is backend
    assert profile.version == "tensorrtllm backend"
    used = RankMemory(15, 1, 0.13, 0)
    assert profile.kv_cache_gib(80, 0.9, used) == backend.kv_cache_gib(80, 0.9, used)
    assert (profile.block_size, profile.graphs_in_budget) == (backend.block_size, backend.graphs_in_budget)


@pytest.mark.parametrize(("model", "gpu", "tp"), [("llama-3.1-8b", "h100-sxm5-80gb", 1), ("llama-3.1-70b", "l40s", 4)])
def test_a_prediction_for_triton_is_trtllm_s_numbers_with_a_note(model: str, gpu: str, tp: int) -> None:
    arch, spec = catalog.models()[model], catalog.builtin().gpus[gpu]
    s = EngineSettings(engine="trtllm", tensor_parallel_size=tp, max_model_len=8192)
    as_trtllm = predict(arch, spec, s, trtllm.ENGINE.memory_profile(None))
    as_triton = predict(arch, spec, dataclasses.replace(s, engine="triton"), ENGINE.memory_profile(None))
    assert (as_triton.engine, as_triton.engine_version) == ("triton", "tensorrtllm backend")
    assert as_triton.kv_cache_tokens == as_trtllm.kv_cache_tokens and as_triton.fits == as_trtllm.fits
    assert triton.BACKEND_NOTE in as_triton.notes and triton.BACKEND_NOTE not in as_trtllm.notes
