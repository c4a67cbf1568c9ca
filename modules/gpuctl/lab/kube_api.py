"""The test Kubernetes API: an HTTP server that answers the calls gpuctl, the lab's stand-in kubeadm and kubelet, and
the Kubernetes Python client make, and enforces what a real API server would for them.

What it enforces (each a behaviour of kube-apiserver, with where it is specified):
- authentication by bearer token: an admin token, bootstrap tokens `<id>.<secret>` (group system:bootstrappers,
  https://kubernetes.io/docs/reference/access-authn-authz/bootstrap-tokens/) and per-node tokens (system:node:<name>,
  group system:nodes) issued through a CertificateSigningRequest a bootstrapper creates, approved the way
  kube-controller-manager's csrapproving controller approves kubelet client CSRs (CN system:node:<name>, O
  system:nodes, signer kubernetes.io/kube-apiserver-client-kubelet);
- authorization: bootstrappers may only create and read CSRs; nodes may read, create their own Node and update its
  status, and NodeRestriction holds (a node may not touch another Node, may not set labels under
  node-restriction.kubernetes.io/ nor kubernetes.io/k8s.io keys outside the kubelet's set, and may not change its
  taints after registration: https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#noderestriction);
- namespaced objects only in namespaces that exist (404 `namespaces "x" not found`), names unique (409
  AlreadyExists), every stored object valid against the Kubernetes 1.32 schemas in strict mode (422 Invalid);
- server-side apply (`application/apply-patch+yaml`, fieldManager required): field ownership per manager in
  `metadata.managedFields`, a conflict (409) when an apply changes a value another manager owns unless `force=true`,
  fields a manager stops applying removed (https://kubernetes.io/docs/reference/using-api/server-side-apply/);
  ordinary updates and merge patches take ownership of what they change;
- the Eviction API honours PodDisruptionBudgets: 429 "Cannot evict pod as it would violate the pod's disruption
  budget." when the budget allows no disruption (https://kubernetes.io/docs/concepts/scheduling-eviction/api-eviction/);
  an evicted pod that a controller owns is recreated on another schedulable, Ready node (Pending when there is none),
  as its ReplicaSet would;
- a Node whose kubelet stopped posting status for NODE_GRACE_S is reported Ready=Unknown (node lifecycle controller,
  --node-monitor-grace-period 40s:
  https://kubernetes.io/docs/reference/command-line-tools-reference/kube-controller-manager/).

Where it differs from a real server (said so the tests do not lean on it): plain HTTP, node credentials are bearer
tokens instead of client certificates, lists are atomic in field ownership (a real server merges `listType=map`
lists per key), no watches, no scheduler beyond the eviction replacement above."""

from __future__ import annotations

import base64
import copy
import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

from ..render import kschema
from .kube_fields import (
    ApiError,
    apply,
    matches_fields,
    matches_labels,
    merge_patch,
    selector_matches,
    take_ownership,
)

NODE_GRACE_S = 40.0
KUBELET_SIGNER = "kubernetes.io/kube-apiserver-client-kubelet"

# plural -> (group/version, kind, namespaced)
RESOURCES: dict[str, tuple[str, str, bool]] = {
    "namespaces": ("v1", "Namespace", False),
    "nodes": ("v1", "Node", False),
    "pods": ("v1", "Pod", True),
    "configmaps": ("v1", "ConfigMap", True),
    "services": ("v1", "Service", True),
    "poddisruptionbudgets": ("policy/v1", "PodDisruptionBudget", True),
    "deployments": ("apps/v1", "Deployment", True),
    "certificatesigningrequests": ("certificates.k8s.io/v1", "CertificateSigningRequest", False),
}
# Labels a kubelet may set on its own Node under kubernetes.io / k8s.io (k8s.io/kubelet/pkg/apis well_known_labels.go).
KUBELET_LABELS = {
    "kubernetes.io/hostname",
    "kubernetes.io/os",
    "kubernetes.io/arch",
    "beta.kubernetes.io/os",
    "beta.kubernetes.io/arch",
    "beta.kubernetes.io/instance-type",
    "node.kubernetes.io/instance-type",
    "failure-domain.beta.kubernetes.io/region",
    "failure-domain.beta.kubernetes.io/zone",
    "topology.kubernetes.io/region",
    "topology.kubernetes.io/zone",
}


@dataclass(frozen=True)
class User:
    name: str
    groups: tuple[str, ...]

    @property
    def node(self) -> str | None:
        return self.name.removeprefix("system:node:") if "system:nodes" in self.groups else None


