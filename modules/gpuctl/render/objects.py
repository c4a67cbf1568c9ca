"""Every Kubernetes object gpuctl applies for a site, in apply order: the one list both consumers read.

The Pulumi program (gpuctl.infra.kubernetes) declares exactly these objects, and `gpuctl render SITE -o DIR`
writes exactly these objects, one file each, for teams that deploy through GitOps. Nothing else renders a
cluster object: a new kind of object joins this list (by one call below) or it is not applied.

The GPU Operator is a Helm release, not an object here: the Pulumi program installs it from
`render.k8s.gpu_operator_values`, which `gpuctl render` writes beside the objects as a values file.
"""

from __future__ import annotations

from typing import Any

import yaml

from ..model import Site
from . import k8s, serving
from .security.k8s import objects as security_objects

# The NVIDIA container runtime is a named containerd runtime, not the default one (11a configures the handler);
# a GPU pod selects it by this RuntimeClass.
RUNTIME_CLASS = serving.RUNTIME_CLASS


def runtime_class() -> dict[str, Any]:
    return {
        "apiVersion": "node.k8s.io/v1",
        "kind": "RuntimeClass",
        "metadata": {"name": RUNTIME_CLASS, "labels": dict(k8s.MANAGED_BY)},
        "handler": RUNTIME_CLASS,
    }


def site_objects(site: Site) -> list[dict[str, Any]]:
    """Cluster-scoped objects first (Namespaces, the RuntimeClass), then each area's namespaced objects."""
    objects: list[dict[str, Any]] = [*k8s.namespaces(site), runtime_class()]
    objects.append(k8s.dcgm_service_monitor(site))  # observability (issue 13) replaces this by its own call
    objects += serving.manifests(site)
    objects += security_objects(site)  # security (issue 14): NetworkPolicies, ServiceAccounts, RBAC
    return objects


def object_key(obj: dict[str, Any]) -> str:
    """A name unique among a site's objects: `kind/namespace/name` (`kind/name` when cluster-scoped)."""
    meta = obj["metadata"]
    ns = meta.get("namespace")
    return f"{obj['kind']}/{ns}/{meta['name']}" if ns else f"{obj['kind']}/{meta['name']}"


HEADER = "# DO NOT EDIT: rendered by `gpuctl render` from site {site}; change the site spec and render again.\n"


def object_path(obj: dict[str, Any]) -> str:
    """Where an object's file goes: `<namespace>/<kind>-<name>.yaml`, `cluster/...` when cluster-scoped."""
    meta = obj["metadata"]
    return f"{meta.get('namespace') or 'cluster'}/{obj['kind'].lower()}-{meta['name']}.yaml"


def files(site: Site) -> dict[str, str]:
    """Every object as its own YAML file (path -> text), plus the GPU Operator's Helm values."""
    head = HEADER.format(site=site.name)
    out = {object_path(o): head + yaml.safe_dump(o, sort_keys=False) for o in site_objects(site)}
    out["helm/gpu-operator-values.yaml"] = head + yaml.safe_dump(k8s.gpu_operator_values(site), sort_keys=False)
    return out
