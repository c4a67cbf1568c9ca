"""The burn-in gate's settings: how hard `gpuctl burnin` tests a node before it may serve.

DCGM diagnostic levels (`dcgmi diag -r N`): 1 quick readiness, 2 medium ("an epilogue on failure"), 3 and 4
long stress runs for post-mortem and acceptance
(https://docs.nvidia.com/datacenter/dcgm/latest/user-guide/dcgm-diagnostics.html). A node that has never
passed burn-in (new hardware) runs `new_hardware_diag_level`; a node that passed before runs `diag_level`."""

from __future__ import annotations

from pydantic import Field, model_validator

from .base import Strict

GIB = 1024**3


class BurninSettings(Strict):
    diag_level: int = Field(default=2, ge=1, le=4, description="dcgmi diag level for nodes that passed before.")
    new_hardware_diag_level: int = Field(
        default=3, ge=1, le=4, description="dcgmi diag level for a node that has never passed burn-in."
    )
    nccl_min_bytes: int = Field(
        default=GIB, ge=1024, le=64 * GIB, description="all_reduce_perf -b: smallest message (bytes)."
    )
    nccl_max_bytes: int = Field(
        default=8 * GIB,
        ge=1024,
        le=64 * GIB,
        description="all_reduce_perf -e: largest message (bytes). Bus bandwidth is judged at the largest sizes, "
        "where NCCL reaches its peak (https://github.com/NVIDIA/nccl-tests/issues/212: "
        "'256M is too small to reach peak bandwidth').",
    )
    timeout_s: int = Field(default=7200, ge=60, le=86400, description="Per-host limit for the diagnostic and NCCL.")

    @model_validator(mode="after")
    def _sizes_in_order(self) -> BurninSettings:
        if self.nccl_min_bytes > self.nccl_max_bytes:
            raise ValueError(f"nccl_min_bytes {self.nccl_min_bytes} is above nccl_max_bytes {self.nccl_max_bytes}")
        return self
