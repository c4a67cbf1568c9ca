"""The gateway in the cluster: a ConfigMap with haproxy.cfg and its maps, a Deployment of HAProxy that runs at Pod
Security `restricted`, and a Service. Its certificates are the Secret `gpuctl-gateway-tls`, which the Pulumi program
declares from the site's PKI store as a Pulumi secret (never a rendered file)."""

from __future__ import annotations

from typing import Any

from ...model import Site
from ..k8s import MANAGED_BY
from . import gateway, haproxy
from .certs import GATEWAY

CONF_DIR = "/etc/gpuctl/gateway/conf"
TLS_DIR = "/etc/gpuctl/gateway/tls"
TLS_SECRET = f"{GATEWAY}-tls"
HAPROXY_UID = haproxy.UID
LABELS = {**MANAGED_BY, "app.kubernetes.io/name": GATEWAY}


def objects(site: Site) -> list[dict[str, Any]]:
    """Nothing when the site declares no API identities (no gateway), else ConfigMap, Deployment, Service."""
    if not site.security.clients or not site.deployments:
        return []
    gw = site.security.gateway
    meta = {"name": GATEWAY, "namespace": gw.namespace, "labels": dict(LABELS)}
    config = gateway.config(site, TLS_DIR, maps_dir=CONF_DIR)
    data = {"haproxy.cfg": config, **gateway.maps(site)}
    ports = [
        {"name": "https", "containerPort": gw.port, "protocol": "TCP"},
        {"name": "metrics", "containerPort": gw.metrics_port, "protocol": "TCP"},
    ]
    container = {
        "name": "haproxy",
        "image": gw.image,
        "args": ["-W", "-db", "-f", f"{CONF_DIR}/haproxy.cfg"],
        "ports": ports,
        # mTLS on the API port: a TCP check there; the metrics listener answers plain HTTP.
        "readinessProbe": {"httpGet": {"path": "/metrics", "port": "metrics"}, "periodSeconds": 10},
        "livenessProbe": {"tcpSocket": {"port": "https"}, "periodSeconds": 20},
        "securityContext": haproxy.SECURITY_CONTEXT,
        "volumeMounts": [
            {"name": "conf", "mountPath": CONF_DIR, "readOnly": True},
            {"name": "tls", "mountPath": TLS_DIR, "readOnly": True},
        ],
    }
    pod = {
        "automountServiceAccountToken": False,
        "securityContext": dict(haproxy.POD_FS_GROUP),
        "containers": [container],
        "volumes": [
            {"name": "conf", "configMap": {"name": GATEWAY}},
            haproxy.tls_volume("tls", TLS_SECRET),
        ],
    }
    return [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data},
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta,
            "spec": {
                "replicas": gw.replicas,
                "selector": {"matchLabels": {"app.kubernetes.io/name": GATEWAY}},
                "template": {
                    "metadata": {"labels": dict(LABELS), "annotations": {"gpuctl.dev/config-hash": _hash(data)}},
                    "spec": pod,
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta,
            "spec": {
                "selector": {"app.kubernetes.io/name": GATEWAY},
                "ports": [
                    {"name": "https", "port": gw.port, "targetPort": "https", "protocol": "TCP"},
                    {"name": "metrics", "port": gw.metrics_port, "targetPort": "metrics", "protocol": "TCP"},
                ],
            },
        },
    ]


def _hash(data: dict[str, str]) -> str:
    """Pods roll when the configuration changes (a ConfigMap update alone does not restart HAProxy)."""
    import hashlib

    return hashlib.sha256("".join(f"{k}\0{v}\0" for k, v in sorted(data.items())).encode()).hexdigest()[:16]
