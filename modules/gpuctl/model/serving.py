"""Models to serve: what, with which engine, on which pool, at what scale."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .base import Name, PositiveInt, Strict


class Client(Strict):
    """Who may call the endpoint: pods in a namespace (optionally with labels), or an address block."""

    namespace: str | None = None
    pod_labels: dict[str, str] = Field(default_factory=dict)
    cidr: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Client:
        if (self.namespace is None) == (self.cidr is None):
            raise ValueError("a client is either a namespace (with optional pod_labels) or a cidr")
        return self


class Deployment(Strict):
    name: Name
    model: str = Field(min_length=1, description="Model catalog id or a path to a Hugging Face config.json.")
    engine: Literal["vllm", "trtllm", "triton"] = "vllm"
    engine_version: str | None = None
    precision: Literal["auto", "bf16", "fp16", "fp8", "int8", "int4"] = "auto"
    kv_cache_dtype: Literal["auto", "fp8"] = "auto"
    tensor_parallel_size: PositiveInt = 1
    pipeline_parallel_size: PositiveInt = 1
    replicas: PositiveInt = 1
    max_model_len: PositiveInt | None = None
    target_concurrency: PositiveInt | None = None
    prompt_tokens: PositiveInt | None = None
    output_tokens: PositiveInt | None = None
    gpu_memory_utilization: float = Field(default=0.9, gt=0, le=1)
    node_pool: Name
    namespace: Name = "inference"
    image: str | None = Field(default=None, description="Engine image; default by engine and version.")
    clients: list[Client] = Field(default_factory=list, description="Allowed callers; none means no ingress.")

    @property
    def gpus_per_pod(self) -> int:
        """Each pod holds one pipeline stage: tp GPUs (pp > 1 spreads stages over pods/nodes)."""
        return self.tensor_parallel_size

    @property
    def gpus_total(self) -> int:
        return self.tensor_parallel_size * self.pipeline_parallel_size * self.replicas
