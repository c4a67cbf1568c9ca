"""Parameter counts and per-rank weight bytes from a model's shapes.

Sharding follows vLLM's parallel layers: column/row-parallel linears and the vocab-parallel embedding are split
over tp ranks (vocab padded to a multiple of 64 first); norms, routers and MLA's down-projections
(ReplicatedLinear) are whole on every rank; when tp exceeds the KV heads, K/V projections are replicated so each
rank holds one KV head. Sources (vLLM 0.11.0): vllm/model_executor/layers/linear.py (QKVParallelLinear),
https://github.com/vllm-project/vllm/blob/v0.11.0/vllm/model_executor/layers/linear.py, and
vllm/model_executor/layers/vocab_parallel_embedding.py (DEFAULT_VOCAB_PADDING_SIZE),
https://github.com/vllm-project/vllm/blob/v0.11.0/vllm/model_executor/layers/vocab_parallel_embedding.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model.arch import ModelArch

VOCAB_PADDING = 64  # vLLM DEFAULT_VOCAB_PADDING_SIZE


@dataclass(frozen=True)
class ParamSplit:
    sharded_linear: int  # quantizable weights split over tp
    replicated_linear: int  # quantizable weights whole on every rank (KV replicas, MLA down-projections)
    embeddings: int  # embedding + lm_head, split over tp, kept in the model dtype
    replicated_other: int  # norms, biases, routers: model dtype, whole on every rank
    total: int  # the checkpoint's parameter count (no padding, no replicas)


def _pad(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple


def split(arch: ModelArch, tp: int) -> ParamSplit:
    h, hd, L = arch.hidden_size, arch.head_dim, arch.num_layers
    q_out = arch.num_heads * hd
    sharded = 0
    replicated = 0
    other = arch.norms_per_layer * h * L + h  # layer norms + final norm

    if arch.mla is not None:
        m = arch.mla
        qk = m.qk_nope_head_dim + m.qk_rope_head_dim
        per_layer_rep = h * (m.kv_lora_rank + m.qk_rope_head_dim)  # kv_a_proj_with_mqa
        other += m.kv_lora_rank * L  # kv_a_layernorm
        if m.q_lora_rank:
            per_layer_rep += h * m.q_lora_rank  # q_a_proj
            other += m.q_lora_rank * L
            sharded += m.q_lora_rank * arch.num_heads * qk * L  # q_b_proj
        else:
            sharded += h * arch.num_heads * qk * L
        sharded += m.kv_lora_rank * arch.num_heads * (m.qk_nope_head_dim + m.v_head_dim) * L  # kv_b_proj
        sharded += arch.num_heads * m.v_head_dim * h * L  # o_proj
        replicated += per_layer_rep * L
        total_attn = per_layer_rep * L
    else:
        kv_out = arch.num_kv_heads * hd
        sharded += (h * q_out + q_out * h) * L  # q_proj, o_proj
        kv_params = 2 * h * kv_out * L
        if tp > arch.num_kv_heads:
            replicated += 2 * h * hd * L  # each rank holds one KV head's projections
            total_attn = kv_params
        else:
            sharded += kv_params
            total_attn = 0
        if arch.qkv_bias:
            other += (q_out + 2 * kv_out) * L

    if arch.moe is None:
        sharded += 3 * h * arch.intermediate_size * L
    else:
        moe = arch.moe
        dense = moe.first_dense_layers
        sharded += 3 * h * arch.intermediate_size * dense
        moe_layers = L - dense
        expert = 3 * h * moe.expert_intermediate_size
        shared = 3 * h * (moe.shared_intermediate_size or moe.expert_intermediate_size) * moe.shared_experts
        sharded += (moe.num_experts * expert + shared) * moe_layers
        other += h * moe.num_experts * moe_layers  # router

    embed = arch.vocab_size * h * (1 if arch.tie_word_embeddings else 2)
    # The checkpoint holds each K/V (or MLA down-projection) once, whatever the replication on ranks.
    total = sharded + other + embed + total_attn
    padded_embed = _pad(arch.vocab_size, VOCAB_PADDING) * h * (1 if arch.tie_word_embeddings else 2)
    return ParamSplit(sharded, replicated, padded_embed, other, total)


def params(arch: ModelArch) -> int:
    return split(arch, 1).total


BYTES = {"fp32": 4.0, "bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": 0.5 + 2.5 / 128}
# int4 (AWQ/GPTQ, group 128): 4-bit packed weights plus an fp16 scale and a 4-bit zero per group.


@dataclass(frozen=True)
class RankWeights:
    layers: float  # bytes of all decoder layers on one tp rank (pp stages take their share)
    embed: float  # input embedding on one rank (first pipeline stage)
    lm_head: float  # output head on one rank (last stage; the same tensor as embed when tied)
    rotary: float  # cos/sin cache, on every rank

    def stage(self, layers: int, total_layers: int, first: bool, last: bool, tied: bool) -> float:
        head = self.lm_head if (last and not (tied and first)) else 0.0
        return self.layers * layers / total_layers + (self.embed if first else 0.0) + head + self.rotary


def rank_weights(arch: ModelArch, tp: int, weights: str) -> RankWeights:
    """Bytes of weights on one tensor-parallel rank, with `weights` the dtype of the quantizable linears."""
    s = split(arch, tp)
    base = BYTES[arch.dtype]
    linear = BYTES[weights]
    rotary_dim = arch.mla.qk_rope_head_dim if arch.mla else arch.head_dim
    embed_one = s.embeddings / (1 if arch.tie_word_embeddings else 2) / tp * base
    return RankWeights(
        layers=s.sharded_linear / tp * linear + s.replicated_linear * linear + s.replicated_other * base,
        embed=embed_one,
        lm_head=0.0 if arch.tie_word_embeddings else embed_one,
        # cos/sin cache: max positions × rotary dim in the model dtype (log: Llama-3.1-8B +32 MiB)
        rotary=arch.max_position_embeddings * rotary_dim * base,
    )
