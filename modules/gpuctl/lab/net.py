"""Network namespaces, veths and the lab bridge, found again by their name prefix for clean-up."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from .base import LabError
from .config import LabConfig


def run(cmd: Sequence[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(list(cmd), capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise LabError(f"`{' '.join(cmd)}` failed: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc


def ns_run(ns: str, *cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run(["ip", "netns", "exec", ns, *cmd], check=check)


def create_bridge(cfg: LabConfig) -> None:
    run(["ip", "link", "add", cfg.bridge, "type", "bridge"])
    run(["ip", "addr", "add", f"{cfg.controller_ip}/{cfg.net.prefixlen}", "dev", cfg.bridge])
    run(["ip", "link", "set", cfg.bridge, "up"])


def attach(cfg: LabConfig, short: str, ns: str, ip: str, gateway: str | None) -> None:
    """A namespace with one veth into the bridge: eth0 inside, {prefix}-{short} outside."""
    outside = f"{cfg.prefix}-{short}"[:15]
    run(["ip", "netns", "add", ns])
    run(["ip", "link", "add", outside, "type", "veth", "peer", "name", "eth0", "netns", ns])
    run(["ip", "link", "set", outside, "master", cfg.bridge])
    run(["ip", "link", "set", outside, "up"])
    ns_run(ns, "ip", "link", "set", "lo", "up")
    ns_run(ns, "ip", "addr", "add", f"{ip}/{cfg.net.prefixlen}", "dev", "eth0")
    ns_run(ns, "ip", "link", "set", "eth0", "up")
    if gateway:
        ns_run(ns, "ip", "route", "add", "default", "via", gateway)


def add_ports(ns: str, names: Sequence[str]) -> None:
    """The server's NIC ports as links inside its namespace, so live checks find them by name. This kernel has
    neither dummy nor bonding links (probed: "Unknown device type"), so each port is one end of a veth pair whose
    other end (lp<n>) stays in the namespace too; a veth has no SR-IOV sysfs, so `sriov_numvfs` is absent as on
    a NIC without SR-IOV."""
    for i, name in enumerate(names):
        ns_run(ns, "ip", "link", "add", name, "type", "veth", "peer", "name", f"lp{i}")
        ns_run(ns, "ip", "link", "set", name, "up")


def lab_namespaces(cfg: LabConfig) -> list[str]:
    out = run(["ip", "netns", "list"], check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith(f"{cfg.prefix}-")]


def lab_links(cfg: LabConfig) -> list[str]:
    out = run(["ip", "-o", "link", "show"], check=False).stdout
    names = []
    for line in out.splitlines():
        name = line.split(":")[1].strip().split("@")[0]
        if name.startswith(f"{cfg.prefix}-"):
            names.append(name)
    return names
