"""Shared pieces of the site model: the strict base class and constrained scalar types."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# Names become hostnames, Kubernetes label values, Pulumi URNs and Ansible group names:
# lower-case DNS-label style keeps them valid everywhere.
Name = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$"),
]
CatalogId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._+-]{0,80}$")]
PositiveFloat = Annotated[float, Field(gt=0)]
NonNegativeFloat = Annotated[float, Field(ge=0)]
PositiveInt = Annotated[int, Field(gt=0)]
NonNegativeInt = Annotated[int, Field(ge=0)]


class Strict(BaseModel):
    """Every model: unknown keys are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)