@dataclass(frozen=True)
class Ref:
    plural: str
    namespace: str | None
    name: str | None
    sub: str | None

    @property
    def api_version(self) -> str:
        return RESOURCES[self.plural][0]

    @property
    def kind(self) -> str:
        return RESOURCES[self.plural][1]


def parse_path(path: str) -> Ref:
    parts = [unquote(p) for p in path.strip("/").split("/")]
    if parts[:2] == ["api", "v1"]:
        rest = parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        rest = parts[3:]
    else:
        raise ApiError(404, "NotFound", f"the server could not find the requested resource ({path})")
    ns = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        ns, rest = rest[1], rest[2:]
    if not rest or rest[0] not in RESOURCES or len(rest) > 3:
        raise ApiError(404, "NotFound", f"the server could not find the requested resource ({path})")
    plural = rest[0]
    if RESOURCES[plural][2] != (ns is not None) and not (ns is None and len(rest) == 1):
        raise ApiError(404, "NotFound", f"the server could not find the requested resource ({path})")
    return Ref(plural, ns, rest[1] if len(rest) > 1 else None, rest[2] if len(rest) > 2 else None)


# ----- the cluster -----


@dataclass
class Cluster:
    admin_token: str = field(default_factory=lambda: secrets.token_hex(16))
    bootstrap_tokens: dict[str, str] = field(default_factory=dict)  # id -> secret
    node_tokens: dict[str, str] = field(default_factory=dict)  # token -> node name
    objects: dict[tuple[str, str | None, str], dict[str, Any]] = field(default_factory=dict)
    heartbeats: dict[str, float] = field(default_factory=dict)
    requests: list[tuple[str, str, str]] = field(default_factory=list)  # (user, verb, path)
    version: int = 0
    lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
            self.store("admin", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}, "namespaces")

    # -- authentication --
    def new_bootstrap_token(self) -> str:
        token_id, secret = secrets.token_hex(3), secrets.token_hex(8)
        self.bootstrap_tokens[token_id] = secret
        return f"{token_id}.{secret}"

    def authenticate(self, header: str | None) -> User:
        token = (header or "").removeprefix("Bearer ").strip()
        if token and secrets.compare_digest(token, self.admin_token):
            return User("admin", ("system:masters", "system:authenticated"))
        if token in self.node_tokens:
            return User(f"system:node:{self.node_tokens[token]}", ("system:nodes", "system:authenticated"))
        token_id, _, secret = token.partition(".")
        if (
            secret
            and token_id in self.bootstrap_tokens
            and secrets.compare_digest(secret, self.bootstrap_tokens[token_id])
        ):
            return User(f"system:bootstrap:{token_id}", ("system:bootstrappers", "system:authenticated"))
        raise ApiError(401, "Unauthorized", "Unauthorized")

    # -- storage --
    def next_version(self) -> str:
        self.version += 1
        return str(self.version)

    def get(self, plural: str, ns: str | None, name: str) -> dict[str, Any]:
        obj = self.objects.get((plural, ns, name))
        if obj is None:
            raise ApiError(404, "NotFound", f'{plural} "{name}" not found')
        return obj

    def store(
        self, manager: str, obj: dict[str, Any], plural: str, before: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        meta = obj.setdefault("metadata", {})
        ns = meta.get("namespace") if RESOURCES[plural][2] else None
        if before is None:
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
            if "managedFields" not in meta:
                take_ownership({}, obj, manager)
        meta["resourceVersion"] = self.next_version()
        try:
            kschema.validate(obj)
        except kschema.ManifestError as exc:
            raise ApiError(422, "Invalid", str(exc)) from None
        self.objects[(plural, ns, meta["name"])] = obj
        return obj

    def namespace_exists(self, ns: str) -> None:
        if ("namespaces", None, ns) not in self.objects:
            raise ApiError(404, "NotFound", f'namespaces "{ns}" not found')

    def items(self, plural: str, ns: str | None = None) -> list[dict[str, Any]]:
        return [
            o
            for (p, n, _), o in sorted(self.objects.items(), key=lambda kv: str(kv[0]))
            if p == plural and (ns is None or n == ns)
        ]

    # -- nodes --
    def node_view(self, node: dict[str, Any]) -> dict[str, Any]:
        """A Node as the API shows it: Ready becomes Unknown once its kubelet stopped posting status."""
        name = node["metadata"]["name"]
        seen = self.heartbeats.get(name)
        if seen is None or time.monotonic() - seen <= NODE_GRACE_S:
            return node
        out = copy.deepcopy(node)
        for cond in out.get("status", {}).get("conditions", []):
            if cond.get("type") == "Ready":
                cond.update(
                    status="Unknown", reason="NodeStatusUnknown", message="Kubelet stopped posting node status."
                )
        return out

    def node_ready(self, name: str) -> bool:
        node = self.objects.get(("nodes", None, name))
        if node is None or node.get("spec", {}).get("unschedulable"):
            return False
        conds = self.node_view(node).get("status", {}).get("conditions", [])
        return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds)

    # -- test helpers (the tests' own hands on the cluster, as an admin) --
    def add_namespace(self, name: str) -> None:
        if ("namespaces", None, name) not in self.objects:
            self.store("test", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}, "namespaces")

    def add_node(self, name: str, gpus: int = 0, ready: bool = True) -> dict[str, Any]:
        status: dict[str, Any] = {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}
        if gpus:
            status["capacity"] = status["allocatable"] = {"nvidia.com/gpu": str(gpus)}
        return self.store(
            "test",
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {"name": name, "labels": {}},
                "spec": {},
                "status": status,
            },
            "nodes",
        )

    def add_pod(
        self, ns: str, name: str, node: str | None, labels: dict[str, str] | None = None, owner_kind: str = "ReplicaSet"
    ) -> dict[str, Any]:
        self.add_namespace(ns)
        pod: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": name,
                "namespace": ns,
                "labels": dict(labels or {}),
                "ownerReferences": [
                    {"apiVersion": "apps/v1", "kind": owner_kind, "name": f"{name}-owner", "uid": f"uid-{name}"}
                ],
            },
            "spec": {"containers": [{"name": "c", "image": "x"}]},
            "status": {"phase": "Running" if node else "Pending"},
        }
        if node:
            pod["spec"]["nodeName"] = node
        return self.store("test", pod, "pods")

    def add_pdb(self, ns: str, name: str, match_labels: dict[str, str], **budget: int | str) -> dict[str, Any]:
        self.add_namespace(ns)
        pdb = {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"selector": {"matchLabels": dict(match_labels)}, **budget},
        }
        return self.store("test", pdb, "poddisruptionbudgets")

    def pods_on(self, node: str) -> list[str]:
        return sorted(
            f"{p['metadata']['namespace']}/{p['metadata']['name']}"
            for p in self.items("pods")
            if p["spec"].get("nodeName") == node
        )

    # -- eviction --
    def disruptions_allowed(self, pdb: dict[str, Any]) -> int:
        ns = pdb["metadata"]["namespace"]
        selected = [
            p
            for p in self.items("pods", ns)
            if selector_matches(pdb["spec"].get("selector") or {}, p["metadata"].get("labels") or {})
        ]
        healthy = sum(
            1 for p in selected if p.get("status", {}).get("phase") == "Running" and p["spec"].get("nodeName")
        )
        spec = pdb["spec"]
        if "minAvailable" in spec:
            want = _count(spec["minAvailable"], len(selected))
            return healthy - want
        unavailable = _count(spec.get("maxUnavailable", 0), len(selected))
        return unavailable - (len(selected) - healthy)

    def evict(self, ns: str, name: str) -> None:
        pod = self.get("pods", ns, name)
        labels = pod["metadata"].get("labels") or {}
        for pdb in self.items("poddisruptionbudgets", ns):
            if selector_matches(pdb["spec"].get("selector") or {}, labels) and self.disruptions_allowed(pdb) <= 0:
                raise ApiError(
                    429, "TooManyRequests", "Cannot evict pod as it would violate the pod's disruption budget."
                )
        del self.objects[("pods", ns, name)]
        owners = pod["metadata"].get("ownerReferences") or []
        if any(o.get("kind") in ("ReplicaSet", "StatefulSet") for o in owners):
            self._replace(pod)

    def _replace(self, pod: dict[str, Any]) -> None:
        """What the pod's controller and the scheduler would do: a new pod on another schedulable, Ready node."""
        old = pod["spec"].get("nodeName")
        target = next(
            (
                n["metadata"]["name"]
                for n in self.items("nodes")
                if n["metadata"]["name"] != old and self.node_ready(n["metadata"]["name"])
            ),
            None,
        )
        new = copy.deepcopy(pod)
        meta = new["metadata"]
        meta["name"] = f"{meta['name'].rsplit('-r', 1)[0]}-r{self.version + 1}"
        for key in ("uid", "resourceVersion", "creationTimestamp", "managedFields"):
            meta.pop(key, None)
        new["spec"].pop("nodeName", None)
        if target:
            new["spec"]["nodeName"] = target
        new["status"] = {"phase": "Running" if target else "Pending"}
        self.store("replicaset-controller", new, "pods")

    def reschedule_pending(self) -> None:
        for pod in self.items("pods"):
            if not pod["spec"].get("nodeName"):
                target = next(
                    (n["metadata"]["name"] for n in self.items("nodes") if self.node_ready(n["metadata"]["name"])), None
                )
                if target:
                    pod["spec"]["nodeName"] = target
                    pod["status"] = {"phase": "Running"}


