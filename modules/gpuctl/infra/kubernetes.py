"""The cluster side: provider from the kubeconfig, the GPU Operator release, and every object of
`gpuctl.render.objects.site_objects` — the same list `gpuctl render` writes (one renderer, two consumers). A custom
resource is declared only after its CRD is read, so a cluster without the operator that serves it fails with a
clear error instead of a half-applied stack.

Pulumi owns these cluster objects; the Ansible roles own the hosts. Node labels and taints are not here: the
kubelet registers each node with its pool's (the kubernetes_node role), so a GPU node is tainted from its first
moment instead of from the next `pulumi up`."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ..model import Site
from ..render import k8s as manifests
from ..render import kschema, objects
from . import security
from .components import GpuNodePool

# A model can take longer to load than Pulumi's 10-minute Deployment await
# (https://www.pulumi.com/registry/packages/kubernetes/api-docs/apps/v1/deployment/); its startup probe allows 30
# minutes. Readiness is the cluster's to report: Pulumi applies the Deployment and does not wait for it.
SKIP_AWAIT = {"pulumi.com/skipAwait": "true"}
AWAIT_SKIPPED = ("Deployment", "LeaderWorkerSet")


def provider(kubeconfig: pulumi.Input[str], parent: pulumi.Resource) -> k8s.Provider:
    return k8s.Provider(
        "cluster", kubeconfig=kubeconfig, enable_server_side_apply=True, opts=pulumi.ResourceOptions(parent=parent)
    )


def declare(
    site: Site, parent: pulumi.Resource, pools: list[GpuNodePool], prov: k8s.Provider
) -> dict[str, pulumi.Resource]:
    """The GPU Operator release, then every object of `render.objects.site_objects` (the list `gpuctl render`
    writes): keys are `objects.object_key`s plus `helm/gpu-operator`."""
    out: dict[str, pulumi.Resource] = {}
    objs = objects.site_objects(site)
    base = pulumi.ResourceOptions(provider=prov, parent=parent)
    for obj in objs:
        if obj["kind"] == "Namespace":
            name = obj["metadata"]["name"]
            out[objects.object_key(obj)] = k8s.core.v1.Namespace(f"ns-{name}", metadata=obj["metadata"], opts=base)
    operator_ns = site.cluster.gpu_operator_namespace
    release = k8s.helm.v3.Release(
        "gpu-operator",
        chart="gpu-operator",
        version=site.cluster.gpu_operator_chart_version,
        namespace=operator_ns,
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=site.cluster.gpu_operator_repository),
        values=manifests.gpu_operator_values(site),
        skip_await=False,
        opts=pulumi.ResourceOptions(provider=prov, parent=parent, depends_on=[out[f"Namespace/{operator_ns}"]]),
    )
    out["helm/gpu-operator"] = release
    crds: dict[str, pulumi.Resource] = {}
    old_names = _unique_old_names(objs)
    pool_by_name = {p._name: p for p in pools}
    deployments = {d.name: d for d in site.deployments}
    for obj in objs:
        if obj["kind"] == "Namespace":
            continue
        meta = obj["metadata"]
        depends: list[pulumi.Resource] = []
        if meta.get("namespace"):
            depends.append(out[f"Namespace/{meta['namespace']}"])
        if meta.get("namespace") == operator_ns:
            depends.append(release)
        crd = kschema.crd_name(obj["apiVersion"], obj["kind"])
        if crd is not None:
            # Read the CRD first, so a cluster without the operator fails with a clear error instead of a
            # half-applied stack.
            if crd not in crds:
                crds[crd] = k8s.apiextensions.v1.CustomResourceDefinition.get(
                    f"{crd.split('.')[0]}-crd", crd, opts=pulumi.ResourceOptions(provider=prov, parent=parent)
                )
            depends.append(crds[crd])
        owner = deployments.get(meta.get("labels", {}).get(f"{manifests.LABEL_PREFIX}/deployment", ""))
        key = objects.object_key(obj)
        opts = pulumi.ResourceOptions(
            provider=prov,
            parent=pool_by_name[owner.node_pool] if owner else parent,
            depends_on=depends,
            aliases=[pulumi.Alias(name=old_names[key])] if key in old_names else None,
        )
        out[key] = _declare(obj, opts)
    out.update(security.declare_secrets(site, prov, parent, out))  # values only from Pulumi secret config
    out.update(security.declare_gateway_tls(site, prov, parent, out))
    return out


# Top-level fields of a built-in object that are not its identity; passed to the typed Pulumi class.
_IDENTITY = ("apiVersion", "kind", "metadata")
# The Pulumi module of each built-in API group.
_MODULES = {
    "v1": "core",
    "apps": "apps",
    "policy": "policy",
    "networking.k8s.io": "networking",
    "node.k8s.io": "node",
    "rbac.authorization.k8s.io": "rbac",
    "autoscaling": "autoscaling",
    "scheduling.k8s.io": "scheduling",
    "discovery.k8s.io": "discovery",  # the hosts' dcgm-exporter EndpointSlice (observability, issue 13)
}


def _unique_old_names(objs: list[dict[str, Any]]) -> dict[str, str]:
    """Object key -> the resource name stacks before the key used (`metadata.name`), for the objects whose old name
    was unique within their kind: those existed in such a stack under it, and an alias keeps them (not a replacement).
    Same-named objects of one kind in two namespaces could not (their URNs collided), so they get no alias."""
    seen: dict[tuple[str, str, str], list[str]] = {}
    for obj in objs:
        if obj["kind"] != "Namespace":
            seen.setdefault((obj["apiVersion"], obj["kind"], obj["metadata"]["name"]), []).append(
                objects.object_key(obj)
            )
    return {keys[0]: name for (_, _, name), keys in seen.items() if len(keys) == 1}


def _snake(key: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in key)


def _declare(obj: dict[str, Any], opts: pulumi.ResourceOptions) -> pulumi.Resource:
    """One object as its typed Pulumi resource (a CustomResource for kinds outside Kubernetes itself)."""
    meta: Any = obj["metadata"]
    if obj["kind"] in AWAIT_SKIPPED:
        meta = {**meta, "annotations": {**meta.get("annotations", {}), **SKIP_AWAIT}}
    # The object key (kind/namespace/name): a Role of one name in two namespaces is two resources, two URNs.
    name = objects.object_key(obj)
    body = {_snake(k): v for k, v in obj.items() if k not in _IDENTITY}
    group, _, version = obj["apiVersion"].rpartition("/")
    module = _MODULES.get(group or "v1")
    if module is None:
        return k8s.apiextensions.CustomResource(
            name, api_version=obj["apiVersion"], kind=obj["kind"], metadata=meta, opts=opts, **body
        )
    cls = getattr(getattr(getattr(k8s, module), version), obj["kind"])
    resource: pulumi.Resource = cls(name, metadata=meta, opts=opts, **body)
    return resource
