"""The Kubernetes API calls provisioning makes, with the `kubernetes` Python client: cordon, drain and uncordon for
rolling driver upgrades. Used by the Ansible module playbooks/library/gpuctl_k8s_node.py and tested against a
fake API server that validates every object it receives. (Cluster objects are the Pulumi program's.)"""

from __future__ import annotations

import time
from typing import Any

from ..errors import GpuctlError


class KubernetesError(GpuctlError, RuntimeError):
    """The cluster refused or did not finish a step (eviction, drain): the node is left cordoned, exit 1."""

    exit_code = 1


def _client(kubeconfig: str) -> Any:
    from kubernetes import config

    return config.new_client_from_config(config_file=kubeconfig)  # type: ignore[no-untyped-call]


def _core(kubeconfig: str) -> Any:
    from kubernetes import client

    return client.CoreV1Api(_client(kubeconfig))


# Set on a node provisioning cordoned, removed when it uncordons it: a run killed in between leaves the mark, and the
# next run finishes the roll (uncordons) instead of leaving the node out of service. Burn-in's cordons carry none.
CORDONED_BY = "gpuctl.dev/cordoned-by"


def cordon(kubeconfig: str, node: str, unschedulable: bool = True, dry_run: bool = False) -> bool:
    core = _core(kubeconfig)
    current = core.read_node(node)
    marked = CORDONED_BY in (current.metadata.annotations or {})
    if bool(current.spec.unschedulable) == unschedulable and marked == unschedulable:
        return False
    if not dry_run:
        mark = {CORDONED_BY: "provision" if unschedulable else None}
        core.patch_node(node, {"metadata": {"annotations": mark}, "spec": {"unschedulable": unschedulable}})
    return True


def uncordon(kubeconfig: str, node: str, dry_run: bool = False) -> bool:
    """Uncordon a node provisioning cordoned; a node cordoned by anyone else (burn-in, an operator) stays cordoned."""
    core = _core(kubeconfig)
    current = core.read_node(node)
    if CORDONED_BY not in (current.metadata.annotations or {}) and current.spec.unschedulable:
        return False
    return cordon(kubeconfig, node, unschedulable=False, dry_run=dry_run)


def cordoned_by_provisioning(kubeconfig: str, node: str) -> bool:
    """The node carries provisioning's cordon mark (a roll was interrupted on it)."""
    from kubernetes.client.exceptions import ApiException

    try:
        current = _core(kubeconfig).read_node(node)
    except ApiException as exc:
        if exc.status == 404:
            return False
        raise
    return CORDONED_BY in (current.metadata.annotations or {})


def _evictable(pod: Any) -> bool:
    owners = pod.metadata.owner_references or []
    if any(o.kind == "DaemonSet" for o in owners):
        return False
    annotations = pod.metadata.annotations or {}
    return "kubernetes.io/config.mirror" not in annotations and pod.status.phase not in ("Succeeded", "Failed")


