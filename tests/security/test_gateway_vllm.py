"""The real gateway in front of a real vLLM (CPU build, tests/realparts) that itself requires client certificates:
gpuctl's PKI on both sides, the engine started with the arguments gpuctl renders for a site with a gateway, TLS
flags included (`--ssl-certfile`, `--ssl-keyfile`, `--ssl-ca-certs`, `--ssl-cert-reqs 2`, `--enable-ssl-refresh`:
render/security/engine_tls.py; the real vLLM's parser takes them or the start fails). Beside it the rendered engine
proxy (real HAProxy) and in front of that the real vllm-router with its rendered command: the router -> proxy ->
engine path, the probe path and the scrape path, all through mutual TLS to the engine. One vLLM start."""

from __future__ import annotations

import contextlib
import http.client
import json
import shutil
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from gpuctl.loader import load_site
from gpuctl.pki import Store, issue, write_engine_files
from gpuctl.render.security import engine_tls, gateway
from tests.realparts import parts, rendered

from .engine_proxy import engine_proxy, plain
from .gateway_env import HAPROXY, Gateway, free_port, started_gateway

pytestmark = pytest.mark.skipif(shutil.which(HAPROXY) is None, reason="Debian package haproxy not installed")
READY_S = 600.0


def _site(tmp: Path) -> Path:
    data = yaml.safe_load(rendered.SITE_FILE.read_text())
    data["security"] = {
        "gateway": {"hostnames": ["localhost"], "port": free_port(), "metrics_port": free_port()},
        "clients": [
            {
                "name": "chat-app",
                "team": "t",
                "deployments": [rendered.DEPLOYMENT],
                "endpoints": ["/v1/chat/completions"],
            },
            {"name": "indexer", "team": "t", "deployments": [rendered.DEPLOYMENT], "endpoints": ["/v1/embeddings"]},
        ],
    }
    path = tmp / "site.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _ready(url_port: int, ctx: ssl.SSLContext, proc: parts.Proc) -> None:
    deadline = time.monotonic() + READY_S
    while time.monotonic() < deadline:
        assert proc.running(), "vLLM exited: " + proc.log.read_text()[-3000:]
        with contextlib.suppress(OSError):
            conn = http.client.HTTPSConnection("127.0.0.1", url_port, context=ctx, timeout=5)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return
        time.sleep(1)
    raise AssertionError("vLLM with TLS did not become ready")


@dataclass
class Stack:
    gw: Gateway
    vllm_port: int
    proxy_port: int
    proxy_metrics_port: int
    router_port: int


def _engine_argv(dep: rendered.TestDeployment, model: Path, port: int, tls_dir: Path) -> list[str]:
    """The rendered args on loopback (tests/realparts/rendered.py) with the Secret's mount -> the test's TLS files."""
    argv = rendered.replica_argv(dep.replica_args(), model, port)
    if f"{engine_tls.TLS_DIR}/{engine_tls.CERT}" not in argv:
        raise rendered.RenderingChangedError("the engine is not rendered with its TLS flags")
    return [a.replace(engine_tls.TLS_DIR, str(tls_dir)) for a in argv]


