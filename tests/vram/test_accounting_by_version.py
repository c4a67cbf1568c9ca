"""What vLLM's sources say changes between releases, and that the memory profile follows it: which GPUs get V1's
large scheduler defaults, v0's chunked-prefill batch, the v0 sampler's sort path, and whether interleaved
sliding-window layers get only their window (engines/vllm.py cites file:line and tag for each)."""

from __future__ import annotations

import pytest

from gpuctl import catalog, engines
from gpuctl.model.serving import SchedulerRequest
from gpuctl.vram import EngineSettings, arch_from_hf_mapping, predict

from .test_sliding_window import GEMMA3_27B


def _limits(version: str, gpu_id: str, max_model_len: int = 8192) -> tuple[int, int, bool]:
    gpu = catalog.builtin().gpus[gpu_id]
    total = gpu.torch_total_gib if gpu.torch_total_gib is not None else (gpu.memory_mib or 0) / 1024
    limits = engines.memory_profile("vllm", version).scheduler(SchedulerRequest(gpu_id, total, max_model_len))
    return limits.max_num_seqs, limits.max_num_batched_tokens, limits.sliding_window_kv


@pytest.mark.parametrize(
    ("version", "gpu", "seqs", "batched"),
    [("0.8.4", "h100-sxm5-80gb", 1024, 8192), ("0.8.4", "a100-sxm4-80gb", 256, 2048),  # by name: h100/h200
     ("0.8.5", "a100-sxm4-80gb", 1024, 8192), ("0.8.5", "l40s", 256, 2048),  # by memory: >= 70 GiB
     ("0.9.2", "a100-sxm4-80gb", 256, 2048), ("0.11.0", "h200-sxm-141gb", 1024, 8192)],  # >= 70 GiB, not A100
)  # fmt: skip
def test_v1_large_defaults_by_version(version: str, gpu: str, seqs: int, batched: int) -> None:
    assert _limits(version, gpu)[:2] == (seqs, batched)


@pytest.mark.parametrize(("version", "batched"), [("0.6.3", 512), ("0.6.4", 512), ("0.6.5", 2048), ("0.7.2", 2048)])
def test_v0_chunked_prefill_batch_by_version(version: str, batched: int) -> None:
    assert _limits(version, "a100-sxm4-80gb", max_model_len=65536)[1] == batched
    assert _limits(version, "a100-sxm4-80gb", max_model_len=8192)[1] == 8192  # below 32K: a whole prompt


@pytest.mark.parametrize(("version", "window"), [("0.6.6", False), ("0.8.5", False), ("0.9.2", True), ("0.11.0", True)])
def test_sliding_window_layers_get_their_window_from_0_9(version: str, window: bool) -> None:
    assert _limits(version, "h100-sxm5-80gb")[2] is window
    arch = arch_from_hf_mapping(GEMMA3_27B, "gemma-3-27b config.json")
    gpu = catalog.builtin().gpus["h100-sxm5-80gb"]
    settings = EngineSettings(engine="vllm", engine_version=version, max_model_len=32768, tensor_parallel_size=2)
    p = predict(arch, gpu, settings, engines.memory_profile("vllm", version))
    full_attention_requests = p.kv_cache_tokens / 32768  # what the tokens hold when every layer pages them all
    if window:  # 52 of 62 layers hold a window plus one batch (1023 + 8192 tokens): over twice the 32K requests
        assert p.max_concurrency > 2 * full_attention_requests
    else:
        assert p.max_concurrency == pytest.approx(full_attention_requests, rel=0.01)


def test_v0_samples_with_the_sort_path() -> None:
    """v0's profile run samples max_num_seqs rows through the sort path (39 B per logit), so at 256 sequences of a
    128K vocabulary it peaks above an 8192-token forward pass of an 8B model."""
    arch = arch_from_hf_mapping(
        {"model_type": "llama", "num_hidden_layers": 32, "hidden_size": 4096, "num_attention_heads": 32,
         "num_key_value_heads": 8, "intermediate_size": 14336, "vocab_size": 128256, "max_position_embeddings": 8192,
         "torch_dtype": "bfloat16"},
        "Meta-Llama-3-8B config.json",
    )  # fmt: skip
    gpu = catalog.builtin().gpus["h100-sxm5-80gb"]
    settings = EngineSettings(engine="vllm", engine_version="0.6.6")
    p = predict(arch, gpu, settings, engines.memory_profile("vllm", "0.6.6"))
    assert p.activation_gib == pytest.approx(256 * 128256 * 39 / 2**30, rel=0.01)