def _count(value: int | str, total: int) -> int:
    if isinstance(value, str) and value.endswith("%"):
        import math

        return math.ceil(total * int(value[:-1]) / 100)
    return int(value)


# ----- authorization and admission -----


def authorize(user: User, verb: str, ref: Ref, body: dict[str, Any] | None, current: dict[str, Any] | None) -> None:
    if "system:masters" in user.groups:
        return
    forbidden = ApiError(
        403,
        "Forbidden",
        f'{ref.plural} "{ref.name or ""}" is forbidden: User "{user.name}" cannot {verb} resource "{ref.plural}"',
    )
    if "system:bootstrappers" in user.groups:
        if ref.plural == "certificatesigningrequests" and verb in ("create", "get", "list"):
            return
        raise forbidden
    node = user.node
    if node is None:
        raise forbidden
    if verb in ("get", "list"):
        return
    if ref.plural != "nodes":
        raise forbidden
    name = ref.name or (body or {}).get("metadata", {}).get("name")
    if name != node:
        raise ApiError(
            403, "Forbidden", f'nodes "{name}" is forbidden: node "{node}" is not allowed to modify node "{name}"'
        )
    if verb == "delete":
        raise forbidden
    if body is not None and ref.sub != "status":
        node_restriction(node, body, current)