@pytest.fixture(scope="module")
def stack(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("gateway-vllm")
    site = load_site(_site(tmp)).site
    store = Store(tmp / "pki")
    issue(site, store)
    dep = rendered.TestDeployment(site, next(d for d in site.deployments if d.name == rendered.DEPLOYMENT))
    tls_dir = tmp / "engine-tls"
    write_engine_files(store, rendered.DEPLOYMENT, tls_dir)
    port = free_port()
    processes = parts.Processes(tmp)
    try:
        proc = processes.start("vllm-tls", _engine_argv(dep, tiny_model, port, tls_dir), rendered.REPLICA_ENV)
        gw_ctx = ssl.create_default_context(cafile=str(store.bundle_path))
        gw_ctx.check_hostname = False  # readiness only: the gateway itself verifies the name
        gw_ctx.load_cert_chain(store.cert_path("client", "gpuctl-gateway"), store.key_path("client", "gpuctl-gateway"))
        _ready(port, gw_ctx, proc)
        with engine_proxy(dep.deployment, store, tmp, port) as proxy:
            router_port = free_port()
            router = processes.start(
                "router", dep.router_argv([f"http://127.0.0.1:{proxy.api}"], router_port, free_port())
            )
            parts.wait_until_ready(router, f"http://127.0.0.1:{router_port}/health", 60)
            name = gateway.upstreams(site)[rendered.DEPLOYMENT].server_name  # the router's Service, plain HTTP
            ups = {rendered.DEPLOYMENT: gateway.Upstream("127.0.0.1", router_port, name)}
            with started_gateway(site, store, tmp, ups) as gw:
                yield Stack(gw, port, proxy.api, proxy.metrics, router_port)
    finally:
        processes.stop_all()


def test_an_allowed_client_gets_a_real_completion_through_the_router_and_the_mtls_hop(stack: Stack) -> None:
    gw = stack.gw
    body = {"model": "llama-3.1-8b", "messages": [{"role": "user", "content": "hello"}], "max_tokens": 4}
    status, out = gw.call(gw.context("chat-app"), "/v1/chat/completions", body)
    assert status == 200, out
    assert out["object"] == "chat.completion" and out["model"] == "llama-3.1-8b" and out["usage"]["completion_tokens"]


def test_the_gateway_refuses_what_vllm_would_have_served(stack: Stack) -> None:
    gw = stack.gw
    ask = {"model": "llama-3.1-8b", "prompt": "x", "max_tokens": 2}
    assert gw.call(gw.context("chat-app"), "/v1/completions", ask)[0] == 403  # not its endpoint
    assert gw.call(gw.context("chat-app"), "/v1/chat/completions", {**ask, "model": "other"})[0] == 403
    assert gw.call(gw.context("chat-app"), "/invocations", ask)[0] == 403
    assert gw.call(gw.context("indexer"), "/v1/chat/completions", ask)[0] == 403


def test_vllm_itself_refuses_a_caller_without_a_client_certificate(stack: Stack) -> None:
    gw, port = stack.gw, stack.vllm_port
    ctx = ssl.create_default_context(cafile=str(gw.store.bundle_path))
    ctx.check_hostname = False
    with pytest.raises((ssl.SSLError, ConnectionResetError, BrokenPipeError)):
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
        conn.request("POST", "/v1/completions", json.dumps({"model": "llama-3.1-8b", "prompt": "x"}))
        conn.getresponse().read()


def test_the_router_reaches_the_tls_engine_through_its_proxy(stack: Stack) -> None:
    ask = {"model": "llama-3.1-8b", "prompt": "hello", "max_tokens": 4}
    status, out = parts.http("POST", f"http://127.0.0.1:{stack.router_port}/v1/completions", ask)
    assert status == 200, out
    assert out["object"] == "text_completion" and out["usage"]["completion_tokens"] == 4


def test_probes_and_the_scrape_reach_the_tls_engine_through_the_proxy(stack: Stack) -> None:
    assert plain(stack.proxy_port, "GET", "/health")[0] == 200  # the rendered readiness/startup probe path
    status, text = plain(stack.proxy_metrics_port, "GET", "/metrics")
    assert status == 200 and "vllm:num_requests_running" in text
    assert plain(stack.proxy_port, "GET", "/metrics")[0] == 403  # not on the API port the router uses
    for path in ("/invocations", "/pause", "/tokenize", "/version"):
        assert plain(stack.proxy_port, "POST", path, "{}")[0] == 403, path


def test_vllm_refuses_a_client_certificate_from_another_ca(stack: Stack, tmp_path: Path) -> None:
    from gpuctl.pki import make_ca, make_leaf
    from gpuctl.render.security.certs import CertSpec

    ca, ca_key = make_ca("another CA", 30)
    cert, key = make_leaf(CertSpec("client", "x", "gpuctl-gateway", "gpuctl", (), 30), ca, ca_key)
    Store(tmp_path).write("client", "x", cert, key)
    ctx = ssl.create_default_context(cafile=str(stack.gw.store.bundle_path))
    ctx.check_hostname = False
    ctx.load_cert_chain(Store(tmp_path).cert_path("client", "x"), Store(tmp_path).key_path("client", "x"))
    with pytest.raises((ssl.SSLError, ConnectionResetError, BrokenPipeError)):
        conn = http.client.HTTPSConnection("127.0.0.1", stack.vllm_port, context=ctx, timeout=10)
        conn.request("GET", "/health")
        conn.getresponse().read()
