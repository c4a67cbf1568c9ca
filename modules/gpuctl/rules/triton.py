"""Serving rules for a Triton server: several models on the same GPUs, and the names it serves them under."""

from __future__ import annotations

from collections.abc import Iterator

from ..engines import triton, trtllm_convert
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


@rule(
    "SRV021",
    "triton-served-model-name",
    Severity.ERROR,
    "A Triton deployment's model must be a Triton model name, distinct from the server's other models: Triton's "
    "OpenAI-compatible frontend serves the deployment's ensemble under that name, the one the gateway routes and "
    "clients send in `model`.",
    "Use a model id of letters, digits, '_', '.' and '-' (no '/' or '+'), and rename a triton_models entry that "
    "repeats it or a step name (preprocessing, tensorrt_llm, postprocessing, <name>-<step>).",
    sources=(
        "Triton's OpenAI frontend, models by repository name: python/openai/openai_frontend/engine/triton_engine.py "
        "(_get_model_metadata), https://github.com/triton-inference-server/server/blob/v2.54.0/python/openai/"
        "openai_frontend/engine/triton_engine.py",
        "Triton model repository layout (one directory per model): "
        "https://github.com/triton-inference-server/server/blob/v2.54.0/docs/user_guide/model_repository.md",
    ),
)
def triton_served_model_name(site: Site) -> Iterator[Hit]:
    for dep in site.deployments:
        if dep.engine != triton.ENGINE.name:
            continue
        problem = triton.ENGINE.name_problem(dep)
        if problem:
            yield Hit(paths.deployment(dep), problem, "model")


@rule(
    "SRV022",
    "trtllm-checkpoint-conversion",
    Severity.ERROR,
    "A Triton model built from a Hugging Face checkpoint (build_from: hf_checkpoint) must be one gpuctl renders a "
    "TensorRT-LLM conversion for: a Llama-family model (Llama, Mistral, Mixtral), in bf16/fp16, fp8 or int4 AWQ "
    "(quantize.py) or int8 weight-only (convert_checkpoint.py), an FP8 KV cache only with quantize.py.",
    "Stage a converted TensorRT-LLM checkpoint (build_from: trtllm_checkpoint), or pick a precision the converters "
    "make from Hugging Face weights.",
    sources=(
        "tensorrtllm_backend v0.17.0 README.md (convert_checkpoint.py for Llama and, through the llama converter, "
        "Mixtral): https://github.com/triton-inference-server/tensorrtllm_backend/blob/v0.17.0/README.md",
        "TensorRT-LLM examples/llama/convert_checkpoint.py (--use_weight_only, --weight_only_precision) and "
        "examples/quantization/quantize.py (--qformat, --kv_cache_dtype, --calib_dataset): "
        "https://github.com/NVIDIA/TensorRT-LLM/tree/v0.17.0/examples",
    ),
)
def trtllm_checkpoint_conversion(site: Site) -> Iterator[Hit]:
    for dep in site.deployments:
        wanted: list[tuple[str | None, str]] = [(None, dep.model)] if dep.build_from == "hf_checkpoint" else []
        wanted += [(m.name, m.model) for m in dep.triton_models if m.build_from == "hf_checkpoint"]
        for name, model in wanted:
            problem = trtllm_convert.problem(dep, model)
            if problem:
                field = "build_from" if name is None else "triton_models"
                yield Hit(paths.deployment(dep), problem, field)


@rule(
    "SRV023",
    "triton-openai-one-tokenizer",
    Severity.ERROR,
    "The TensorRT-LLM models of one Triton server must share a tokenizer: Triton's OpenAI-compatible frontend takes "
    "one --tokenizer and applies its chat template to every model's chat requests.",
    "Serve a model with another tokenizer from its own deployment, or set shares_tokenizer on a model that uses the "
    "deployment's model's tokenizer and chat template.",
    sources=(
        "python/openai/openai_frontend/main.py (--tokenizer, one value), v2.54.0: "
        "https://github.com/triton-inference-server/server/blob/v2.54.0/python/openai/openai_frontend/main.py",
        "python/openai/openai_frontend/engine/triton_engine.py (_get_model_metadata: one tokenizer shared for all "
        "loaded models; chat: apply_chat_template), v2.54.0: https://github.com/triton-inference-server/server/"
        "blob/v2.54.0/python/openai/openai_frontend/engine/triton_engine.py",
    ),
)
def triton_openai_one_tokenizer(site: Site) -> Iterator[Hit]:
    for dep in site.deployments:
        if dep.engine != triton.ENGINE.name:
            continue
        problem = triton.ENGINE.tokenizer_problem(dep)
        if problem:
            yield Hit(paths.deployment(dep), problem, "triton_models")


RULES = (triton_shared_gpu_fit, triton_served_model_name, trtllm_checkpoint_conversion, triton_openai_one_tokenizer)
