"""The Secrets the engines need (model-hub token, registry credentials): their values come only from the stack's
secret config, so Pulumi keeps them encrypted in state and no rendered file or log holds them. Every other security
object is in `render.objects.site_objects` (declared with the rest)."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from ..model import Deployment, Site
from ..pki import Store, engine_files, gateway_files
from ..render.labels import labels
from ..render.security import engine_tls, gateway_k8s
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
    """The gateway's and the TLS engines' certificates and keys from the site's PKI store (stack config
    `gpuctl:pkiDir`, relative to the project root) as Secrets whose every value is a Pulumi secret. Without a store
    those pods stay Pending and the run says how to make one."""
    if not gateway_k8s.objects(site):
        return {}
    pki_dir = pulumi.Config("gpuctl").get("pkiDir")
    if not pki_dir:
        pulumi.log.warn(
            "the gateway and the engines need their certificates: run `gpuctl pki issue SITE` and `pulumi config set "
            "gpuctl:pkiDir inventories/<site>/pki`; until then their pods wait for the Secrets "
            + ", ".join([gateway_k8s.TLS_SECRET, *(engine_tls.secret_name(d) for d in _tls_engines(site))])
        )
        return {}
    from .program import project_root  # the program imports this module

    store = Store(project_root() / pki_dir)
    wanted = [(site.security.gateway.namespace, gateway_k8s.TLS_SECRET, gateway_k8s.LABELS, gateway_files(store))]
    wanted += [
        (d.namespace, engine_tls.secret_name(d), labels(d, "engine"), engine_files(store, d.name))
        for d in _tls_engines(site)
    ]
    out: dict[str, pulumi.Resource] = {}
    for ns, name, meta_labels, files in wanted:
        out[f"Secret/{ns}/{name}"] = k8s.core.v1.Secret(
            f"secret-{ns}-{name}",
            metadata={"name": name, "namespace": ns, "labels": dict(meta_labels)},
            type="Opaque",
            string_data={key: pulumi.Output.secret(data.decode()) for key, (data, _) in files.items()},
            opts=pulumi.ResourceOptions(
                provider=prov,
                parent=parent,
                depends_on=[r for r in [declared.get(f"Namespace/{ns}")] if r],
                additional_secret_outputs=["stringData", "data"],
            ),
        )
    return out


def _tls_engines(site: Site) -> list[Deployment]:
    return [d for d in site.deployments if engine_tls.enabled(site, d)]
