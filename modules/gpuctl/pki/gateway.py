"""The gateway's TLS files from the store, in the layout its rendered configuration names."""

from __future__ import annotations

from pathlib import Path

from ..fsutil import write_atomic
from ..render.security import engine_tls
from ..render.security.certs import GATEWAY
from .store import KEY_MODE, Store


def gateway_files(store: Store) -> dict[str, tuple[bytes, int]]:
    """name -> (content, mode): server.pem and upstream-client.pem hold a key (0600); the CA bundles do not."""

    def pair(kind: str) -> bytes:
        return store.cert_path(kind, GATEWAY).read_bytes() + store.key_path(kind, GATEWAY).read_bytes()

    bundle = store.bundle_path.read_bytes()
    return {
        "server.pem": (pair("server"), KEY_MODE),
        "upstream-client.pem": (pair("client"), KEY_MODE),
        "client-ca.pem": (bundle, 0o644),
        "upstream-ca.pem": (bundle, 0o644),
    }


def write_gateway_files(store: Store, dest: Path) -> list[Path]:
    dest.mkdir(mode=0o700, parents=True, exist_ok=True)
    out = []
    for name, (data, mode) in gateway_files(store).items():
        write_atomic(dest / name, data, mode=mode, what="gateway TLS file")
        out.append(dest / name)
    return out


def engine_files(store: Store, deployment: str) -> dict[str, tuple[bytes, int]]:
    """A deployment's engine TLS files (render/security/engine_tls.py names them): its certificate and key apart
    for the engine, both in one PEM for its proxy, and the site's trust bundle."""
    cert = store.cert_path("server", deployment).read_bytes()
    key = store.key_path("server", deployment).read_bytes()
    return {
        engine_tls.CERT: (cert, 0o644),
        engine_tls.KEY: (key, KEY_MODE),
        engine_tls.PAIR: (cert + key, KEY_MODE),
        engine_tls.CA: (store.bundle_path.read_bytes(), 0o644),
    }


def write_engine_files(store: Store, deployment: str, dest: Path) -> list[Path]:
    dest.mkdir(mode=0o700, parents=True, exist_ok=True)
    out = []
    for name, (data, mode) in engine_files(store, deployment).items():
        write_atomic(dest / name, data, mode=mode, what="engine TLS file")
        out.append(dest / name)
    return out
