"""What a serving engine is to gpuctl: the `Engine` protocol, its metric names, and version comparison.

An engine owns every fact that differs between engines: its image, its command-line arguments, its ports, its
health and readiness endpoints, the names of its Prometheus metrics, and its memory profile
(`gpuctl.model.serving.MemoryProfile`, which `gpuctl.vram` applies). Everything else asks the engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from ..errors import UsageError
from ..model.serving import Deployment, MemoryProfile

MetricKind = Literal["counter", "gauge", "histogram"]
# Where an engine's `files` are mounted (from a ConfigMap); `__` in a file's key stands for a directory separator.
CONFIG_DIR = "/etc/gpuctl/engine"

# The signals an engine can name a metric for (what observability asks for); an engine leaves out what it
# does not expose. Units and kinds differ by engine (vLLM's end-to-end latency is a histogram in seconds,
# Triton's a cumulative counter in microseconds): read them from the Metric.
SIGNALS: Mapping[str, str] = {
    "requests_running": "requests in the running batch",
    "requests_waiting": "requests queued, not yet scheduled",
    "kv_cache_usage": "share of the KV cache in use, 0-1",
    "kv_cache_blocks_used": "KV cache blocks in use",
    "kv_cache_blocks_max": "KV cache blocks allocated",
    "time_to_first_token": "time from arrival to the first output token",
    "e2e_latency": "time from arrival to the last output token",
    "queue_time": "time requests spend queued",
    "compute_time": "time requests spend in the model",
    "preemptions": "requests preempted (KV cache exhausted)",
    "prompt_tokens": "prompt tokens processed",
    "generation_tokens": "output tokens generated",
    "request_success": "requests finished successfully",
    "request_failure": "requests that failed",
}


@dataclass(frozen=True)
class Metric:
    """One Prometheus series as the engine exposes it: the name as scraped (counters with their `_total`), its
    kind and unit, and the fixed labels that select it from a family that holds several signals."""

    name: str
    kind: MetricKind
    unit: str
    labels: tuple[tuple[str, str], ...] = ()

    @property
    def selector(self) -> str:
        """The PromQL series selector: `name` or `name{label="value",...}`."""
        if not self.labels:
            return self.name
        return self.name + "{" + ",".join(f'{k}="{v}"' for k, v in self.labels) + "}"


class Engine(Protocol):
    """A serving engine. Register a new one with `gpuctl.engines.register` (or list it in the registry)."""

    @property
    def name(self) -> str:
        """What a deployment's `engine:` says."""
        ...

    @property
    def port(self) -> int:
        """The HTTP port the engine serves its API and health endpoints on (the pod's `http` port)."""
        ...

    @property
    def liveness_path(self) -> str:
        """HTTP path that answers 200 while the server process is alive."""
        ...

    @property
    def readiness_path(self) -> str:
        """HTTP path that answers 200 once the model is loaded and requests are served."""
        ...

    @property
    def metrics_port(self) -> int:
        """The port Prometheus scrapes (the API port when the engine serves metrics there)."""
        ...

    @property
    def metrics_path(self) -> str:
        """The path Prometheus scrapes."""
        ...

    def image(self, version: str | None) -> str:
        """The default container image (a deployment's `image` overrides it); `version` None: the engine's."""
        ...

    @property
    def model_label(self) -> str:
        """The label on the engine's metrics that names the served model."""
        ...

    def served_model(self, deployment: Deployment) -> str:
        """The model's name in the API and in the `model_label` of the metrics."""
        ...

    def command(self, deployment: Deployment) -> list[str]:
        """The container's command (the server executable); `args` follow it."""
        ...

    def args(
        self, deployment: Deployment, max_model_len: int | None, compute_capability: float | None = None
    ) -> list[str]:
        """The container's arguments; `max_model_len` is the spec's or the largest the memory model fits;
        `compute_capability` is the pool GPU's (kernels differ by GPU), None when unknown."""
        ...

    def files(self, deployment: Deployment, max_model_len: int | None) -> dict[str, str]:
        """Configuration files the server reads (ConfigMap keys; `__` stands for a directory separator)."""
        ...

    def env(self, deployment: Deployment) -> dict[str, str]:
        """Environment variables the server needs (never secrets)."""
        ...

    def unsupported(self, deployment: Deployment, compute_capability: float | None) -> str | None:
        """Why the engine cannot run the deployment's precision, quantization or KV cache dtype on this GPU."""
        ...

    def multi_node(self, deployment: Deployment, args: list[str]) -> tuple[list[str], list[str]] | None:
        """Leader and worker container commands of a replica spread over several pods; None: the engine has no
        multi-node mode gpuctl renders."""
        ...

    def metrics(self, version: str | None) -> Mapping[str, Metric]:
        """Metric per signal (keys from SIGNALS) as this version exposes them."""
        ...

    def memory_profile(self, version: str | None) -> MemoryProfile:
        """How this version accounts GPU memory; a version it cannot read is a UsageError."""
        ...


def parse_version(text: str) -> tuple[int, ...]:
    """The numeric parts of a release version: '0.8.5.post1' → (0, 8, 5), 'v0.11.0' → (0, 11, 0)."""
    parts = []
    for piece in text.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    if not parts:
        raise UsageError(f"not a version: {text!r}")
    return tuple(parts)
