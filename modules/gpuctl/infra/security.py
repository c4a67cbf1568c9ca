"""The site's security objects in the cluster (render/security/k8s.py), and the Secrets the engines need, whose
values come only from the stack's secret config: Pulumi keeps them encrypted in state, no file or log holds them."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ..model import Site
from ..render.security import k8s as security

KINDS: dict[str, Any] = {
    "NetworkPolicy": k8s.networking.v1.NetworkPolicy,
    "ServiceAccount": k8s.core.v1.ServiceAccount,
    "Role": k8s.rbac.v1.Role,
    "RoleBinding": k8s.rbac.v1.RoleBinding,
}


def declare(
    site: Site, prov: k8s.Provider, parent: pulumi.Resource, declared: dict[str, pulumi.Resource]
) -> dict[str, pulumi.Resource]:
    out: dict[str, pulumi.Resource] = {}
    for obj in security.objects(site):
        meta = obj["metadata"]
        ns = declared.get(f"ns/{meta['namespace']}")
        opts = pulumi.ResourceOptions(provider=prov, parent=parent, depends_on=[ns] if ns else [])
        fields = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
        key = f"{obj['kind'].lower()}/{meta['namespace']}/{meta['name']}"
        out[key] = KINDS[obj["kind"]](
            f"{obj['kind'].lower()}-{meta['namespace']}-{meta['name']}", **_snake(fields), opts=opts
        )
    config = pulumi.Config("gpuctl")
    by_name = {s.name: s for s in site.security.secrets}
    for shell in security.secret_shells(site):
        meta = shell["metadata"]
        ref = by_name[meta["name"]]
        value = config.require_secret(ref.config_key)  # an Output marked secret: encrypted in state
        ns = declared.get(f"ns/{meta['namespace']}")
        out[f"secret/{meta['namespace']}/{meta['name']}"] = k8s.core.v1.Secret(
            f"secret-{meta['namespace']}-{meta['name']}",
            metadata=meta,
            type=shell["type"],
            string_data={security.SECRET_KEY[ref.kind]: value},
            opts=pulumi.ResourceOptions(
                provider=prov,
                parent=parent,
                depends_on=[ns] if ns else [],
                additional_secret_outputs=["stringData", "data"],
            ),
        )
    return out


def _snake(fields: dict[str, Any]) -> dict[str, Any]:
    """Top-level keyword arguments of the typed resources are snake_case; nested dicts stay camelCase."""
    renames = {"automountServiceAccountToken": "automount_service_account_token", "roleRef": "role_ref"}
    return {renames.get(k, k): v for k, v in fields.items()}
