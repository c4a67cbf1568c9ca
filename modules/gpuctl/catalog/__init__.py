"""The built-in hardware catalog: facts as data files beside this module, each entry with its source."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml
from pydantic import ValidationError

from ..errors import CatalogError, Problem
from ..model.arch import ModelArch
from ..model.hardware import Catalog, GpuSpec, NicSpec, ServerSpec

_KINDS: dict[str, type[GpuSpec] | type[ServerSpec] | type[NicSpec]] = {
    "gpus": GpuSpec,
    "servers": ServerSpec,
    "nics": NicSpec,
}


def _read(kind: str) -> list[dict[str, Any]]:
    text = resources.files(__name__).joinpath("data", f"{kind}.yaml").read_text(encoding="utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(text, Loader=loader)
    if not isinstance(data, list):
        raise CatalogError(f"catalog file {kind}.yaml must be a list of entries")
    return data


@cache
def builtin() -> Catalog:
    """The catalog shipped with gpuctl (read once per process)."""
    tables: dict[str, dict[str, Any]] = {}
    for kind, model in _KINDS.items():
        table: dict[str, Any] = {}
        for i, raw in enumerate(_read(kind)):
            try:
                entry = model.model_validate(raw)
            except ValidationError as exc:
                problems = [
                    Problem(
                        e["msg"],
                        file=f"catalog/data/{kind}.yaml",
                        path=f"[{i}]." + ".".join(map(str, e["loc"])),
                    )
                    for e in exc.errors()
                ]
                raise CatalogError("the built-in catalog is invalid", problems) from exc
            if entry.id in table:
                raise CatalogError(f"duplicate id {entry.id} in catalog/data/{kind}.yaml")
            table[entry.id] = entry
        tables[kind] = table
    catalog = Catalog(tables["gpus"], tables["servers"], tables["nics"])
    for server in catalog.servers.values():
        if server.gpu and server.gpu not in catalog.gpus:
            raise CatalogError(f"server {server.id} names unknown GPU {server.gpu}")
    return catalog


@cache
def models() -> dict[str, ModelArch]:
    """Model architectures shipped with gpuctl, by id."""
    table: dict[str, ModelArch] = {}
    for i, raw in enumerate(_read("models")):
        try:
            arch = ModelArch.model_validate(raw)
        except ValidationError as exc:
            raise CatalogError(f"catalog/data/models.yaml entry {i} is invalid: {exc}") from exc
        if arch.id in table:
            raise CatalogError(f"duplicate id {arch.id} in catalog/data/models.yaml")
        table[arch.id] = arch
    return table
