"""Monotonicity of the memory model over random settings."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from gpuctl import catalog
from gpuctl.vram import EngineSettings
from tests.vram import predict

MODELS = sorted(catalog.models())
GPUS = ["h100-sxm5-80gb", "h200-sxm-141gb", "a100-sxm4-80gb", "l40s", "l4", "a10", "rtx-4090", "b200"]

configs = st.builds(
    EngineSettings,
    engine=st.sampled_from(["vllm", "trtllm", "triton"]),
    engine_version=st.sampled_from(["0.6.3", "0.8.5", "0.10.1", "0.11.0", "0.33.0"]),
    tensor_parallel_size=st.sampled_from([1, 2, 4]),
    dtype=st.sampled_from(["auto", "bf16", "fp8", "int4"]),
    kv_cache_dtype=st.sampled_from(["auto", "fp8"]),
    max_model_len=st.sampled_from([None, 2048, 8192, 32768]),
    gpu_memory_utilization=st.floats(0.3, 0.95),
)


def run(model: str, gpu: str, s: EngineSettings):  # type: ignore[no-untyped-def]
    return predict(catalog.models()[model], catalog.builtin().gpus[gpu], s)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(MODELS), st.sampled_from(GPUS), configs)
def test_more_tensor_parallelism_never_shrinks_the_kv_cache_of_a_fitting_model(
    model: str, gpu: str, s: EngineSettings
) -> None:
    p = run(model, gpu, s)
    if not p.fits:
        return
    bigger = run(model, gpu, dataclasses.replace(s, tensor_parallel_size=s.tensor_parallel_size * 2))
    assert bigger.kv_cache_tokens >= p.kv_cache_tokens
    assert bigger.fits


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(MODELS), st.sampled_from(GPUS), configs, st.floats(0.0, 0.3))
def test_higher_utilization_never_turns_a_fit_into_a_no_fit(
    model: str, gpu: str, s: EngineSettings, more: float
) -> None:
    p = run(model, gpu, s)
    higher = run(model, gpu, dataclasses.replace(s, gpu_memory_utilization=min(1.0, s.gpu_memory_utilization + more)))
    assert higher.kv_cache_tokens >= p.kv_cache_tokens
    assert higher.fits or not p.fits


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(MODELS), st.sampled_from(GPUS), configs)
def test_fp8_kv_cache_never_holds_fewer_tokens(model: str, gpu: str, s: EngineSettings) -> None:
    auto = run(model, gpu, dataclasses.replace(s, kv_cache_dtype="auto"))
    fp8 = run(model, gpu, dataclasses.replace(s, kv_cache_dtype="fp8"))
    assert fp8.kv_cache_tokens >= auto.kv_cache_tokens
    assert fp8.fits or not auto.fits


def test_pipeline_stages_split_layers_as_vllm_does() -> None:
    """vLLM's get_pp_indices gives the remainder to the stages before the last (its docs' examples: 61 layers)."""
    from gpuctl.vram.engine import _stage_layers

    assert _stage_layers(61, 2) == [31, 30]
    assert _stage_layers(61, 4) == [15, 15, 16, 15]
    assert _stage_layers(27, 2) == [14, 13]
    assert _stage_layers(32, 4) == [8, 8, 8, 8]
