"""TensorRT-LLM, served by Triton's TensorRT-LLM backend: the `-trtllm-python-py3` image, Triton's command and
endpoints, the backend's metrics, and TensorRT-LLM's memory accounting.

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

from ..model.serving import RankMemory, SchedulerLimits, SchedulerRequest
from . import tritonserver
from .base import Metric

IMAGE = f"nvcr.io/nvidia/tritonserver:{tritonserver.RELEASE}-trtllm-python-py3"


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


class Trtllm(tritonserver.TritonServer):
    """TensorRT-LLM engines in Triton's TensorRT-LLM backend."""

    name = "trtllm"
    image_ref = IMAGE

    def metrics(self, version: str | None) -> Mapping[str, Metric]:
        return {**tritonserver.CORE_METRICS, **BACKEND_METRICS}

    def memory_profile(self, version: str | None) -> TrtllmMemory:
        return MEMORY


ENGINE = Trtllm()
