"""Kubernetes objects the site implies: namespaces, GPU Operator values and the
node labels of each pool's servers. Plain dicts: the Pulumi program declares the objects, tests validate them
against the Kubernetes schemas, and the Helm values are the same dict in both places. Node labels (and taints) go
to the kubelet through the inventory: it registers each node with them (the kubernetes_node role)."""

from __future__ import annotations

from typing import Any

from .. import engines
from ..model import NodePool, Server, Site

MANAGED_BY = {"app.kubernetes.io/managed-by": "gpuctl"}


def restricted_context(uid: int) -> dict[str, Any]:
    """A container securityContext that meets Pod Security `restricted` (render/security/pss.py checks it), running
    as `uid` with a read-only root filesystem (the container writes only to the volumes it mounts)."""
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


LABEL_PREFIX = "gpuctl.io"
# Set through the API by `gpuctl burnin` once a node passed (never by the kubelet: NodeRestriction forbids kubelets
# labels under node-restriction.kubernetes.io/); serving pods require it.
BURNIN_LABEL = "node-restriction.kubernetes.io/gpuctl-burnin"
BURNIN_PASSED = "passed"
# Failure domains the kubelet registers each node with (the kubernetes_node role): its rack, and its PDU feeds
# joined by '.'. Serving replicas spread over both.
TOPOLOGY_RACK = "topology.gpuctl.dev/rack"
TOPOLOGY_FEEDS = "topology.gpuctl.dev/pdu-feeds"


def namespaces(site: Site) -> list[dict[str, Any]]:
    from .security.k8s import pod_security_labels  # security's objects build on this module

    psa = pod_security_labels(site)
    names = [site.cluster.gpu_operator_namespace, *sorted({d.namespace for d in site.deployments}), *sorted(psa)]
    seen: list[str] = []
    for n in names:
        if n not in seen:
            seen.append(n)
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n, "labels": {**MANAGED_BY, **psa.get(n, {})}}}
        for n in seen
    ]


def node_labels(site: Site, pool: NodePool, server: Server) -> dict[str, str]:
    gpu = site.gpu_spec(server)
    labels = {
        f"{LABEL_PREFIX}/site": site.name,
        f"{LABEL_PREFIX}/rack": site.rack_of(server.name).name,
        f"{LABEL_PREFIX}/pool": pool.name,
        f"{LABEL_PREFIX}/purpose": pool.purpose,
        f"{LABEL_PREFIX}/gpu-model": gpu.id if gpu else "none",
    }
    if pool.mig_strategy == "none":
        labels["nvidia.com/mig.config"] = "all-disabled"
    labels.update(pool.labels)
    return labels


def pool_tolerations(site: Site) -> list[dict[str, str]]:
    """Tolerations for every pool taint, so the operator's daemonsets run on tainted GPU nodes."""
    seen: list[dict[str, str]] = []
    for pool in site.node_pools:
        for t in pool.taints:
            tol = {"key": t.key, "operator": "Equal", "value": t.value, "effect": t.effect}
            if tol not in seen:
                seen.append(tol)
    return seen


def gpu_operator_values(site: Site) -> dict[str, Any]:
    """Helm values for the NVIDIA GPU Operator. The driver, container toolkit and DCGM host engine are the
    Ansible roles' (pinned, offline-capable, fabric manager matched to the driver), so the operator's own are
    off; it runs the device plugin, GPU feature discovery and, where a pool uses MIG, the MIG manager. Its
    dcgm-exporter is off too: the dcgm role runs one per host with gpuctl's counters, paired with the host's DCGM
    (two exporters would double every GPU series)."""
    strategies = {p.mig_strategy for p in site.node_pools if p.mig_strategy != "none"}
    values: dict[str, Any] = {
        "operator": {"defaultRuntime": site.cluster.container_runtime},
        "driver": {"enabled": False},
        "toolkit": {"enabled": False},
        "dcgm": {"enabled": False},
        "dcgmExporter": {"enabled": False},
        "devicePlugin": {"enabled": True},
        "gfd": {"enabled": True},
        "nfd": {"enabled": True},
        "migManager": {"enabled": bool(strategies)},
        "mig": {"strategy": "mixed" if "mixed" in strategies else "single"},
        "daemonsets": {"tolerations": pool_tolerations(site)},
    }
    return values


def endpoint(site: Site, deployment_name: str) -> str:
    dep = next(d for d in site.deployments if d.name == deployment_name)
    return f"http://{dep.name}.{dep.namespace}.svc.cluster.local:{engines.get(dep.engine).port}/v1"
