"""Predict what a serving engine allocates on each GPU, and whether it starts.

Per tensor-parallel rank: the torch-visible total of the GPU, weights (sharded vs replicated, KV replication past
the KV heads, vocab padding, rotary cache, packed quantized sizes), the start-up profile run's activation peak,
then what the engine's memory profile says about the rest (scheduler defaults, sampler warm-up, non-torch memory,
CUDA graphs, how the KV budget is drawn), and the KV cache in vLLM-style pages: GQA, MLA latent on every rank,
fp8 KV, sliding-window layers, blocks as the minimum over pipeline stages. The algorithm follows vLLM's own
accounting (vllm/v1/worker/gpu_worker.py `determine_available_memory` and vllm/v1/core/kv_cache_utils.py,
https://github.com/vllm-project/vllm/blob/v0.11.0/vllm/v1/core/kv_cache_utils.py).

This package knows no engine by name: the caller passes the engine's `MemoryProfile`
(`gpuctl.engines.memory_profile(name, version)`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from ..errors import UsageError
from ..model import Deployment, Site
from ..model.arch import ModelArch
from ..model.hardware import GpuSpec
from ..model.serving import MemoryProfile, RankMemory, SchedulerRequest
from .weights import (
    BYTES,
    MXFP4_KERNELS,
    MXFP4_PADDING,
    Mxfp4Kernel,
    RankWeights,
    WeightFormat,
    mxfp4_kernel,
    rank_weights,
    weight_format,
)

GIB = float(2**30)
DRIVER_RESERVE_MIB = 600  # nvidia-smi total minus torch total: 430-870 MiB on the GPUs of the calibration logs


@dataclass(frozen=True)
class EngineSettings:
    engine: str = "vllm"  # a registered engine name; the caller resolves its memory profile
    engine_version: str | None = None  # None: the engine's default
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
    kv_correction_gib: float = 0.0  # a site's calibration: what its GPUs lose beyond the model (per rank)
    # MXFP4 MoE kernel (vram/weights.py MXFP4_PADDING); "auto": the one vLLM picks for the GPU
    mxfp4_kernel: Mxfp4Kernel = "auto"

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
        if self.mxfp4_kernel not in MXFP4_KERNELS:
            problems.append(f"mxfp4 kernel must be one of {'|'.join(MXFP4_KERNELS)}, got {self.mxfp4_kernel!r}")
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


def _weight_format(arch: ModelArch, gpu: GpuSpec, s: EngineSettings) -> WeightFormat:
    pad = MXFP4_PADDING[mxfp4_kernel(gpu.compute_capability, s.mxfp4_kernel)]
    return weight_format(arch, s.dtype, pad)


def _kv_bytes_per_layer_token(arch: ModelArch, tp: int, kv_dtype: str) -> float:
    """KV cache bytes one token takes in one layer on one rank (vLLM's page size ÷ block size)."""
    kv_b = 1.0 if kv_dtype == "fp8" else BYTES[arch.dtype]
    if arch.mla is not None:
        return (arch.mla.kv_lora_rank + arch.mla.qk_rope_head_dim) * kv_b  # latent, on every rank
    return 2 * max(1, arch.num_kv_heads // tp) * arch.head_dim * kv_b


def _stage_layers(num_layers: int, pp: int) -> list[int]:
    """Decoder layers per pipeline stage as vLLM partitions them (`get_pp_indices`): an even share, the remainder
    one each to the stages before the last (the last also runs the final norm, LM head and sampler),
    https://github.com/vllm-project/vllm/blob/v0.11.0/vllm/distributed/utils.py."""
    base, extra = divmod(num_layers, pp)
    parts = [base] * pp
    for i in range(2, extra + 2):
        parts[-i] += 1
    return parts


def _forward_bytes(arch: ModelArch, tp: int, batched_tokens: int) -> float:
    """The profile run's forward pass over `batched_tokens`: MLP and attention intermediates per rank."""
    inter = arch.intermediate_size
    if arch.moe is not None:
        moe = arch.moe
        inter = moe.experts_per_token * moe.expert_intermediate_size + moe.shared_experts * (
            moe.shared_intermediate_size or moe.expert_intermediate_size
        )
    return batched_tokens * (3 * inter / tp + 3 * arch.hidden_size) * BYTES[arch.dtype]


class _KvLayout:
    """How many blocks a request of a given length needs, per vLLM's KV cache groups."""

    def __init__(self, arch: ModelArch, block: int, max_batched: int, layers: int, sliding_kv: bool = True) -> None:
        """`layers`: the decoder layers of one pipeline stage (each stage keeps its own KV cache groups);
        `sliding_kv` False: the engine pages interleaved sliding-window layers as full attention."""
        self.block = block
        self.max_batched = max_batched
        self.layers = L = layers
        self.window = arch.sliding_window
        if arch.sliding_window_layers in ("alternate", "pattern") and not sliding_kv:
            self.full, self.sliding = L, 0
        elif arch.sliding_window_layers == "all":
            self.full, self.sliding = 0, L
        elif arch.sliding_window_layers == "alternate":
            self.sliding = L // 2
            self.full = L - self.sliding
        elif arch.sliding_window_pattern is not None:  # every Nth layer global (Gemma-3's 5 local : 1 global)
            self.full = L // arch.sliding_window_pattern
            self.sliding = L - self.full
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

    def longest_fitting(self, num_blocks: int, limit: int) -> int:
        """The largest request length up to `limit` whose blocks fit in `num_blocks`."""
        lo, hi = 0, limit
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.blocks_needed(mid) <= num_blocks:
                lo = mid
            else:
                hi = mid - 1
        return lo


@dataclass(frozen=True)
class _Stage:
    """One pipeline stage's rank: what is left for the KV cache and how many blocks that holds."""

    available_gib: float
    blocks: int
    weights_gib: float
    activation_gib: float
    layout: _KvLayout  # the stage's layers in vLLM's KV cache groups


def _tightest_stage(
    arch: ModelArch,
    s: EngineSettings,
    profile: MemoryProfile,
    total: float,
    rw: RankWeights,
    forward: float,
    sampler: float,
    non_torch: float,
    graph_gib: float,
    per_layer_token: float,
    layouts: list[_KvLayout],
) -> _Stage:
    """The stage with the fewest KV blocks: vLLM sets every rank's block count to the minimum over ranks. A block
    spans the layers of its own stage (one page per layer of a KV cache group), so a stage with more layers gets
    fewer blocks from the same memory."""
    worst: _Stage | None = None
    for i, layout in enumerate(layouts):
        layers = layout.layers
        first, last = i == 0, i == len(layouts) - 1
        page = per_layer_token * layout.block * layout.group_layers
        weights = rw.stage(layers, arch.num_layers, first, last, arch.tie_word_embeddings) / GIB
        activation = max(forward, sampler if last else 0.0) / GIB
        used = RankMemory(weights, activation, non_torch, graph_gib)
        available = profile.kv_cache_gib(total, s.gpu_memory_utilization, used)
        available -= s.kv_correction_gib
        blocks = int(available * GIB // page) if available > 0 else 0
        if worst is None or blocks < worst.blocks:
            worst = _Stage(available, blocks, weights, activation, layout)
    assert worst is not None
    return worst


def _binding(stage: _Stage, budget: float, fits: bool) -> str:
    if stage.available_gib <= 0:
        return "weights" if budget - stage.weights_gib <= 0 else "weights+activation"
    return "none" if fits else "max_model_len"


def _add_workload(pred: Prediction, s: EngineSettings, layout: _KvLayout) -> None:
    """Whether `concurrency` requests of prompt + output tokens fit in the blocks, and the headroom."""
    if s.concurrency is None or s.prompt_tokens is None or s.output_tokens is None:
        return
    per_request = s.prompt_tokens + s.output_tokens
    wanted = s.concurrency * layout.blocks_needed(per_request)
    pred.workload_tokens = s.concurrency * per_request
    pred.workload_fits = pred.fits and wanted <= pred.num_blocks
    pred.workload_headroom_pct = (pred.num_blocks / wanted - 1) * 100 if wanted else math.inf
    if pred.fits and not pred.workload_fits:
        pred.binding_constraint = "concurrency"


def predict(arch: ModelArch, gpu: GpuSpec, s: EngineSettings, profile: MemoryProfile) -> Prediction:
    """What the engine whose memory profile is `profile` allocates per GPU for `arch` on `gpu` with `s`."""
    s.check()
    tp, pp = s.tensor_parallel_size, s.pipeline_parallel_size
    total, estimated = torch_total_gib(gpu)
    max_len = s.max_model_len or arch.max_position_embeddings
    notes: list[str] = []
    if estimated:
        notes.append(f"torch-visible total estimated as nvidia-smi {gpu.memory_mib} MiB − {DRIVER_RESERVE_MIB} MiB")
    if max_len > arch.max_position_embeddings:
        notes.append(f"max_model_len {max_len} exceeds the model's {arch.max_position_embeddings} positions")

    limits = profile.scheduler(SchedulerRequest(gpu.id, total, max_len, s.max_num_seqs, s.max_num_batched_tokens))
    notes.extend(limits.notes)
    block = s.block_size or profile.block_size
    graph_gib = profile.cuda_graph_gib(arch.num_layers, tp)
    budget = total * s.gpu_memory_utilization
    per_layer_token = _kv_bytes_per_layer_token(arch, tp, s.kv_cache_dtype)
    layouts = [
        _KvLayout(arch, block, limits.max_num_batched_tokens, n, limits.sliding_window_kv)
        for n in _stage_layers(arch.num_layers, pp)
    ]
    stage = _tightest_stage(
        arch,
        s,
        profile,
        total,
        rank_weights(arch, tp, _weight_format(arch, gpu, s)),
        forward=_forward_bytes(arch, tp, limits.max_num_batched_tokens),
        sampler=limits.max_num_seqs * arch.vocab_size * profile.sampler_bytes_per_logit,
        non_torch=profile.non_torch_gib(tp * pp),
        graph_gib=graph_gib,
        per_layer_token=per_layer_token,
        layouts=layouts,
    )

    layout = stage.layout
    need = max(stage_layout.blocks_needed(max_len) for stage_layout in layouts)  # every stage holds the request
    fits = stage.available_gib > 0 and stage.blocks >= need
    pred = Prediction(
        model=arch.id,
        gpu=gpu.id,
        engine=s.engine,
        engine_version=profile.version,
        tensor_parallel_size=tp,
        pipeline_parallel_size=pp,
        total_gib=total,
        total_estimated=estimated,
        budget_gib=budget,
        weights_gib=stage.weights_gib,
        activation_gib=stage.activation_gib,
        non_torch_gib=profile.non_torch_gib(tp * pp),
        cuda_graph_gib=graph_gib,
        cuda_graph_in_budget=profile.graphs_in_budget,
        kv_cache_gib=stage.available_gib,
        kv_bytes_per_token=int(per_layer_token * layout.layers),  # on a rank of the binding stage
        block_size=block,
        num_blocks=stage.blocks,
        kv_cache_tokens=stage.blocks // layout.n_groups * block,
        max_model_len=max_len,
        max_model_len_supported=(
            layout.longest_fitting(stage.blocks, arch.max_position_embeddings) if stage.available_gib > 0 else 0
        ),
        fits=fits,
        max_concurrency=stage.blocks / need if need else 0.0,
        binding_constraint=_binding(stage, budget, fits),
        max_num_seqs=limits.max_num_seqs,
        max_num_batched_tokens=limits.max_num_batched_tokens,
        notes=notes,
    )
    _add_workload(pred, s, layout)
    if not profile.graphs_in_budget and budget + graph_gib > total:
        notes.append(f"CUDA graphs (~{graph_gib:.2f} GiB) are captured outside the budget and exceed the GPU")
    return pred


# ----- a site's deployments: which GPU, which settings, whether the layout is valid -----


def pool_gpu(site: Site, dep: Deployment) -> GpuSpec | None:
    """The pool's GPU; with mixed models (node-pool-membership reports it) the smallest."""
    gpus = [g for s in site.pool_servers(site.pool(dep.node_pool)) if (g := site.gpu_spec(s)) is not None]
    usable = [g for g in gpus if g.torch_total_gib is not None or g.memory_mib is not None]
    return min(usable, key=lambda g: torch_total_gib(g)[0]) if usable else None


def deployment_settings(site: Site, dep: Deployment, gpu: GpuSpec, with_workload: bool) -> EngineSettings:
    """The engine settings a deployment asks for, with the site's calibration for `gpu`."""
    per_request = None
    if dep.prompt_tokens and dep.output_tokens:
        per_request = (dep.prompt_tokens, dep.output_tokens)
    elif dep.max_model_len:
        per_request = (dep.max_model_len, 0)
    workload = with_workload and dep.target_concurrency is not None and per_request is not None
    return EngineSettings(
        engine=dep.engine,
        engine_version=dep.engine_version,
        tensor_parallel_size=dep.tensor_parallel_size,
        pipeline_parallel_size=dep.pipeline_parallel_size,
        dtype=dep.precision,
        kv_cache_dtype=dep.kv_cache_dtype,
        max_model_len=dep.max_model_len,
        gpu_memory_utilization=dep.gpu_memory_utilization,
        max_num_seqs=dep.engine_max_num_seqs,  # the same properties the engines render as arguments: one fact
        max_num_batched_tokens=dep.engine_max_num_batched_tokens,
        concurrency=dep.target_concurrency if workload else None,
        prompt_tokens=per_request[0] if workload and per_request else None,
        output_tokens=per_request[1] if workload and per_request else None,
        kv_correction_gib=site.settings.vram_kv_correction_gib.get(gpu.id, 0.0),
    )


def head_layout_problem(arch: ModelArch, tp: int) -> str | None:
    """Why vLLM refuses tensor parallel size `tp` for the model's attention heads, or None."""
    if arch.num_heads % tp:
        return f"tensor_parallel_size {tp} does not divide the {arch.num_heads} attention heads of {arch.name}"
    if arch.mla is None and arch.num_kv_heads % tp and tp % arch.num_kv_heads:
        return (
            f"tensor_parallel_size {tp} and the {arch.num_kv_heads} KV heads of {arch.name} do not divide one "
            "another (vLLM shards or replicates KV heads evenly)"
        )
    return None


def layout_problem(site: Site, dep: Deployment) -> str | None:
    """Why the deployment's parallel layout cannot run, or None."""
    arch = site.model_arch(dep)
    tp = dep.tensor_parallel_size
    problem = head_layout_problem(arch, tp)
    if problem:
        return problem
    counts = [site.gpu_count(s) for s in site.pool_servers(site.pool(dep.node_pool)) if site.gpu_count(s)]
    if counts and dep.pipeline_parallel_size == 1 and tp > max(counts):
        return (
            f"tensor_parallel_size {tp} > {max(counts)} GPUs per node in pool {dep.node_pool}; tensor "
            "parallelism stays inside a node (NVLink): use pipeline_parallel_size across nodes"
        )
    return None


def deployment_prediction(
    site: Site, dep: Deployment, profile: MemoryProfile, with_workload: bool = True
) -> Prediction | None:
    """The prediction for one replica of `dep` on its pool's GPU (None: no GPU figure, or an invalid layout)."""
    gpu = pool_gpu(site, dep)
    if gpu is None or layout_problem(site, dep):
        return None
    return predict(site.model_arch(dep), gpu, deployment_settings(site, dep, gpu, with_workload), profile)
