"""TensorRT-LLM's OpenAI-compatible server, `trtllm-serve`: its image, command line, endpoints, metrics, and
TensorRT-LLM's memory accounting.

Command line: `trtllm-serve serve MODEL` with the options of tensorrt_llm/commands/serve.py
(https://github.com/NVIDIA/TensorRT-LLM/blob/00209af149e7774406881a37283dce303571eb11/tensorrt_llm/commands/serve.py;
tests/engines/fixtures/trtllm-serve-options.json holds the options extracted from it). Settings without an option
(quantization, KV cache dtype) go in the YAML file `--extra_llm_api_options` reads, whose keys are the LLM API's
(`quant_config.quant_algo`, `quant_config.kv_cache_quant_algo`, `kv_cache_config.dtype`). The PyTorch backend
serves a bf16/fp16 checkpoint as it is; a quantized deployment uses the TensorRT backend, which builds the engine
at start-up with the requested QuantAlgo (https://nvidia.github.io/TensorRT-LLM/features/quantization.html).
Endpoints: `/health` on the API port; no Prometheus metrics at the release gpuctl renders (SERVE_METRICS).

Memory: TensorRT-LLM fixes activation memory when the engine is built and gives the KV cache a fraction of the
memory that is free once the engine is loaded, not of the total: `kv_cache_free_gpu_mem_fraction`, default 0.9,
in the backend's model configuration (https://github.com/triton-inference-server/tensorrtllm_backend/blob/v0.17.0/docs/model_config.md,
the backend release in Triton 25.01), the same default as the LLM API's `KvCacheConfig.free_gpu_memory_fraction`
(https://nvidia.github.io/TensorRT-LLM/llm-api/reference/KvCacheConfig.html, which also gives 32 tokens per block).
Build-time activations: https://nvidia.github.io/TensorRT-LLM/reference/memory.html.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from ..model.serving import Deployment, RankMemory, SchedulerLimits, SchedulerRequest
from . import quantization
from .base import CONFIG_DIR, Metric

# The oldest TensorRT-LLM release gpuctl renders for: `trtllm-serve` with the LLM API's
# --kv_cache_free_gpu_memory_fraction is documented from 0.18 (https://nvidia.github.io/TensorRT-LLM/0.18.2/commands/trtllm-serve.html).
# Earlier releases served through build.py engines and the Triton backend's runtime, whose buffers this profile does
# not model; their logs are reported out of scope.
SUPPORTED_SINCE = "0.18"


@dataclass(frozen=True)
class TrtllmMemory:
    """TensorRT-LLM's memory accounting (gpuctl.model.serving.MemoryProfile)."""

    version: str = "trtllm"
    block_size: int = 32  # tokens_per_block
    kv_cache_free_gpu_mem_fraction: float = 0.9
    # Assumed engine build limits (trtllm-build's max_batch_size and max_num_tokens) for the activation estimate;
    # the real ones are fixed in the engine the model repository holds.
    max_batch_size: int = 256
    max_num_tokens: int = 8192
    sampler_bytes_per_logit: float = 0.0  # no profile run: nothing sampled at start-up
    graphs_in_budget: bool = True

    def scheduler(self, request: SchedulerRequest) -> SchedulerLimits:
        return SchedulerLimits(
            request.max_num_seqs or self.max_batch_size, request.max_num_batched_tokens or self.max_num_tokens
        )

    def non_torch_gib(self, ranks: int) -> float:
        return 0.13 if ranks == 1 else 0.55  # CUDA context and NCCL, as measured for vLLM (GT-D)

    def cuda_graph_gib(self, num_layers: int, tensor_parallel_size: int) -> float:
        return 0.0  # counted in the build-time activation memory

    def kv_cache_gib(self, total_gib: float, gpu_memory_utilization: float, used: RankMemory) -> float:
        """kv_cache_free_gpu_mem_fraction × what is free after weights, activations and non-torch memory;
        gpu_memory_utilization is vLLM's knob and does not apply."""
        free = total_gib - used.weights_gib - used.activation_gib - used.non_torch_gib
        return max(0.0, free) * self.kv_cache_free_gpu_mem_fraction


MEMORY = TrtllmMemory()

# The backend's batch manager statistics on Triton's metrics port (README "Triton Metrics",
# https://github.com/triton-inference-server/tensorrtllm_backend/blob/v0.17.0/README.md).
BACKEND_METRICS: Mapping[str, Metric] = {
    "requests_running": Metric("nv_trt_llm_request_metrics", "gauge", "requests", (("request_type", "scheduled"),)),
    "kv_cache_blocks_used": Metric(
        "nv_trt_llm_kv_cache_block_metrics", "gauge", "blocks", (("kv_cache_block_type", "used"),)
    ),
    "kv_cache_blocks_max": Metric(
        "nv_trt_llm_kv_cache_block_metrics", "gauge", "blocks", (("kv_cache_block_type", "max"),)
    ),
}


