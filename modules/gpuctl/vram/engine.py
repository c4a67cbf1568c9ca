"""Predict what a serving engine allocates on each GPU, and whether it starts.

Follows the recommended algorithm of the shared reference (vram.md): torch-visible total per GPU,
weights per rank (sharded vs replicated, KV replication past the KV heads, vocab padding, rotary cache,
packed quantized sizes), the profile run's activation peak from the engine's own scheduler defaults,
non-torch memory, CUDA graphs inside or outside the budget by version, vLLM's KV page formula (GQA, MLA
latent on every rank, fp8 KV, sliding-window layers) and blocks as the minimum over pipeline stages.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from ..errors import UsageError
from ..model.arch import ModelArch
from ..model.hardware import GpuSpec
from . import profiles
from .weights import BYTES, rank_weights

GIB = float(2**30)
MIB = float(2**20)
DRIVER_RESERVE_MIB = 600  # nvidia-smi total minus torch total: 430-870 MiB on the GPUs in the reference


@dataclass(frozen=True)
class EngineSettings:
    engine: Literal["vllm", "trtllm"] = "vllm"
    engine_version: str = profiles.DEFAULT_VERSION
    tensor_parallel_size: int = 1
    pipeline_parallel_size: int = 1
    dtype: Literal["auto", "bf16", "fp16", "fp8", "int8", "int4"] = "auto"
    kv_cache_dtype: Literal["auto", "fp8"] = "auto"
    max_model_len: int | None = None
    gpu_memory_utilization: float = 0.9
    max_num_seqs: int | None = None
    max_num_batched_tokens: int | None = None
    block_size: int | None = None
    concurrency: int | None = None
    prompt_tokens: int | None = None
    output_tokens: int | None = None
    kv_cache_free_fraction: float = 0.9  # TensorRT-LLM LLM API default (0.85 in the older runtime)
    kv_correction_gib: float = 0.0  # a site's calibration: what its GPUs lose beyond the model (per rank)

    def check(self) -> None:
        problems = []
        if self.tensor_parallel_size < 1:
            problems.append("tensor parallel size must be ≥ 1")
        if self.pipeline_parallel_size < 1:
            problems.append("pipeline parallel size must be ≥ 1")
        if not 0 < self.gpu_memory_utilization <= 1:
            problems.append(f"gpu memory utilization must be in (0, 1], got {self.gpu_memory_utilization}")
        for name in (
            "max_model_len",
            "max_num_seqs",
            "max_num_batched_tokens",
            "block_size",
            "concurrency",
            "prompt_tokens",
            "output_tokens",
        ):
            value = getattr(self, name)
            least = 0 if name == "output_tokens" else 1
            if value is not None and value < least:
                problems.append(f"{name.replace('_', '-')} must be ≥ {least}, got {value}")
        if self.concurrency is not None and (self.prompt_tokens is None or self.output_tokens is None):
            problems.append("--concurrency needs --prompt-tokens and --output-tokens")
        if problems:
            raise UsageError("; ".join(problems))


@dataclass
class Prediction:
    model: str
    gpu: str
    engine: str
    engine_version: str
    tensor_parallel_size: int
    pipeline_parallel_size: int
    total_gib: float
    total_estimated: bool
    budget_gib: float
    weights_gib: float
    activation_gib: float
    non_torch_gib: float
    cuda_graph_gib: float
    cuda_graph_in_budget: bool
    kv_cache_gib: float
    kv_bytes_per_token: int
    block_size: int
    num_blocks: int
    kv_cache_tokens: int
    max_model_len: int
    max_model_len_supported: int
    fits: bool
    max_concurrency: float
    binding_constraint: str
    max_num_seqs: int
    max_num_batched_tokens: int
    workload_tokens: int | None = None
    workload_fits: bool | None = None
    workload_headroom_pct: float | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, float):
                data[key] = round(value, 4)
        return data


def torch_total_gib(gpu: GpuSpec) -> tuple[float, bool]:
    if gpu.torch_total_gib is not None:
        return gpu.torch_total_gib, False
    if gpu.memory_mib is None:
        raise UsageError(f"GPU {gpu.id} has no memory figure in the catalog; add memory_mib (as nvidia-smi shows it)")
    return (gpu.memory_mib - DRIVER_RESERVE_MIB) / 1024, True


def _weights_dtype(arch: ModelArch, requested: str) -> str:
    if requested == "auto":
        return arch.quantization or arch.dtype
    return requested


def _kv_bytes(arch: ModelArch, kv_dtype: str) -> float:
    if kv_dtype == "fp8":
        return 1.0
    return BYTES[arch.dtype]


def _stage_layers(num_layers: int, pp: int) -> list[int]:
    base, extra = divmod(num_layers, pp)
    return [base + (1 if i >= pp - extra else 0) for i in range(pp)]  # remainder to the last stages


class _KvLayout:
    """How many blocks a request of a given length needs, per vLLM's KV cache groups."""

    def __init__(self, arch: ModelArch, block: int, max_batched: int) -> None:
        self.block = block
        self.max_batched = max_batched
        L = arch.num_layers
        self.window = arch.sliding_window
        if arch.sliding_window_layers == "all":
            self.full, self.sliding = 0, L
        elif arch.sliding_window_layers == "alternate":
            self.sliding = L // 2
            self.full = L - self.sliding
        else:
            self.full, self.sliding = L, 0
        self.groups = [n for n in (self.full, self.sliding) if n]
        self.group_layers = min(self.groups)  # vLLM groups layers so every group has the same size
        self.n_groups = sum(-(-n // self.group_layers) for n in self.groups)

    def blocks_needed(self, tokens: int) -> int:
        full = -(-tokens // self.block)
        per_full_group = full
        need = 0
        if self.full:
            need += per_full_group * -(-self.full // self.group_layers)
        if self.sliding:
            assert self.window is not None
            span = min(self.window - 1 + self.max_batched, tokens)
            need += (-(-span // self.block) + 1) * -(-self.sliding // self.group_layers)
        return need


def predict(arch: ModelArch, gpu: GpuSpec, s: EngineSettings) -> Prediction:
    s.check()
    tp, pp = s.tensor_parallel_size, s.pipeline_parallel_size
    total, estimated = torch_total_gib(gpu)
    max_len = s.max_model_len or arch.max_position_embeddings
    notes: list[str] = []
    if estimated:
        notes.append(f"torch-visible total estimated as nvidia-smi {gpu.memory_mib} MiB − {DRIVER_RESERVE_MIB} MiB")
    if max_len > arch.max_position_embeddings:
        notes.append(f"max_model_len {max_len} exceeds the model's {arch.max_position_embeddings} positions")

    wdtype = _weights_dtype(arch, s.dtype)
    rw = rank_weights(arch, tp, wdtype)
    stages = _stage_layers(arch.num_layers, pp)
    kv_b = _kv_bytes(arch, s.kv_cache_dtype)
    if arch.mla is not None:
        per_layer_token = (arch.mla.kv_lora_rank + arch.mla.qk_rope_head_dim) * kv_b  # latent, every rank
    else:
        per_layer_token = 2 * max(1, arch.num_kv_heads // tp) * arch.head_dim * kv_b

    if s.engine == "trtllm":
        profile = None
        block = s.block_size or 32  # tokens_per_block default
        seqs = s.max_num_seqs or 256
        batched = s.max_num_batched_tokens or 8192
        graphs_in_budget = True
        graph_gib = 0.0
    else:
        try:
            profile = profiles.vllm_profile(s.engine_version)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        defaults = profiles.vllm_defaults(profile, total, gpu.id.startswith("a100"), max_len)
        block = s.block_size or 16
        seqs = s.max_num_seqs or defaults.max_num_seqs
        batched = s.max_num_batched_tokens or defaults.max_num_batched_tokens
        graphs_in_budget = profile.graphs_in_budget
        graph_gib = profiles.cuda_graph_gib(arch.num_layers, tp)
        if not profile.v1 and not defaults.chunked_prefill:
            notes.append(f"v0 profiles a whole {batched}-token prefill (chunked prefill off below 32K context)")

    inter = arch.intermediate_size
    if arch.moe is not None:
        moe = arch.moe
        inter = moe.experts_per_token * moe.expert_intermediate_size + moe.shared_experts * (
            moe.shared_intermediate_size or moe.expert_intermediate_size
        )
    act_bytes = BYTES[arch.dtype]
    forward = batched * (3 * inter / tp + 3 * arch.hidden_size) * act_bytes
    sampler_k = profile.sampler_bytes_per_logit if profile else 0.0
    sampler = seqs * arch.vocab_size * sampler_k
    non_torch = 0.0
    if profile is not None:
        non_torch = profile.non_torch_tp1_gib if tp * pp == 1 else profile.non_torch_tpn_gib
    else:
        non_torch = 0.13 if tp * pp == 1 else 0.55

    budget = total * s.gpu_memory_utilization
    layout = _KvLayout(arch, block, batched)
    worst: tuple[float, int, float, float, float] | None = None  # available, blocks, weights, act, stage layers
    for i, layers in enumerate(stages):
        first, last = i == 0, i == pp - 1
        weights = rw.stage(layers, arch.num_layers, first, last, arch.tie_word_embeddings) / GIB
        activation = max(forward, sampler if last else 0.0) / GIB
        if s.engine == "trtllm":
            free = total - weights - activation - non_torch
            available = max(0.0, free) * s.kv_cache_free_fraction
        else:
            available = budget - weights - activation - non_torch - (graph_gib if graphs_in_budget else 0.0)
        available -= s.kv_correction_gib
        page = per_layer_token * block * layout.group_layers
        blocks = int(available * GIB // page) if available > 0 else 0
        if worst is None or blocks < worst[1]:
            worst = (available, blocks, weights, activation, layers)
    assert worst is not None
    available, num_blocks, weights_gib, activation_gib, _ = worst

    tokens = num_blocks // layout.n_groups * block
    need = layout.blocks_needed(max_len)
    fits = available > 0 and num_blocks >= need
    lo, hi = 0, arch.max_position_embeddings  # largest length whose blocks fit
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if layout.blocks_needed(mid) <= num_blocks:
            lo = mid
        else:
            hi = mid - 1
    supported = lo if available > 0 else 0
    max_conc = num_blocks / need if need else 0.0

    if available <= 0:
        binding = "weights" if budget - weights_gib <= 0 else "weights+activation"
    elif not fits:
        binding = "max_model_len"
    else:
        binding = "none"

    pred = Prediction(
        model=arch.id,
        gpu=gpu.id,
        engine=s.engine,
        engine_version=s.engine_version if s.engine == "vllm" else "trtllm",
        tensor_parallel_size=tp,
        pipeline_parallel_size=pp,
        total_gib=total,
        total_estimated=estimated,
        budget_gib=budget,
        weights_gib=weights_gib,
        activation_gib=activation_gib,
        non_torch_gib=non_torch,
        cuda_graph_gib=graph_gib,
        cuda_graph_in_budget=graphs_in_budget,
        kv_cache_gib=available,
        kv_bytes_per_token=int(per_layer_token * arch.num_layers) if pp == 1 else int(per_layer_token * max(stages)),
        block_size=block,
        num_blocks=num_blocks,
        kv_cache_tokens=tokens,
        max_model_len=max_len,
        max_model_len_supported=supported,
        fits=fits,
        max_concurrency=max_conc,
        binding_constraint=binding,
        max_num_seqs=seqs,
        max_num_batched_tokens=batched,
        notes=notes,
    )
    if s.concurrency is not None and s.prompt_tokens is not None and s.output_tokens is not None:
        per_request = s.prompt_tokens + s.output_tokens
        wanted = s.concurrency * layout.blocks_needed(per_request)
        pred.workload_tokens = s.concurrency * per_request
        pred.workload_fits = fits and wanted <= num_blocks
        pred.workload_headroom_pct = (num_blocks / wanted - 1) * 100 if wanted else math.inf
        if fits and not pred.workload_fits:
            pred.binding_constraint = "concurrency"
    if not graphs_in_budget and s.engine == "vllm" and budget + graph_gib > total:
        notes.append(f"CUDA graphs (~{graph_gib:.2f} GiB) are captured outside the budget and exceed the GPU")
    return pred
