"""The site PKI: what is issued, how keys are stored, rotation with overlap, CA rotation, expiry warnings."""

from __future__ import annotations

import datetime as dt
import shutil
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, VerificationError
from cryptography.x509.verification import Store as TrustStore

from gpuctl.loader import load_site
from gpuctl.loader.pki import read_pki
from gpuctl.pki import PkiError, Store, issue, rotate, statuses
from gpuctl.render.security.certs import plan
from gpuctl.rules.security import certificate_due, certificate_expired

LAB = Path(__file__).parents[2] / "inventories" / "lab" / "site.yaml"
NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    shutil.copy(LAB, tmp_path / "site.yaml")
    return tmp_path


def _site(site_dir: Path):  # type: ignore[no-untyped-def]
    return load_site(site_dir / "site.yaml").site


def _verify_server(store: Store, name: str, dns: str, at: dt.datetime) -> None:
    trust = TrustStore(store.load_bundle())
    leaf = store.load_cert(store.cert_path("server", name))
    PolicyBuilder().store(trust).time(at).build_server_verifier(x509.DNSName(dns)).verify(leaf, [])


def test_issue_makes_every_planned_certificate_once_with_private_keys_0600(site_dir: Path) -> None:
    site = _site(site_dir)
    store = Store(site_dir / "pki")
    first = issue(site, store, now=NOW)
    expected = {"ca/ca"} | {f"{s.kind}/{s.name}" for s in plan(site)}
    assert set(first.issued) == expected
    assert len(expected) == 1 + 2 + len(site.deployments) + len(site.security.clients)
    again = issue(site, store, now=NOW)
    assert again.issued == [] and set(again.kept) == expected
    keys = list((site_dir / "pki").rglob("*.key"))
    assert len(keys) == len(expected)
    assert {stat.S_IMODE(k.stat().st_mode) for k in keys} == {0o600}
    assert {stat.S_IMODE(d.stat().st_mode) for d in (site_dir / "pki").iterdir() if d.is_dir()} == {0o700}
    assert (site_dir / "pki" / ".gitignore").read_text().splitlines()[-1] == "*.key"


def test_server_certificates_verify_for_their_service_names_and_clients_carry_identity(site_dir: Path) -> None:
    site = _site(site_dir)
    store = Store(site_dir / "pki")
    issue(site, store, now=NOW)
    _verify_server(store, "qwen-7b", "qwen-7b.inference.svc.cluster.local", NOW)
    with pytest.raises(VerificationError):
        _verify_server(store, "qwen-7b", "llama-70b.inference.svc", NOW)
    client = store.load_cert(store.cert_path("client", "lab-app"))
    assert client.subject.rfc4514_string() == "CN=lab-app,O=lab"
    eku = client.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert [u.dotted_string for u in eku] == ["1.3.6.1.5.5.7.3.2"]  # clientAuth only


def test_rotation_keeps_the_previous_certificate_valid_until_its_own_expiry(site_dir: Path) -> None:
    site = _site(site_dir)
    store = Store(site_dir / "pki")
    issue(site, store, now=NOW)
    old = store.load_cert(store.cert_path("server", "qwen-7b"))
    assert rotate(site, store, now=NOW).rotated == []  # nothing due yet
    due = NOW + dt.timedelta(days=90 - 10)  # inside renew_before_days (14) of the 90-day server certificates
    out = rotate(site, store, now=due)
    assert "server/qwen-7b" in out.rotated and "client/lab-app" in out.rotated
    new = store.load_cert(store.cert_path("server", "qwen-7b"))
    assert store.load_cert(store.cert_path("server", "qwen-7b", previous=True)) == old
    assert new.serial_number != old.serial_number
    _verify_server(store, "qwen-7b", "qwen-7b.inference.svc", due)  # new one verifies
    prev = next(s for s in statuses(site, site_dir / "pki", now=due) if s.name == "qwen-7b")
    assert prev.previous_valid and prev.state == "ok"


