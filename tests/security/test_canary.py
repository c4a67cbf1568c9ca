"""No private key, token or prompt leaves where it belongs: the gpuctl pki commands' output, every file they write
(keys only in 0600 files), every file rendered for the example sites, and the real gateway's log are searched."""

from __future__ import annotations

import base64
import re
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from gpuctl.loader import load_site
from gpuctl.provision.inventory import host_vars
from gpuctl.render import k8s, serving
from gpuctl.render.security import gateway
from gpuctl.render.security import k8s as security_k8s
from tests.conftest import ROOT

from .gateway_env import HAPROXY, running_gateway

KEY_PEM = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----\n.+?\n-----END [A-Z ]*PRIVATE KEY-----\n?", re.S)
KEY_FILES = {".key", ".pem"}


def _gpuctl(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-c", "from gpuctl.cli.app import main; main()", *args], capture_output=True)


def _secret(pem: bytes) -> bytes:
    """The secret part of a private key (an EC key's scalar, an RSA key's d, an Ed25519 seed): not its PEM, whose
    DER also holds the public key, which certificates carry too and may match by chance."""
    key = serialization.load_pem_private_key(pem, password=None)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.private_numbers().private_value.to_bytes((key.curve.key_size + 7) // 8, "big")
    if isinstance(key, rsa.RSAPrivateKey):
        d = key.private_numbers().d
        return d.to_bytes((d.bit_length() + 7) // 8, "big")
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.private_bytes_raw()
    raise AssertionError(f"a key type the canary does not know: {type(key).__name__}")


def _needles(secret: bytes) -> list[bytes]:
    """What any copy of the secret would contain: its hex, and its base64 at each of the 3 byte alignments a DER
    copy can give it (the characters that depend on the secret's bytes alone)."""
    out = [secret, secret.hex().encode()]
    for shift in range(3):  # the secret starts `shift` bytes into a 3-byte group: keep the groups it fills
        whole_groups = (shift + len(secret)) // 3
        encoded = base64.b64encode((b"\0" * shift + secret)[: whole_groups * 3])
        out.append(encoded[4 if shift else 0 :])
    return out


def _key_fragments(root: Path) -> list[bytes]:
    """Needles for every private key under root (see _needles)."""
    out = []
    for path in root.rglob("*"):
        if path.is_file():
            for block in KEY_PEM.findall(path.read_bytes()):
                out += _needles(_secret(block))
    return out


def test_pki_commands_print_no_key_and_keep_keys_in_0600_files(tmp_path: Path) -> None:
    shutil.copy(ROOT / "inventories" / "lab" / "site.yaml", tmp_path / "site.yaml")
    site = str(tmp_path / "site.yaml")
    outputs = [_gpuctl("pki", "issue", site), _gpuctl("pki", "rotate", site, "--force"), _gpuctl("pki", "list", site)]
    outputs += [
        _gpuctl("pki", "rotate", site, "--ca"),
        _gpuctl("validate", site),
        _gpuctl("pki", "list", site, "-f", "json"),
    ]
    assert [o.returncode for o in outputs] == [0, 0, 0, 0, 0, 0], [o.stderr for o in outputs]
    fragments = _key_fragments(tmp_path / "pki")
    assert len(fragments) > 50  # 5 needles a key, 1 CA + 7 leaves + their rotated copies: many keys to look for
    printed = b"".join(o.stdout + o.stderr for o in outputs)
    assert b"PRIVATE KEY" not in printed and not [f for f in fragments if f in printed]
    holders = [p for p in (tmp_path / "pki").rglob("*") if p.is_file() and b"PRIVATE KEY" in p.read_bytes()]
    # the needles find each key in its own file (so they would find a copy elsewhere)
    assert all(any(f in p.read_bytes().replace(b"\n", b"") for f in fragments) for p in holders)
    assert holders and all(p.suffix in KEY_FILES and stat.S_IMODE(p.stat().st_mode) == 0o600 for p in holders)
    public = [p for p in (tmp_path / "pki").rglob("*") if p.is_file() and p not in holders]
    assert public and not [p for p in public for f in fragments if f in p.read_bytes()]


@pytest.mark.parametrize("site_name", ["fra1", "lab"])
def test_rendered_files_carry_no_secret(site_name: str) -> None:
    site = load_site(ROOT / "inventories" / site_name / "site.yaml").site
    texts = [
        yaml.safe_dump_all([*serving.manifests(site), *k8s.namespaces(site), *security_k8s.objects(site)]),
        yaml.safe_dump_all(security_k8s.secret_shells(site)),
        gateway.config(site, "/etc/gpuctl/gateway"),
        *gateway.maps(site).values(),
        *(yaml.safe_dump(host_vars(site, s)) for _, s in site.all_servers()),
    ]
    for text in texts:
        assert "PRIVATE KEY" not in text and "stringData" not in text and "password" not in text.lower()


@pytest.mark.skipif(shutil.which(HAPROXY) is None, reason="Debian package haproxy not installed")
def test_gateway_log_has_identities_and_verdicts_but_no_prompt_or_key(tmp_path: Path) -> None:
    prompt = "prompt-canary-" + base64.b16encode(b"secret prompt").decode()
    with running_gateway(tmp_path) as gw:
        assert (
            gw.call(
                gw.context("lab-app"),
                "/v1/chat/completions",
                {"model": "qwen2.5-7b", "messages": [{"role": "user", "content": prompt}]},
            )[0]
            == 200
        )
        assert (
            gw.call(
                gw.context("lab-app"),
                "/v1/chat/completions",
                {"model": "llama-3.1-70b", "messages": [{"role": "user", "content": prompt}]},
            )[0]
            == 403
        )
        time.sleep(0.5)  # HAProxy writes a request's line when its stream ends: let the last one land
    log = gw.logs()
    assert "client=lab-app POST /v1/chat/completions" in log and " 403 " in log
    assert prompt not in log and "PRIVATE KEY" not in log
    fragments = _key_fragments(tmp_path)
    assert fragments and not [f for f in fragments if f in log.encode()]
    rendered = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix in {".cfg", ".map"}]
    assert rendered and not [p for p in rendered if b"PRIVATE KEY" in p.read_bytes()]
