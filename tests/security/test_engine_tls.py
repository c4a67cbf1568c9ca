"""Engine-side TLS (render/security/engine_tls.py): what gpuctl renders, and the rendered engine proxy run by the real
HAProxy in front of a TLS stand-in engine that requires client certificates as vLLM with `--ssl-cert-reqs 2` does.
The real vLLM behind the same proxy, with the real router in front: tests/security/test_gateway_vllm.py."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from gpuctl.loader import load_site
from gpuctl.model import Site
from gpuctl.pki import Store, issue
from gpuctl.render import kschema, objects, router, serving
from gpuctl.render.security import engine_tls, gateway
from tests.render.netpol import Policies, pods

from .engine_proxy import engine_proxy, plain
from .gateway_env import HAPROXY, LAB
from .standin import StandinEngine


def _lab(tmp: Path, clients: bool = True) -> Site:
    data = yaml.safe_load(LAB.read_text())
    if not clients:
        data["security"]["clients"] = []
    path = tmp / "site.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_site(path).site


def _obj(objs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name)


def test_with_a_gateway_the_engine_serves_mutual_tls_and_the_proxy_takes_its_port(tmp_path: Path) -> None:
    site = _lab(tmp_path)
    dep = site.deployments[0]
    objs = objects.site_objects(site)
    pod = _obj(objs, "Deployment", dep.name)["spec"]["template"]["spec"]
    engine, proxy = pod["containers"]
    args = engine["args"]
    assert args[args.index("--port") + 1] == str(engine_tls.TLS_PORT)
    tls = args[args.index("--ssl-certfile") :]
    assert tls[:9] == [
        "--ssl-certfile", "/etc/gpuctl/engine-tls/tls.crt", "--ssl-keyfile", "/etc/gpuctl/engine-tls/tls.key",
        "--ssl-ca-certs", "/etc/gpuctl/engine-tls/ca.crt", "--ssl-cert-reqs", "2", "--enable-ssl-refresh",
    ]  # fmt: skip
    assert engine["ports"] == [{"name": "https", "containerPort": 8443, "protocol": "TCP"}]
    assert engine["readinessProbe"]["httpGet"] == {"path": "/health", "port": 8000}  # through the proxy
    assert proxy["ports"] == [
        {"name": "http", "containerPort": 8000, "protocol": "TCP"},
        {"name": "metrics", "containerPort": engine_tls.METRICS_PORT, "protocol": "TCP"},
    ]
    assert proxy["securityContext"]["runAsNonRoot"] and proxy["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    secret = next(v for v in pod["volumes"] if v["name"] == "engine-tls")["secret"]
    assert secret == {"secretName": f"{dep.name}-engine-tls", "defaultMode": 0o440}
    svc = _obj(objs, "Service", dep.name)
    assert [(p["name"], p["port"]) for p in svc["spec"]["ports"]] == [("http", 8000), ("https", 8443)]
    assert _obj(objs, "ConfigMap", f"{dep.name}-engine-proxy")["data"]["haproxy.cfg"] == engine_tls.proxy_config(dep)
    assert (gateway.upstreams(site)[dep.name].port, gateway.upstreams(site)[dep.name].tls) == (router.PORT, False)
    for obj in objs:
        kschema.validate(obj)


def test_the_gateway_reaches_the_router_and_no_engine_port(tmp_path: Path) -> None:
    """The site gateway enters through the router (routing, retries, burst), never an engine port, plain or TLS."""
    site = _lab(tmp_path)
    dep = site.deployments[0]
    objs = objects.site_objects(site)
    policies = Policies(objs)
    gw = next(p for p in pods(objs) if p.name == "gpuctl-gateway")
    engine = next(p for p in pods(objs) if p.name == dep.name)
    rtr = next(p for p in pods(objs) if p.name == router.name(dep))
    assert policies.allows(gw, rtr, router.PORT)
    assert not policies.allows(gw, engine, engine_tls.TLS_PORT)
    assert not policies.allows(gw, engine, 8000)


def test_without_a_gateway_nothing_changes(tmp_path: Path) -> None:
    site = _lab(tmp_path, clients=False)
    dep = site.deployments[0]
    args = serving.engine_args(site, dep)
    assert "--ssl-certfile" not in args and args[args.index("--port") + 1] == "8000"
    pod = serving.pod_spec(site, dep, ["x"], args, 1)
    assert [c["name"] for c in pod["containers"]] == ["engine"]
    assert not [o for o in objects.site_objects(site) if o["metadata"]["name"].endswith("-engine-proxy")]


def test_engine_certificates_serve_and_identify_the_proxy(tmp_path: Path) -> None:
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID

    site = _lab(tmp_path)
    store = Store(tmp_path / "pki")
    issue(site, store)
    cert = x509.load_pem_x509_certificate(store.cert_path("server", "qwen-7b").read_bytes())
    usages = set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    assert usages == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    gw = x509.load_pem_x509_certificate(store.cert_path("server", "gpuctl-gateway").read_bytes())
    assert set(gw.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == {ExtendedKeyUsageOID.SERVER_AUTH}


@pytest.mark.skipif(shutil.which(HAPROXY) is None, reason="Debian package haproxy not installed")
def test_the_rendered_proxy_passes_the_allow_list_over_mutual_tls_and_nothing_else(tmp_path: Path) -> None:
    site = _lab(tmp_path)
    dep = site.deployments[0]
    store = Store(tmp_path / "pki")
    issue(site, store)
    cert, key = store.cert_path("server", dep.name), store.key_path("server", dep.name)
    with (
        StandinEngine(dep.model, cert, key, store.bundle_path) as engine,
        engine_proxy(dep, store, tmp_path, engine.port) as (port, metrics),
    ):
        ask = json.dumps({"model": dep.model, "messages": []})
        status, _ = plain(port, "POST", "/v1/chat/completions", ask)
        assert status == 200
        # the engine saw the deployment's own certificate: the proxy's identity towards it
        assert engine.seen == [(f"{dep.name}.{dep.namespace}.svc", "/v1/chat/completions")]
        for path in ("/invocations", "/pause", "/update_weights", "/v1/chat/completions/x", "/metrics"):
            assert plain(port, "POST", path, ask)[0] == 403, path
        assert plain(port, "GET", "/metrics")[0] == 403  # Prometheus has its own listener
        for path in ("/v1/chat/completions", "/health", "/pause"):  # the metrics listener passes /metrics only
            assert plain(metrics, "POST", path, ask)[0] == 403, path
        assert len(engine.seen) == 1  # nothing else reached the engine


@pytest.mark.skipif(shutil.which(HAPROXY) is None, reason="Debian package haproxy not installed")
def test_the_proxy_refuses_an_engine_whose_certificate_is_not_the_deployments(tmp_path: Path) -> None:
    site = _lab(tmp_path)
    dep, other = site.deployments[0], site.deployments[1]
    store = Store(tmp_path / "pki")
    issue(site, store)
    # an engine presenting another deployment's certificate (same CA, wrong name): verifyhost fails
    cert, key = store.cert_path("server", other.name), store.key_path("server", other.name)
    with (
        StandinEngine(dep.model, cert, key, store.bundle_path) as engine,
        engine_proxy(dep, store, tmp_path, engine.port) as (port, _metrics),
    ):
        status, _ = plain(port, "POST", "/v1/chat/completions", json.dumps({"model": dep.model}))
        assert status == 503 and engine.seen == []
