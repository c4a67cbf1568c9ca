"""The Kubernetes API calls provisioning makes, with the `kubernetes` Python client: server-side apply of the
serving manifests, cordon/drain/uncordon for rolling driver upgrades. Used by the Ansible modules in
playbooks/library and tested against a fake API server that validates every object it receives."""

from __future__ import annotations

import time
from typing import Any

PLURALS = {
    "Namespace": "namespaces",
    "Service": "services",
    "Deployment": "deployments",
    "NetworkPolicy": "networkpolicies",
    "ConfigMap": "configmaps",
    "ServiceMonitor": "servicemonitors",
    "Node": "nodes",
}
CLUSTER_SCOPED = {"Namespace", "Node"}


def _client(kubeconfig: str) -> Any:
    from kubernetes import config

    return config.new_client_from_config(config_file=kubeconfig)  # type: ignore[no-untyped-call]


def object_path(obj: dict[str, Any]) -> str:
    api_version, kind = obj["apiVersion"], obj["kind"]
    if kind not in PLURALS:
        raise ValueError(f"gpuctl does not know the REST path of {kind}")
    base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
    name = obj["metadata"]["name"]
    if kind in CLUSTER_SCOPED:
        return f"{base}/{PLURALS[kind]}/{name}"
    ns = obj["metadata"].get("namespace", "default")
    return f"{base}/namespaces/{ns}/{PLURALS[kind]}/{name}"


def _request(
    api: Any,
    method: str,
    path: str,
    query: list[tuple[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    body: Any = None,
) -> dict[str, Any]:
    """One REST call through the client's own serialization and auth; errors raise ApiException."""
    import json

    from kubernetes.client.exceptions import ApiException

    params = api.param_serialize(
        method=method,
        resource_path=path,
        query_params=query or [],
        header_params={"Accept": "application/json", **(headers or {})},
        body=body,
        auth_settings=["BearerToken"],
    )
    resp = api.call_api(*params)
    resp.read()
    if resp.status >= 400:
        raise ApiException(status=resp.status, reason=resp.reason, body=resp.data.decode(errors="replace"))
    result: dict[str, Any] = json.loads(resp.data or b"{}")
    return result


def _resource_version(api: Any, path: str) -> str | None:
    from kubernetes.client.exceptions import ApiException

    try:
        data = _request(api, "GET", path)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
    return str(data.get("metadata", {}).get("resourceVersion"))


def apply_objects(
    kubeconfig: str, objects: list[dict[str, Any]], field_manager: str = "gpuctl", dry_run: bool = False
) -> list[str]:
    """Server-side apply each object (conflicts forced to the field manager); returns those that changed."""
    from kubernetes.client.exceptions import ApiException

    api = _client(kubeconfig)
    changed = []
    for obj in objects:
        path = object_path(obj)
        before = _resource_version(api, path)
        query = [("fieldManager", field_manager), ("force", "true")]
        if dry_run:
            query.append(("dryRun", "All"))
        try:
            result = _request(api, "PATCH", path, query, {"Content-Type": "application/apply-patch+yaml"}, obj)
        except ApiException as exc:
            raise RuntimeError(f"{obj['kind']}/{obj['metadata']['name']}: HTTP {exc.status}: {exc.body}") from None
        after = str(result.get("metadata", {}).get("resourceVersion"))
        if before != after:
            ns = obj["metadata"].get("namespace")
            changed.append(f"{obj['kind']}/{ns + '/' if ns else ''}{obj['metadata']['name']}")
    return changed


def _core(kubeconfig: str) -> Any:
    from kubernetes import client

    return client.CoreV1Api(_client(kubeconfig))


def cordon(kubeconfig: str, node: str, unschedulable: bool = True, dry_run: bool = False) -> bool:
    core = _core(kubeconfig)
    current = core.read_node(node)
    if bool(current.spec.unschedulable) == unschedulable:
        return False
    if not dry_run:
        core.patch_node(node, {"spec": {"unschedulable": unschedulable}})
    return True


def uncordon(kubeconfig: str, node: str, dry_run: bool = False) -> bool:
    return cordon(kubeconfig, node, unschedulable=False, dry_run=dry_run)


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
                raise RuntimeError(f"evicting {ns}/{name} from {node}: HTTP {exc.status} {exc.reason}") from None
    while not dry_run and evicted and time.monotonic() < deadline:
        left = [
            p for p in core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={node}").items if _evictable(p)
        ]
        if not left:
            break
        time.sleep(1)
    else:
        if not dry_run and evicted:
            raise RuntimeError(f"pods still on {node} after {timeout_s} s")
    return changed or bool(evicted), evicted
