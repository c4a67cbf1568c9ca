"""Cluster objects of the site's security: per serving namespace a default-deny NetworkPolicy and the flows that
are allowed (gateway -> router -> engine, Prometheus -> metrics, a deployment's own pods among themselves for
NCCL / torch.distributed / KV transfer, DNS); a ServiceAccount per deployment that mounts no token; Roles and
RoleBindings per operator team; the Pod Security admission labels of each namespace; Secret shells whose values
the Pulumi program fills from stack secrets.

Pod Security level: a namespace is labelled `enforce` at the strictest level its rendered pods pass, and `warn`
and `audit` at restricted, so what keeps it from restricted is visible (`kubectl` prints warnings). vLLM itself
runs under restricted (non-root, no capabilities, GPUs from the device plugin need no privilege); a hostPath
volume (the node-local model cache) is refused by baseline and restricted alike, so a namespace whose pods mount
one is `privileged` until the cache becomes a local PersistentVolume.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from ... import engines
from ...model import Deployment, Site
from ..k8s import LABEL_PREFIX, MANAGED_BY
from . import engine_tls, gateway, pss
from .certs import GATEWAY

PSA = "pod-security.kubernetes.io"
PSA_VERSION = "v1.32"  # the Kubernetes version render/kschema validates against
# The pods that run the stage-weights init containers (render/serving.py): engine leaders and workers.
ENGINE_PODS = {"key": f"{LABEL_PREFIX}/component", "operator": "In", "values": ["engine", "engine-worker"]}
DNS_PORTS = [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]
TEAM_RULES: dict[str, list[dict[str, Any]]] = {
    "view": [
        {
            "apiGroups": [""],
            "resources": ["pods", "pods/log", "services", "endpoints", "events", "configmaps"],
            "verbs": ["get", "list", "watch"],
        },
        {"apiGroups": ["apps"], "resources": ["deployments", "replicasets"], "verbs": ["get", "list", "watch"]},
    ],
    "operate": [
        {"apiGroups": ["apps"], "resources": ["deployments/scale"], "verbs": ["get", "update", "patch"]},
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["patch"]},  # kubectl rollout restart
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["delete"]},
    ],
    "admin": [
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["create", "update", "patch", "delete"]},
        {"apiGroups": [""], "resources": ["services", "configmaps"], "verbs": ["create", "update", "patch", "delete"]},
    ],
}
LEVELS = {"view": ("view",), "operate": ("view", "operate"), "admin": ("view", "operate", "admin")}


def _meta(name: str, namespace: str, **labels: str) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "labels": {**MANAGED_BY, **labels}}


def _ns_peer(namespace: str, **pod_labels: str) -> dict[str, Any]:
    peer: dict[str, Any] = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}
    if pod_labels:
        peer["podSelector"] = {"matchLabels": pod_labels}
    return peer


def serving_namespaces(site: Site) -> list[str]:
    return sorted({d.namespace for d in site.deployments})


def source_egress(dep: Deployment) -> list[dict[str, Any]]:
    """Egress the stage-weights init containers need to fetch the deployment's weights over HTTP(S): the source
    URL's port, to that address when the host is an IP literal. A NetworkPolicy cannot name a host, so a source
    named by DNS name opens its port to every address (the manifest's SHA-256 still pins what is accepted). NFS
    sources need nothing here: the kubelet mounts them in the node's network namespace, not the pod's."""
    sources = [dep.source] if dep.source else []
    sources += [m.source for m in dep.triton_models if m.source]
    rules: list[dict[str, Any]] = []
    for src in sources:
        if src.is_nfs:
            continue
        url = urlsplit(src.url)
        port = url.port or (443 if url.scheme == "https" else 80)
        rule: dict[str, Any] = {"ports": [{"port": port, "protocol": "TCP"}]}
        try:
            addr = ipaddress.ip_address(url.hostname or "")
            rule = {"to": [{"ipBlock": {"cidr": f"{addr}/{addr.max_prefixlen}"}}], **rule}
        except ValueError:
            pass  # a DNS name: port only
        if rule not in rules:
            rules.append(rule)
    return rules


def gateway_entry_policy(site: Site, dep: Deployment, gw_peer: dict[str, Any]) -> dict[str, Any]:
    """The site gateway may call the deployment's entry (its router, or its burst gateway when it bursts) on the
    entry's port; nothing else of the deployment."""
    port = gateway.entry(dep)[1]
    component = "gateway" if dep.burst is not None else "router"
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta(f"{dep.name}-site-gateway", dep.namespace),
        "spec": {
            "podSelector": {
                "matchLabels": {f"{LABEL_PREFIX}/deployment": dep.name, f"{LABEL_PREFIX}/component": component}
            },
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [gw_peer], "ports": [{"port": port, "protocol": "TCP"}]}],
        },
    }


