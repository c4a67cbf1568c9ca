"""A small HTTP fake of exactly the Kubernetes API endpoints gpuctl calls, on 127.0.0.1.

It keeps itself honest: every object it receives (node patches, evictions) is validated against the Kubernetes
schemas in strict mode, and an invalid one gets the 422 a real API server sends."""

from __future__ import annotations

import copy
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from gpuctl.render import kschema

SERVICE = re.compile(r"^/api/v1/namespaces/([^/]+)/services/([^/:]+)(?::(\d+))?(?:/proxy/(.*))?$")
EVICTION = re.compile(r"^/api/v1/namespaces/([^/]+)/pods/([^/]+)/eviction$")


class FakeCluster:
    def __init__(self) -> None:
        self.nodes: dict[str, dict[str, Any]] = {}
        self.pods: list[dict[str, Any]] = []
        self.services: dict[tuple[str, str], dict[str, Any]] = {}  # (ns, name) -> {"port", "answers": {path: code}}
        self.pdb_blocks: dict[str, int] = {}  # pod name -> evictions refused with 429 before one succeeds
        self.requests: list[tuple[str, str]] = []
        self.version = 0
        self.lock = threading.Lock()

    def next_version(self) -> str:
        self.version += 1
        return str(self.version)

    def add_node(self, name: str) -> None:
        self.nodes[name] = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": name, "resourceVersion": "1"},
            "spec": {},
        }

    def add_pod(self, ns: str, name: str, node: str, owner_kind: str = "ReplicaSet") -> None:
        self.pods.append(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": name,
                    "namespace": ns,
                    "ownerReferences": [
                        {"apiVersion": "apps/v1", "kind": owner_kind, "name": f"{name}-owner", "uid": f"uid-{name}"}
                    ],
                },
                "spec": {"nodeName": node, "containers": [{"name": "c", "image": "x"}]},
                "status": {"phase": "Running"},
            }
        )


def handler_for(cluster: FakeCluster) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, code: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _status(self, code: int, reason: str, message: str) -> None:
            self._send(
                code,
                {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "status": "Failure",
                    "reason": reason,
                    "message": message,
                    "code": code,
                },
            )

        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length", "0"))
            return json.loads(self.rfile.read(length) or b"{}")

        def _auth(self) -> bool:
            if self.headers.get("Authorization") != "Bearer fake-token":
                self._status(401, "Unauthorized", "missing or wrong bearer token")
                return False
            return True

        def do_GET(self) -> None:
            if not self._auth():
                return None
            path, _, query = self.path.partition("?")
            cluster.requests.append(("GET", path))
            with cluster.lock:
                if path.startswith("/api/v1/nodes/"):
                    node = cluster.nodes.get(path.rsplit("/", 1)[1])
                    return self._send(200, node) if node else self._status(404, "NotFound", "node not found")
                svc = SERVICE.match(unquote(path))
                if svc:
                    ns, name, port, sub = svc.groups()
                    found = cluster.services.get((ns, name))
                    if found is None or (port is not None and int(port) != found["port"]):
                        return self._status(404, "NotFound", f"services {name} not found")
                    if sub is None:
                        return self._send(200, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}})
                    code = found["answers"].get("/" + sub, 404)
                    return self._send(code, {"answer": code})
                if path == "/api/v1/pods":
                    m = re.search(r"fieldSelector=spec.nodeName%3D([^&]+)|fieldSelector=spec\.nodeName=([^&]+)", query)
                    node = (m.group(1) or m.group(2)) if m else None
                    items = [p for p in cluster.pods if node is None or p["spec"]["nodeName"] == node]
                    return self._send(200, {"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": items})
                return self._status(404, "NotFound", f"{path} not found")

        def do_PATCH(self) -> None:
            if not self._auth():
                return None
            path = self.path.partition("?")[0]
            body = self._body()
            cluster.requests.append(("PATCH", path))
            with cluster.lock:
                if path.startswith("/api/v1/nodes/"):
                    name = path.rsplit("/", 1)[1]
                    node = cluster.nodes.get(name)
                    if node is None:
                        return self._status(404, "NotFound", "node not found")
                    merged = copy.deepcopy(node)
                    merged["spec"].update(body.get("spec", {}))
                    # Strategic merge of labels and annotations: a null value deletes the key.
                    for key in ("labels", "annotations"):
                        for k, v in (body.get("metadata", {}).get(key) or {}).items():
                            target = merged["metadata"].setdefault(key, {})
                            if v is None:
                                target.pop(k, None)
                            else:
                                target[k] = v
                    try:
                        kschema.validate(merged)
                    except kschema.ManifestError as exc:
                        return self._status(422, "Invalid", str(exc))
                    merged["metadata"]["resourceVersion"] = cluster.next_version()
                    cluster.nodes[name] = merged
                    return self._send(200, merged)
                return self._status(404, "NotFound", f"no such resource {path}")

        def do_POST(self) -> None:
            if not self._auth():
                return None
            body = self._body()
            cluster.requests.append(("POST", self.path))
            m = EVICTION.match(self.path)
            if not m:
                return self._status(404, "NotFound", self.path)
            try:
                kschema.validate(body)
            except kschema.ManifestError as exc:
                return self._status(422, "Invalid", str(exc))
            ns, name = m.groups()
            with cluster.lock:
                if cluster.pdb_blocks.get(name, 0) > 0:
                    cluster.pdb_blocks[name] -= 1
                    return self._status(
                        429, "TooManyRequests", "Cannot evict pod as it would violate the pod's disruption budget."
                    )
                before = len(cluster.pods)
                cluster.pods = [
                    p for p in cluster.pods if not (p["metadata"]["name"] == name and p["metadata"]["namespace"] == ns)
                ]
                if len(cluster.pods) == before:
                    return self._status(404, "NotFound", "pod not found")
            return self._send(201, {"kind": "Status", "apiVersion": "v1", "status": "Success"})

    return Handler


class FakeApiServer:
    def __init__(self) -> None:
        self.cluster = FakeCluster()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(self.cluster))
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def kubeconfig(self) -> str:
        return (
            f"apiVersion: v1\nkind: Config\nclusters: [{{name: fake, cluster: {{server: '{self.url}'}}}}]\n"
            "contexts: [{name: fake, context: {cluster: fake, user: u}}]\ncurrent-context: fake\n"
            "users: [{name: u, user: {token: fake-token}}]\n"
        )

    def __enter__(self) -> FakeApiServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
