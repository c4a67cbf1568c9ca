"""The gateway's TLS files from the store, in the layout its rendered configuration names."""

from __future__ import annotations

from pathlib import Path

from ..fsutil import write_atomic
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