def test_ca_rotation_trusts_old_and_new_until_the_old_expires(site_dir: Path) -> None:
    site = _site(site_dir)
    store = Store(site_dir / "pki")
    issue(site, store, now=NOW)
    old_ca = store.load_cert(store.cert_path("ca", "ca"))
    old_leaf = store.load_cert(store.cert_path("client", "lab-app"))
    out = rotate(site, store, ca=True, now=NOW)
    assert "ca/ca" in out.rotated and "client/lab-app" in out.rotated
    bundle = store.load_bundle()
    assert len(bundle) == 2 and old_ca in bundle
    new_leaf = store.load_cert(store.cert_path("client", "lab-app"))
    assert new_leaf.issuer != old_leaf.issuer or new_leaf.serial_number != old_leaf.serial_number
    new_ca = store.load_cert(store.cert_path("ca", "ca"))
    new_leaf.verify_directly_issued_by(new_ca)
    old_leaf.verify_directly_issued_by(old_ca)  # still valid during the overlap


def test_validate_judges_expiry_from_the_store_the_loader_read(site_dir: Path) -> None:
    """Rules SEC009/SEC010 on the state gpuctl.loader.pki reads from a real store, at three points in time."""
    site = _site(site_dir)
    issue(site, Store(site_dir / "pki"), now=NOW)
    loaded = load_site(site_dir / "site.yaml").site
    assert loaded.pki is not None and {(c.kind, c.name) for c in loaded.pki.certificates} >= {("ca", "ca")}

    def found(days: int) -> tuple[set[str], set[str]]:
        at = loaded.model_copy()
        at.__pydantic_private__["_pki"] = read_pki(str(site_dir / "site.yaml"), now=NOW + dt.timedelta(days=days))  # type: ignore[index]
        return {h.target for h in certificate_expired.check(at)}, {h.target for h in certificate_due.check(at)}

    assert found(0) == (set(), set())
    clients = {"security.gateway", "security.clients[lab-app]", "security.clients[lab-embedder]"}
    assert found(20) == (set(), clients)  # client certificates live 30 days, renewed 14 days before
    expired, due = found(31)
    assert expired == clients and due == set()


def test_a_key_readable_by_others_is_refused(site_dir: Path) -> None:
    site = _site(site_dir)
    store = Store(site_dir / "pki")
    issue(site, store, now=NOW)
    store.key_path("ca", "ca").chmod(0o644)
    with pytest.raises(PkiError, match="chmod 600"):
        rotate(site, store, force=True, now=NOW)


def test_unknown_certificate_name_is_a_clear_error(site_dir: Path) -> None:
    with pytest.raises(PkiError, match="no certificate named nope in this site; known: gpuctl-gateway, lab-app"):
        issue(_site(site_dir), Store(site_dir / "pki"), {"nope"}, now=NOW)


def test_an_external_issuer_signs_the_site_certificates_and_its_key_must_be_0600(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization

    from gpuctl.pki import make_ca

    cert, key = make_ca("corporate issuing CA", 365, NOW)
    (tmp_path / "issuer.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file = tmp_path / "issuer.key"
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_file.chmod(0o644)
    text = LAB.read_text().replace(
        "security:\n",
        f"security:\n  ca: {{source: external, cert_file: {tmp_path}/issuer.crt, key_file: {key_file}}}\n",
    )
    (tmp_path / "site.yaml").write_text(text)
    site = load_site(tmp_path / "site.yaml").site
    with pytest.raises(PkiError, match="private key has mode 0644"):
        issue(site, Store(tmp_path / "pki"), now=NOW)
    key_file.chmod(0o600)
    out = issue(site, Store(tmp_path / "pki"), now=NOW)
    assert out.issued[0] == "ca/ca (external)"
    leaf = Store(tmp_path / "pki").load_cert(Store(tmp_path / "pki").cert_path("client", "lab-app"))
    leaf.verify_directly_issued_by(cert)
    with pytest.raises(PkiError, match="external"):
        rotate(site, Store(tmp_path / "pki"), ca=True, now=NOW)
