"""Models to serve: what, with which engine, on which pool, at what scale.

Also the contract between a serving engine's memory behaviour and the memory model: `gpuctl.engines` and
`gpuctl.vram` are independent layers (neither imports the other), so the interface they share, `MemoryProfile`,
lives here, below both. An engine module implements it; `gpuctl.vram.predict` applies it per GPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network
from typing import Annotated, Literal, Protocol

from pydantic import Field, StringConstraints, field_validator, model_validator

from .base import (
    DnsLabel,
    ImageRef,
    Name,
    NoCredentialsHttpUrl,
    OutsideHttpsUrl,
    ReleaseVersion,
    ServiceName,
    Strict,
    Text,
)
from .k8s import LabelKey, LabelValue
from .observability import Slo

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


# How an int8/int4 checkpoint was quantized (vLLM's --quantization names; TensorRT-LLM's QuantAlgo follows).
QuantMethod = Literal["awq", "gptq", "compressed-tensors", "bitsandbytes"]
DEFAULT_QUANT_METHOD: dict[str, QuantMethod] = {"int4": "awq", "int8": "compressed-tensors"}
RouterPolicy = Literal[
    "cache_aware", "round_robin", "random", "power_of_two", "consistent_hash", "kv_aware", "sticky_least_loaded"
]
# http(s):// URL of a model directory (a mirror, or an S3-compatible store's HTTPS endpoint), or an NFS export
# (host:/export/dir). The characters exclude everything a shell or config file quotes or separates with.
SourceUrl = Annotated[
    str,
    StringConstraints(
        max_length=2048,
        pattern=r"^(https?://[A-Za-z0-9\[][A-Za-z0-9\-._~:/@%+=\]]*|[A-Za-z0-9][A-Za-z0-9.-]*:/[A-Za-z0-9_./-]*)$",
    ),
]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[a-f0-9]{64}$")]


class ModelSource(Strict):
    """Where a deployment's weights come from, and the manifest that verifies them: every file of the model
    directory with its SHA-256 (the manifest itself pinned by its own digest, so a changed manifest is refused)."""

    url: SourceUrl = Field(description="Model directory: https://mirror.example/models/x or nfs-host:/export/models/x.")
    manifest_sha256: Sha256 = Field(description="SHA-256 of the directory's SHA256SUMS manifest (sha256sum format).")
    size_gib: float = Field(gt=0, le=100_000, description="Total size; staging refuses a node without this free.")
    token_secret: DnsLabel | None = Field(
        default=None, description="Secret (key `token`) holding a bearer token for the source; never in the spec."
    )
    stage_image: ImageRef = Field(
        default="docker.io/curlimages/curl:8.11.1",
        description="Image of the staging init container (sh, curl, sha256sum, flock); point at your mirror.",
    )

    @property
    def is_nfs(self) -> bool:
        return not self.url.startswith(("http://", "https://"))


class Router(Strict):
    """The vllm-router in front of the deployment's replicas."""

    policy: RouterPolicy = "cache_aware"
    image: ImageRef = Field(
        default="vllm-router:0.1.17",
        description="Image with PyPI vllm-router 0.1.17 (a wheel, no published image): build "
        "'templates/images/vllm-router' into your registry.",
    )
    replicas: int = Field(default=2, ge=1, le=64, description="Router pods; a PDB keeps all but one up.")
    health_check_interval_s: int = Field(default=10, ge=1, le=3600)
    max_retries: int = Field(default=3, ge=0, le=16)


class Autoscaling(Strict):
    """KEDA scales replicas between min and max on the engine's queue depth at its saturation point."""

    prometheus_url: NoCredentialsHttpUrl = Field(
        default="http://prometheus-operated.monitoring.svc:9090", description="Prometheus KEDA queries."
    )
    min_replicas: int = Field(default=1, le=10_000, description="At least 1: the engine pods report the demand.")
    max_replicas: int = Field(ge=1, le=10_000)
    priority: int = Field(
        default=0, ge=0, le=1_000_000, description="When pool maxima overlap, the lower priority yields GPUs."
    )

    @field_validator("min_replicas")
    @classmethod
    def _never_zero(cls, v: int) -> int:
        # The trigger reads the engine pods' own queue metrics: with no pod left, demand reads 0 forever and KEDA
        # never scales the deployment up again (scale-from-zero needs a signal from outside the engine).
        if v < 1:
            raise ValueError(
                f"{v} would never scale back up: demand is read from the engine pods themselves; set min_replicas ≥ 1"
            )
        return v

    @model_validator(mode="after")
    def _ordered(self) -> Autoscaling:
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"min_replicas {self.min_replicas} > max_replicas {self.max_replicas}")
        return self


