"""The real HAProxy gateway with gpuctl's configuration and certificates, on loopback, in front of TLS stand-in
engines: each flow of issue 14's proof, with what the upstream saw."""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import ssl
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from gpuctl.fsutil import write_atomic
from gpuctl.loader import load_site
from gpuctl.pki import Store, issue, make_ca, make_leaf, rotate
from gpuctl.pki.store import KEY_MODE
from gpuctl.render import burst, router
from gpuctl.render.security import gateway
from gpuctl.render.security.certs import CertSpec

from .gateway_env import HAPROXY, Gateway, gateway_site, running_gateway, started_gateway
from .standin import StandinEngine

pytestmark = pytest.mark.skipif(shutil.which(HAPROXY) is None, reason="Debian package haproxy not installed")

CHAT = "/v1/chat/completions"
QWEN = {"model": "qwen2.5-7b", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    with running_gateway(tmp_path_factory.mktemp("gateway")) as g:
        yield g


def _write_pair(tmp: Path, name: str, cert: object, key: object) -> tuple[Path, Path]:
    from cryptography.hazmat.primitives import serialization

    c, k = tmp / f"{name}.crt", tmp / f"{name}.key"
    write_atomic(c, cert.public_bytes(serialization.Encoding.PEM))  # type: ignore[attr-defined]
    pem = key.private_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    write_atomic(k, pem, mode=KEY_MODE)
    return c, k


def _refused(gw: Gateway, ctx: ssl.SSLContext) -> None:
    before = sum(len(e.seen) for e in gw.engines.values())
    with pytest.raises((ssl.SSLError, ConnectionResetError, ConnectionAbortedError, BrokenPipeError)):
        gw.call(ctx, CHAT, QWEN)
    assert sum(len(e.seen) for e in gw.engines.values()) == before, "a refused caller reached an engine"


def test_no_client_certificate_is_refused(gw: Gateway) -> None:
    _refused(gw, gw.context(None))


def test_a_certificate_from_another_ca_is_refused(gw: Gateway, tmp_path: Path) -> None:
    other_cert, other_key = make_ca("someone else's CA", 365)
    spec = CertSpec("client", "lab-app", "lab-app", "lab", (), 30)  # the right name, the wrong issuer
    cert, key = make_leaf(spec, other_cert, other_key)
    c, k = _write_pair(tmp_path, "forged", cert, key)
    _refused(gw, gw.context(None, c, k))


def test_an_expired_certificate_is_refused(gw: Gateway, tmp_path: Path) -> None:
    store = gw.store
    ca_cert, ca_key = store.load_cert(store.cert_path("ca", "ca")), store.load_key(store.key_path("ca", "ca"))
    spec = CertSpec("client", "lab-app", "lab-app", "lab", (), 30)
    cert, key = make_leaf(spec, ca_cert, ca_key, now=dt.datetime.now(dt.UTC) - dt.timedelta(days=2), days=1)
    c, k = _write_pair(tmp_path, "expired", cert, key)
    _refused(gw, gw.context(None, c, k))


def test_an_allowed_client_is_served_and_the_engine_sees_the_gateway_identity(gw: Gateway) -> None:
    status, body = gw.call(gw.context("lab-app"), CHAT, QWEN)
    assert (status, body["model"]) == (200, "qwen2.5-7b")
    assert gw.engines["qwen-7b"].seen[-1] == ("gpuctl-gateway", CHAT)  # upstream mutual TLS
    status, body = gw.call(gw.context("lab-embedder"), "/v1/embeddings", {"model": "llama-3.1-70b", "input": "x"})
    assert (status, body["model"]) == (200, "llama-3.1-70b")


def test_models_lists_only_what_the_identity_may_call(gw: Gateway) -> None:
    status, body = gw.call(gw.context("lab-app"), "/v1/models")
    assert status == 200 and [m["id"] for m in body["data"]] == ["qwen2.5-7b"]
    status, _ = gw.call(gw.context("lab-embedder"), "/v1/models")
    assert status == 403  # lab-embedder's endpoints are /v1/embeddings only


@pytest.mark.parametrize(
    ("client", "path", "body"),
    [
        ("lab-app", CHAT, {"model": "llama-3.1-70b", "messages": []}),  # a model it may not call
        ("lab-app", "/v1/embeddings", {"model": "qwen2.5-7b", "input": "x"}),  # an endpoint it may not call
        ("lab-embedder", CHAT, {"model": "llama-3.1-70b", "messages": []}),  # its model, not its endpoint
        ("lab-app", "/invocations", QWEN),  # vLLM's unauthenticated inference route
        ("lab-app", "/pause", {}),
        ("lab-app", CHAT, {"messages": []}),  # no model named
        ("lab-app", CHAT, "not json"),
    ],
)
def test_forbidden_model_or_endpoint_is_403_and_never_reaches_an_engine(
    gw: Gateway, client: str, path: str, body: object
) -> None:
    before = {n: len(e.seen) for n, e in gw.engines.items()}
    status, _ = gw.call(gw.context(client), path, body)  # type: ignore[arg-type]
    assert status == 403
    assert {n: len(e.seen) for n, e in gw.engines.items()} == before


def test_a_second_model_key_cannot_reach_another_deployment(gw: Gateway) -> None:
    """HAProxy's json_query takes the first `model`, Python's JSON (vLLM's) the last: the request goes to the first
    model's deployment, whose engine serves only its own model and refuses the other (404)."""
    import http.client

    raw = '{"model": "qwen2.5-7b", "model": "llama-3.1-70b", "messages": []}'
    conn = http.client.HTTPSConnection("localhost", gw.port, context=gw.context("lab-app"), timeout=10)
    before = len(gw.engines["llama-70b"].seen)
    conn.request("POST", CHAT, raw, {"Content-Type": "application/json"})
    assert conn.getresponse().status == 404
    conn.close()
    assert len(gw.engines["llama-70b"].seen) == before
    assert gw.engines["qwen-7b"].seen[-1] == ("gpuctl-gateway", CHAT)


def test_the_rate_limit_answers_429_past_this_replicas_share_of_rate_plus_burst(gw: Gateway) -> None:
    """lab-limited may make 4 requests per second in total; the gateway has 2 replicas, so this one allows 2."""
    assert gw.site.security.gateway.replicas == 2
    ctx = gw.context("lab-limited")
    statuses = [gw.call(ctx, CHAT, QWEN)[0] for _ in range(6)]
    assert statuses[:3] == [200, 200, 429], statuses


@pytest.mark.parametrize(("replicas", "declared", "each"), [(1, 10, 10), (2, 10, 5), (3, 10, 3), (4, 2, 1), (8, 1, 1)])
def test_the_rendered_limit_is_the_declared_one_split_over_the_replicas(
    tmp_path: Path, replicas: int, declared: int, each: int
) -> None:
    site = load_site(gateway_site(tmp_path)).site
    gw = site.security.gateway.model_copy(update={"replicas": replicas})
    site = site.model_copy(update={"security": site.security.model_copy(update={"gateway": gw})})
    assert gateway.per_replica_limit(site, declared) == each
    assert each * replicas <= declared or each == 1  # never more in total than declared, unless 1 each
    rate = gateway.maps(site)["rate.map"]
    assert f"lab-limited {max(1, 4 // replicas)}\n" in rate


def test_the_gateway_exports_its_own_metrics(gw: Gateway) -> None:
    text = urllib.request.urlopen(f"http://127.0.0.1:{gw.metrics_port}/metrics", timeout=5).read().decode()
    assert 'haproxy_frontend_http_requests_total{proxy="api"}' in text
    assert 'haproxy_backend_http_responses_total{proxy="be_qwen-7b",code="2xx"}' in text


def test_rotation_with_reload_fails_no_request(gw: Gateway) -> None:
    """Requests run in a loop while every certificate is rotated and the gateway reloads; then the old client
    certificate (inside its overlap) and the new one both work."""
    old_pem = gw.store.cert_path("client", "lab-app").read_bytes()
    results: list[int | str] = []
    stop = threading.Event()

    def hammer() -> None:
        ctx = gw.context("lab-app")
        while not stop.is_set():
            try:
                results.append(gw.call(ctx, CHAT, QWEN)[0])
            except OSError as exc:
                results.append(repr(exc))

    worker = threading.Thread(target=hammer)
    worker.start()
    try:
        out = rotate(gw.site, gw.store, force=True)
        assert "server/gpuctl-gateway" in out.rotated and "client/lab-app" in out.rotated
        gw.render()
        gw.start()  # reload
        threading.Event().wait(1.0)
    finally:
        stop.set()
        worker.join()
    assert len(results) >= 5 and set(results) == {200}, results
    prev = gw.store.cert_path("client", "lab-app", previous=True)
    assert prev.read_bytes() == old_pem != gw.store.cert_path("client", "lab-app").read_bytes()
    assert gw.call(gw.context(None, prev, gw.store.key_path("client", "lab-app", previous=True)), CHAT, QWEN)[0] == 200
    assert gw.call(gw.context("lab-app"), CHAT, QWEN)[0] == 200


def test_the_in_cluster_configuration_passes_haproxys_own_check(gw: Gateway, tmp_path: Path) -> None:
    """The ConfigMap's haproxy.cfg, with its mount paths moved under tmp_path, is what `haproxy -c` accepts."""
    import subprocess

    from gpuctl.pki import write_gateway_files
    from gpuctl.render.security import gateway_k8s

    conf = next(o for o in gateway_k8s.objects(gw.site) if o["kind"] == "ConfigMap")["data"]
    write_gateway_files(gw.store, tmp_path / "tls")
    (tmp_path / "conf").mkdir()
    for name, text in conf.items():
        text = text.replace(gateway_k8s.CONF_DIR, str(tmp_path / "conf"))
        (tmp_path / "conf" / name).write_text(text.replace(gateway_k8s.TLS_DIR, str(tmp_path / "tls")))
    check = subprocess.run(
        [HAPROXY, "-c", "-f", str(tmp_path / "conf" / "haproxy.cfg")], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    broken = (tmp_path / "conf" / "haproxy.cfg").read_text().replace("verify required", "verify sometimes", 1)
    (tmp_path / "conf" / "haproxy.cfg").write_text(broken)
    assert subprocess.run([HAPROXY, "-c", "-f", str(tmp_path / "conf" / "haproxy.cfg")], capture_output=True).returncode


def test_the_rendered_gateway_enters_through_plain_routers_and_real_haproxy_serves_it(tmp_path: Path) -> None:
    """The site gateway sends to each deployment's router (or burst gateway), which serve plain HTTP: the rendered
    server lines carry no `ssl` (a TLS handshake towards them would fail every request), and the real HAProxy
    checks the configuration, then carries a request to a plain stand-in router."""
    site = load_site(gateway_site(tmp_path)).site
    for dep in site.deployments:
        up = gateway.upstreams(site)[dep.name]
        name = (burst.name(dep), burst.PORT) if dep.burst else (router.name(dep), router.PORT)
        assert (up.host.split(".")[0], up.port, up.tls) == (*name, False)
    store = Store(tmp_path / "pki")
    issue(site, store)
    with contextlib.ExitStack() as stack:
        routers = {d.name: stack.enter_context(StandinEngine(d.model, None, None, None)) for d in site.deployments}
        ups = {n: gateway.Upstream("127.0.0.1", r.port, n) for n, r in routers.items()}
        with started_gateway(site, store, tmp_path, ups) as gw:  # runs `haproxy -c` first
            assert " ssl " not in "".join(line for line in gw.cfg.read_text().splitlines() if "server " in line)
            status, body = gw.call(gw.context("lab-app"), CHAT, QWEN)
            assert (status, body["model"]) == (200, "qwen2.5-7b")
            assert routers["qwen-7b"].seen[-1] == ("", CHAT)  # plain HTTP: no client certificate on this hop