def drain(kubeconfig: str, node: str, timeout_s: int = 600, dry_run: bool = False) -> tuple[bool, list[str]]:
    """Cordon, then evict every pod but DaemonSet and mirror pods; evictions blocked by a PodDisruptionBudget
    (HTTP 429) are retried until the timeout. Returns (changed, evicted pods)."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    changed = cordon(kubeconfig, node, dry_run=dry_run)
    core = _core(kubeconfig)
    pods = [p for p in core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={node}").items if _evictable(p)]
    evicted: list[str] = []
    deadline = time.monotonic() + timeout_s
    for pod in pods:
        name, ns = pod.metadata.name, pod.metadata.namespace
        body = client.V1Eviction(
            api_version="policy/v1", kind="Eviction", metadata=client.V1ObjectMeta(name=name, namespace=ns)
        )
        while True:
            try:
                if not dry_run:
                    core.create_namespaced_pod_eviction(name, ns, body)
                evicted.append(f"{ns}/{name}")
                break
            except ApiException as exc:
                if exc.status == 404:
                    break
                if exc.status == 429 and time.monotonic() < deadline:
                    time.sleep(2)
                    continue
                raise KubernetesError(f"evicting {ns}/{name} from {node}: HTTP {exc.status} {exc.reason}") from None
    while not dry_run and evicted and time.monotonic() < deadline:
        left = [
            p for p in core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={node}").items if _evictable(p)
        ]
        if not left:
            break
        time.sleep(1)
    else:
        if not dry_run and evicted:
            raise KubernetesError(f"pods still on {node} after {timeout_s} s")
    return changed or bool(evicted), evicted


# The labels and taints provisioning last set on a node (JSON of label keys and taint key:effect pairs): a label or
# taint the spec drops is removed from the node, and labels, taints and annotations of anyone else are kept.
NODE_CONFIG = "gpuctl.dev/node-config"


def _taint_id(taint: dict[str, Any]) -> str:
    return f"{taint['key']}:{taint['effect']}"


def configure_node(
    kubeconfig: str, node: str, labels: dict[str, str], taints: list[dict[str, Any]], dry_run: bool = False
) -> bool:
    """Give a registered Node the spec's labels and taints. The kubelet applies --node-labels and
    --register-with-taints only when it creates the Node (https://kubernetes.io/docs/reference/command-line-tools-reference/kubelet/),
    so a change to a joined node's pool goes through the API instead of a delete and re-registration (which would
    drop the burn-in label and the node's pods). Returns whether the node changed."""
    import json

    core = _core(kubeconfig)
    n = core.read_node(node)
    annotations = n.metadata.annotations or {}
    before = json.loads(annotations.get(NODE_CONFIG, "{}"))
    current_labels = n.metadata.labels or {}
    drop = [k for k in before.get("labels", []) if k not in labels and k in current_labels]
    label_patch: dict[str, Any] = {k: v for k, v in labels.items() if current_labels.get(k) != v}
    label_patch |= dict.fromkeys(drop)
    wanted = [{k: v for k, v in t.items() if v not in (None, "")} for t in taints]
    managed = set(before.get("taints", [])) | {_taint_id(t) for t in wanted}
    current_taints = [
        {k: v for k, v in t.items() if v is not None and k in ("key", "value", "effect")}
        for t in (core.api_client.sanitize_for_serialization(n.spec.taints) or [])
    ]
    new_taints = [t for t in current_taints if _taint_id(t) not in managed] + wanted
    record = json.dumps({"labels": sorted(labels), "taints": sorted(_taint_id(t) for t in wanted)})
    if not label_patch and new_taints == current_taints and annotations.get(NODE_CONFIG) == record:
        return False
    if not dry_run:
        core.patch_node(
            node,
            {
                "metadata": {"labels": label_patch, "annotations": {NODE_CONFIG: record}},
                "spec": {"taints": new_taints},
            },
        )
    return True


# Burn-in (gpuctl.provision.burnin) and live verify (gpuctl.provision.verify).
BURNIN_REASON = "gpuctl.dev/burnin-reason"


def set_burnin_verdict(kubeconfig: str, node: str, passed: bool, reason: str) -> str:
    """A passing node: the burn-in label serving pods require, the reason annotation removed, uncordoned. A
    failing node: label removed, reason annotated, cordoned. One strategic-merge patch (null deletes a key);
    the label is set through the API because NodeRestriction forbids kubelets labels under this prefix."""
    from ..render.k8s import BURNIN_LABEL, BURNIN_PASSED

    core = _core(kubeconfig)
    meta: dict[str, Any] = {
        "labels": {BURNIN_LABEL: BURNIN_PASSED if passed else None},
        "annotations": {BURNIN_REASON: None if passed else reason},
    }
    core.patch_node(node, {"metadata": meta, "spec": {"unschedulable": not passed}})
    return "labelled burn-in passed, uncordoned" if passed else "cordoned, reason annotated, label removed"


def node_state(kubeconfig: str, node: str) -> dict[str, Any]:
    """What verify reads of a node: its Ready condition, allocatable nvidia.com/gpu, labels, cordon, annotations;
    `found` False when the API has no such node."""
    from kubernetes.client.exceptions import ApiException

    core = _core(kubeconfig)
    try:
        n = core.read_node(node)
    except ApiException as exc:
        if exc.status == 404:
            return {"found": False}
        raise KubernetesError(f"reading node {node}: HTTP {exc.status} {exc.reason}") from None
    conditions = {c.type: c for c in (n.status.conditions or [])} if n.status else {}
    ready = conditions.get("Ready")
    return {
        "found": True,
        "ready": bool(ready and ready.status == "True"),
        "ready_reason": (ready.reason or ready.message or "") if ready else "no Ready condition",
        "allocatable_gpus": str(((n.status.allocatable or {}) if n.status else {}).get("nvidia.com/gpu", "0")),
        "labels": dict(n.metadata.labels or {}),
        "annotations": dict(n.metadata.annotations or {}),
        "unschedulable": bool(n.spec.unschedulable) if n.spec else False,
    }


def endpoint_readiness(kubeconfig: str, namespace: str, service: str) -> tuple[bool, int, int]:
    """(deployed, ready, total) endpoints of a Service, from its EndpointSlices: an endpoint is ready when the
    kubelet's readiness probe (the engine's readiness route) answers. deployed is False when the cluster has no
    such Service (serving not deployed)."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    try:
        _core(kubeconfig).read_namespaced_service(service, namespace)
        slices = client.DiscoveryV1Api(_client(kubeconfig)).list_namespaced_endpoint_slice(
            namespace, label_selector=f"kubernetes.io/service-name={service}", _request_timeout=10
        )
    except ApiException as exc:
        if exc.status == 404:
            return False, 0, 0
        raise KubernetesError(f"reading service {namespace}/{service}: HTTP {exc.status} {exc.reason}") from None
    endpoints = [e for s in slices.items for e in (s.endpoints or [])]
    ready = [e for e in endpoints if e.conditions is not None and e.conditions.ready]
    return True, len(ready), len(endpoints)
