"""NVIDIA Triton Inference Server with the model repository's own backends: the general `-py3` image, Triton's
command, endpoints and core metrics, and a memory profile of its own.

Memory, by delegation: a deployment says `engine: triton` and nothing about the backend, so the memory model
assumes the one LLM backend whose accounting the spec can state, TensorRT-LLM. Triton's TensorRT-LLM backend runs
TensorRT-LLM's executor inside the server process and sizes its KV cache with the same
`kv_cache_free_gpu_mem_fraction` of the memory left after loading the engine
(https://github.com/triton-inference-server/tensorrtllm_backend/blob/v0.17.0/docs/model_config.md), so Triton's
profile answers every question with TensorRT-LLM's (`TritonMemory.backend`), under its own name.
Triton's vLLM backend instead runs vLLM's engine with the `gpu_memory_utilization` of its model.json
(https://github.com/triton-inference-server/vllm_backend/blob/r25.01/README.md), and the Python backend runs
whatever the model's code allocates: neither can be told apart without a backend field on the deployment, so they
are not modelled. A prediction for `triton` carries a note saying so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..model.serving import RankMemory, SchedulerLimits, SchedulerRequest
from . import tritonserver, trtllm
from .base import Metric

IMAGE = f"nvcr.io/nvidia/tritonserver:{tritonserver.RELEASE}-py3"
BACKEND_NOTE = "triton: memory as with its TensorRT-LLM backend (a vLLM or Python backend is not modelled)"


@dataclass(frozen=True)
class TritonMemory:
    """Triton's memory accounting (gpuctl.model.serving.MemoryProfile): its TensorRT-LLM backend's."""

    backend: trtllm.TrtllmMemory = trtllm.MEMORY
    version: str = "tensorrtllm backend"

    @property
    def block_size(self) -> int:
        return self.backend.block_size

    @property
    def sampler_bytes_per_logit(self) -> float:
        return self.backend.sampler_bytes_per_logit

    @property
    def graphs_in_budget(self) -> bool:
        return self.backend.graphs_in_budget

    def scheduler(self, request: SchedulerRequest) -> SchedulerLimits:
        limits = self.backend.scheduler(request)
        return SchedulerLimits(limits.max_num_seqs, limits.max_num_batched_tokens, (*limits.notes, BACKEND_NOTE))

    def non_torch_gib(self, ranks: int) -> float:
        return self.backend.non_torch_gib(ranks)

    def cuda_graph_gib(self, num_layers: int, tensor_parallel_size: int) -> float:
        return self.backend.cuda_graph_gib(num_layers, tensor_parallel_size)

    def kv_cache_gib(self, total_gib: float, gpu_memory_utilization: float, used: RankMemory) -> float:
        return self.backend.kv_cache_gib(total_gib, gpu_memory_utilization, used)


MEMORY = TritonMemory()


class Triton(tritonserver.TritonServer):
    """Triton Inference Server."""

    name = "triton"
    image_ref = IMAGE

    def metrics(self, version: str | None) -> Mapping[str, Metric]:
        return tritonserver.CORE_METRICS  # backend metrics depend on the backend

    def memory_profile(self, version: str | None) -> TritonMemory:
        return MEMORY


ENGINE = Triton()
