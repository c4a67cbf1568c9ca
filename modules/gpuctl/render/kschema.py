"""Offline, strict validation of Kubernetes objects: built-in kinds against the Kubernetes OpenAPI schemas
(kubernetes-validate, pinned version), custom resources against the CRDs shipped beside this module.
Unknown fields and missing schemas are failures."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import jsonschema
import yaml

from ..errors import InternalError

KUBERNETES_VERSION = "1.32.0"
# libyaml when present: the LeaderWorkerSet CRD embeds a whole pod template schema (0.4 MB).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ManifestError(InternalError):
    """An object gpuctl rendered does not validate; the message names kind/name and the field."""


@cache
def _crd_files() -> list[dict[str, Any]]:
    return [
        yaml.load(entry.read_text(encoding="utf-8"), Loader=_LOADER)
        for entry in resources.files(__package__).joinpath("crds").iterdir()
        if entry.name.endswith(".yaml")
    ]


@cache
def _crds() -> dict[tuple[str, str], dict[str, Any]]:
    table: dict[tuple[str, str], dict[str, Any]] = {}
    for crd in _crd_files():
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            table[(f"{group}/{version['name']}", kind)] = version["schema"]["openAPIV3Schema"]
    return table


def crd_name(api_version: str, kind: str) -> str | None:
    """The CustomResourceDefinition (`plural.group`) that serves a custom kind; None for Kubernetes' own."""
    group = api_version.rpartition("/")[0]
    for crd in _crd_files():
        if crd["spec"]["group"] == group and crd["spec"]["names"]["kind"] == kind:
            return f"{crd['spec']['names']['plural']}.{group}"
    return None


def _unknown_fields(obj: Any, schema: dict[str, Any], path: str) -> list[str]:
    out: list[str] = []
    if isinstance(obj, dict) and schema.get("type") == "object" and "properties" in schema:
        for key, value in obj.items():
            if key not in schema["properties"]:
                if path != "" or key not in ("status",):
                    out.append(f"{path}.{key}".lstrip("."))
            elif key != "metadata":
                out += _unknown_fields(value, schema["properties"][key], f"{path}.{key}")
    elif isinstance(obj, list) and "items" in schema:
        for i, item in enumerate(obj):
            out += _unknown_fields(item, schema["items"], f"{path}[{i}]")
    return out


def validate(obj: dict[str, Any], version: str = KUBERNETES_VERSION) -> None:
    kind, api = obj.get("kind"), obj.get("apiVersion")
    name = (obj.get("metadata") or {}).get("name", "?")
    label = f"{kind}/{name}"
    crd_schema = _crds().get((str(api), str(kind)))
    if crd_schema is not None:
        try:
            jsonschema.validate(obj, crd_schema)
        except jsonschema.ValidationError as exc:
            where = ".".join(str(p) for p in exc.absolute_path)
            raise ManifestError(f"{label}: {where}: {exc.message}") from None
        unknown = _unknown_fields(obj, crd_schema, "")
        if unknown:
            raise ManifestError(f"{label}: unknown field(s) {', '.join(unknown)}")
        return
    import kubernetes_validate

    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        raise ManifestError(
            f"{label}: no schema for {api} {kind} in Kubernetes {version} nor in the shipped CRDs"
        ) from None
    except kubernetes_validate.ValidationError as exc:
        where = ".".join(str(p) for p in exc.path) if hasattr(exc, "path") else ""
        first = str(exc).splitlines()[0]
        raise ManifestError(f"{label}: {where}: {first}") from None
