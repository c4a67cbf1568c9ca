"""Serving rules for a Triton server that holds several models on the same GPUs."""

from __future__ import annotations

from collections.abc import Iterator

from ..engines import triton
from ..model import Deployment, Site
from ..vram.shared import SharedGpus, server_models
from . import paths
from .base import Hit, Severity, rule


def shared_gpus(site: Site, dep: Deployment) -> SharedGpus | None:
    """The server's TensorRT-LLM models on the replica's GPUs, by Triton's memory profile (its TensorRT-LLM
    backend's); None: the server holds one LLM. Render sizes the models' KV caps from the same figures."""
    return server_models(site, dep, triton.MEMORY, triton.MEMORY.backend.kv_cache_free_gpu_mem_fraction)


@rule(
    "SRV020",
    "triton-shared-gpu-fit",
    Severity.ERROR,
    "The TensorRT-LLM models of one Triton server must fit its GPUs together: every model's weights and "
    "activations, and KV cache for one full-length sequence of each.",
    "Set a shorter max_model_len on the models, raise tensor_parallel_size, or serve a model from its own deployment.",
    sources=(
        "tensorrtllm_backend v0.17.0 docs/model_config.md (kv_cache_free_gpu_mem_fraction, "
        "max_tokens_in_paged_kv_cache): "
        "https://github.com/triton-inference-server/tensorrtllm_backend/blob/v0.17.0/docs/model_config.md",
        "Triton model management, explicit control and parallel loading: "
        "https://github.com/triton-inference-server/server/blob/v2.54.0/docs/user_guide/model_management.md",
    ),
)
def triton_shared_gpu_fit(site: Site) -> Iterator[Hit]:
    """All models live in one process on the replica's GPUs: the weights and activation peaks of every model, and
    the declared GPU memory of its Python models, come first; 0.9 of what is left is the KV memory, and each LLM
    needs at least one sequence of its context (gpuctl.vram.shared). A model's context is its max_model_len, else
    its own maximum."""
    for dep in site.deployments:
        if not dep.triton_models:
            continue
        shared = shared_gpus(site, dep)
        if shared is None or shared.fits:
            continue
        parts = ", ".join(
            f"{m.name} {m.prediction.weights_gib + m.prediction.activation_gib:.1f} GiB at "
            f"{m.prediction.max_model_len:,} tokens"
            for m in shared.models
        )
        if shared.other_gib:
            parts += f", Python models {shared.other_gib:.1f} GiB"
        yield Hit(
            paths.deployment(dep),
            f"the server's models need {shared.fixed_gib:.1f} GiB before their KV caches ({parts}) and "
            f"{shared.need_gib:.1f} GiB of KV cache for one full-length sequence each, but "
            f"{shared.total_gib:.1f} GiB per GPU leaves {shared.kv_gib:.1f} GiB for KV caches "
            f"at tp {dep.tensor_parallel_size}",
            "triton_models",
        )


RULES = (triton_shared_gpu_fit,)
