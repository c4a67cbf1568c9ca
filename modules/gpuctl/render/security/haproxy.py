"""What gpuctl's two HAProxy configurations share: the mTLS gateway (gateway.py, gateway_k8s.py) and the proxy
beside each TLS engine (engine_tls.py)."""

from __future__ import annotations

from typing import Any

from ..k8s import restricted_context

UID = 99  # the official haproxy image's `haproxy` user (docker-library/haproxy Dockerfile, 2.4 and later)
# Pod Security `restricted` for an HAProxy container.
SECURITY_CONTEXT: dict[str, Any] = restricted_context(UID)


def tls_volume(name: str, secret: str) -> dict[str, Any]:
    """A Secret volume HAProxy (uid UID) can read: Secret files are owned by root, so 0440 with the pod's fsGroup
    (POD_FS_GROUP) gives the group HAProxy is in read access, and nobody else any."""
    return {"name": name, "secret": {"secretName": secret, "defaultMode": 0o440}}


POD_FS_GROUP: dict[str, Any] = {"fsGroup": UID}
# The `defaults` section both configurations start with.
DEFAULTS = (
    "",
    "defaults",
    "    mode http",
    "    log global",
    "    timeout connect 5s",
    "    timeout client 300s",
    "    timeout server 300s",
    "    timeout http-request 30s",
)
