"""NVIDIA Triton Inference Server with its TensorRT-LLM backend: the `-trtllm-python-py3` image, Triton's command,
endpoints and core metrics plus the backend's, a generated model repository, and a memory profile of its own.

The model repository: one model, `tensorrt_llm`, whose config.pbtxt gpuctl generates from the deployment (batch
size, KV cache fraction, chunked context, the engine directory) with the parameter keys and tensors of the
backend's own template (tensorrtllm_backend v0.17.0 all_models/inflight_batcher_llm/tensorrt_llm/config.pbtxt,
https://github.com/triton-inference-server/tensorrtllm_backend/blob/v0.17.0/all_models/inflight_batcher_llm/tensorrt_llm/config.pbtxt;
tests/engines/fixtures/tensorrtllm_backend-v0.17.0-config.json holds them, extracted). The engine itself is
built ahead of time with trtllm-build for this tp x pp and staged as the deployment's model source: Triton
serves a built engine, it does not build one. With more than one GPU the backend runs in orchestrator mode
(TRTLLM_ORCHESTRATOR=1: one server process spawns a worker per GPU, single node only; README "Orchestrator Mode",
https://github.com/triton-inference-server/tensorrtllm_backend/blob/v0.17.0/README.md).

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

from ..model.serving import Deployment, RankMemory, SchedulerLimits, SchedulerRequest
from . import quantization, tritonserver, trtllm
from .base import Metric

IMAGE = f"nvcr.io/nvidia/tritonserver:{tritonserver.RELEASE}-trtllm-python-py3"
MODEL = "tensorrt_llm"  # the model's name in the repository (what clients address)
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


# The tensors the backend's template declares that a text-in, tokens-out model needs (name, type, dims, optional).
INPUTS = (
    ("input_ids", "TYPE_INT32", "[ -1 ]", True),
    ("input_lengths", "TYPE_INT32", "[ 1 ]", False),
    ("request_output_len", "TYPE_INT32", "[ 1 ]", False),
    ("end_id", "TYPE_INT32", "[ 1 ]", True),
    ("pad_id", "TYPE_INT32", "[ 1 ]", True),
    ("streaming", "TYPE_BOOL", "[ 1 ]", True),
)
OUTPUTS = (("output_ids", "TYPE_INT32", "[ -1, -1 ]"), ("sequence_length", "TYPE_INT32", "[ -1 ]"))


def _pbtxt_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def config_pbtxt(deployment: Deployment, max_model_len: int | None) -> str:
    """The TensorRT-LLM model's config.pbtxt for this deployment."""
    dep = deployment
    batch = dep.engine_max_num_seqs or trtllm.MEMORY.max_batch_size
    params = {
        "gpt_model_type": "inflight_fused_batching",
        "gpt_model_path": f"/models/{dep.model}",
        "batch_scheduler_policy": "guaranteed_no_evict",
        "kv_cache_free_gpu_mem_fraction": f"{trtllm.MEMORY.kv_cache_free_gpu_mem_fraction:g}",
        "enable_chunked_context": "true",
        "enable_kv_cache_reuse": "true",
        "exclude_input_in_output": "true",
    }
    if max_model_len:
        params["max_attention_window_size"] = str(max_model_len)
    lines = [
        f'name: "{MODEL}"',
        'backend: "tensorrtllm"',
        f"max_batch_size: {batch}",
        "model_transaction_policy {\n  decoupled: true\n}",
        f"dynamic_batching {{\n  preferred_batch_size: [ {batch} ]\n  max_queue_delay_microseconds: 0\n}}",
        "input [",
        ",\n".join(
            f'  {{\n    name: "{n}"\n    data_type: {t}\n    dims: {d}\n'
            + ("    reshape: { shape: [ ] }\n" if d == "[ 1 ]" else "")
            + ("    allow_ragged_batch: true\n" if n == "input_ids" else "")
            + f"    optional: {'true' if o else 'false'}\n  }}"
            for n, t, d, o in INPUTS
        ),
        "]",
        "output [",
        ",\n".join(f'  {{\n    name: "{n}"\n    data_type: {t}\n    dims: {d}\n  }}' for n, t, d in OUTPUTS),
        "]",
        "instance_group [\n  {\n    count: 1\n    kind: KIND_CPU\n  }\n]",
    ]
    lines += [
        f"parameters: {{\n  key: {_pbtxt_string(k)}\n  value: {{\n    string_value: {_pbtxt_string(v)}\n  }}\n}}"
        for k, v in params.items()
    ]
    return "\n".join(lines) + "\n"


class Triton(tritonserver.TritonServer):
    """Triton Inference Server with the TensorRT-LLM backend."""

    name = "triton"
    image_ref = IMAGE

    def files(self, deployment: Deployment, max_model_len: int | None) -> dict[str, str]:
        """The model repository (REPOSITORY): the model's config.pbtxt and its empty version directory 1/."""
        return {
            f"repository__{MODEL}__config.pbtxt": config_pbtxt(deployment, max_model_len),
            f"repository__{MODEL}__1__.keep": "",
        }

    def env(self, deployment: Deployment) -> dict[str, str]:
        return {"TRTLLM_ORCHESTRATOR": "1"} if deployment.gpus_per_replica > 1 else {}

    def unsupported(self, deployment: Deployment, compute_capability: float | None) -> str | None:
        return quantization.deployment_problem(quantization.TRTLLM, self.name, deployment, compute_capability)

    def multi_node(self, deployment: Deployment, args: list[str]) -> tuple[list[str], list[str]] | None:
        return None  # orchestrator mode is single-node (README above)

    def metrics(self, version: str | None) -> Mapping[str, Metric]:
        return {**tritonserver.CORE_METRICS, **trtllm.BACKEND_METRICS}

    def memory_profile(self, version: str | None) -> TritonMemory:
        return MEMORY


ENGINE = Triton()
