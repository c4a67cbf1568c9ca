"""The Secrets the rendered pods read that gpuctl does not render (TLS material, API keys, tokens): what a team that
deploys `gpuctl render` output (or runs Pulumi without a PKI store) must create itself. Read from the objects
themselves, so every reference a renderer adds is listed without a second list to keep in step.

Public API: `required(objects)` and `markdown(needs)`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SecretNeed:
    namespace: str
    name: str
    keys: tuple[str, ...]  # empty: the pod mounts the whole Secret
    used_by: tuple[str, ...]  # kind/name of the objects whose pods read it


def _refs(node: Any) -> Iterator[tuple[str, str | None]]:
    """(secret name, key or None for the whole Secret) of every reference under a node of an object."""
    if isinstance(node, dict):
        ref = node.get("secretKeyRef")
        if isinstance(ref, dict):
            yield ref["name"], ref.get("key")
        secret = node.get("secret")
        if isinstance(secret, dict) and "secretName" in secret:
            items = secret.get("items") or []
            yield from ((secret["secretName"], i["key"]) for i in items) if items else [(secret["secretName"], None)]
        env_from = node.get("secretRef")
        if isinstance(env_from, dict) and "name" in env_from:
            yield env_from["name"], None
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def required(objects: list[dict[str, Any]]) -> list[SecretNeed]:
    """Secrets referenced by the objects' pods and not among the objects, by namespace and name."""
    declared = {(o["metadata"].get("namespace"), o["metadata"]["name"]) for o in objects if o["kind"] == "Secret"}
    keys: dict[tuple[str, str], set[str]] = {}
    users: dict[tuple[str, str], set[str]] = {}
    for obj in objects:
        if obj["kind"] == "Secret":
            continue
        namespace = obj["metadata"].get("namespace", "default")
        for name, key in _refs(obj.get("spec")):
            if (namespace, name) in declared:
                continue
            keys.setdefault((namespace, name), set()).update([key] if key else [])
            users.setdefault((namespace, name), set()).add(f"{obj['kind']}/{obj['metadata']['name']}")
    return [
        SecretNeed(ns, name, tuple(sorted(keys[(ns, name)])), tuple(sorted(users[(ns, name)])))
        for ns, name in sorted(keys)
    ]


def markdown(needs: list[SecretNeed]) -> str:
    lines = [
        "# Secrets required",
        "",
        "The rendered pods read these Secrets; gpuctl does not write them (`gpuctl pki issue` makes the TLS material,",
        "the API keys and tokens are yours). Create each before applying, or the pods that read it stay Pending.",
        "",
        "| namespace | Secret | keys | read by |",
        "|---|---|---|---|",
    ]
    for n in needs:
        keys = ", ".join(f"`{k}`" for k in n.keys) or "(all)"
        lines.append(f"| {n.namespace} | `{n.name}` | {keys} | {', '.join(n.used_by)} |")
    return "\n".join(lines) + "\n"
