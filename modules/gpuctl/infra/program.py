"""The Pulumi program for one site: validate first, then declare the site, the cluster side and provisioning."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml

from ..errors import GpuctlError
from ..loader import LoadedSite, load_site
from ..model import Site
from ..report import FORMATS
from ..rules import evaluate
from ..rules.vram import deployment_prediction
from . import kubernetes, provision
from .components import DcSite, SiteArgs


def project_root(start: Path | None = None) -> Path:
    """The directory of Pulumi.yaml. The Pulumi CLI runs the program in `main` (stacks/), not in the project
    root (https://www.pulumi.com/docs/iac/concepts/projects/project-file/), so paths in the stack config, which
    are relative to the project root, are resolved from here."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if (directory / "Pulumi.yaml").is_file():
            return directory
    raise pulumi.RunError(f"no Pulumi.yaml in {here} or above: run the program through the Pulumi CLI")


@dataclass(frozen=True)
class ProgramConfig:
    site_file: str | None
    kubeconfig: str | None = None
    provision: bool = False
    root: Path = field(default_factory=project_root)
    bootstrap_token: pulumi.Output[str] | None = None  # a Pulumi secret
    secrets_file: str | None = None


def from_stack_config() -> ProgramConfig:
    """Stack config: only the site file and secrets (everything else comes from the site spec)."""
    cfg = pulumi.Config("gpuctl")
    # The raw value: get_secret would hide it inside an Output we could not check before declaring anything.
    kubeconfig = pulumi.runtime.get_config("gpuctl:kubeconfig")
    return ProgramConfig(
        site_file=cfg.get("siteFile"),
        kubeconfig=kubeconfig,
        provision=cfg.get_bool("provision") or False,
        root=project_root(),
        bootstrap_token=cfg.get_secret("bootstrapToken"),
        secrets_file=cfg.get("secretsFile"),
    )


def load_and_validate(cfg: ProgramConfig) -> LoadedSite:
    if not cfg.site_file:
        raise pulumi.RunError(
            "gpuctl:siteFile is not set: `pulumi config set gpuctl:siteFile inventories/<site>/site.yaml`"
        )
    path = cfg.root / cfg.site_file
    try:
        loaded = load_site(path)
    except GpuctlError as exc:
        raise pulumi.RunError(f"gpuctl:siteFile {cfg.site_file}:\n{exc.render()}") from None
    result = evaluate(loaded)
    if result.failed():
        raise pulumi.RunError(
            f"pre-flight validation of {cfg.site_file} failed; nothing was declared:\n" + FORMATS["console"]([result])
        )
    return loaded


def check_kubeconfig(text: str) -> None:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise pulumi.RunError(f"gpuctl:kubeconfig does not parse as YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict) or not data.get("clusters") or not data.get("contexts"):
        raise pulumi.RunError("gpuctl:kubeconfig is not a kubeconfig (no clusters or contexts)")


def deployment_outputs(site: Site) -> dict[str, Any]:
    from ..render.k8s import endpoint

    out = {}
    for dep in site.deployments:
        p = deployment_prediction(site, dep)
        out[dep.name] = {
            "endpoint": endpoint(site, dep.name),
            "model": dep.model,
            "pool": dep.node_pool,
            "gpus": dep.gpus_total,
            "predictedKvCacheGib": round(p.kv_cache_gib, 2) if p else None,
            "predictedKvCacheTokens": p.kv_cache_tokens if p else None,
        }
    return out


def build(site: Site, cfg: ProgramConfig) -> DcSite:
    """Declare everything for a validated site; exports stack outputs other stacks can reference."""
    root = DcSite(site.name, SiteArgs(site))
    racks = {r._name: r for r in root.racks}
    if cfg.kubeconfig:
        check_kubeconfig(cfg.kubeconfig)
        prov = kubernetes.provider(pulumi.Output.secret(cfg.kubeconfig), root)
        kubernetes.declare(site, root, root.pools, prov)
    if cfg.provision and cfg.site_file:
        kubeconfig = pulumi.Output.secret(cfg.kubeconfig) if cfg.kubeconfig else None
        provision.declare(
            site,
            cfg.site_file,
            racks,
            cfg.root,
            kubeconfig=kubeconfig,
            bootstrap_token=cfg.bootstrap_token,
            secrets_file=cfg.secrets_file,
        )
    pulumi.export("site", site.name)
    pulumi.export("racks", {r._name: r.summary for r in root.racks})
    pulumi.export(
        "pools",
        {p._name: {"gpus": p.summary["gpus"], "gpuModel": p.summary["gpuModel"]} for p in root.pools},
    )
    pulumi.export("deployments", deployment_outputs(site))
    return root


def main() -> None:
    cfg = from_stack_config()
    loaded = load_and_validate(cfg)
    build(loaded.site, cfg)
