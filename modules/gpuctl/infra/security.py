"""The Secrets the engines need (model-hub token, registry credentials): their values come only from the stack's
secret config, so Pulumi keeps them encrypted in state and no rendered file or log holds them. Every other security
object is in `render.objects.site_objects` (declared with the rest)."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from ..model import Site
from ..pki import Store, gateway_files
from ..render.security import gateway_k8s
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


def declare_gateway_tls(
    site: Site, prov: k8s.Provider, parent: pulumi.Resource, declared: dict[str, pulumi.Resource]
) -> dict[str, pulumi.Resource]:
    """The gateway's certificates and keys from the site's PKI store (stack config `gpuctl:pkiDir`, relative to the
    project root) as a Secret whose every value is a Pulumi secret. Without a store the gateway stays Pending and
    the run says how to make one."""
    if not gateway_k8s.objects(site):
        return {}
    pki_dir = pulumi.Config("gpuctl").get("pkiDir")
    if not pki_dir:
        pulumi.log.warn(
            "the gateway needs its certificates: run `gpuctl pki issue SITE` and `pulumi config set gpuctl:pkiDir "
            "inventories/<site>/pki`; until then its pods wait for the Secret " + gateway_k8s.TLS_SECRET
        )
        return {}
    from .program import project_root  # the program imports this module

    root = project_root() / pki_dir
    files = gateway_files(Store(root))
    ns = site.security.gateway.namespace
    secret = k8s.core.v1.Secret(
        f"secret-{ns}-{gateway_k8s.TLS_SECRET}",
        metadata={"name": gateway_k8s.TLS_SECRET, "namespace": ns, "labels": dict(gateway_k8s.LABELS)},
        type="Opaque",
        string_data={name: pulumi.Output.secret(data.decode()) for name, (data, _) in files.items()},
        opts=pulumi.ResourceOptions(
            provider=prov,
            parent=parent,
            depends_on=[r for r in [declared.get(f"Namespace/{ns}")] if r],
            additional_secret_outputs=["stringData", "data"],
        ),
    )
    return {f"Secret/{ns}/{gateway_k8s.TLS_SECRET}": secret}
