"""A fourth serving engine that exists only in the tests: everything gpuctl needs from an engine, in one module.

Nothing outside this module knows it; tests/engines/test_toy_engine.py registers it and runs validate, render and
`gpuctl vram` against it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gpuctl.engines import Engine, Metric
from gpuctl.model.serving import Deployment, RankMemory, SchedulerLimits, SchedulerRequest

PORT = 9000


@dataclass(frozen=True)
class ToyMemory:
    """Takes the whole budget like vLLM but keeps a fixed 2 GiB for itself, in 64-token blocks."""

    version: str = "toy-1"
    block_size: int = 64
    sampler_bytes_per_logit: float = 0.0
    graphs_in_budget: bool = True
    reserve_gib: float = 2.0

    def scheduler(self, request: SchedulerRequest) -> SchedulerLimits:
        seqs, batched = request.max_num_seqs or 8, request.max_num_batched_tokens or 1024
        return SchedulerLimits(seqs, batched, ("toy: fixed 2 GiB reserve",))

    def non_torch_gib(self, ranks: int) -> float:
        return 0.0

    def cuda_graph_gib(self, num_layers: int, tensor_parallel_size: int) -> float:
        return 0.0

    def kv_cache_gib(self, total_gib: float, gpu_memory_utilization: float, used: RankMemory) -> float:
        return total_gib * gpu_memory_utilization - used.weights_gib - used.activation_gib - self.reserve_gib


class Toy:
    name = "toy"
    port = PORT
    liveness_path = "/alive"
    readiness_path = "/ready"
    metrics_port = 9100
    metrics_path = "/stats"

    def image(self, version: str | None) -> str:
        return f"registry.example.com/toy/server:{version or '1.0'}"

    model_label = "model"

    def served_model(self, deployment: Deployment) -> str:
        return deployment.model

    def command(self, deployment: Deployment) -> list[str]:
        return ["toy"]

    def args(
        self, deployment: Deployment, max_model_len: int | None, compute_capability: float | None = None
    ) -> list[str]:
        args = ["serve", f"/models/{deployment.model}", f"--listen=:{PORT}"]
        return args + [f"--context={max_model_len}"] if max_model_len else args

    def files(self, deployment: Deployment, max_model_len: int | None) -> dict[str, str]:
        return {}

    def env(self, deployment: Deployment) -> dict[str, str]:
        return {}

    def unsupported(self, deployment: Deployment, compute_capability: float | None) -> str | None:
        return "toy serves bf16 only" if deployment.precision not in ("auto", "bf16") else None

    def multi_node(self, deployment: Deployment, args: list[str]) -> tuple[list[str], list[str]] | None:
        return None

    def metrics(self, version: str | None) -> Mapping[str, Metric]:
        return {"requests_waiting": Metric("toy_queue_depth", "gauge", "requests")}

    def memory_profile(self, version: str | None) -> ToyMemory:
        return ToyMemory()


ENGINE: Engine = Toy()
