"""The site's certificate store as the rules see it: each certificate's kind, name and expiry, read from
`pki/` beside the site file (the layout gpuctl.pki.store writes: <kind>/<name>.crt; `.prev.crt` files are the
overlap copies a rotation keeps and are not the current certificate). Only certificates are read, never keys."""

from __future__ import annotations

import datetime as dt
from importlib.util import find_spec
from pathlib import Path

from ..model.security import IssuedCertificate, PkiState

STORE_DIR = "pki"
KINDS = ("ca", "server", "client")


def store_dir(site_file: str) -> Path:
    return Path(site_file).parent / STORE_DIR


def read_pki(site_file: str, now: dt.datetime | None = None) -> PkiState | None:
    """None when the site has no store (nothing issued yet) or `cryptography` (extra `pki`) is not installed."""
    root = store_dir(site_file)
    if not (root / "ca" / "ca.crt").is_file() or find_spec("cryptography") is None:
        return None
    from cryptography import x509

    certs = []
    for kind in KINDS:
        for crt in sorted((root / kind).glob("*.crt")):
            if crt.name.endswith(".prev.crt") or (kind == "ca" and crt.name != "ca.crt"):
                continue
            try:
                cert = x509.load_pem_x509_certificate(crt.read_bytes())
            except (OSError, ValueError):
                continue  # `gpuctl pki list` reports an unreadable file; the rules judge what can be read
            certs.append(IssuedCertificate(kind, crt.name.removesuffix(".crt"), cert.not_valid_after_utc))
    return PkiState(tuple(certs), now or dt.datetime.now(dt.UTC))
