"""Triton: its own engine and memory profile, which delegates to the TensorRT-LLM backend's and says so."""

from __future__ import annotations

import dataclasses

import pytest

from gpuctl import catalog
from gpuctl.engines import triton, trtllm
from gpuctl.model.serving import RankMemory
from gpuctl.vram import EngineSettings, predict

ENGINE = triton.ENGINE


def test_image_and_metrics() -> None:
    assert ENGINE.image(None) == "nvcr.io/nvidia/tritonserver:25.01-py3"
    assert ENGINE.readiness_path == "/v2/health/ready" and ENGINE.metrics_port == 8002
    assert set(ENGINE.metrics(None)) == {
        "request_success", "request_failure", "requests_waiting", "e2e_latency", "queue_time", "compute_time",
    }  # fmt: skip


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