# trtllm-serve's Prometheus metrics: none, as gpuctl renders it. Release 1.0.0 (RELEASE) answers /metrics with a JSON
# list of iteration statistics, not Prometheus text (https://github.com/NVIDIA/TensorRT-LLM/issues/4926); the
# /prometheus/metrics route came after it (https://github.com/NVIDIA/TensorRT-LLM/pull/5785, merged 2025-08 on
# main, first in the 1.1 pre-releases) and is registered only when the LLM API option `return_perf_metrics` is true
# (tensorrt_llm/serve/openai_server.py), which gpuctl's extra options do not set. So no rule, dashboard panel or
# scaler reads a trtllm series, and no monitor scrapes the engine. tests/obs/fixtures/engine_metrics/
# trtllm-serve-1.0.0.json records this with its sources, and the names a later main exports.
SERVE_METRICS: Mapping[str, Metric] = {}
RELEASE = "1.0.0"  # NGC nvcr.io/nvidia/tensorrt-llm/release tag of the default image
IMAGE = f"nvcr.io/nvidia/tensorrt-llm/release:{RELEASE}"
PORT = 8000
EXTRA_OPTIONS = "extra-llm-api-options.yaml"
# QuantAlgo (tensorrt_llm/quantization/mode.py) per precision and checkpoint method.
QUANT_ALGO = {
    ("fp8", None): "FP8",
    ("int8", "compressed-tensors"): "W8A16",
    ("int8", "gptq"): "W8A16_GPTQ",
    ("int4", "awq"): "W4A16_AWQ",
    ("int4", "gptq"): "W4A16_GPTQ",
}


def quant_algo(dep: Deployment) -> str | None:
    return QUANT_ALGO.get((dep.precision, None if dep.precision == "fp8" else dep.quant_method))


class Trtllm:
    """TensorRT-LLM's trtllm-serve."""

    name = "trtllm"
    port = PORT
    liveness_path = "/health"
    readiness_path = "/health"
    metrics_port = PORT
    metrics_path = "/prometheus/metrics"

    @property
    def model_label(self) -> str:
        return "model_name"

    def image(self, version: str | None) -> str:
        return IMAGE if version is None else f"nvcr.io/nvidia/tensorrt-llm/release:{version}"

    def served_model(self, deployment: Deployment) -> str:
        return f"/models/{deployment.model}"  # trtllm-serve names the model by its path

    def command(self, deployment: Deployment) -> list[str]:
        return ["trtllm-serve", "serve"]

    def args(
        self, deployment: Deployment, max_model_len: int | None, compute_capability: float | None = None
    ) -> list[str]:
        dep = deployment
        args = [f"/models/{dep.model}", "--host", "0.0.0.0", "--port", str(PORT)]
        args += ["--backend", "tensorrt" if quant_algo(dep) else "pytorch"]
        args += ["--tp_size", str(dep.tensor_parallel_size), "--pp_size", str(dep.pipeline_parallel_size)]
        if dep.engine_max_num_seqs:
            args += ["--max_batch_size", str(dep.engine_max_num_seqs)]
        if dep.engine_max_num_batched_tokens:
            args += ["--max_num_tokens", str(dep.engine_max_num_batched_tokens)]
        if max_model_len:
            args += ["--max_seq_len", str(max_model_len)]
        args += ["--kv_cache_free_gpu_memory_fraction", f"{MEMORY.kv_cache_free_gpu_mem_fraction:g}"]
        if self.files(dep, max_model_len):
            args += ["--extra_llm_api_options", f"{CONFIG_DIR}/{EXTRA_OPTIONS}"]
        return args

    def files(self, deployment: Deployment, max_model_len: int | None) -> dict[str, str]:
        """The LLM API options without a command-line flag: quantization and the KV cache dtype."""
        algo = quant_algo(deployment)
        kv_fp8 = deployment.kv_cache_dtype == "fp8"
        options: dict[str, Any] = {}
        if algo:
            options["quant_config"] = {"quant_algo": algo, **({"kv_cache_quant_algo": "FP8"} if kv_fp8 else {})}
        elif kv_fp8:
            options["kv_cache_config"] = {"dtype": "fp8"}
        return {EXTRA_OPTIONS: yaml.safe_dump(options, sort_keys=True)} if options else {}

    def env(self, deployment: Deployment) -> dict[str, str]:
        return {}

    def unsupported(self, deployment: Deployment, compute_capability: float | None) -> str | None:
        return quantization.deployment_problem(quantization.TRTLLM, self.name, deployment, compute_capability)

    def multi_node(self, deployment: Deployment, args: list[str]) -> tuple[list[str], list[str]] | None:
        return None  # multi-node trtllm-serve runs under MPI (mpirun/srun); gpuctl renders no MPI launcher

    def metrics(self, version: str | None) -> Mapping[str, Metric]:
        return SERVE_METRICS

    def memory_profile(self, version: str | None) -> TrtllmMemory:
        return MEMORY


ENGINE = Trtllm()