def network_policies(site: Site) -> list[dict[str, Any]]:
    sec = site.security
    gw_peer = _ns_peer(sec.gateway.namespace, **{"app.kubernetes.io/name": GATEWAY})
    out: list[dict[str, Any]] = []
    for ns in serving_namespaces(site):
        out.append(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": _meta("default-deny", ns),
                "spec": {
                    "podSelector": {},
                    "policyTypes": ["Ingress", "Egress"],
                    "egress": [{"to": [_ns_peer("kube-system", **{"k8s-app": "kube-dns"})], "ports": DNS_PORTS}],
                },
            }
        )
    for dep in site.deployments:
        engine = engines.get(dep.engine)
        pods = {"matchLabels": {f"{LABEL_PREFIX}/deployment": dep.name}}
        # its own router only: another deployment's router (or any pod labelled router) would bypass this one's
        router = {"podSelector": {"matchLabels": {**pods["matchLabels"], f"{LABEL_PREFIX}/component": "router"}}}
        # The gateway calls the router (or the burst gateway), never an engine: gateway_entry_policy admits it there.
        callers = [{"from": [router], "ports": [{"port": engine.port, "protocol": "TCP"}]}]
        ingress = [
            *callers,
            # Prometheus: the proxy's metrics-only listener with engine TLS; without it the engine's own metrics
            # port, which for vLLM is its API listener too (one listener; no mTLS to bypass there)
            {
                "from": [_ns_peer(sec.monitoring_namespace)],
                "ports": [{"port": engine_tls.scrape_port(site, dep)[1], "protocol": "TCP"}],
            },
            {"from": [{"podSelector": pods}]},  # NCCL, torch.distributed, KV transfer: any port, own pods only
        ]
        out.append(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": _meta(f"{dep.name}-flows", dep.namespace),
                "spec": {
                    "podSelector": pods,
                    "policyTypes": ["Ingress", "Egress"],
                    "ingress": ingress,
                    "egress": [{"to": [{"podSelector": pods}]}],
                },
            }
        )
        if weights := source_egress(dep):
            out.append(
                {
                    "apiVersion": "networking.k8s.io/v1",
                    "kind": "NetworkPolicy",
                    "metadata": _meta(f"{dep.name}-weights", dep.namespace),
                    "spec": {
                        "podSelector": {
                            "matchLabels": {f"{LABEL_PREFIX}/deployment": dep.name},
                            "matchExpressions": [ENGINE_PODS],
                        },
                        "policyTypes": ["Egress"],
                        "egress": weights,
                    },
                }
            )
        if sec.clients:
            out.append(gateway_entry_policy(site, dep, gw_peer))
    gw_ns = sec.gateway.namespace
    upstream_ports = sorted({gateway.entry(d)[1] for d in site.deployments})
    out.append(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": _meta(f"{GATEWAY}-flows", gw_ns),
            "spec": {
                "podSelector": {},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [
                    {"ports": [{"port": sec.gateway.port, "protocol": "TCP"}]},  # any caller: mTLS decides
                    {
                        "from": [_ns_peer(sec.monitoring_namespace)],
                        "ports": [{"port": sec.gateway.metrics_port, "protocol": "TCP"}],
                    },
                ],
                "egress": [
                    {
                        "to": [_ns_peer(ns) for ns in serving_namespaces(site)],
                        "ports": [{"port": p, "protocol": "TCP"} for p in upstream_ports],
                    },
                    {"to": [_ns_peer("kube-system", **{"k8s-app": "kube-dns"})], "ports": DNS_PORTS},
                ],
            },
        }
    )
    return [p for p in out if p["metadata"]["namespace"] != gw_ns or site.deployments]


