"""Serving rules: will the engine start, does the target load fit, is the parallel layout valid, is there room."""

from __future__ import annotations

from collections.abc import Iterator

from .. import engines
from ..model import Deployment, Site
from ..vram import Prediction
from ..vram import engine as memory
from . import paths
from .base import Hit, Severity, rule

VLLM_SOURCE = (
    "vLLM 0.11.0 worker memory profiling and KV cache sizing, vllm/v1/worker/gpu_worker.py "
    "(https://github.com/vllm-project/vllm/blob/v0.11.0/vllm/v1/worker/gpu_worker.py) and "
    "vllm/v1/core/kv_cache_utils.py (https://github.com/vllm-project/vllm/blob/v0.11.0/vllm/v1/core/kv_cache_utils.py)"
)


def deployment_prediction(site: Site, dep: Deployment, with_workload: bool = True) -> Prediction | None:
    """What the deployment's engine allocates per GPU on its pool (None: no GPU figure or an invalid layout)."""
    profile = engines.memory_profile(dep.engine, dep.engine_version)
    return memory.deployment_prediction(site, dep, profile, with_workload)


@rule(
    "VRM001",
    "vram-fit",
    Severity.ERROR,
    "The serving engine must be able to start: weights, activations and one max-length request fit per GPU.",
    "Raise tensor_parallel_size, lower max_model_len, use an fp8 KV cache or quantized weights, or a larger GPU.",
    sources=(VLLM_SOURCE,),
)
def vram_fit(site: Site) -> Iterator[Hit]:
    """Predicts the engine's own accounting per rank (its memory profile). vLLM: total × gpu_memory_utilization −
    weights − activation peak − non-torch memory = KV cache; TensorRT-LLM (and Triton, through its TensorRT-LLM
    backend): 0.9 of what is free after weights and activations. Start-up fails when that is ≤ 0 or holds fewer
    blocks than one request at max_model_len ("The model's max seq len … is larger than the maximum number of
    tokens that can be stored in KV cache")."""
    for dep in site.deployments:
        p = deployment_prediction(site, dep, with_workload=False)
        if p is None or p.fits:
            continue
        if p.kv_cache_gib <= 0:
            msg = (
                f"{p.weights_gib:.1f} GiB weights + {p.activation_gib:.1f} GiB activation + {p.non_torch_gib:.2f} GiB "
                f"non-torch > {p.budget_gib:.1f} GiB budget ({p.total_gib:.2f} GiB {p.gpu} × "
                f"{dep.gpu_memory_utilization:g}) per GPU at tp {p.tensor_parallel_size}"
            )
        else:
            msg = (
                f"max_model_len {p.max_model_len:,} needs more KV cache than the {p.kv_cache_gib:.1f} GiB left "
                f"({p.kv_cache_tokens:,} tokens); the largest that fits is {p.max_model_len_supported:,}"
            )
        yield Hit(paths.deployment(dep), msg, "tensor_parallel_size" if p.kv_cache_gib <= 0 else "max_model_len")


@rule(
    "VRM002",
    "vram-concurrency",
    Severity.WARNING,
    "The target concurrency at the target context should fit in the KV cache.",
    "Add replicas, raise tensor_parallel_size, use an fp8 KV cache, or lower target_concurrency.",
    sources=(VLLM_SOURCE,),
)
def vram_concurrency(site: Site) -> Iterator[Hit]:
    """target_concurrency × (prompt_tokens + output_tokens) tokens per replica (max_model_len per request when
    the split is not given) against the predicted KV cache; past it vLLM queues or preempts requests."""
    for dep in site.deployments:
        p = deployment_prediction(site, dep)
        if p is None or not p.fits or p.workload_fits is not False or p.workload_tokens is None:
            continue
        yield Hit(
            paths.deployment(dep),
            f"{dep.target_concurrency} concurrent × {p.workload_tokens // (dep.target_concurrency or 1):,} tokens = "
            f"{p.workload_tokens:,} tokens > {p.kv_cache_tokens:,} KV tokens per replica ({p.kv_cache_gib:.1f} GiB)",
            "target_concurrency",
        )


@rule(
    "VRM003",
    "tensor-parallel-layout",
    Severity.ERROR,
    "Tensor parallelism must divide the model's heads and stay within one node.",
    "Choose a tensor_parallel_size that divides the attention heads and is at most the GPUs per node.",
    sources=("vLLM model config: heads divisible by tp; QKVParallelLinear KV replication",),
)
def tensor_parallel_layout(site: Site) -> Iterator[Hit]:
    """vLLM refuses a tp that does not divide the attention heads, and shards or replicates KV heads only
    evenly; tensor parallelism across nodes (no NVLink) needs pipeline parallelism instead."""
    for dep in site.deployments:
        problem = memory.layout_problem(site, dep)
        if problem:
            yield Hit(paths.deployment(dep), problem, "tensor_parallel_size")


@rule(
    "VRM004",
    "serving-capacity",
    Severity.ERROR,
    "Deployments on a pool must not need more GPUs than it has.",
    "Add nodes to the pool, lower replicas, or move a deployment to another pool.",
)
def serving_capacity(site: Site) -> Iterator[Hit]:
    """Σ replicas × tp × pp of every deployment on the pool against the pool's GPUs (whole GPUs, no
    time-slicing)."""
    for pool in site.node_pools:
        deps = [d for d in site.deployments if d.node_pool == pool.name]
        if not deps:
            continue
        have = sum(site.gpu_count(s) for s in site.pool_servers(pool))
        need = sum(d.gpus_total for d in deps)
        if need > have:
            parts = " + ".join(
                f"{d.name} {d.replicas}×{d.tensor_parallel_size}×{d.pipeline_parallel_size}" for d in deps
            )
            yield Hit(paths.pool(pool), f"{need} GPUs requested ({parts}) > {have} GPUs in the pool", "servers")


RULES = (vram_fit, vram_concurrency, tensor_parallel_layout, serving_capacity)