def node_restriction(node: str, body: dict[str, Any], current: dict[str, Any] | None) -> None:
    """NodeRestriction's checks on what a kubelet writes to its own Node."""
    new = (body.get("metadata") or {}).get("labels") or {}
    old = ((current or {}).get("metadata") or {}).get("labels") or {}
    for key in sorted(set(new) | set(old)):
        if new.get(key) == old.get(key):
            continue
        domain = key.split("/", 1)[0] if "/" in key else ""
        restricted = domain == "node-restriction.kubernetes.io" or domain.endswith(".node-restriction.kubernetes.io")
        kube = domain in ("kubernetes.io", "k8s.io") or domain.endswith((".kubernetes.io", ".k8s.io"))
        allowed_kube = key in KUBELET_LABELS or domain.endswith(("kubelet.kubernetes.io", "node.kubernetes.io"))
        if restricted or (kube and not allowed_kube):
            raise ApiError(
                403,
                "Forbidden",
                f'nodes "{node}" is forbidden: is not allowed to modify labels: {key}',
            )
    if (
        current is not None
        and "spec" in body
        and (body.get("spec") or {}).get("taints") != (current.get("spec") or {}).get("taints")
    ):
        raise ApiError(403, "Forbidden", f'nodes "{node}" is forbidden: node "{node}" is not allowed to modify taints')


# ----- HTTP -----


