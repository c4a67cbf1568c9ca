"""Models to serve: what, with which engine, on which pool, at what scale.

Also the contract between a serving engine's memory behaviour and the memory model: `gpuctl.engines` and
`gpuctl.vram` are independent layers (neither imports the other), so the interface they share, `MemoryProfile`,
lives here, below both. An engine module implements it; `gpuctl.vram.predict` applies it per GPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network
from typing import Annotated, Literal, Protocol

from pydantic import Field, StringConstraints, model_validator

from .base import DnsLabel, ImageRef, Name, ReleaseVersion, ServiceName, Strict, Text
from .k8s import LabelKey, LabelValue

# A catalog id, or a path to a Hugging Face config.json relative to the site file that never leaves its
# directory (every segment starts with a letter, digit or '_', so no '..', no absolute path).
ModelRef = Annotated[
    str,
    StringConstraints(max_length=512, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.+-]*(/[A-Za-z0-9_][A-Za-z0-9_.+-]*)*$"),
]
Cidr = Annotated[IPv4Network | IPv6Network, Field(union_mode="left_to_right")]
EnvName = Annotated[str, StringConstraints(max_length=128, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
Tokens = Annotated[int, Field(gt=0, le=2**24)]
# A serving engine's registered name (gpuctl.engines). The model cannot import the engines (they sit above it):
# the Site checks the name against the registered ones it receives in its validation context.
EngineName = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9-]*$")]


class Client(Strict):
    """Who may call the endpoint: pods in a namespace (optionally with labels), or an address block."""

    namespace: DnsLabel | None = None
    pod_labels: dict[LabelKey, LabelValue] = Field(default_factory=dict)
    cidr: Cidr | None = Field(default=None, description="Network address with prefix (host bits zero): 10.0.0.0/8.")

    @model_validator(mode="after")
    def _one_kind(self) -> Client:
        if (self.namespace is None) == (self.cidr is None):
            raise ValueError("a client is either a namespace (with optional pod_labels) or a cidr")
        return self


class Deployment(Strict):
    name: ServiceName
    model: ModelRef = Field(description="Model catalog id or a path to a Hugging Face config.json.")
    engine: EngineName = Field(default="vllm", description="Serving engine: a name registered in gpuctl.engines.")
    engine_version: ReleaseVersion | None = None
    precision: Literal["auto", "bf16", "fp16", "fp8", "int8", "int4"] = "auto"
    kv_cache_dtype: Literal["auto", "fp8"] = "auto"
    tensor_parallel_size: int = Field(default=1, ge=1, le=1024)
    pipeline_parallel_size: int = Field(default=1, ge=1, le=1024)
    replicas: int = Field(default=1, ge=1, le=10_000)
    max_model_len: Tokens | None = None
    target_concurrency: int | None = Field(default=None, gt=0, le=2**20)
    prompt_tokens: Tokens | None = None
    output_tokens: Tokens | None = None
    gpu_memory_utilization: float = Field(default=0.9, gt=0, le=1)
    node_pool: Name
    namespace: DnsLabel = "inference"
    image: ImageRef | None = Field(default=None, description="Engine image; default by engine and version.")
    clients: list[Client] = Field(default_factory=list, description="Allowed callers; none means no ingress.")
    env: dict[EnvName, Text] = Field(default_factory=dict, description="Extra engine environment variables.")

    @property
    def gpus_per_pod(self) -> int:
        """Each pod holds one pipeline stage: tp GPUs (pp > 1 spreads stages over pods/nodes)."""
        return self.tensor_parallel_size

    @property
    def gpus_total(self) -> int:
        return self.tensor_parallel_size * self.pipeline_parallel_size * self.replicas


@dataclass(frozen=True)
class SchedulerRequest:
    """What the memory model asks an engine's scheduler about: the GPU, the context, the user's limits (None: the
    engine's default)."""

    gpu_id: str
    total_gib: float
    max_model_len: int
    max_num_seqs: int | None = None
    max_num_batched_tokens: int | None = None


@dataclass(frozen=True)
class SchedulerLimits:
    """What one engine step may hold, which sizes the start-up profile run: sequences (the sampler's warm-up)
    and batched tokens (the forward pass), after the user's overrides; with notes on how the engine chose them."""

    max_num_seqs: int
    max_num_batched_tokens: int
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class RankMemory:
    """What one GPU holds before the KV cache, in GiB: weights, the profile run's activation peak, memory outside
    torch's allocator, and the CUDA graph pool."""

    weights_gib: float
    activation_gib: float
    non_torch_gib: float
    cuda_graph_gib: float


class MemoryProfile(Protocol):
    """How one serving engine, at one version, accounts GPU memory per tensor-parallel rank.

    `gpuctl.vram.predict` does the engine-independent part (weights per rank, the forward pass of the profile run,
    KV pages and blocks, the minimum over pipeline stages) and asks the profile for the rest.
    """

    @property
    def version(self) -> str:
        """What a prediction reports as the engine version (vLLM: the version asked for)."""
        ...

    @property
    def block_size(self) -> int:
        """Tokens per KV cache block when the user gives none."""
        ...

    @property
    def sampler_bytes_per_logit(self) -> float:
        """The profile run's sampler warm-up: max_num_seqs × vocab × this many bytes (0: not profiled)."""
        ...

    @property
    def graphs_in_budget(self) -> bool:
        """Whether CUDA graph memory comes out of the KV budget (else it sits on top of it)."""
        ...

    def scheduler(self, request: SchedulerRequest) -> SchedulerLimits:
        """The engine's own scheduler defaults for this GPU and context, with the user's values where given."""
        ...

    def non_torch_gib(self, ranks: int) -> float:
        """Memory outside torch's allocator (CUDA context growth, NCCL) with `ranks` GPUs in the engine."""
        ...

    def cuda_graph_gib(self, num_layers: int, tensor_parallel_size: int) -> float:
        """The CUDA graph pool per GPU (0 when the engine captures none)."""
        ...

    def kv_cache_gib(self, total_gib: float, gpu_memory_utilization: float, used: RankMemory) -> float:
        """What the engine gives the KV cache on one GPU (before a site's calibration); ≤ 0: it cannot start."""
        ...
