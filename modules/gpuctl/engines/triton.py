"""NVIDIA Triton Inference Server with its TensorRT-LLM backend: the `-trtllm-python-py3` image, Triton's command,
endpoints and core metrics plus the backend's, a generated model repository, and a memory profile of its own.

The model repository (engines/triton_repository.py): the deployment's model as the TensorRT-LLM ensemble that
tensorrtllm_backend v0.17.0 ships (preprocessing, tensorrt_llm, postprocessing, ensemble; each config.pbtxt
filled from the backend's own template from the deployment and the memory model), plus the deployment's
`triton_models`: further TensorRT-LLM ensembles and plain Python-backend models in the same server on the same
GPUs (render/triton_server.py sizes them together). The server loads exactly these models (every model of
the repository, the frontend's default; engines/tritonserver.py), and clients reach them through Triton's
OpenAI-compatible frontend by model name (the deployment's model for its own). Triton serves a built engine:
either staged as the model's source, built ahead of time for this tp, or (`build_engine`) built in the pod from
a staged TensorRT-LLM checkpoint by trtllm-build (engines/trtllm_build.py). With more than one GPU the backend
runs in orchestrator mode (TRTLLM_ORCHESTRATOR=1: one server process spawns a worker per GPU, single node only,
the mode the OpenAI frontend supports; README "Orchestrator Mode",
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

import re
from collections.abc import Mapping
from dataclasses import dataclass

from ..model.serving import Deployment, RankMemory, SchedulerLimits, SchedulerRequest, TritonModel
from . import quantization, triton_repository, tritonserver, trtllm
from .base import Metric
from .triton_repository import LlmModel, PythonModel
from .trtllm_build import EngineBuild
from .trtllm_convert import conversion

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
REPOSITORY_KEY = tritonserver.REPOSITORY.rpartition("/")[2]  # the repository's directory in the engine's files


def _llm(
    name: str,
    model: str,
    build: EngineBuild | None,
    batch: int,
    max_model_len: int | None,
    kv_tokens: int | None,
    first: bool = False,
) -> LlmModel:
    """A TensorRT-LLM model of the server: its engine and tokenizer are the staged directory (an engine built
    ahead of time for the server's tp, with its tokenizer), or what `build` makes of a staged checkpoint."""
    return LlmModel(
        name=name,
        engine_dir=build.engine_dir if build else f"/models/{model}",
        tokenizer_dir=build.tokenizer_dir if build else f"/models/{model}",
        max_batch_size=batch,
        kv_cache_free_gpu_mem_fraction=trtllm.MEMORY.kv_cache_free_gpu_mem_fraction,
        max_tokens_in_paged_kv_cache=kv_tokens,
        max_attention_window_size=max_model_len,
        template_steps=first,
    )


TRITON_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")  # a repository directory and a ConfigMap key part


class Triton(tritonserver.TritonServer):
    """Triton Inference Server with the TensorRT-LLM backend."""

    name = "triton"
    image_ref = IMAGE

    def build(self, deployment: Deployment, max_model_len: int | None) -> EngineBuild | None:
        """The deployment's own engine build (None: the staged source is a built engine)."""
        dep = deployment
        if not dep.build_engine:
            return None
        return EngineBuild(
            dep.model,
            dep.tensor_parallel_size,
            dep.pipeline_parallel_size,
            dep.engine_max_num_seqs or trtllm.MEMORY.max_batch_size,
            dep.engine_max_num_batched_tokens or trtllm.MEMORY.max_num_tokens,
            max_model_len,
            conversion(dep, dep.model) if dep.build_from == "hf_checkpoint" else None,
        )

    def further_build(self, deployment: Deployment, model: TritonModel, max_model_len: int) -> EngineBuild | None:
        if not model.build_engine:
            return None
        tp, pp = deployment.tensor_parallel_size, deployment.pipeline_parallel_size
        convert = conversion(deployment, model.model) if model.build_from == "hf_checkpoint" else None
        return EngineBuild(
            model.model, tp, pp, model.max_batch_size, trtllm.MEMORY.max_num_tokens, max_model_len, convert
        )

    def llm(self, deployment: Deployment, max_model_len: int | None, kv_tokens: int | None = None) -> LlmModel:
        """The deployment's own model as the first LLM of its server: its ensemble is named after the deployment's
        model, the name the gateway routes and clients send in `model` (the OpenAI frontend looks it up among
        the repository's models); its steps keep the templates' names."""
        dep = deployment
        return _llm(
            dep.model,
            dep.model,
            self.build(dep, max_model_len),
            dep.engine_max_num_seqs or trtllm.MEMORY.max_batch_size,
            max_model_len,
            kv_tokens,
            first=True,
        )

    def further_llm(
        self, deployment: Deployment, model: TritonModel, max_model_len: int, kv_tokens: int | None
    ) -> LlmModel:
        build = self.further_build(deployment, model, max_model_len)
        return _llm(model.name, model.model, build, model.max_batch_size, max_model_len, kv_tokens)

    def repository(self, deployment: Deployment, llms: list[LlmModel]) -> dict[str, str]:
        """The server's model repository (REPOSITORY): each LLM's ensemble, then each Python model's config
        (its model.py is copied from the model cache when the pod starts; render/triton_server.py)."""
        files: dict[str, str] = {}
        for llm in llms:
            files |= llm.repository()
        for m in deployment.triton_models:
            if m.backend == "python":
                py = PythonModel(m.name, m.max_batch_size, m.instance_count, m.gpu)
                files[f"{m.name}__config.pbtxt"] = py.config_pbtxt()
        return {f"{REPOSITORY_KEY}__{key}": text for key, text in files.items()}

    def files(self, deployment: Deployment, max_model_len: int | None) -> dict[str, str]:
        """One LLM per server (a deployment with triton_models is rendered by render/triton_server.py, which
        sizes each model's KV cache with the memory model)."""
        return self.repository(deployment, [self.llm(deployment, max_model_len)])

    def model_names(self, deployment: Deployment) -> list[str]:
        """Every model of the server's repository (the server loads them all)."""
        first = LlmModel(deployment.model, "", "", 1, 0.9, template_steps=True)
        names = [first.step(s) for s in triton_repository.STEPS] + [first.name]
        for m in deployment.triton_models:
            if m.backend == "tensorrtllm":
                llm = LlmModel(m.name, "", "", 1, 0.9)
                names += [llm.step(s) for s in triton_repository.STEPS]
            names.append(m.name)
        return names

    def scaled_models(self, deployment: Deployment, first_capacity: int) -> list[tuple[str, int]]:
        """Each TensorRT-LLM model of the server as autoscaling reads it: the name its `tensorrt_llm` step reports
        metrics under, and its saturation point, the most requests its engine runs at once (the first's
        `first_capacity`, a further model's max_batch_size, which its engine is built with and its Triton model
        batches to). Python models have none gpuctl knows (their code decides) and do not drive scaling."""
        first = LlmModel(deployment.model, "", "", 1, 0.9, template_steps=True)
        out = [(first.step("tensorrt_llm"), first_capacity)]
        for m in deployment.triton_models:
            if m.backend == "tensorrtllm":
                out.append((LlmModel(m.name, "", "", 1, 0.9).step("tensorrt_llm"), m.max_batch_size))
        return out

    def tokenizer_problem(self, deployment: Deployment) -> str | None:
        """Why the frontend's one tokenizer cannot serve every LLM of the server (None: it can): main.py takes a
        single --tokenizer and the engine gives that one tokenizer to every model it finds (v2.54.0
        python/openai/openai_frontend/engine/triton_engine.py `_get_model_metadata`, "One tokenizer ... shared
        for all loaded models"), and /v1/chat/completions renders each model's prompt with its chat template.
        A further model of another catalog model needs another tokenizer unless the spec says it shares it."""
        others = [
            f"{m.name} ({m.model})"
            for m in deployment.triton_models
            if m.backend == "tensorrtllm" and m.model != deployment.model and not m.shares_tokenizer
        ]
        if not others:
            return None
        return (
            f"Triton's OpenAI frontend (v2.54.0) has one --tokenizer per server, {deployment.model}'s, and would "
            f"render chat prompts for {', '.join(others)} with its chat template"
        )

    def name_problem(self, deployment: Deployment) -> str | None:
        """Why the server's models cannot be named as served (None: they can): the deployment's model must be a
        Triton model name (one directory of the repository) and every model name must be distinct."""
        if not TRITON_NAME.fullmatch(deployment.model):
            return (
                f"model {deployment.model!r} cannot name a Triton model (letters, digits, '_', '.', '-'; no '/' "
                "or '+'): the OpenAI frontend serves the ensemble under the name the gateway routes and clients send"
            )
        names = self.model_names(deployment)
        clashes = sorted({n for n in names if names.count(n) > 1})
        if clashes:
            return f"the server would hold two models named {', '.join(repr(n) for n in clashes)}"
        return None

    def args(
        self, deployment: Deployment, max_model_len: int | None, compute_capability: float | None = None
    ) -> list[str]:
        """The frontend's options (tritonserver.py), then the deployment's tokenizer for chat templates (the
        frontend shares one tokenizer among all models, main.py/engine/triton_engine.py v2.54.0) and the
        TensorRT-LLM request format for every model (`--backend tensorrtllm`; the format it would pick anyway for
        an ensemble, stated so that no model is guessed as vLLM's)."""
        tokenizer = self.llm(deployment, max_model_len).tokenizer_dir
        base = super().args(deployment, max_model_len, compute_capability)
        return [*base, f"--tokenizer={tokenizer}", "--backend=tensorrtllm"]

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
