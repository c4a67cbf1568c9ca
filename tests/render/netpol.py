"""A NetworkPolicy evaluator for tests: which flows the rendered policies let through, by the semantics of
https://kubernetes.io/docs/concepts/services-networking/network-policies/ (networking.k8s.io/v1):

- a pod is isolated for ingress (egress) when a policy in its namespace selects it and lists that policy type;
  an isolated pod admits a flow when any of those policies has a rule that allows it; policies add up;
- a rule with no `ports` allows every port, with no `from`/`to` every peer;
- a peer with `podSelector` only means pods of the policy's namespace, `namespaceSelector` only all pods of the
  matching namespaces, both the matching pods in the matching namespaces, `ipBlock` addresses outside the cluster;
- a flow passes when the source's egress and the destination's ingress both allow it.
Named ports resolve against the destination's container ports. Namespaces carry `kubernetes.io/metadata.name`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from gpuctl.lab.kube_fields import selector_matches

Obj = dict[str, Any]
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}


@dataclass(frozen=True)
class Endpoint:
    """A pod (namespace, labels, named ports) or, with `ip`, an address outside the cluster."""

    name: str
    namespace: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    ip: str | None = None


def matches(selector: Obj | None, labels: dict[str, str]) -> bool:
    """A label selector (the lab's test API evaluates them the same way); a missing selector selects nothing."""
    return selector is not None and selector_matches(selector, labels)


def _templates(obj: Obj) -> Iterable[tuple[str, Obj]]:
    kind, spec = obj["kind"], obj.get("spec", {})
    if kind in WORKLOADS:
        yield obj["metadata"]["name"], spec["template"]
    elif kind == "LeaderWorkerSet":
        tmpl = spec["leaderWorkerTemplate"]
        if "leaderTemplate" in tmpl:
            yield f"{obj['metadata']['name']}-leader", tmpl["leaderTemplate"]
        yield f"{obj['metadata']['name']}-worker", tmpl["workerTemplate"]


def pods(objects: list[Obj]) -> list[Endpoint]:
    """One endpoint per pod template of the rendered workloads."""
    out = []
    for obj in objects:
        for name, tmpl in _templates(obj):
            ports = {}
            for c in tmpl["spec"].get("containers", []):
                for p in c.get("ports", []):
                    if "name" in p:
                        ports[p["name"]] = p["containerPort"]
            labels = dict(tmpl.get("metadata", {}).get("labels", {}))
            out.append(Endpoint(name, obj["metadata"]["namespace"], labels, ports))
    return out


class Policies:
    def __init__(self, objects: list[Obj], namespace_labels: dict[str, dict[str, str]] | None = None) -> None:
        self.policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
        self.ns_labels = {
            o["metadata"]["name"]: dict(o["metadata"].get("labels", {})) for o in objects if o["kind"] == "Namespace"
        }
        for ns, labels in (namespace_labels or {}).items():
            self.ns_labels.setdefault(ns, {}).update(labels)

    def _namespace_labels(self, ns: str) -> dict[str, str]:
        return {**self.ns_labels.get(ns, {}), "kubernetes.io/metadata.name": ns}

    def _peer_matches(self, peer: Obj, policy_ns: str, other: Endpoint) -> bool:
        if "ipBlock" in peer:
            if other.ip is None:
                return False  # ipBlock is meant for addresses outside the cluster
            block = peer["ipBlock"]
            addr = ipaddress.ip_address(other.ip)
            if addr not in ipaddress.ip_network(block["cidr"]):
                return False
            return not any(addr in ipaddress.ip_network(e) for e in block.get("except", []))
        if other.ip is not None:
            return False
        if "namespaceSelector" in peer:
            if not matches(peer["namespaceSelector"], self._namespace_labels(other.namespace)):
                return False
        elif other.namespace != policy_ns:
            return False
        return "podSelector" not in peer or matches(peer["podSelector"], other.labels)

    @staticmethod
    def _port_matches(rule_ports: list[Obj] | None, port: int, protocol: str, target: Endpoint) -> bool:
        if not rule_ports:
            return True
        for p in rule_ports:
            if p.get("protocol", "TCP") != protocol:
                continue
            if "port" not in p:
                return True
            want = p["port"]
            number = target.ports.get(want) if isinstance(want, str) else want
            if number is None:
                continue
            if number == port or number <= port <= p.get("endPort", number):
                return True
        return False

    def _side_allows(self, pod: Endpoint, other: Endpoint, port: int, protocol: str, direction: str) -> bool:
        if pod.ip is not None:
            return True  # outside the cluster: no policy applies there
        kind, key = ("Ingress", "from") if direction == "ingress" else ("Egress", "to")
        selecting = [
            p
            for p in self.policies
            if p["metadata"]["namespace"] == pod.namespace
            and matches(p["spec"]["podSelector"], pod.labels)
            and kind in p["spec"].get("policyTypes", ["Ingress"])
        ]
        if not selecting:
            return True
        target = pod if direction == "ingress" else other
        for policy in selecting:
            for rule in policy["spec"].get(direction, []) or []:
                peers = rule.get(key)
                peer_ok = not peers or any(
                    self._peer_matches(peer, policy["metadata"]["namespace"], other) for peer in peers
                )
                if peer_ok and self._port_matches(rule.get("ports"), port, protocol, target):
                    return True
        return False

    def allows(self, src: Endpoint, dst: Endpoint, port: int, protocol: str = "TCP") -> bool:
        return self._side_allows(src, dst, port, protocol, "egress") and self._side_allows(
            dst, src, port, protocol, "ingress"
        )
