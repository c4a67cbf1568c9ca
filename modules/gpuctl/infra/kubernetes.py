"""The cluster side: provider from the kubeconfig, namespaces, the GPU Operator release, the dcgm-exporter
ServiceMonitor (declared only after its CRD is read, so a cluster without prometheus-operator fails with a clear
error instead of a half-applied stack) and the serving stack (Deployment, Service, NetworkPolicy per deployment).

Pulumi owns these cluster objects; the Ansible roles own the hosts. Node labels and taints are not here: the
kubelet registers each node with its pool's (the kubernetes_node role), so a GPU node is tainted from its first
moment instead of from the next `pulumi up`."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ..model import Site
from ..render import k8s as manifests
from ..render import serving
from . import security
from .components import GpuNodePool

# A model can take longer to load than Pulumi's 10-minute Deployment await
# (https://www.pulumi.com/registry/packages/kubernetes/api-docs/apps/v1/deployment/); its startup probe allows 30
# minutes. Readiness is the cluster's to report: Pulumi applies the Deployment and does not wait for it.
SKIP_AWAIT = {"pulumi.com/skipAwait": "true"}


def provider(kubeconfig: pulumi.Input[str], parent: pulumi.Resource) -> k8s.Provider:
    return k8s.Provider(
        "cluster", kubeconfig=kubeconfig, enable_server_side_apply=True, opts=pulumi.ResourceOptions(parent=parent)
    )


def declare(
    site: Site, parent: pulumi.Resource, pools: list[GpuNodePool], prov: k8s.Provider
) -> dict[str, pulumi.Resource]:
    out: dict[str, pulumi.Resource] = {}
    base = pulumi.ResourceOptions(provider=prov, parent=parent)
    for ns in manifests.namespaces(site):
        out[f"ns/{ns['metadata']['name']}"] = k8s.core.v1.Namespace(
            f"ns-{ns['metadata']['name']}", metadata=ns["metadata"], opts=base
        )
    operator_ns = out[f"ns/{site.cluster.gpu_operator_namespace}"]
    release = k8s.helm.v3.Release(
        "gpu-operator",
        chart="gpu-operator",
        version=site.cluster.gpu_operator_chart_version,
        namespace=site.cluster.gpu_operator_namespace,
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=site.cluster.gpu_operator_repository),
        values=manifests.gpu_operator_values(site),
        skip_await=False,
        opts=pulumi.ResourceOptions(provider=prov, parent=parent, depends_on=[operator_ns]),
    )
    out["helm/gpu-operator"] = release
    crd = k8s.apiextensions.v1.CustomResourceDefinition.get(
        "servicemonitors-crd",
        "servicemonitors.monitoring.coreos.com",
        opts=pulumi.ResourceOptions(provider=prov, parent=parent),
    )
    sm = manifests.dcgm_service_monitor(site)
    out["servicemonitor/dcgm-exporter"] = k8s.apiextensions.CustomResource(
        "dcgm-exporter",
        api_version=sm["apiVersion"],
        kind=sm["kind"],
        metadata=sm["metadata"],
        spec=sm["spec"],
        opts=pulumi.ResourceOptions(provider=prov, parent=parent, depends_on=[crd, release]),
    )
    out.update(declare_serving(site, pools, prov, out))
    out.update(security.declare(site, prov, parent, out))
    return out


def declare_serving(
    site: Site, pools: list[GpuNodePool], prov: k8s.Provider, declared: dict[str, pulumi.Resource]
) -> dict[str, pulumi.Resource]:
    """Each deployment's serving objects (render/serving.py), parented to its node pool, after its namespace."""
    pool_by_name = {p._name: p for p in pools}
    deployments = {d.name: d for d in site.deployments}
    out: dict[str, pulumi.Resource] = {}
    for obj in serving.manifests(site):
        meta = obj["metadata"]
        dep = deployments[meta["labels"][f"{manifests.LABEL_PREFIX}/deployment"]]
        opts = pulumi.ResourceOptions(
            provider=prov, parent=pool_by_name[dep.node_pool], depends_on=[declared[f"ns/{meta['namespace']}"]]
        )
        out[f"{obj['kind'].lower()}/{meta['namespace']}/{meta['name']}"] = _declare(obj, opts)
    return out


def _declare(obj: dict[str, Any], opts: pulumi.ResourceOptions) -> pulumi.Resource:
    name, spec = obj["metadata"]["name"], obj["spec"]
    if obj["kind"] == "Deployment":
        metadata: Any = {**obj["metadata"], "annotations": {**obj["metadata"].get("annotations", {}), **SKIP_AWAIT}}
        return k8s.apps.v1.Deployment(name, metadata=metadata, spec=spec, opts=opts)
    if obj["kind"] == "Service":
        return k8s.core.v1.Service(name, metadata=obj["metadata"], spec=spec, opts=opts)
    if obj["kind"] == "NetworkPolicy":
        return k8s.networking.v1.NetworkPolicy(name, metadata=obj["metadata"], spec=spec, opts=opts)
    raise ValueError(f"no Pulumi resource for {obj['kind']}")
