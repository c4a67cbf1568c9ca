"""Which layers slide: Gemma-2 alternates, Gemma-3 keeps one global layer in six, `layer_types` says it outright;
only the global layers' KV cache grows with the context."""

from __future__ import annotations

from typing import Any

from gpuctl.vram import arch_from_hf_mapping
from gpuctl.vram.engine import _KvLayout

# google/gemma-3-27b-it config.json, text_config (https://huggingface.co/google/gemma-3-27b-it/blob/main/config.json)
GEMMA3_27B: dict[str, Any] = {
    "model_type": "gemma3_text",
    "num_hidden_layers": 62,
    "hidden_size": 5376,
    "num_attention_heads": 32,
    "num_key_value_heads": 16,
    "head_dim": 128,
    "intermediate_size": 21504,
    "vocab_size": 262208,
    "max_position_embeddings": 131072,
    "sliding_window": 1024,
    "sliding_window_pattern": 6,
    "torch_dtype": "bfloat16",
}


def test_gemma3_keeps_one_global_layer_in_six() -> None:
    arch = arch_from_hf_mapping(GEMMA3_27B, "gemma-3-27b config.json")
    assert (arch.sliding_window_layers, arch.sliding_window_pattern) == ("pattern", 6)
    layout = _KvLayout(arch, block=16, max_batched=8192, layers=62)
    assert (layout.full, layout.sliding) == (10, 52)  # layers 5, 11, ..., 59 are global


def test_layer_types_count_the_layers() -> None:
    types = (["sliding_attention"] * 3 + ["full_attention"]) * 6
    arch = arch_from_hf_mapping({**GEMMA3_27B, "num_hidden_layers": 24, "layer_types": types}, "layer_types")
    assert (arch.sliding_window_layers, arch.sliding_window_pattern) == ("pattern", 4)
    everywhere = arch_from_hf_mapping({**GEMMA3_27B, "layer_types": ["sliding_attention"] * 62}, "all sliding")
    assert everywhere.sliding_window_layers == "all"


def test_long_requests_cost_only_the_global_layers() -> None:
    """A 128K request needs blocks for the whole context in the global layers only; the sliding ones hold the
    window plus one batch of tokens (vLLM's SlidingWindowSpec)."""
    arch = arch_from_hf_mapping(GEMMA3_27B, "gemma-3-27b config.json")
    layout = _KvLayout(arch, block=16, max_batched=2048, layers=62)
    short, long = layout.blocks_needed(4096), layout.blocks_needed(131072)
    full_groups = -(-layout.full // layout.group_layers)
    assert long - short == full_groups * (131072 - 4096) // 16
