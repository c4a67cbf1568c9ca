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
from typing import Literal, get_args

from ..model.arch import ModelArch

VOCAB_PADDING = 64  # vLLM DEFAULT_VOCAB_PADDING_SIZE


@dataclass(frozen=True)
class ParamSplit:
    sharded_linear: int  # quantizable weights split over tp
    replicated_linear: int  # quantizable weights whole on every rank (KV replicas, MLA down-projections)
    embeddings: int  # embedding + lm_head, split over tp, kept in the model dtype
    replicated_other: int  # norms, biases, routers: model dtype, whole on every rank
    total: int  # the checkpoint's parameter count (no padding, no replicas)
    experts: int = 0  # the routed experts' weights (part of sharded_linear)


def _pad(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple


def split(arch: ModelArch, tp: int) -> ParamSplit:
    h, hd, L = arch.hidden_size, arch.head_dim, arch.num_layers
    q_out = arch.num_heads * hd
    sharded = 0
    experts = 0
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
        experts = moe.num_experts * expert * moe_layers
        other += h * moe.num_experts * moe_layers  # router

    embed = arch.vocab_size * h * (1 if arch.tie_word_embeddings else 2)
    # The checkpoint holds each K/V (or MLA down-projection) once, whatever the replication on ranks.
    total = sharded + other + embed + total_attn
    padded_embed = _pad(arch.vocab_size, VOCAB_PADDING) * h * (1 if arch.tie_word_embeddings else 2)
    if arch.moe is not None and arch.moe.expert_bias:
        total += arch.moe.num_experts * (2 * arch.moe.expert_intermediate_size + h) * (L - arch.moe.first_dense_layers)
    return ParamSplit(sharded, replicated, padded_embed, other, total, experts)


def params(arch: ModelArch) -> int:
    return split(arch, 1).total


BYTES = {"fp32": 4.0, "bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": 0.5 + 2.5 / 128, "mxfp4": 0.5 + 1 / 32}
# int4 without a known group (a spec's `precision: int4`): AWQ/GPTQ's group 128 with zero points, see packed_int_bytes.
DEFAULT_INT_GROUP = 128
MXFP4_BLOCK = 32  # values per e8m0 scale (OCP MX; vLLM 0.10.1 quantization/mxfp4.py:152 `mxfp4_block = 32`)


def packed_int_bytes(bits: int, group_size: int | None, zero_points: bool, scale_bytes: float = 2.0) -> float:
    """Bytes per weight of a packed int checkpoint as vLLM holds it. vLLM 0.10.1
    compressed_tensors/schemes/compressed_tensors_wNa16.py:111-163 (pack-quantized): `weight_packed` int32
    [out, in / (32 / bits)], `weight_scale` in the model dtype [out, in / group], and, when not symmetric,
    `weight_zero_point` int32 [out / (32 / bits), in / group]; GPTQ and AWQ (gptq.py, awq.py) hold the same three
    tensors transposed. Per weight: bits/8 + scale_bytes/group + (bits/8)/group. Per-channel scales
    (`group_size` None, strategy "channel"; w8a8's fp32 scale per output row) are one per input row: < 0.1 %, not
    counted."""
    weight = bits / 8
    if group_size is None:
        return weight
    return weight + scale_bytes / group_size + (weight / group_size if zero_points else 0.0)


# MXFP4 MoE kernels and how they pad the expert shapes (intermediate size per rank, hidden size), vLLM 0.10.1
# quantization/mxfp4.py: Marlin rounds to 128 / 256 (:156-173), FlashInfer to 256 / 256 (:174-180), the default
# (OpenAI's triton kernels) the intermediate size to 64 (:184-186); 0.11.0 pads the same (:189-226).
MXFP4_PADDING = {"marlin": (128, 256), "flashinfer": (256, 256), "triton_kernels": (64, 1)}
Mxfp4Kernel = Literal["auto", "marlin", "flashinfer", "triton_kernels"]  # "auto": `mxfp4_kernel` picks
MXFP4_KERNELS: tuple[str, ...] = get_args(Mxfp4Kernel)


def mxfp4_kernel(compute_capability: float | None, requested: str = "auto") -> str:
    """The MXFP4 MoE kernel vLLM picks in the vllm/vllm-openai image on a GPU of this compute capability (`requested`
    overrides: a pip install, or an image that adds packages).

    vLLM runs FlashInfer's kernels on Blackwell SM100 (capability 10.0 exactly) when FlashInfer is installed, OpenAI's
    triton kernels only when the optional `triton_kernels` package imports and torch is 2.8 or later, and Marlin
    otherwise (0.10.1 quantization/mxfp4.py:35-61 and :123-135; 0.11.0 `get_mxfp4_backend` :59-107; FlashInfer on
    Hopper only with VLLM_USE_FLASHINFER_MOE_MXFP4_BF16=1, off by default). No install ships `triton_kernels`: neither
    the wheel's requirements (requirements/cuda.txt and setup.py's extras of 0.10.1, 0.10.2 and 0.11.0; 0.10.1 also
    pins torch 2.7.1) nor the image (docker/Dockerfile of the same releases adds FlashInfer, not triton_kernels). So
    in the image every GPU but SM100 runs Marlin (its log line: "Weight-only FP4 compression will be used leveraging
    the Marlin kernel") and SM100 runs FlashInfer. A pip install has no FlashInfer (an extra): SM100 then runs Marlin
    in 0.10.2 and later ("marlin"), the triton path in 0.10.1; a site whose image adds triton_kernels asks for
    "triton_kernels"."""
    if requested != "auto":
        return requested
    if compute_capability == 10.0:
        return "flashinfer"
    return "marlin"


@dataclass(frozen=True)
class WeightFormat:
    """How the engine holds the quantizable linears: bytes per weight, which linears, and kernel padding."""

    name: str
    bytes_per_weight: float
    experts_only: bool = False  # MXFP4: only the MoE experts are packed, the rest stays in the model dtype
    # MoE expert shapes rounded up by the kernel: (intermediate size per rank, hidden size) multiples
    expert_pad: tuple[int, int] = (1, 1)


def weight_format(arch: ModelArch, requested: str, mxfp4_pad: tuple[int, int] = (1, 1)) -> WeightFormat:
    """The format of `requested` ("auto": the checkpoint's own) for `arch`."""
    name = (arch.quantization or arch.dtype) if requested == "auto" else requested
    if name == "mxfp4":
        return WeightFormat(name, BYTES["mxfp4"], experts_only=True, expert_pad=mxfp4_pad)
    if name in ("int4", "int8") and name == arch.quantization:
        bits = 4 if name == "int4" else 8
        group, zeros = arch.quant_group_size, arch.quant_zero_points
        if bits == 8 and group is None and zeros is None:  # W8A8 (int-quantized): per-channel scales
            return WeightFormat(name, BYTES["int8"])
        if group is None:  # not stated: AWQ/GPTQ's default group
            group = DEFAULT_INT_GROUP
        if zeros is None:  # not stated: GPTQ/AWQ checkpoints carry zero points
            zeros = True
        per_group = None if group == -1 else group
        return WeightFormat(name, packed_int_bytes(bits, per_group, zeros, BYTES[arch.dtype]))
    return WeightFormat(name, BYTES[name])


@dataclass(frozen=True)
class RankWeights:
    layers: float  # bytes of all decoder layers on one tp rank (pp stages take their share)
    embed: float  # input embedding on one rank (first pipeline stage)
    lm_head: float  # output head on one rank (last stage; the same tensor as embed when tied)
    rotary: float  # cos/sin cache, on every rank

    def stage(self, layers: int, total_layers: int, first: bool, last: bool, tied: bool) -> float:
        head = self.lm_head if (last and not (tied and first)) else 0.0
        return self.layers * layers / total_layers + (self.embed if first else 0.0) + head + self.rotary


def _expert_bytes(arch: ModelArch, tp: int, fmt: WeightFormat, base: float) -> tuple[float, float]:
    """(routed experts' weights, their biases) in bytes on one rank. vLLM's FusedMoE shards every expert's
    intermediate size over tp: w13 [E, 2 × I/tp, H] and w2 [E, H, I/tp] per layer, each dimension rounded up to the
    MoE kernel's multiple (`fmt.expert_pad`); biases (gpt-oss) w13_bias [E, 2 × I/tp] and w2_bias [E, H] in bf16
    (vLLM 0.10.1 quantization/mxfp4.py:186-258)."""
    moe = arch.moe
    if moe is None:
        return 0.0, 0.0
    pad_i, pad_h = fmt.expert_pad
    inter = _pad(-(-moe.expert_intermediate_size // tp), pad_i)
    hidden = _pad(arch.hidden_size, pad_h)
    layers = arch.num_layers - moe.first_dense_layers
    weights = moe.num_experts * 3 * inter * hidden * layers * fmt.bytes_per_weight
    bias = moe.num_experts * (2 * inter + hidden) * layers * base if moe.expert_bias else 0.0
    return weights, bias


def rank_weights(arch: ModelArch, tp: int, fmt: WeightFormat) -> RankWeights:
    """Bytes of weights on one tensor-parallel rank, with `fmt` the format of the quantizable linears (MXFP4: of
    the routed experts only; the other linears stay in the model dtype)."""
    s = split(arch, tp)
    base = BYTES[arch.dtype]
    linear = base if fmt.experts_only else fmt.bytes_per_weight
    experts, expert_bias = _expert_bytes(arch, tp, fmt, base)
    rotary_dim = arch.mla.qk_rope_head_dim if arch.mla else arch.head_dim
    embed_one = s.embeddings / (1 if arch.tie_word_embeddings else 2) / tp * base
    return RankWeights(
        layers=(s.sharded_linear - s.experts) / tp * linear
        + experts
        + expert_bias
        + s.replicated_linear * linear
        + s.replicated_other * base,
        embed=embed_one,
        lm_head=0.0 if arch.tie_word_embeddings else embed_one,
        # cos/sin cache: max positions × rotary dim in the model dtype (log: Llama-3.1-8B +32 MiB)
        rotary=arch.max_position_embeddings * rotary_dim * base,
    )
