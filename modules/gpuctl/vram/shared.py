"""Several models in one server on the same GPUs (a Triton server with more than one TensorRT-LLM model): the
sum of what each holds before its KV cache, and each model's share of the KV memory left.

Each TensorRT-LLM model of the server gives its KV cache `kv_cache_free_gpu_mem_fraction` of the memory free
when *it* loads (tensorrtllm_backend v0.17.0 docs/model_config.md), and Triton loads models in parallel
(--model-load-thread-count, default 4), so the fraction alone lets the first model to finish take the cache of
the others. Each model is therefore also capped in tokens (`max_tokens_in_paged_kv_cache`; the backend takes the
smaller of the two limits): the memory left after every model's weights and activations, times the fraction,
split in proportion to what one full-length sequence of each model needs, so every model gets the same number
of full-length sequences.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model import Deployment, Site
from ..model.serving import MemoryProfile
from .engine import Prediction, deployment_prediction

GIB = 2**30


@dataclass(frozen=True)
class SharedModel:
    name: str
    prediction: Prediction  # the model alone on the server's GPUs, at its context length


@dataclass(frozen=True)
class SharedGpus:
    """Per GPU, in GiB: declared Python models, the GPU, what all models hold before their KV caches, the KV
    memory left for the LLMs, and what one full-length sequence of every LLM needs together; KV tokens per LLM,
    in order."""

    models: tuple[SharedModel, ...]
    other_gib: float
    total_gib: float
    fixed_gib: float
    kv_gib: float
    need_gib: float
    kv_tokens: tuple[int, ...]

    @property
    def fits(self) -> bool:
        return self.kv_gib >= self.need_gib

    @property
    def sequences(self) -> float:
        """Full-length sequences of every model at once that the KV memory holds."""
        return self.kv_gib / self.need_gib if self.need_gib else 0.0


def shared_gpus(models: list[SharedModel], kv_fraction: float, other_gib: float = 0.0) -> SharedGpus:
    """The models' memory on the GPUs they share (per GPU; all predictions are for the same GPU and tp), with
    `other_gib` per GPU taken by models the memory model cannot predict (Python models on the GPU, as declared)."""
    preds = [m.prediction for m in models]
    total = min(p.total_gib for p in preds)
    # One process, one CUDA context and one set of NCCL communicators: non-torch memory once, not per model.
    fixed = sum(p.weights_gib + p.activation_gib + p.cuda_graph_gib for p in preds) + max(
        p.non_torch_gib for p in preds
    )
    fixed += other_gib
    kv = max(0.0, total - fixed) * kv_fraction
    need = sum(p.max_model_len * p.kv_bytes_per_token / GIB for p in preds)
    scale = kv / need if need else 0.0
    tokens = tuple(int(scale * p.max_model_len) for p in preds)
    return SharedGpus(tuple(models), other_gib, total, fixed, kv, need, tokens)


def server_models(site: Site, dep: Deployment, profile: MemoryProfile, kv_fraction: float) -> SharedGpus | None:
    """The deployment's own model and each further TensorRT-LLM model of its server on the replica's GPUs, with
    the declared memory of its Python models on the GPU (a Python instance of KIND_GPU runs on every GPU of the
    pod: `count` per GPU); None when the server holds one LLM and nothing else on the GPU (its engine's own
    accounting applies) or a model has no prediction.
    A model's context is its spec's, else its own maximum (what trtllm-build deduces when --max_seq_len is left
    out): on shared GPUs an open context cannot be "the largest that fits"."""
    further = [m for m in dep.triton_models if m.backend == "tensorrtllm"]
    python_gib = sum(
        m.instance_count * (m.gpu_memory_gib or 0.0) for m in dep.triton_models if m.backend == "python" and m.gpu
    )
    if not further and not python_gib:
        return None
    own = dep.max_model_len or site.model_arch(dep).max_position_embeddings
    subs = [(dep.name, dep.model_copy(update={"max_model_len": own, "triton_models": []}))]
    for m in further:
        sub = dep.model_copy(
            update={
                "model": m.model,
                "max_model_len": m.max_model_len,
                "max_num_seqs": m.max_batch_size,
                "target_concurrency": None,
                "max_num_batched_tokens": None,
                "triton_models": [],
            }
        )
        sub = sub.model_copy(update={"max_model_len": m.max_model_len or site.model_arch(sub).max_position_embeddings})
        subs.append((m.name, sub))
    models = []
    for name, sub in subs:
        p = deployment_prediction(site, sub, profile, with_workload=False)
        if p is None:
            return None
        models.append(SharedModel(name, p))
    return shared_gpus(models, kv_fraction, python_gib)
