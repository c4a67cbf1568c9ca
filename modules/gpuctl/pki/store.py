"""The site's certificate store on disk: keys 0600 in 0700 directories, certificates beside them.

    <dir>/ca/ca.crt ca.key          the signing CA (generated, or copied from the external issuer's files)
    <dir>/ca/bundle.crt              every CA the site trusts now: the current one, and during a CA rotation the
                                     previous one until it expires
    <dir>/<kind>/<name>.crt .key     kind: server | client
    <dir>/<kind>/<name>.prev.crt .key the certificate a rotation replaced, still valid until its own expiry

Nothing here prints, logs or returns key material; keys go from memory to a 0600 file.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ..errors import GpuctlError
from ..fsutil import write_atomic

KEY_MODE = 0o600
DIR_MODE = 0o700
PrivateKey = ec.EllipticCurvePrivateKey


class PkiError(GpuctlError):
    """The certificate store is missing, unreadable or unsafe (a key readable by others)."""

    exit_code = 2


@dataclass(frozen=True)
class Stored:
    kind: str  # ca | server | client
    name: str
    path: Path
    cert: x509.Certificate
    previous: x509.Certificate | None = None

    def days_left(self, now: dt.datetime) -> float:
        return (self.cert.not_valid_after_utc - now).total_seconds() / 86400


class Store:
    def __init__(self, root: Path) -> None:
        self.root = root

    def cert_path(self, kind: str, name: str, previous: bool = False) -> Path:
        stem = f"{name}.prev" if previous else name
        return self.root / kind / f"{stem}.crt"

    def key_path(self, kind: str, name: str, previous: bool = False) -> Path:
        return self.cert_path(kind, name, previous).with_suffix(".key")

    @property
    def bundle_path(self) -> Path:
        return self.root / "ca" / "bundle.crt"

    def _dir(self, kind: str) -> Path:
        d = self.root / kind
        d.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        d.chmod(DIR_MODE)
        self.root.chmod(DIR_MODE)
        ignore = self.root / ".gitignore"
        if not ignore.exists():
            write_atomic(ignore, "# Private keys never enter version control.\n*.key\n")
        return d

    def write(self, kind: str, name: str, cert: x509.Certificate, key: PrivateKey) -> None:
        self._dir(kind)
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        write_atomic(self.key_path(kind, name), key_pem, mode=KEY_MODE, what="private key")
        write_atomic(self.cert_path(kind, name), cert.public_bytes(serialization.Encoding.PEM), mode=0o644)

    def keep_previous(self, kind: str, name: str) -> None:
        """Move the current pair aside as .prev (replacing an older .prev): it stays valid for the overlap."""
        for src, dst in (
            (self.cert_path(kind, name), self.cert_path(kind, name, True)),
            (self.key_path(kind, name), self.key_path(kind, name, True)),
        ):
            if src.exists():
                src.replace(dst)

    def write_bundle(self, certs: list[x509.Certificate]) -> None:
        self._dir("ca")
        pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)
        write_atomic(self.bundle_path, pem, mode=0o644)

    def load_cert(self, path: Path) -> x509.Certificate:
        try:
            return x509.load_pem_x509_certificate(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise PkiError(f"{path}: not a readable PEM certificate ({exc})") from None

    def load_key(self, path: Path) -> PrivateKey:
        check_key_mode(path)
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError, TypeError):
            raise PkiError(f"{path}: not a readable unencrypted PEM private key") from None
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise PkiError(f"{path}: gpuctl signs with EC keys; this key is {type(key).__name__}")
        return key

    def load_bundle(self) -> list[x509.Certificate]:
        if not self.bundle_path.exists():
            return []
        try:
            return x509.load_pem_x509_certificates(self.bundle_path.read_bytes())
        except ValueError as exc:
            raise PkiError(f"{self.bundle_path}: not a PEM bundle ({exc})") from None

    def entries(self) -> list[Stored]:
        out: list[Stored] = []
        ca = self.root / "ca" / "ca.crt"
        if ca.exists():
            out.append(Stored("ca", "ca", ca, self.load_cert(ca)))
        for kind in ("server", "client"):
            d = self.root / kind
            if not d.is_dir():
                continue
            for crt in sorted(d.glob("*.crt")):
                if crt.name.endswith(".prev.crt"):
                    continue
                name = crt.name.removesuffix(".crt")
                prev_path = self.cert_path(kind, name, True)
                prev = self.load_cert(prev_path) if prev_path.exists() else None
                out.append(Stored(kind, name, crt, self.load_cert(crt), prev))
        return out


def check_key_mode(path: Path) -> None:
    """A private key readable or writable by group or others is refused (as ssh refuses such a key)."""
    try:
        mode = path.stat().st_mode & 0o777
    except OSError as exc:
        raise PkiError(f"{path}: {exc.strerror}") from None
    if mode & 0o077:
        raise PkiError(f"{path}: private key has mode {mode:04o}; run `chmod 600 {path}`")
