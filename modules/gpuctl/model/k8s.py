"""Kubernetes GPU node pools."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from .base import Name, PositiveInt, Strict

# Kubernetes qualified names: optional DNS prefix + "/" + name of at most 63 characters.
LabelKey = Annotated[
    str,
    StringConstraints(
        pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
    ),
]
LabelValue = Annotated[str, StringConstraints(pattern=r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")]


class Taint(Strict):
    key: LabelKey
    value: LabelValue = ""
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]


class NodePool(Strict):
    name: Name
    purpose: Literal["inference", "training"] = "inference"
    servers: list[Name] = Field(default_factory=list)
    racks: list[Name] = Field(default_factory=list, description="Every GPU server in these racks joins the pool.")
    labels: dict[LabelKey, LabelValue] = Field(default_factory=dict)
    taints: list[Taint] = Field(default_factory=list)
    gpus_per_node: PositiveInt | None = Field(
        default=None, description="What the pool advertises per node; must equal the physical count."
    )
    mig_strategy: Literal["none", "single", "mixed"] = "none"