class Server:
    """The API on `host` (a lab address the hosts reach, or loopback), in a thread; a context manager."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, cluster: Cluster | None = None) -> None:
        self.cluster = cluster or Cluster()
        self.httpd = ThreadingHTTPServer((host, port), _handler(self.cluster))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def kubeconfig(self, token: str | None = None) -> str:
        return (
            f"apiVersion: v1\nkind: Config\nclusters: [{{name: lab, cluster: {{server: '{self.url}'}}}}]\n"
            "contexts: [{name: lab, context: {cluster: lab, user: admin}}]\ncurrent-context: lab\n"
            f"users: [{{name: admin, user: {{token: '{token or self.cluster.admin_token}'}}}}]\n"
        )

    def start(self) -> Server:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _handler(cluster: Cluster) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, code: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length) if length else b""
            if not raw:
                return {}
            try:
                data = yaml.safe_load(raw) if "yaml" in (self.headers.get("Content-Type") or "") else json.loads(raw)
            except (ValueError, yaml.YAMLError) as exc:
                raise ApiError(400, "BadRequest", f"the request body does not parse: {exc}") from None
            if not isinstance(data, dict):
                raise ApiError(400, "BadRequest", "the request body is not an object")
            return data

        def _serve(self, verb: str) -> None:
            try:
                url = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(url.query).items()}
                body = self._body() if verb in ("POST", "PUT", "PATCH") else None
                user = cluster.authenticate(self.headers.get("Authorization"))
                ref = parse_path(url.path)
                with cluster.lock:
                    cluster.requests.append((user.name, verb, url.path))
                    code, out = _dispatch(cluster, user, verb, ref, query, body, self.headers)
                self._send(code, out)
            except ApiError as exc:
                self._send(exc.code, exc.status())

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_PUT(self) -> None:
            self._serve("PUT")

        def do_PATCH(self) -> None:
            self._serve("PATCH")

        def do_DELETE(self) -> None:
            self._serve("DELETE")

    return Handler


def _manager(query: dict[str, str], headers: Any) -> str:
    agent = str(headers.get("User-Agent") or "unknown").split("/", 1)[0]
    return query.get("fieldManager") or agent


def _dispatch(
    c: Cluster, user: User, verb: str, ref: Ref, query: dict[str, str], body: dict[str, Any] | None, headers: Any
) -> tuple[int, dict[str, Any]]:
    namespaced = RESOURCES[ref.plural][2]
    if verb == "GET" and ref.name is None:
        authorize(user, "list", ref, None, None)
        items = [
            c.node_view(o) if ref.plural == "nodes" else o
            for o in c.items(ref.plural, ref.namespace)
            if matches_labels(o["metadata"].get("labels") or {}, query.get("labelSelector", ""))
            and matches_fields(o, query.get("fieldSelector", ""))
        ]
        kind = f"{ref.kind}List"
        return 200, {
            "apiVersion": ref.api_version,
            "kind": kind,
            "metadata": {"resourceVersion": str(c.version)},
            "items": items,
        }
    if ref.namespace is not None and ref.plural != "namespaces":
        c.namespace_exists(ref.namespace)
    if verb == "GET":
        authorize(user, "get", ref, None, None)
        obj = c.get(ref.plural, ref.namespace, str(ref.name))
        return 200, c.node_view(obj) if ref.plural == "nodes" else obj
    if verb == "POST" and ref.sub == "eviction":
        assert body is not None
        authorize(user, "create", Ref("pods", ref.namespace, ref.name, "eviction"), None, None)
        try:
            kschema.validate(body)
        except kschema.ManifestError as exc:
            raise ApiError(422, "Invalid", str(exc)) from None
        c.evict(str(ref.namespace), str(ref.name))
        return 201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}
    if verb == "POST":
        assert body is not None
        name = (body.get("metadata") or {}).get("name")
        if not name:
            raise ApiError(422, "Invalid", f"{ref.kind}: metadata.name: Required value")
        authorize(user, "create", Ref(ref.plural, ref.namespace, None, None), body, None)
        if (ref.plural, ref.namespace if namespaced else None, name) in c.objects:
            raise ApiError(409, "AlreadyExists", f'{ref.plural} "{name}" already exists')
        obj = copy.deepcopy(body)
        obj.setdefault("apiVersion", ref.api_version)
        obj.setdefault("kind", ref.kind)
        if namespaced:
            obj["metadata"]["namespace"] = ref.namespace
        obj["metadata"].pop("managedFields", None)
        take_ownership({}, obj, _manager(query, headers))
        created = c.store(_manager(query, headers), obj, ref.plural)
        _after_write(c, user, ref.plural, created)
        if ref.plural == "certificatesigningrequests":
            _approve_csr(c, user, created)
        return 201, created
    if verb == "DELETE":
        authorize(user, "delete", ref, None, None)
        c.get(ref.plural, ref.namespace, str(ref.name))
        del c.objects[(ref.plural, ref.namespace, str(ref.name))]
        if ref.plural == "namespaces":
            for key in [k for k in c.objects if k[1] == ref.name]:
                del c.objects[key]
        return 200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}
    # PUT / PATCH on an object or its status
    assert body is not None
    content = (headers.get("Content-Type") or "").split(";")[0]
    key = (ref.plural, ref.namespace, str(ref.name))
    current = c.objects.get(key)
    manager = _manager(query, headers)
    if content == "application/apply-patch+yaml":
        if not query.get("fieldManager"):
            raise ApiError(
                400, "BadRequest", "PATCH with Content-Type application/apply-patch+yaml requires fieldManager"
            )
        if (body.get("metadata") or {}).get("name") not in (None, ref.name):
            raise ApiError(400, "BadRequest", "the name of the object does not match the name on the URL")
        authorize(user, "patch", ref, merge_patch(current or {}, body), current)
        if current is None and namespaced:
            c.namespace_exists(str(ref.namespace))
        base = current or {
            "apiVersion": body.get("apiVersion", ref.api_version),
            "kind": body.get("kind", ref.kind),
            "metadata": {"name": ref.name, **({"namespace": ref.namespace} if namespaced else {})},
        }
        if ref.sub == "status":
            merged = copy.deepcopy(base)
            merged["status"] = merge_patch(base.get("status"), body.get("status") or {})
        else:
            merged = apply(base, body, manager, query.get("force") == "true")
        stored = c.store(manager, merged, ref.plural, before=current)
        _after_write(c, user, ref.plural, stored)
        return (200 if current else 201), stored
    if current is None:
        raise ApiError(404, "NotFound", f'{ref.plural} "{ref.name}" not found')
    if verb == "PUT":
        new = copy.deepcopy(body)
        if ref.sub == "status":
            new = {**copy.deepcopy(current), "status": body.get("status", {})}
    elif content in ("application/merge-patch+json", "application/strategic-merge-patch+json", "application/json", ""):
        new = merge_patch(current, body if ref.sub != "status" else {"status": body.get("status", {})})
    else:
        raise ApiError(415, "UnsupportedMediaType", f"the body of the request was in an unknown format: {content}")
    new.setdefault("metadata", {})
    new["metadata"]["name"] = ref.name
    if namespaced:
        new["metadata"]["namespace"] = ref.namespace
    new["metadata"]["managedFields"] = copy.deepcopy(current.get("metadata", {}).get("managedFields", []))
    authorize(user, "update" if verb == "PUT" else "patch", ref, new, current)
    if ref.sub != "status":
        take_ownership(current, new, manager)
    stored = c.store(manager, new, ref.plural, before=current)
    _after_write(c, user, ref.plural, stored)
    return 200, stored


def _after_write(c: Cluster, user: User, plural: str, obj: dict[str, Any]) -> None:
    node = user.node
    if (
        plural == "nodes"
        and node is not None
        and node == obj["metadata"]["name"]
        and obj.get("status", {}).get("conditions")
    ):
        c.heartbeats[node] = time.monotonic()
    if plural == "nodes":
        c.reschedule_pending()


def _approve_csr(c: Cluster, user: User, csr: dict[str, Any]) -> None:
    """csrapproving: a bootstrapper's kubelet client CSR for CN=system:node:<name>, O=system:nodes is approved and
    answered with a credential for that node (here a bearer token in status.certificate)."""
    spec = csr.get("spec") or {}
    try:
        subject = dict(
            part.split("=", 1) for part in base64.b64decode(spec.get("request", "")).decode().strip().split(",")
        )
    except (ValueError, UnicodeDecodeError):
        subject = {}
    cn = subject.get("CN", "")
    ok = (
        "system:bootstrappers" in user.groups
        and spec.get("signerName") == KUBELET_SIGNER
        and subject.get("O") == "system:nodes"
        and cn.startswith("system:node:")
        and len(cn) > len("system:node:")
    )
    if not ok:
        csr["status"] = {"conditions": [{"type": "Denied", "status": "True", "reason": "NotAKubeletClientRequest"}]}
        return
    token = secrets.token_hex(16)
    c.node_tokens[token] = cn.removeprefix("system:node:")
    csr["status"] = {
        "conditions": [{"type": "Approved", "status": "True", "reason": "AutoApproved"}],
        "certificate": base64.b64encode(token.encode()).decode(),
    }


def main() -> None:
    """`python -m gpuctl.lab.kube_api HOST PORT KUBECONFIG TOKENFILE`: serve until killed (the demo's API)."""
    import os
    import signal
    import sys

    from ..fsutil import write_atomic

    host, port, kubeconfig, token_file = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    server = Server(host, port)
    write_atomic(kubeconfig, server.kubeconfig(), mode=0o600)
    write_atomic(token_file, server.cluster.new_bootstrap_token() + "\n", mode=0o600)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    server.httpd.serve_forever()


if __name__ == "__main__":
    main()
