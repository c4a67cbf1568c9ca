"""The cluster side: provider from the kubeconfig, namespaces, node labels and taints per pool, the GPU
Operator release and the dcgm-exporter ServiceMonitor (declared only after its CRD is read, so a
cluster without prometheus-operator fails with a clear error instead of a half-applied stack)."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from ..model import Site
from ..render import k8s as manifests
from .components import GpuNodePool


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
    pool_by_name = {p._name: p for p in pools}
    for patch in manifests.node_patches(site):
        node = patch["metadata"]["name"]
        pool_name = patch["metadata"]["labels"][f"{manifests.LABEL_PREFIX}/pool"]
        out[f"node/{node}"] = k8s.core.v1.NodePatch(
            f"{pool_name}-{node}",
            metadata=patch["metadata"],
            spec=patch["spec"] or None,
            opts=pulumi.ResourceOptions(provider=prov, parent=pool_by_name[pool_name]),
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
    return out