def service_accounts(site: Site) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": _meta(dep.name, dep.namespace, **{f"{LABEL_PREFIX}/deployment": dep.name}),
            "automountServiceAccountToken": False,
        }
        for dep in site.deployments
    ]


def rbac(site: Site) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for team in site.security.teams:
        rules = [r for level in LEVELS[team.access] for r in TEAM_RULES[level]]
        for ns in team.namespaces:
            name = f"gpuctl-team-{team.name}"
            out.append(
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "Role",
                    "metadata": _meta(name, ns),
                    "rules": rules,
                }
            )
            out.append(
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "RoleBinding",
                    "metadata": _meta(name, ns),
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
                    "subjects": [
                        {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": team.subject_group}
                    ],
                }
            )
    return out


def pod_security_level(pod_specs: list[dict[str, Any]]) -> str:
    """The strictest Pod Security Standard every pod spec passes (render/security/pss.py has the checks)."""
    found = {pss.level(spec) for spec in pod_specs} or {"restricted"}
    return next(lvl for lvl in reversed(pss.LEVELS) if lvl in found)


def namespace_labels(level: str) -> dict[str, str]:
    return {
        f"{PSA}/enforce": level,
        f"{PSA}/enforce-version": PSA_VERSION,
        f"{PSA}/warn": "restricted",
        f"{PSA}/warn-version": PSA_VERSION,
        f"{PSA}/audit": "restricted",
        f"{PSA}/audit-version": PSA_VERSION,
    }


def pod_security_labels(site: Site) -> dict[str, dict[str, str]]:
    """Pod Security labels per namespace gpuctl serves from (and the gateway's, when there are API clients)."""
    from ..serving import manifests  # serving renders the pods whose level is measured here

    specs: dict[str, list[dict[str, Any]]] = {ns: [] for ns in serving_namespaces(site)}
    for obj in manifests(site):
        ns = obj["metadata"].get("namespace")
        if obj["kind"] == "Deployment":
            specs[ns].append(obj["spec"]["template"]["spec"])
        elif obj["kind"] == "LeaderWorkerSet":
            group = obj["spec"]["leaderWorkerTemplate"]
            specs[ns] += [group[t]["spec"] for t in ("leaderTemplate", "workerTemplate") if t in group]
    out = {ns: namespace_labels(pod_security_level(pods)) for ns, pods in specs.items()}
    if site.security.clients:
        out.setdefault(site.security.gateway.namespace, namespace_labels("restricted"))
    # observability's namespace (issue 13): rules, dashboards, and the collector, whose pod is restricted
    out.setdefault(site.observability.namespace, namespace_labels("restricted"))
    return out


def secret_shells(site: Site) -> list[dict[str, Any]]:
    """Secrets without values: the Pulumi program sets `stringData` from the stack's secret config, so the value
    exists only as a Pulumi secret (encrypted in state) and in the cluster."""
    out = []
    for ns in serving_namespaces(site):
        for s in site.security.secrets:
            registry = s.kind == "registry"
            out.append(
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": _meta(s.name, ns),
                    "type": "kubernetes.io/dockerconfigjson" if registry else "Opaque",
                }
            )
    return out


SECRET_KEY = {"registry": ".dockerconfigjson", "hub_token": "HF_TOKEN"}


def objects(site: Site) -> list[dict[str, Any]]:
    """Every cluster object of the site's security (Secret shells apart: infra fills and declares them)."""
    from .gateway_k8s import objects as gateway_objects

    return [*network_policies(site), *service_accounts(site), *rbac(site), *gateway_objects(site)]
