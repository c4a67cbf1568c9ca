"""Issue, rotate and check the site's certificates (EC P-256, SHA-256, X.509 v3 with the usual constraints)."""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..model import Site
from ..render.security.certs import CertSpec, plan
from .store import PkiError, PrivateKey, Store

BACKDATE = dt.timedelta(minutes=5)  # tolerate clock skew between issuer and verifier


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_key() -> PrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(cn: str, org: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if org:
        attrs.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(attrs)


def make_ca(common_name: str, days: int, now: dt.datetime | None = None) -> tuple[x509.Certificate, PrivateKey]:
    start = (now or now_utc()) - BACKDATE
    key = new_key()
    name = _name(common_name, "gpuctl")
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )  # keyCertSign, cRLSign
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def make_leaf(
    spec: CertSpec,
    ca_cert: x509.Certificate,
    ca_key: PrivateKey,
    now: dt.datetime | None = None,
    days: float | None = None,
) -> tuple[x509.Certificate, PrivateKey]:
    """A server or client certificate signed by the CA; `days` overrides the spec (tests make expired ones)."""
    start = (now or now_utc()) - BACKDATE
    end = start + dt.timedelta(days=spec.days if days is None else days)
    end = min(end, ca_cert.not_valid_after_utc)  # a leaf never outlives its issuer
    key = new_key()
    usage = [ExtendedKeyUsageOID.SERVER_AUTH if spec.kind == "server" else ExtendedKeyUsageOID.CLIENT_AUTH]
    if spec.also_client and spec.kind == "server":
        usage.append(ExtendedKeyUsageOID.CLIENT_AUTH)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(spec.common_name, spec.organization))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True
        )  # digitalSignature (ECDHE key exchange signs)
        .add_extension(x509.ExtendedKeyUsage(usage), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    )
    if spec.dns_names:
        builder = builder.add_extension(x509.SubjectAlternativeName(_sans(spec.dns_names)), critical=False)
    return builder.sign(ca_key, hashes.SHA256()), key


def _sans(names: tuple[str, ...]) -> list[x509.GeneralName]:
    out: list[x509.GeneralName] = []
    for n in names:
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            out.append(x509.DNSName(n))
    return out


@dataclass
class Outcome:
    issued: list[str] = field(default_factory=list)
    rotated: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def _ca(store: Store, site: Site, now: dt.datetime, outcome: Outcome) -> tuple[x509.Certificate, PrivateKey]:
    sec = site.security
    cert_path, key_path = store.cert_path("ca", "ca"), store.key_path("ca", "ca")
    if sec.ca.source == "external" and not cert_path.exists():
        assert sec.ca.cert_file is not None and sec.ca.key_file is not None  # the model's validator
        ext = Store(Path("/"))
        cert = ext.load_cert(Path(sec.ca.cert_file).expanduser())
        key = ext.load_key(Path(sec.ca.key_file).expanduser())
        store.write("ca", "ca", cert, key)
        store.write_bundle([cert])
        outcome.issued.append("ca/ca (external)")
        return cert, key
    if cert_path.exists():
        outcome.kept.append("ca/ca")
        return store.load_cert(cert_path), store.load_key(key_path)
    cert, key = make_ca(f"{site.name} gpuctl site CA", sec.certificates.ca_days, now)
    store.write("ca", "ca", cert, key)
    store.write_bundle([cert])
    outcome.issued.append("ca/ca")
    return cert, key


def issue(site: Site, store: Store, names: set[str] | None = None, now: dt.datetime | None = None) -> Outcome:
    """Create the CA if missing and every planned certificate that is missing; existing ones stay as they are."""
    now = now or now_utc()
    outcome = Outcome()
    ca_cert, ca_key = _ca(store, site, now, outcome)
    for spec in _selected(site, names):
        label = f"{spec.kind}/{spec.name}"
        if store.cert_path(spec.kind, spec.name).exists():
            outcome.kept.append(label)
            continue
        store.write(spec.kind, spec.name, *make_leaf(spec, ca_cert, ca_key, now))
        outcome.issued.append(label)
    return outcome


def rotate(
    site: Site,
    store: Store,
    names: set[str] | None = None,
    force: bool = False,
    ca: bool = False,
    now: dt.datetime | None = None,
) -> Outcome:
    """Reissue certificates within `renew_before_days` of expiry (or all selected, with force). The replaced pair
    is kept as .prev and stays valid until its own expiry: both are accepted during the overlap. With `ca`, a new
    CA is made first; the trust bundle holds old and new until the old one expires, and every leaf is reissued."""
    now = now or now_utc()
    outcome = Outcome()
    if ca:
        if site.security.ca.source == "external":
            raise PkiError("the site's CA is external: rotate it at its issuer, then point ca.cert_file at the new one")
        old = [c for c in store.load_bundle() if c.not_valid_after_utc > now]
        store.keep_previous("ca", "ca")
        new_cert, new_key_ = make_ca(f"{site.name} gpuctl site CA", site.security.certificates.ca_days, now)
        store.write("ca", "ca", new_cert, new_key_)
        store.write_bundle([new_cert, *old])
        outcome.rotated.append("ca/ca")
        force = True
    ca_cert, ca_key = _ca(store, site, now, Outcome())
    renew = dt.timedelta(days=site.security.certificates.renew_before_days)
    for spec in _selected(site, names):
        label = f"{spec.kind}/{spec.name}"
        path = store.cert_path(spec.kind, spec.name)
        if path.exists():
            due = store.load_cert(path).not_valid_after_utc - now <= renew
            if not (due or force):
                outcome.kept.append(label)
                continue
            store.keep_previous(spec.kind, spec.name)
            outcome.rotated.append(label)
        else:
            outcome.issued.append(label)
        store.write(spec.kind, spec.name, *make_leaf(spec, ca_cert, ca_key, now))
    return outcome


def _selected(site: Site, names: set[str] | None) -> list[CertSpec]:
    specs = plan(site)
    if names:
        unknown = names - {s.name for s in specs}
        if unknown:
            known = ", ".join(sorted({s.name for s in specs}))
            raise PkiError(f"no certificate named {', '.join(sorted(unknown))} in this site; known: {known}")
        specs = [s for s in specs if s.name in names]
    return specs
