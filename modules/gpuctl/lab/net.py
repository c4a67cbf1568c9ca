"""Network namespaces, veths and the lab bridge, found again by their name prefix for clean-up."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Attachment:
    """A namespace to create with one veth into the bridge (eth0 inside, {prefix}-{short} outside) and, for a
    host, its NIC ports."""

    short: str
    ns: str
    ip: str
    gateway: str | None
    ports: tuple[str, ...] = ()


# Names that go into an `ip -batch` line: one word each (the model's IfName pattern allows no more).
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/-]*")


def _batch(options: Sequence[str], lines: Sequence[str]) -> None:
    for line in lines:
        if not all(_WORD.fullmatch(word) for word in line.split(" ")):
            raise LabError(f"refusing an ip command with an unexpected name: {line!r}")
    proc = subprocess.run(["ip", *options, "-batch", "-"], input="\n".join(lines) + "\n", capture_output=True,
                          text=True, check=False)  # fmt: skip
    if proc.returncode != 0:
        raise LabError(f"`ip {' '.join(options)} -batch` failed: {proc.stderr.strip() or proc.stdout.strip()}")


def attach(cfg: LabConfig, attachments: Sequence[Attachment]) -> None:
    """Every namespace with its veth into the bridge, its address and default route, and its NIC ports.

    One `ip -batch` for the root namespace's side and one per namespace for its inside, not a process per
    command: 16 hosts took about 250 `ip` processes, 9 s on the 2 shared cores.

    A host's NIC ports are links inside its namespace, so live checks find them by name. This kernel has neither
    dummy nor bonding links (probed: "Unknown device type"), so each port is one end of a veth pair whose other end
    (lp<n>) stays in the namespace too; a veth has no SR-IOV sysfs, so `sriov_numvfs` is absent as on a NIC
    without SR-IOV."""
    outside = []
    for a in attachments:
        link = f"{cfg.prefix}-{a.short}"[:15]
        outside += [f"netns add {a.ns}", f"link add {link} type veth peer name eth0 netns {a.ns}",
                    f"link set {link} master {cfg.bridge}", f"link set {link} up"]  # fmt: skip
    _batch([], outside)
    for a in attachments:
        inside = ["link set lo up", f"addr add {a.ip}/{cfg.net.prefixlen} dev eth0", "link set eth0 up"]
        if a.gateway:
            inside.append(f"route add default via {a.gateway}")
        for i, name in enumerate(a.ports):
            inside += [f"link add {name} type veth peer name lp{i}", f"link set {name} up"]
        _batch(["-n", a.ns], inside)


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
