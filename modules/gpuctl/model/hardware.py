"""Hardware facts: the shapes of catalog entries (GPUs, servers, NICs).

Built-in entries live as data in gpuctl/catalog/data with a source per entry; a site can add its
own under `catalog:` in its spec. Every entry carries `source` so a reviewer can check the number.
"""

from __future__ import annotations

from typing import Literal, TypeVar

from pydantic import Field, model_validator

from .base import CatalogId, Kilograms, Kilowatts, NonNegativeFloat, PositiveFloat, PositiveInt, Strict, Text


class GpuSpec(Strict):
    id: CatalogId
    name: Text
    vendor: Literal["nvidia", "amd", "intel"] = "nvidia"
    smi_name: Text | None = Field(default=None, description="The name nvidia-smi prints for the GPU.")
    form_factor: Literal["sxm", "pcie", "oam", "superchip"]
    board_power_w: PositiveFloat
    memory_mib: PositiveInt | None = Field(
        default=None, description="Total memory as nvidia-smi reports it (not the marketing size)."
    )
    torch_total_gib: PositiveFloat | None = Field(
        default=None, description="Total as torch.cuda.mem_get_info reports it; what vLLM budgets from."
    )
    training_fabric_gbps: NonNegativeFloat = Field(
        default=0, description="East-west bandwidth a training node needs per GPU (0: no requirement)."
    )
    compute_capability: float | None = Field(
        default=None, ge=1, le=20, description="NVIDIA compute capability (9.0 Hopper); what engines' kernels need."
    )
    nccl_allreduce_min_busbw_gbs: PositiveFloat | None = Field(
        default=None,
        description="Burn-in gate: the lowest all_reduce_perf bus bandwidth (GB/s, largest messages) a server "
        "with all its GPUs of this model may show within the node. None: no published figure; burn-in fails "
        "the NCCL check until a site catalog entry gives one.",
    )
    nccl_source: Text | None = Field(default=None, description="Where nccl_allreduce_min_busbw_gbs comes from.")
    source: Text = Field(min_length=3)

    @model_validator(mode="after")
    def _nccl_threshold_has_a_source(self) -> GpuSpec:
        if (self.nccl_allreduce_min_busbw_gbs is None) != (self.nccl_source is None):
            raise ValueError("nccl_allreduce_min_busbw_gbs and nccl_source go together: a threshold needs its source")
        return self


class PsuSpec(Strict):
    count: PositiveInt
    rating_w: PositiveFloat
    redundancy: str = Field(max_length=9, pattern=r"^\d+\+\d+$", description="N+M, e.g. 4+2 or 3+3.")

    @property
    def required(self) -> int:
        return int(self.redundancy.split("+")[0])

    @model_validator(mode="after")
    def _redundancy_matches_count(self) -> PsuSpec:
        n, m = (int(x) for x in self.redundancy.split("+"))
        if n + m != self.count:
            raise ValueError(f"redundancy {self.redundancy} does not add up to {self.count} PSUs")
        return self


class ServerSpec(Strict):
    id: CatalogId
    name: Text
    gpu: CatalogId | None = None
    gpu_count: int = Field(default=0, ge=0, le=1024)
    max_power_kw: Kilowatts | None = Field(
        default=None,
        description="Vendor maximum system input power. None: not published; servers must declare theirs.",
    )
    height_u: int = Field(ge=1, le=60)
    weight_kg: Kilograms | None = None
    psu: PsuSpec | None = None
    liquid_cooled_only: bool = False
    nvswitch: bool = False
    source: Text = Field(min_length=3)

    @model_validator(mode="after")
    def _gpu_pairs(self) -> ServerSpec:
        if (self.gpu is None) != (self.gpu_count == 0):
            raise ValueError("gpu and gpu_count go together: name the GPU model and how many")
        return self


class NicSpec(Strict):
    id: CatalogId
    name: Text
    vendor: Literal["nvidia", "intel", "broadcom", "other"]
    driver: str = Field(max_length=64, pattern=r"^[a-z0-9_]+$", description="Linux kernel module.")
    max_ports: PositiveInt
    speeds_gbps: list[PositiveFloat] = Field(min_length=1)
    max_vfs_per_port: int = Field(ge=0, le=65535)  # PCIe SR-IOV NumVFs is 16 bits
    max_vfs_per_device: int | None = Field(default=None, ge=0, le=65535)
    max_mtu: PositiveInt
    source: Text = Field(min_length=3)


class CatalogExtension(Strict):
    """What a site may add to the built-in catalog (its own OEM servers, say)."""

    gpus: list[GpuSpec] = Field(default_factory=list)
    servers: list[ServerSpec] = Field(default_factory=list)
    nics: list[NicSpec] = Field(default_factory=list)


class Catalog:
    """The hardware catalog in effect: built-in entries plus a site's own. Immutable after creation."""

    __slots__ = ("gpus", "nics", "servers")

    def __init__(
        self,
        gpus: dict[str, GpuSpec],
        servers: dict[str, ServerSpec],
        nics: dict[str, NicSpec],
    ) -> None:
        self.gpus = gpus
        self.servers = servers
        self.nics = nics

    def extended(self, ext: CatalogExtension) -> tuple[Catalog, list[tuple[tuple[str | int, ...], str]]]:
        """This catalog plus a site's entries, and the problems found as (loc, message)."""
        problems: list[tuple[tuple[str | int, ...], str]] = []
        gpus = _merge(self.gpus, ext.gpus, "gpus", problems)
        servers = _merge(self.servers, ext.servers, "servers", problems)
        nics = _merge(self.nics, ext.nics, "nics", problems)
        for i, s in enumerate(ext.servers):
            if s.gpu is not None and s.gpu not in gpus:
                problems.append((("catalog", "servers", i, "gpu"), f"unknown GPU model '{s.gpu}'"))
        return Catalog(gpus, servers, nics), problems


_Entry = TypeVar("_Entry", GpuSpec, ServerSpec, NicSpec)


def _merge(
    builtin: dict[str, _Entry],
    extra: list[_Entry],
    kind: str,
    problems: list[tuple[tuple[str | int, ...], str]],
) -> dict[str, _Entry]:
    table = dict(builtin)
    for i, entry in enumerate(extra):
        if entry.id in table:
            where = "the built-in catalog" if entry.id in builtin else "this site's catalog"
            problems.append((("catalog", kind, i, "id"), f"'{entry.id}' is already in {where}; choose another id"))
            continue
        table[entry.id] = entry
    return table
