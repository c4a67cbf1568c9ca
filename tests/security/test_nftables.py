"""The host rulesets: what each host's sets hold, and that the real `nft` accepts every host's script of the
example sites (checked in a network namespace of its own, so this machine's rules are never touched)."""

from __future__ import annotations

import os
import shutil
import subprocess
from ipaddress import ip_network
from pathlib import Path

import pytest

from gpuctl.loader import load_site
from gpuctl.render.security.nftables import ruleset, serving_ports, sources
from tests.conftest import ROOT


def _site(name: str, mode: str = "enforce"):  # type: ignore[no-untyped-def]
    """An example site with its host firewall in `mode` (the lab site itself has it off: its hosts are on the lab's
    addresses, not the spec's networks)."""
    site = load_site(ROOT / "inventories" / name / "site.yaml").site
    firewall = site.security.firewall.model_copy(update={"mode": mode})
    return site.model_copy(update={"security": site.security.model_copy(update={"firewall": firewall})})


def test_a_lab_hosts_sets_follow_its_pool_and_the_management_network() -> None:
    site = _site("lab")
    servers = {s.name: s for _, s in site.all_servers()}
    sets = sources(site, servers["lab-l40s-1"])
    assert sets["ssh"] == [ip_network("10.60.0.0/24")]
    assert sets["pool"] == [ip_network("10.60.0.12")]  # lab-l40s-2, its pool's other server
    assert ip_network("10.60.0.13") in sets["nodes"] and ip_network("10.60.0.11") not in sets["nodes"]
    assert serving_ports(site, servers["lab-l40s-1"]) == [8000]
    assert serving_ports(site, servers["lab-l4-1"]) == []  # no deployment on pool l4


def test_firewall_off_renders_nothing_so_the_role_removes_the_table() -> None:
    site = _site("lab")
    server = next(s for _, s in site.all_servers())
    off = _site("lab", "off")
    assert ruleset(off, server) == ""
    assert ruleset(site, server).startswith("# DO NOT EDIT")


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("nft") is None, reason="needs root and nftables")
@pytest.mark.parametrize("name", ["fra1", "lab"])
def test_nft_accepts_every_hosts_ruleset(name: str, tmp_path: Path) -> None:
    site = _site(name)
    checked = 0
    for _, server in site.all_servers():
        script = tmp_path / f"{server.name}.nft"
        script.write_text(ruleset(site, server))
        out = subprocess.run(["unshare", "--net", "nft", "-c", "-f", str(script)], capture_output=True, text=True)
        assert out.returncode == 0, f"{server.name}: {out.stderr}"
        checked += 1
    assert checked == sum(1 for _ in site.all_servers()) > 0
