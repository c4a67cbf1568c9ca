"""Model architectures: the shapes that decide weight and KV-cache memory."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .base import CatalogId, PositiveInt, Strict, Text


class MoE(Strict):
    num_experts: PositiveInt
    experts_per_token: PositiveInt
    expert_intermediate_size: PositiveInt
    shared_experts: int = Field(default=0, ge=0)
    shared_intermediate_size: PositiveInt | None = None  # defaults to expert_intermediate_size
    first_dense_layers: int = Field(default=0, ge=0, description="Leading layers with a dense MLP.")
    expert_bias: bool = Field(default=False, description="Experts carry biases (gpt-oss).")


class Mla(Strict):
    """Multi-head latent attention (DeepSeek-V2/V3): the cache holds one latent per token and layer."""

    kv_lora_rank: PositiveInt
    qk_rope_head_dim: PositiveInt
    qk_nope_head_dim: PositiveInt
    v_head_dim: PositiveInt
    q_lora_rank: PositiveInt | None = None


class ModelArch(Strict):
    id: CatalogId
    name: Text
    num_layers: PositiveInt
    hidden_size: PositiveInt
    num_heads: PositiveInt
    num_kv_heads: PositiveInt
    head_dim: PositiveInt
    intermediate_size: PositiveInt
    vocab_size: PositiveInt
    max_position_embeddings: PositiveInt
    tie_word_embeddings: bool = False
    qkv_bias: bool = False
    norms_per_layer: PositiveInt = 2
    dtype: Literal["bf16", "fp16", "fp32"] = "bf16"
    sliding_window: PositiveInt | None = None
    sliding_window_layers: Literal["all", "alternate", "pattern"] | None = None
    sliding_window_pattern: int | None = Field(
        default=None, ge=2, le=1024, description="With 'pattern': every Nth layer keeps full attention (Gemma-3: 6)."
    )
    moe: MoE | None = None
    mla: Mla | None = None
    quantization: Literal["fp8", "int8", "int4", "mxfp4"] | None = Field(
        default=None,
        description="Weights as published (e.g. an FP8 or AWQ checkpoint; mxfp4: gpt-oss's MoE experts only).",
    )
    quant_group_size: int | None = Field(
        default=None,
        ge=-1,
        le=2**20,
        description="Weights per scale of a group-quantized int checkpoint (AWQ: 128); -1: one scale per channel.",
    )
    quant_zero_points: bool | None = Field(
        default=None, description="The int checkpoint stores zero points (asymmetric); None: as AWQ/GPTQ do."
    )
    params: int | None = Field(
        default=None, ge=1, le=10**14, description="Published parameter count, checked against the shapes."
    )
    source: Text = Field(min_length=3)

    @model_validator(mode="after")
    def _window(self) -> ModelArch:
        if (self.sliding_window is None) != (self.sliding_window_layers is None):
            raise ValueError("sliding_window and sliding_window_layers go together")
        if (self.sliding_window_layers == "pattern") != (self.sliding_window_pattern is not None):
            raise ValueError("sliding_window_layers 'pattern' and sliding_window_pattern go together")
        if self.quant_group_size is not None and self.quant_group_size != -1 and self.quant_group_size < 8:
            raise ValueError(f"quant_group_size must be -1 (per channel) or ≥ 8, got {self.quant_group_size}")
        return self
