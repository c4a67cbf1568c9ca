"""Model-hub tokens and registry credentials reach the cluster only as Pulumi secrets: a canary value set as
secret stack config appears in no resource input the program sends in plain text (only inside Pulumi's secret
wrapper, which the engine encrypts in state), and the security objects are declared with the schemas' shapes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from gpuctl.loader import load_site
from gpuctl.pki import Store, issue
from gpuctl.render import kschema
from gpuctl.render.security import k8s as security_k8s
from tests.conftest import ROOT

from .harness import KUBECONFIG, run_program

CANARY = "hf_CANARY-4f1c9e0b7d2a-never-in-plain-text"
REGISTRY_CANARY = '{"auths":{"registry.example":{"auth":"Q0FOQVJZLXJlZ2lzdHJ5"}}}'
SECRET_SIG = "4dabf18193072939515e22adb298388d"  # Pulumi's marker of a secret value on the wire


def _site(tmp_path: Path) -> Path:
    data = yaml.safe_load((ROOT / "inventories" / "fra1" / "site.yaml").read_text())
    data["security"]["secrets"] = [
        {"name": "hf-token", "kind": "hub_token", "config_key": "hfToken"},
        {"name": "registry", "kind": "registry", "config_key": "registryAuth"},
    ]
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _plain(node: Any) -> list[str]:
    """Every string on the wire outside a secret wrapper."""
    if isinstance(node, dict):
        if node.get(SECRET_SIG) is not None:
            return []
        return [s for v in node.values() for s in _plain(v)]
    if isinstance(node, list):
        return [s for v in node for s in _plain(v)]
    return [node] if isinstance(node, str) else []


def test_tokens_and_keys_are_secrets_on_the_wire_and_nowhere_in_plain_text(tmp_path: Path) -> None:
    site_file = _site(tmp_path)
    issue(load_site(site_file).site, Store(tmp_path / "pki"))
    config = {
        "gpuctl:pkiDir": str(tmp_path / "pki"),
        "gpuctl:siteFile": str(site_file),
        "gpuctl:kubeconfig": KUBECONFIG,
        "gpuctl:provision": "false",
        "gpuctl:hfToken": CANARY,
        "gpuctl:registryAuth": REGISTRY_CANARY,
    }
    run = run_program(None, config=config, secret_keys=("gpuctl:hfToken", "gpuctl:registryAuth"))
    secrets = run.of_type("kubernetes:core/v1:Secret")
    engines = [f"secret-inference-{d.name}-engine-tls" for d in load_site(site_file).site.deployments]
    assert engines  # every deployment is vLLM: each gets its engine TLS Secret
    assert sorted(r.name for r in secrets) == sorted(
        ["secret-gpuctl-gateway-gpuctl-gateway-tls", "secret-inference-hf-token", "secret-inference-registry", *engines]
    )
    tls = next(r for r in secrets if r.name == "secret-gpuctl-gateway-gpuctl-gateway-tls")
    assert tls.wire["stringData"][SECRET_SIG]  # the whole map travels as one secret
    files = sorted(tls.wire["stringData"]["value"])
    assert files == ["client-ca.pem", "server.pem", "upstream-ca.pem", "upstream-client.pem"]
    engine = next(r for r in secrets if r.name == engines[0])
    assert engine.wire["stringData"][SECRET_SIG]
    assert sorted(engine.wire["stringData"]["value"]) == ["ca.crt", "tls.crt", "tls.key", "tls.pem"]
    hub = next(r for r in secrets if r.name.endswith("hf-token"))
    assert hub.wire["stringData"][SECRET_SIG] and json.dumps(hub.wire).count(CANARY) == 1  # wrapped, once
    for r in run.mocks.resources:
        leaked = [s for s in _plain(r.wire) if CANARY in s or "Q0FOQVJZ" in s or "PRIVATE KEY" in s]
        assert leaked == [], f"{r.type} {r.name} sends a token in plain text"
    assert not any(CANARY in json.dumps(v, default=str) for v in run.outputs.values())


def test_security_objects_are_declared_and_validate() -> None:
    run = run_program("inventories/fra1/site.yaml", kubeconfig=KUBECONFIG)
    site = load_site(ROOT / "inventories" / "fra1" / "site.yaml").site
    objs = security_k8s.objects(site)
    for obj in objs:
        kschema.validate(obj)
    kinds = {
        "NetworkPolicy": "networking.k8s.io/v1:NetworkPolicy",
        "ServiceAccount": "core/v1:ServiceAccount",
        "Role": "rbac.authorization.k8s.io/v1:Role",
        "RoleBinding": "rbac.authorization.k8s.io/v1:RoleBinding",
    }
    for kind, typ in kinds.items():
        declared = {r.inputs["metadata"]["name"] for r in run.of_type(f"kubernetes:{typ}")}
        rendered = {o["metadata"]["name"] for o in objs if o["kind"] == kind}
        assert rendered and rendered <= declared, kind
    sa = next(
        r for r in run.of_type("kubernetes:core/v1:ServiceAccount") if r.inputs["metadata"]["name"] == "llama-70b-chat"
    )
    assert sa.inputs["automountServiceAccountToken"] is False