class Burst(Strict):
    """An OpenAI-compatible endpoint outside the site that takes the overflow (the hybrid pattern)."""

    url: OutsideHttpsUrl = Field(description="Base URL of the OpenAI-compatible API, https://…/v1.")
    credential_secret: DnsLabel = Field(description="Secret (key `api-key`) with the endpoint's API key.")
    local_share_pct: float = Field(
        default=75, gt=0, le=100, description="Share of steady traffic the local replicas must serve (70-80 %)."
    )
    gateway_image: ImageRef = Field(default="docker.io/library/nginx:1.27.3", description="The gateway's nginx image.")
    metrics_image: ImageRef = Field(
        default="mtail:3.0.0-rc50",
        description="Image with mtail, which counts the gateway's split (Debian's mtail 3.0.0~rc50, as the tests run "
        "it; mtail publishes no image): build 'templates/images/mtail' into your registry.",
    )
    steady_concurrency: int | None = Field(
        default=None, gt=0, le=2**24, description="Requests in flight at steady state (rate × mean duration)."
    )


# Names the first LLM of a Triton server gives its ensemble's models (engines/triton_repository.py), and the
# suffixes a further LLM's steps get: a further model may not take them.
TRITON_RESERVED = ("ensemble", "preprocessing", "postprocessing")
TRITON_STEP_SUFFIXES = ("-preprocessing", "-postprocessing")


BuildFrom = Literal["trtllm_checkpoint", "hf_checkpoint"]


