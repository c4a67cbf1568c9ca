"""Models to serve: what, with which engine, on which pool, at what scale."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from .base import DnsLabel, ImageRef, Name, ReleaseVersion, ServiceName, Strict
from .k8s import LabelKey, LabelValue

# A catalog id, or a path to a Hugging Face config.json relative to the site file that never leaves its
# directory (every segment starts with a letter, digit or '_', so no '..', no absolute path).
ModelRef = Annotated[
    str,
    StringConstraints(max_length=512, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.+-]*(/[A-Za-z0-9_][A-Za-z0-9_.+-]*)*$"),
]
Cidr = Annotated[IPv4Network | IPv6Network, Field(union_mode="left_to_right")]
Tokens = Annotated[int, Field(gt=0, le=2**24)]


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
    engine: Literal["vllm", "trtllm", "triton"] = "vllm"
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

    @property
    def gpus_per_pod(self) -> int:
        """Each pod holds one pipeline stage: tp GPUs (pp > 1 spreads stages over pods/nodes)."""
        return self.tensor_parallel_size

    @property
    def gpus_total(self) -> int:
        return self.tensor_parallel_size * self.pipeline_parallel_size * self.replicas
