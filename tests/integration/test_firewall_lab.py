"""The firewall role on lab hosts: the real nftables ruleset gpuctl renders, applied by `gpuctl provision --tags
firewall`, then connections from other lab hosts and from the controller's namespace. Allowed flows succeed,
blocked ones fail and are counted, a second apply changes nothing, and unconfirmed rules roll back by themselves.

The lab hosts get a site of their own whose addresses are the lab's: the controller's address is the management
network, two hosts form pool p1 (a deployment serves on port 8000), one host is pool p2 and the gateway's source,
and the lab router's address stands for a BMC network."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from gpuctl.lab import core
from gpuctl.lab.config import LabConfig
from tests.conftest import ROOT
from tests.security.flows import PROOF_MODULES, record

from .conftest import lab_available
from .test_provision_lab import gpuctl

pytestmark = pytest.mark.integration

LAB_SITE = ROOT / "inventories" / "lab" / "site.yaml"
HOSTS = ("fw-a1", "fw-a2", "fw-b1")
PROOF = PROOF_MODULES["test_firewall_lab.py"]


def nf_tables_missing() -> str | None:
    probe = subprocess.run(["unshare", "--net", "nft", "add", "table", "inet", "probe"], capture_output=True, text=True)
    return None if probe.returncode == 0 else f"the kernel has no nf_tables here: {probe.stderr.strip()}"


def firewall_site(cfg: LabConfig, tmp: Path) -> Path:
    lab = yaml.safe_load(LAB_SITE.read_text())
    ip = {name: cfg.address(10 + i) for i, name in enumerate(HOSTS)}  # the lab's order: servers as declared
    data = {
        "version": 1,
        "name": "fwlab",
        "catalog": lab["catalog"],
        "networks": [
            {"name": "ctl", "purpose": "management", "cidr": f"{cfg.controller_ip}/32"},
            {"name": "data", "purpose": "data", "cidr": str(cfg.net)},
            {"name": "bmc", "purpose": "bmc", "cidr": f"{cfg.router_ip}/32"},
        ],
        "racks": [
            {
                "name": "lab-a",
                "height_u": 42,
                "static_weight_rating_kg": 1361,
                "cooling": {"type": "rdhx_active"},
                "power": {"a": {"circuits": [{"voltage_v": 415, "amps": 63, "phases": 3}]}},
                "servers": [
                    {
                        "name": n,
                        "model": "lab-1u-4xl4",
                        "position_u": 1 + 2 * i,
                        "addresses": [{"network": "data", "ip": ip[n]}],
                    }
                    for i, n in enumerate(HOSTS)
                ],
            }
        ],
        "node_pools": [{"name": "p1", "servers": ["fw-a1", "fw-a2"]}, {"name": "p2", "servers": ["fw-b1"]}],
        "deployments": [{"name": "chat", "model": "qwen2.5-7b", "max_model_len": 4096, "node_pool": "p1"}],
        "security": {
            "gateway": {"sources": [f"{ip['fw-b1']}/32"]},
            "clients": [{"name": "app", "team": "t", "deployments": ["chat"]}],
            "firewall": {"rollback_s": 10},
        },
    }
    path = tmp / "site.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def fw_config(base: LabConfig | None = None) -> LabConfig:
    """A lab instance of its own beside the session's (tests/integration/conftest.py `lab`), so this module runs
    whatever ran before it: the session's prefix + "fw", its directory + "-fw", and its subnet with the second
    octet + 1 (10.213.42.0/24 -> 10.214.42.0/24). Only loopback-free lab addresses are used, as in every lab."""
    base = base or LabConfig()
    net = base.net
    octets = str(net.network_address).split(".")
    octets[1] = str((int(octets[1]) + 1) % 256)
    return LabConfig(
        root=base.root.with_name(base.root.name + "-fw"),
        cache=base.cache,
        prefix=f"{base.prefix}fw",
        subnet=f"{'.'.join(octets)}/{net.prefixlen}",
    )


@dataclass(frozen=True)
class FwLab:
    state: core.LabState
    site: Path
    cfg: LabConfig

    def env(self) -> dict[str, str]:
        """What `gpuctl provision --lab` reads to find this lab instead of the session's."""
        cfg = self.cfg
        return {"GPUCTL_LAB_PREFIX": cfg.prefix, "GPUCTL_LAB_SUBNET": cfg.subnet, "GPUCTL_LAB_DIR": str(cfg.root)}


