"""The real gateway in front of a real vLLM (CPU build, tests/realparts) that itself requires client certificates:
gpuctl's PKI on both sides, the engine started with the arguments gpuctl renders plus vLLM's own TLS flags
(`--ssl-certfile`, `--ssl-keyfile`, `--ssl-ca-certs`, `--ssl-cert-reqs 2`; vllm/entrypoints/openai/cli_args.py)."""

from __future__ import annotations

import contextlib
import http.client
import json
import shutil
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from gpuctl.loader import load_site
from gpuctl.pki import Store, issue
from tests.realparts import parts, rendered

from .gateway_env import HAPROXY, Gateway, free_port, loopback_upstreams, started_gateway

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


@pytest.fixture(scope="module")
def vllm_gateway(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Gateway, int]]:
    tmp = tmp_path_factory.mktemp("gateway-vllm")
    site = load_site(_site(tmp)).site
    store = Store(tmp / "pki")
    issue(site, store)
    dep = rendered.TestDeployment(site, next(d for d in site.deployments if d.name == rendered.DEPLOYMENT))
    port = free_port()
    tls = [
        "--ssl-certfile", str(store.cert_path("server", rendered.DEPLOYMENT)),
        "--ssl-keyfile", str(store.key_path("server", rendered.DEPLOYMENT)),
        "--ssl-ca-certs", str(store.bundle_path),
        "--ssl-cert-reqs", "2",
    ]  # fmt: skip
    processes = parts.Processes(tmp)
    try:
        proc = processes.start("vllm-tls", [*rendered.replica_argv(dep.replica_args(), tiny_model, port), *tls],
                               rendered.REPLICA_ENV)  # fmt: skip
        gw_ctx = ssl.create_default_context(cafile=str(store.bundle_path))
        gw_ctx.check_hostname = False  # readiness only: the gateway itself verifies the name
        gw_ctx.load_cert_chain(store.cert_path("client", "gpuctl-gateway"), store.key_path("client", "gpuctl-gateway"))
        _ready(port, gw_ctx, proc)
        with started_gateway(site, store, tmp, loopback_upstreams(site, {rendered.DEPLOYMENT: port})) as gw:
            yield gw, port
    finally:
        processes.stop_all()


def test_an_allowed_client_gets_a_real_completion_through_both_mtls_hops(vllm_gateway: tuple[Gateway, int]) -> None:
    gw, _ = vllm_gateway
    body = {"model": "llama-3.1-8b", "messages": [{"role": "user", "content": "hello"}], "max_tokens": 4}
    status, out = gw.call(gw.context("chat-app"), "/v1/chat/completions", body)
    assert status == 200, out
    assert out["object"] == "chat.completion" and out["model"] == "llama-3.1-8b" and out["usage"]["completion_tokens"]


def test_the_gateway_refuses_what_vllm_would_have_served(vllm_gateway: tuple[Gateway, int]) -> None:
    gw, _ = vllm_gateway
    ask = {"model": "llama-3.1-8b", "prompt": "x", "max_tokens": 2}
    assert gw.call(gw.context("chat-app"), "/v1/completions", ask)[0] == 403  # not its endpoint
    assert gw.call(gw.context("chat-app"), "/v1/chat/completions", {**ask, "model": "other"})[0] == 403
    assert gw.call(gw.context("chat-app"), "/invocations", ask)[0] == 403
    assert gw.call(gw.context("indexer"), "/v1/chat/completions", ask)[0] == 403


def test_vllm_itself_refuses_a_caller_without_a_client_certificate(vllm_gateway: tuple[Gateway, int]) -> None:
    gw, port = vllm_gateway
    ctx = ssl.create_default_context(cafile=str(gw.store.bundle_path))
    ctx.check_hostname = False
    with pytest.raises((ssl.SSLError, ConnectionResetError, BrokenPipeError)):
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
        conn.request("POST", "/v1/completions", json.dumps({"model": "llama-3.1-8b", "prompt": "x"}))
        conn.getresponse().read()
