"""The Secrets the engines need (model-hub token, registry credentials): their values come only from the stack's
secret config, so Pulumi keeps them encrypted in state and no rendered file or log holds them. Every other security
object is in `render.objects.site_objects` (declared with the rest)."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from ..model import Site
from ..render.security import k8s as security


def declare_secrets(
    site: Site, prov: k8s.Provider, parent: pulumi.Resource, declared: dict[str, pulumi.Resource]
) -> dict[str, pulumi.Resource]:
    config = pulumi.Config("gpuctl")
    by_name = {s.name: s for s in site.security.secrets}
    out: dict[str, pulumi.Resource] = {}
    for shell in security.secret_shells(site):
        meta = shell["metadata"]
        ref = by_name[meta["name"]]
        value = config.require_secret(ref.config_key)  # an Output marked secret: encrypted in state
        ns = declared.get(f"Namespace/{meta['namespace']}")
        out[f"Secret/{meta['namespace']}/{meta['name']}"] = k8s.core.v1.Secret(
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
