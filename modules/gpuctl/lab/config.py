"""Where the lab lives and how it is addressed. Every value can be changed through GPUCTL_LAB_* variables."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

BASE_PACKAGES = (
    "openssh-server",
    "python3",
    "python3-apt",
    "iproute2",
    "procps",
    "ca-certificates",
    "init-system-helpers",
    "sysvinit-utils",
    "mount",
    "less",
    "netplan.io",
    "gnupg",
    "nftables",  # the firewall role's packet filter (security tests apply real rules in the lab)
)
SUITE = "bookworm"


@dataclass(frozen=True)
class LabConfig:
    root: Path = Path(os.environ.get("GPUCTL_LAB_DIR", "/var/tmp/gpuctl-lab"))
    cache: Path = Path(os.environ.get("GPUCTL_LAB_CACHE", str(Path.home() / ".cache" / "gpuctl" / "lab")))
    prefix: str = os.environ.get("GPUCTL_LAB_PREFIX", "gl")
    subnet: str = os.environ.get("GPUCTL_LAB_SUBNET", "10.213.0.0/24")

    @property
    def net(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.subnet)

    def address(self, index: int) -> str:
        return str(self.net.network_address + index)

    @property
    def controller_ip(self) -> str:
        return self.address(1)

    @property
    def router_ip(self) -> str:
        return self.address(254)

    @property
    def repo_ip(self) -> str:
        return self.address(253)

    @property
    def bridge(self) -> str:
        return f"{self.prefix}-br0"

    def netns(self, name: str) -> str:
        return f"{self.prefix}-{name}"