@pytest.fixture(scope="module")
def fwlab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FwLab]:
    reason = lab_available()
    if reason and os.environ.get("GPUCTL_REQUIRE_LAB"):  # CI: a missing lab is a failure, as in conftest.py
        pytest.fail(f"the lab cannot run: {reason}")
    reason = reason or nf_tables_missing()  # a kernel without nf_tables: nothing to prove here, say why
    if reason:
        pytest.skip(reason)
    cfg = fw_config()
    if core.current(cfg) is not None:  # left over by a killed run: take it down first
        core.down(cfg)
    site = firewall_site(cfg, tmp_path_factory.mktemp("fw"))
    state = core.up(site, "lab-a", cfg)
    try:
        yield FwLab(state, site, cfg)
    finally:
        core.down(cfg)


def _provision(lab: FwLab) -> dict:  # type: ignore[type-arg]
    out = gpuctl(
        "provision", "lab-a", "--site", str(lab.site), "--lab", "--tags", "firewall", "-f", "json", env=lab.env()
    )
    assert out.stdout, out.stderr
    data = json.loads(out.stdout)
    assert data["status"] == "successful", out.stdout[-3000:] + out.stderr[-3000:]
    return data


class Listeners:
    """TCP listeners inside lab hosts' network namespaces (started and stopped by PID)."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, netns: str, port: int) -> None:
        code = (
            "import socket\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
            f"s.bind(('0.0.0.0',{port}))\ns.listen(64)\nwhile True:\n c,_=s.accept()\n c.sendall(b'ok')\n c.close()\n"
        )
        self.procs.append(subprocess.Popen(["ip", "netns", "exec", netns, "python3", "-c", code]))

    def stop(self) -> None:
        for p in self.procs:
            p.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(5)


def connects(src_netns: str | None, ip: str, port: int) -> bool:
    code = (
        "import socket,sys\ntry:\n"
        f" socket.create_connection(({ip!r},{port}),timeout=1.5).recv(2)\n"
        "except OSError:\n sys.exit(1)\n"
    )
    cmd = ["python3", "-c", code]
    if src_netns is not None:
        cmd = ["ip", "netns", "exec", src_netns, *cmd]
    return subprocess.run(cmd, capture_output=True, timeout=20).returncode == 0


def test_rules_allow_what_the_spec_allows_and_drop_the_rest(fwlab: FwLab) -> None:
    state, cfg = fwlab.state, fwlab.cfg
    hosts = {h.name: h for h in state.hosts}
    a1, _a2, _b1 = (hosts[n] for n in HOSTS)
    ns = {n: h.netns for n, h in hosts.items()}
    listeners = Listeners()
    for port in (22_00 + 22, 29500, 8000):  # 2222 stands for "any other port"
        listeners.start(ns["fw-a1"], port)
    listeners.start(cfg.netns("router"), 9999)
    try:
        time.sleep(1.0)
        before = {
            "controller -> a1:8000": connects(None, a1.ip, 8000),
            "a2 -> a1:2222": connects(ns["fw-a2"], a1.ip, 2222),
        }
        assert all(before.values()), f"before the firewall, everything connects: {before}"
        first = _provision(fwlab)
        flows = {
            # (source, destination:port): expected
            "controller -> a1:22 (ssh from management)": (None, a1.ip, 22, True),
            "a2 -> a1:22 (ssh from a data host)": (ns["fw-a2"], a1.ip, 22, False),
            "a2 -> a1:29500 (own pool: torch.distributed)": (ns["fw-a2"], a1.ip, 29500, True),
            "b1 -> a1:29500 (other pool)": (ns["fw-b1"], a1.ip, 29500, False),
            "b1 -> a1:8000 (gateway source -> serving port)": (ns["fw-b1"], a1.ip, 8000, True),
            "controller -> a1:8000 (serving port, not the gateway)": (None, a1.ip, 8000, False),
            "b1 -> a1:2222 (any other port)": (ns["fw-b1"], a1.ip, 2222, False),
            "a1 -> bmc:9999 (host to BMC network)": (ns["fw-a1"], cfg.router_ip, 9999, False),
            "controller -> bmc:9999 (control: the controller is not filtered)": (None, cfg.router_ip, 9999, True),
        }
        got = {name: connects(src, ip, port) for name, (src, ip, port, _) in flows.items()}
        print(
            "\n".join(
                f"{'ok  ' if got[n] == f[3] else 'FAIL'} {n}: {'connected' if got[n] else 'refused/dropped'}"
                for n, f in flows.items()
            )
        )
        for name, f in flows.items():
            result = f"{'ok' if got[name] == f[3] else 'WRONG'}: {'connected' if got[name] else 'refused/dropped'}"
            record(PROOF, name, result)
        assert got == {name: f[3] for name, f in flows.items()}
        counters = subprocess.run(
            ["ip", "netns", "exec", ns["fw-a1"], "nft", "-j", "list", "chain", "inet", "gpuctl", "input"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        dropped = [
            r["rule"]
            for r in json.loads(counters)["nftables"]
            if "rule" in r and r["rule"].get("comment", "").startswith("dropped")
        ]
        packets = dropped[0]["expr"][0]["counter"]["packets"]
        assert packets >= 3, "blocked flows are counted"
        second = _provision(fwlab)
        print(f"first apply changed {first['changed']}, second {second['changed']}")
        record(PROOF, "second apply", f"changed {second['changed']} (first: {first['changed']})")
        assert first["hosts"]["fw-a1"]["changed"] > 0
        assert {h: v["changed"] for h, v in second["hosts"].items()} == dict.fromkeys(HOSTS, 0)
    finally:
        listeners.stop()


def test_unconfirmed_rules_roll_back_so_the_controller_is_never_locked_out(fwlab: FwLab) -> None:
    state = fwlab.state
    host = next(h for h in state.hosts if h.name == "fw-b1")
    ssh = ["ssh", "-F", state.ssh_config, "-o", "ConnectTimeout=2", "-o", "ControlPath=none", host.name]
    _provision(fwlab)
    # A ruleset that admits SSH from nowhere, applied the way the role applies it, but never confirmed.
    lockout = subprocess.run(
        [
            *ssh,
            f"sed 's/elements = {{ {fwlab.cfg.controller_ip}\\/32 }}//' /etc/gpuctl/firewall/ruleset.nft"
            " > /tmp/lockout.nft && mkdir -p /tmp/fw && cp /tmp/lockout.nft /tmp/fw/ruleset.nft"
            " && /usr/local/sbin/gpuctl-firewall-apply /tmp/fw 8",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert lockout.returncode == 0, lockout.stderr
    start = time.monotonic()
    locked = subprocess.run([*ssh, "true"], capture_output=True, timeout=30).returncode != 0
    assert locked, "the lockout ruleset did not lock the controller out (the test proves nothing)"
    while subprocess.run([*ssh, "true"], capture_output=True, timeout=30).returncode != 0:
        assert time.monotonic() - start < 40, "the rules did not roll back"
        time.sleep(1)
    print(f"locked out, rolled back after {time.monotonic() - start:.1f} s")
    record(PROOF, "unconfirmed lockout ruleset", f"locked out, rolled back after {time.monotonic() - start:.1f} s")
    assert subprocess.run([*ssh, "test -e /tmp/fw/rolled-back"], timeout=30).returncode == 0
