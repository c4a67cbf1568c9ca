"""The test Kubernetes API refuses what a real API server refuses for the calls gpuctl and the lab's kubelet make:
missing namespaces, apply conflicts, PDB-violating evictions, NodeRestriction, unauthenticated callers."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from gpuctl.lab import kube_api
from gpuctl.lab.kube_api import Server


@pytest.fixture
def server() -> Iterator[Server]:
    with Server() as s:
        yield s


def call(
    server: Server,
    verb: str,
    path: str,
    body: dict[str, Any] | None = None,
    token: str | None = None,
    content_type: str = "application/json",
) -> tuple[int, dict[str, Any]]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(server.url + path, data=data, method=verb)
    req.add_header("Authorization", f"Bearer {token or server.cluster.admin_token}")
    req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


APPLY = "application/apply-patch+yaml"


def configmap(data: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": data}


def test_objects_need_their_namespace(server: Server) -> None:
    code, body = call(server, "POST", "/api/v1/namespaces/serving/configmaps", configmap({"a": "1"}))
    assert (code, body["reason"], body["message"]) == (404, "NotFound", 'namespaces "serving" not found')
    code, _ = call(
        server, "POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "serving"}}
    )
    assert code == 201
    assert call(server, "POST", "/api/v1/namespaces/serving/configmaps", configmap({"a": "1"}))[0] == 201
    code, body = call(server, "POST", "/api/v1/namespaces/serving/configmaps", configmap({"a": "1"}))
    assert (code, body["reason"]) == (409, "AlreadyExists")


def test_invalid_objects_are_refused(server: Server) -> None:
    code, body = call(
        server,
        "POST",
        "/api/v1/namespaces",
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}, "spek": {}},
    )
    assert (code, body["reason"]) == (422, "Invalid")
    assert "spek" in body["message"]


def test_server_side_apply_tracks_owners_and_conflicts(server: Server) -> None:
    server.cluster.add_namespace("ns")
    path = "/api/v1/namespaces/ns/configmaps/cfg"
    code, obj = call(
        server, "PATCH", path + "?fieldManager=gpuctl", configmap({"a": "1", "b": "2"}), content_type=APPLY
    )
    assert code == 201 and obj["data"] == {"a": "1", "b": "2"}
    assert [m["manager"] for m in obj["metadata"]["managedFields"]] == ["gpuctl"]
    # another manager setting the same value shares the field; changing it conflicts
    assert call(server, "PATCH", path + "?fieldManager=other", configmap({"a": "1"}), content_type=APPLY)[0] == 200
    code, body = call(server, "PATCH", path + "?fieldManager=other", configmap({"b": "9"}), content_type=APPLY)
    assert (code, body["reason"]) == (409, "Conflict")
    assert body["message"] == 'Apply failed with 1 conflict:\n- conflict with "gpuctl": .data.b'
    # force takes it over
    code, obj = call(
        server, "PATCH", path + "?fieldManager=other&force=true", configmap({"b": "9"}), content_type=APPLY
    )
    assert code == 200 and obj["data"] == {"a": "1", "b": "9"}
    # a field gpuctl no longer applies and nobody else owns is removed; one still shared stays
    code, obj = call(server, "PATCH", path + "?fieldManager=gpuctl", configmap({"c": "3"}), content_type=APPLY)
    assert code == 200 and obj["data"] == {"b": "9", "c": "3"}
    # apply needs a field manager
    code, body = call(server, "PATCH", path, configmap({"c": "3"}), content_type=APPLY)
    assert code == 400 and "fieldManager" in body["message"]


def test_an_update_takes_ownership_from_an_applier(server: Server) -> None:
    server.cluster.add_namespace("ns")
    path = "/api/v1/namespaces/ns/configmaps/cfg"
    call(server, "PATCH", path + "?fieldManager=gpuctl", configmap({"a": "1"}), content_type=APPLY)
    code, obj = call(
        server,
        "PATCH",
        path + "?fieldManager=kubectl-edit",
        {"data": {"a": "2"}},
        content_type="application/merge-patch+json",
    )
    assert code == 200
    owners = {m["manager"]: m["fieldsV1"] for m in obj["metadata"]["managedFields"]}
    assert owners == {"kubectl-edit": {"f:data": {"f:a": {}}}}
    code, body = call(server, "PATCH", path + "?fieldManager=gpuctl", configmap({"a": "1"}), content_type=APPLY)
    assert code == 409 and 'conflict with "kubectl-edit": .data.a' in body["message"]


def test_evictions_honour_disruption_budgets_and_replacements_land_elsewhere(server: Server) -> None:
    c = server.cluster
    c.add_node("n1")
    c.add_node("n2")
    c.add_pod("inference", "a", "n1", {"app": "m"})
    c.add_pod("inference", "b", "n1", {"app": "m"})
    c.add_pdb("inference", "m", {"app": "m"}, maxUnavailable=1)
    eviction = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "a", "namespace": "inference"}}
    call(
        server,
        "PATCH",
        "/api/v1/nodes/n1",
        {"spec": {"unschedulable": True}},
        content_type="application/merge-patch+json",
    )
    call(
        server,
        "PATCH",
        "/api/v1/nodes/n2",
        {"spec": {"unschedulable": True}},
        content_type="application/merge-patch+json",
    )
    assert call(server, "POST", "/api/v1/namespaces/inference/pods/a/eviction", eviction)[0] == 201
    # nowhere to run the replacement: it is Pending, the budget is spent
    assert c.pods_on("n1") == ["inference/b"] and c.pods_on("n2") == []
    eviction["metadata"]["name"] = "b"
    code, body = call(server, "POST", "/api/v1/namespaces/inference/pods/b/eviction", eviction)
    assert (code, body["message"]) == (429, "Cannot evict pod as it would violate the pod's disruption budget.")
    # n2 becomes schedulable: the replacement runs there and the budget allows the next eviction
    call(
        server,
        "PATCH",
        "/api/v1/nodes/n2",
        {"spec": {"unschedulable": False}},
        content_type="application/merge-patch+json",
    )
    assert len(c.pods_on("n2")) == 1
    assert call(server, "POST", "/api/v1/namespaces/inference/pods/b/eviction", eviction)[0] == 201


def _join(server: Server, node: str) -> str:
    """What the stand-in kubeadm does: a kubelet client CSR with a bootstrap token, answered with a node credential."""
    token = server.cluster.new_bootstrap_token()
    request = base64.b64encode(f"CN=system:node:{node},O=system:nodes".encode()).decode()
    csr = {
        "apiVersion": "certificates.k8s.io/v1",
        "kind": "CertificateSigningRequest",
        "metadata": {"name": f"node-csr-{node}"},
        "spec": {"request": request, "signerName": kube_api.KUBELET_SIGNER, "usages": ["client auth"]},
    }
    code, out = call(server, "POST", "/apis/certificates.k8s.io/v1/certificatesigningrequests", csr, token=token)
    assert code == 201 and out["status"]["conditions"][0]["type"] == "Approved"
    # the bootstrap token cannot do anything else
    assert call(server, "GET", "/api/v1/nodes", token=token)[0] == 403
    return base64.b64decode(out["status"]["certificate"]).decode()


def node(name: str, labels: dict[str, str], taints: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels},
        "spec": {"taints": taints or []},
    }


def test_node_restriction(server: Server) -> None:
    cred = _join(server, "gpu-1")
    taint = [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]
    code, body = call(
        server,
        "POST",
        "/api/v1/nodes",
        node("gpu-1", {"node-restriction.kubernetes.io/gpuctl-burnin": "passed"}),
        token=cred,
    )
    assert code == 403 and "node-restriction.kubernetes.io/gpuctl-burnin" in body["message"]
    code, body = call(server, "POST", "/api/v1/nodes", node("gpu-1", {"kubernetes.io/role": "gpu"}), token=cred)
    assert code == 403
    code, body = call(server, "POST", "/api/v1/nodes", node("gpu-2", {}), token=cred)
    assert code == 403 and 'not allowed to modify node "gpu-2"' in body["message"]
    labels = {"topology.gpuctl.dev/rack": "rack-a", "kubernetes.io/hostname": "gpu-1"}
    assert call(server, "POST", "/api/v1/nodes", node("gpu-1", labels, taint), token=cred)[0] == 201
    # the kubelet may not change its taints afterwards; an admin may label what the kubelet may not
    code, _ = call(
        server,
        "PATCH",
        "/api/v1/nodes/gpu-1",
        {"spec": {"taints": []}},
        token=cred,
        content_type="application/merge-patch+json",
    )
    assert code == 403
    burnin = {"metadata": {"labels": {"node-restriction.kubernetes.io/gpuctl-burnin": "passed"}}}
    assert call(server, "PATCH", "/api/v1/nodes/gpu-1", burnin, content_type="application/merge-patch+json")[0] == 200
    # status: the kubelet's own
    status = {"status": {"conditions": [{"type": "Ready", "status": "True"}], "allocatable": {"nvidia.com/gpu": "4"}}}
    assert (
        call(
            server,
            "PATCH",
            "/api/v1/nodes/gpu-1/status",
            status,
            token=cred,
            content_type="application/merge-patch+json",
        )[0]
        == 200
    )
    assert server.cluster.node_ready("gpu-1")


def test_a_silent_kubelet_makes_its_node_not_ready(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    cred = _join(server, "gpu-1")
    call(server, "POST", "/api/v1/nodes", node("gpu-1", {}), token=cred)
    status = {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    call(server, "PATCH", "/api/v1/nodes/gpu-1/status", status, token=cred, content_type="application/merge-patch+json")
    assert call(server, "GET", "/api/v1/nodes/gpu-1")[1]["status"]["conditions"][0]["status"] == "True"
    monkeypatch.setattr(kube_api, "NODE_GRACE_S", -1.0)
    assert call(server, "GET", "/api/v1/nodes/gpu-1")[1]["status"]["conditions"][0]["status"] == "Unknown"


def test_unauthenticated_and_unknown_tokens_are_refused(server: Server) -> None:
    assert call(server, "GET", "/api/v1/nodes", token="nope")[0] == 401
    assert call(server, "GET", "/api/v1/nodes", token="abcdef.0123456789abcdef")[0] == 401


def test_a_denied_csr_gives_no_credential(server: Server) -> None:
    token = server.cluster.new_bootstrap_token()
    csr = {
        "apiVersion": "certificates.k8s.io/v1",
        "kind": "CertificateSigningRequest",
        "metadata": {"name": "x"},
        "spec": {
            "request": base64.b64encode(b"CN=admin,O=system:masters").decode(),
            "signerName": kube_api.KUBELET_SIGNER,
            "usages": ["client auth"],
        },
    }
    code, out = call(server, "POST", "/apis/certificates.k8s.io/v1/certificatesigningrequests", csr, token=token)
    assert code == 201 and out["status"]["conditions"][0]["type"] == "Denied" and "certificate" not in out["status"]
    assert server.cluster.node_tokens == {}


def test_selectors_on_lists(server: Server) -> None:
    c = server.cluster
    c.add_node("n1")
    c.add_pod("a", "p1", "n1", {"app": "x"})
    c.add_pod("b", "p2", "n2", {"app": "y"})
    _, pods = call(server, "GET", "/api/v1/pods?fieldSelector=spec.nodeName%3Dn1")
    assert [p["metadata"]["name"] for p in pods["items"]] == ["p1"]
    _, pods = call(server, "GET", "/api/v1/pods?labelSelector=app%3Dy")
    assert [p["metadata"]["name"] for p in pods["items"]] == ["p2"]
    _, pods = call(server, "GET", "/api/v1/namespaces/a/pods")
    assert [p["metadata"]["name"] for p in pods["items"]] == ["p1"]