class TritonModel(Strict):
    """A further model in the deployment's Triton server (engine triton), beside the deployment's own: another
    TensorRT-LLM ensemble on the same GPUs, or a plain Python-backend model."""

    name: ServiceName = Field(description="The model's name in the server (what clients call).")
    backend: Literal["tensorrtllm", "python"] = "tensorrtllm"
    model: ModelRef = Field(
        description="tensorrtllm: a model catalog id; python: the directory under the model cache that holds its "
        "model.py (staged from `source`)."
    )
    max_model_len: Tokens | None = Field(default=None, description="tensorrtllm; default: the model's own maximum.")
    max_batch_size: int = Field(default=8, gt=0, le=2**16, description="Requests Triton batches into one call.")
    instance_count: int = Field(default=1, ge=1, le=64, description="python: model instances in the server.")
    gpu: bool = Field(default=False, description="python: instances on the GPU (KIND_GPU) instead of the CPU.")
    gpu_memory_gib: float | None = Field(
        default=None,
        gt=0,
        le=1024,
        description="python with gpu: GPU memory one instance takes (its code decides; gpuctl cannot predict it).",
    )
    source: ModelSource | None = None
    build_engine: bool = Field(default=False, description="tensorrtllm: as a deployment's build_engine.")
    build_from: BuildFrom = Field(default="trtllm_checkpoint", description="tensorrtllm: as a deployment's build_from.")
    shares_tokenizer: bool = Field(
        default=False,
        description="tensorrtllm: the model uses the deployment's model's tokenizer and chat template (a fine-tune "
        "of it, or another size of its family); Triton's OpenAI frontend applies that one to every model (SRV023).",
    )

    @model_validator(mode="after")
    def _gpu_memory_declared(self) -> TritonModel:
        if self.backend == "python" and self.gpu and self.gpu_memory_gib is None:
            raise ValueError("a Python model on the GPU needs gpu_memory_gib: the GPUs are shared with the LLMs")
        return self

    @model_validator(mode="after")
    def _free_name(self) -> TritonModel:
        if self.name in TRITON_RESERVED or self.name.endswith(TRITON_STEP_SUFFIXES):
            raise ValueError(
                f"model name {self.name!r} is taken by an ensemble's steps (not {', '.join(TRITON_RESERVED)}, "
                f"nor ending in {' or '.join(TRITON_STEP_SUFFIXES)})"
            )
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
    replicas: int = Field(
        default=1, ge=1, le=10_000, description="Replicas; with autoscaling the steady count, within its min/max."
    )
    max_model_len: Tokens | None = None
    target_concurrency: int | None = Field(default=None, gt=0, le=2**20)
    prompt_tokens: Tokens | None = None
    output_tokens: Tokens | None = None
    gpu_memory_utilization: float = Field(default=0.9, gt=0, le=1)
    node_pool: Name
    namespace: DnsLabel = "inference"
    image: ImageRef | None = Field(default=None, description="Engine image; default by engine and version.")
    clients: list[Client] = Field(default_factory=list, description="Allowed callers; none means no ingress.")
    slo: Slo | None = Field(default=None, description="Service-level objectives: alerts and dashboards follow them.")
    env: dict[EnvName, Text] = Field(default_factory=dict, description="Extra engine environment variables.")
    quantization_method: QuantMethod | None = Field(
        default=None,
        description="int8/int4: how the checkpoint is quantized (default int4 awq, int8 compressed-tensors).",
    )
    max_num_seqs: int | None = Field(default=None, gt=0, le=2**16, description="Default: target_concurrency.")
    max_num_batched_tokens: Tokens | None = Field(default=None, description="Default: from target concurrency.")
    max_unavailable: int = Field(
        default=1,
        le=10_000,
        description="Replicas a disruption or a rollout may take down at once (PDB and rolling update); at least 1.",
    )
    source: ModelSource | None = None
    router: Router = Field(default_factory=Router)
    autoscaling: Autoscaling | None = None
    burst: Burst | None = None
    build_engine: bool = Field(
        default=False,
        description="engine triton: the staged model is a TensorRT-LLM checkpoint (quantized when converted), with "
        "the Hugging Face tokenizer in its tokenizer/ directory; the pod builds the engine on the node (trtllm-build).",
    )
    build_from: BuildFrom = Field(
        default="trtllm_checkpoint",
        description="with build_engine: the staged model is a TensorRT-LLM checkpoint (trtllm_checkpoint), or a "
        "Hugging Face checkpoint (hf_checkpoint) that the pod converts first, quantized as `precision` says "
        "(engines/trtllm_convert.py).",
    )
    triton_models: list[TritonModel] = Field(
        default_factory=list,
        max_length=32,
        description="engine triton: further models served by the same server on the same GPUs.",
    )

    @field_validator("max_unavailable")
    @classmethod
    def _disruptable(cls, v: int) -> int:
        # GPUs are whole: a rollout replaces pods without surging (maxSurge 0), so it needs room to take one down.
        if v < 1:
            raise ValueError(
                f"{v} would block every node drain forever and leave a rollout no room (GPU pods do not surge); "
                "set max_unavailable ≥ 1"
            )
        return v

    @model_validator(mode="after")
    def _triton_models(self) -> Deployment:
        if (self.triton_models or self.build_engine) and self.engine != "triton":
            raise ValueError(f"triton_models and build_engine need engine triton (engine is {self.engine!r})")
        converted = [m.name for m in self.triton_models if m.build_from == "hf_checkpoint" and not m.build_engine]
        if (self.build_from == "hf_checkpoint" and not self.build_engine) or converted:
            raise ValueError(
                "build_from hf_checkpoint needs build_engine: the converted checkpoint is built in the pod"
            )
        names = [m.name for m in self.triton_models]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"triton_models: name {', '.join(twice)} given more than once")
        return self

    @property
    def quant_method(self) -> QuantMethod | None:
        return self.quantization_method or DEFAULT_QUANT_METHOD.get(self.precision)

    @property
    def engine_max_num_seqs(self) -> int | None:
        """Sequences one replica runs at once: the spec's, else the target concurrency (None: engine default).
        Past it requests queue, which is the saturation point autoscaling reads."""
        return self.max_num_seqs or self.target_concurrency

    @property
    def engine_max_num_batched_tokens(self) -> int | None:
        """Tokens one step carries: every running sequence's decode token plus one average prompt, so a new
        request prefills in one step; at least 2048 (vLLM's floor for small GPUs), rounded up to 256."""
        if self.max_num_batched_tokens:
            return self.max_num_batched_tokens
        seqs = self.engine_max_num_seqs
        if seqs is None:
            return None
        want = seqs + (self.prompt_tokens or 2048)
        return max(2048, -(-want // 256) * 256)

    @property
    def replicas_max(self) -> int:
        return self.autoscaling.max_replicas if self.autoscaling else self.replicas

    @property
    def gpus_per_pod(self) -> int:
        """Each pod holds one pipeline stage: tp GPUs (pp > 1 spreads stages over pods/nodes)."""
        return self.tensor_parallel_size

    @property
    def gpus_per_replica(self) -> int:
        return self.tensor_parallel_size * self.pipeline_parallel_size

    @property
    def gpus_total(self) -> int:
        return self.gpus_per_replica * self.replicas


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
    # Whether the KV cache manager gives sliding-window layers only their window (False: every layer is paged as full
    # attention, as engines without a hybrid KV cache manager do).
    sliding_window_kv: bool = True


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
