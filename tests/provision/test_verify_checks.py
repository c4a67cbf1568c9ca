"""`gpuctl verify`'s checks against a fake testinfra host that agrees with the site, then disagrees with it.

The fake answers like testinfra does: `run()` gives rc/stdout/stderr, `package()` is_installed/version (version
raises when the package is missing), `file()` exists/content_string (content raises when missing), `socket()`
is_listening. Each disagreement turns exactly the check that looks at it from pass to fail.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from gpuctl.loader import load_site, load_site_text
from gpuctl.model import Server, Site
from gpuctl.provision.inventory import Overlay, inventory
from gpuctl.provision.roles import all_defaults, host_variables
from gpuctl.provision.verify import (
    check_container_runtime,
    check_dcgm,
    check_driver,
    check_fabric_manager,
    check_gpus,
    check_iommu,
    check_network,
)
from gpuctl.render.netplan import netplan
from tests.conftest import ROOT

FRA1 = load_site(ROOT / "inventories" / "fra1" / "site.yaml").site
LAB = load_site(ROOT / "inventories" / "lab" / "site.yaml").site
# Paths as the roles write them (verify reads the same defaults; these name the fake host's files).
DEFAULTS = all_defaults()
NETPLAN = DEFAULTS["network_netplan_file"]
CONTAINERD_CONFIG = DEFAULTS["containerd_config_files"]["kubeadm"]
SRIOV_RULE = "/run/udev/rules.d/99-sriov-netplan-setup.rules"


def variables(site: Site, name: str, overlay: Overlay | None = None) -> dict[str, Any]:
    """What verify expects of a host: the role defaults under the site's rendered inventory."""
    return host_variables(inventory(site, Path("ssh_config"), overlay), name)


def server(site: Site, name: str) -> Server:
    return next(s for _, s in site.all_servers() if s.name == name)


@dataclass
class Result:
    rc: int
    stdout: str = ""
    stderr: str = ""


class Package:
    def __init__(self, name: str, version: str | None) -> None:
        self.name, self._version = name, version

    @property
    def is_installed(self) -> bool:
        return self._version is not None

    @property
    def version(self) -> str:
        if self._version is None:
            raise AssertionError(f"testinfra raises: {self.name} is not installed")
        return self._version


class File:
    def __init__(self, path: str, content: str | None, is_directory: bool = False) -> None:
        self.path, self._content, self.is_directory = path, content, is_directory

    @property
    def exists(self) -> bool:
        return self._content is not None or self.is_directory

    @property
    def content_string(self) -> str:
        if self._content is None:
            raise AssertionError(f"testinfra raises: {self.path} does not exist")
        return self._content


@dataclass
class Socket:
    is_listening: bool


@dataclass
class FakeHost:
    packages: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    commands: dict[str, Result] = field(default_factory=dict)  # first key contained in the command answers
    listening: set[str] = field(default_factory=set)
    dirs: set[str] = field(default_factory=set)
    ran: list[str] = field(default_factory=list)

    def run(self, command: str) -> Result:
        self.ran.append(command)
        for key, result in self.commands.items():
            if key in command:
                return result
        return Result(127, "", f"sh: {command.split()[0]}: not found")

    def package(self, name: str) -> Package:
        return Package(name, self.packages.get(name))

    def file(self, path: str) -> File:
        return File(path, self.files.get(path), path in self.dirs)

    def socket(self, url: str) -> Socket:
        return Socket(url in self.listening)


def healthy(site: Site, name: str) -> FakeHost:
    """A host exactly as the site declares it."""
    s = server(site, name)
    p = site.provisioning
    gpu = site.gpu_spec(s)
    host = FakeHost()
    if gpu is not None:
        smi = f"{gpu.smi_name or gpu.name}, {gpu.memory_mib}, {p.driver_version.split('-')[0]}"
        host.commands["nvidia-smi --query-gpu"] = Result(0, "\n".join([smi] * site.gpu_count(s)) + "\n")
        host.packages[f"nvidia-driver-{p.driver_branch}-server"] = p.driver_version
        host.packages["nvidia-container-toolkit"] = p.container_toolkit_version
        if site.server_spec(s).nvswitch:
            host.packages[f"nvidia-fabricmanager-{p.driver_branch}"] = p.driver_version
            host.commands["nvidia-fabricmanager"] = Result(0, "active\n")
        host.commands["nvidia-dcgm"] = Result(0, "active\n")
        host.commands["dcgm-exporter"] = Result(0, "active\n")
        host.commands["9400/metrics"] = Result(0, 'DCGM_FI_DEV_GPU_UTIL{gpu="0"} 0\n')
        host.listening.add("tcp://0.0.0.0:5555")
        host.files[CONTAINERD_CONFIG] = (
            'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.nvidia]\n'
        )
    if s.nics:
        host.files[NETPLAN] = "# rendered\n" + yaml.safe_dump({"network": netplan(site, s)})
        for bond in s.bonds:
            host.files[f"/run/systemd/network/10-netplan-{bond.name}.netdev"] = (
                f"[NetDev]\nName={bond.name}\nKind=bond\n"
                + (f"MTUBytes={bond.mtu}\n" if bond.mtu else "")
                + f"\n[Bond]\nMode={bond.mode}\n"
                + (f"MIIMonitorSec={bond.mii_monitor_interval_ms}ms\n" if bond.mii_monitor_interval_ms else "")
            )
        if any(p.sriov_vfs for n in s.nics for p in n.ports):
            host.files[SRIOV_RULE] = 'ACTION=="add", SUBSYSTEM=="net", RUN+="/usr/libexec/netplan/netplan-generate"\n'
    return host


ALL_CHECKS = (check_driver, check_gpus, check_fabric_manager, check_dcgm, check_container_runtime, check_network)


def results(host: FakeHost, site: Site, name: str) -> dict[str, tuple[bool, str]]:
    s = server(site, name)
    v = variables(site, name)
    out: dict[str, tuple[bool, str]] = {}
    for check in ALL_CHECKS:
        checks: Iterator[tuple[str, bool, str]] = check(host, site, s, v)
        for cid, ok, msg in checks:
            assert cid not in out, f"check id {cid} given twice"
            out[cid] = (ok, msg)
    return out


GPU_CHECKS = ["driver-version", "gpus", "driver-loaded"]
SERVICES = ["dcgm-hostengine", "dcgm-exporter", "container-runtime"]
NETWORK = ["netplan", "bond-bond0"]
CASES = [
    (FRA1, "gpu-a01", [*GPU_CHECKS, *SERVICES, *NETWORK]),
    (FRA1, "dgx-b01", [*GPU_CHECKS, "fabric-manager", *SERVICES, *NETWORK, "sriov"]),
    (LAB, "lab-l40s-1", [*GPU_CHECKS, *SERVICES, *NETWORK, "sriov"]),
    (LAB, "lab-dgx-1", [*GPU_CHECKS, "fabric-manager", *SERVICES]),
    (LAB, "lab-l4-1", [*GPU_CHECKS, *SERVICES]),
]


@pytest.mark.parametrize(("site", "name", "ids"), CASES, ids=[c[1] for c in CASES])
def test_a_host_that_agrees_passes_every_check(site: Site, name: str, ids: list[str]) -> None:
    got = results(healthy(site, name), site, name)
    assert list(got) == ids
    failed = {cid: msg for cid, (ok, msg) in got.items() if not ok}
    assert failed == {}


def test_the_messages_of_a_healthy_dgx() -> None:
    got = results(healthy(FRA1, "dgx-b01"), FRA1, "dgx-b01")
    assert got["driver-version"][1] == "nvidia-driver-550-server 550.127.05-0ubuntu1, declared 550.127.05-0ubuntu1"
    assert got["gpus"][1] == (
        "nvidia-smi sees 8× NVIDIA H100 80GB HBM3 (81559 MiB); declared 8× NVIDIA H100 80GB HBM3 (81559 MiB)"
    )
    assert got["driver-loaded"][1] == "driver answering 550.127.05, declared 550.127.05"
    assert got["fabric-manager"][1] == "nvidia-fabricmanager 550.127.05-0ubuntu1 (running), driver 550.127.05-0ubuntu1"
    assert got["dcgm-hostengine"][1] == "nv-hostengine running, listening on 5555"
    assert got["dcgm-exporter"][1] == "dcgm-exporter running, /metrics exports DCGM_FI_DEV_GPU_UTIL"
    assert got["container-runtime"][1] == (
        f"nvidia-container-toolkit 1.17.4-1; containerd (kubeadm, {CONTAINERD_CONFIG}) registers the NVIDIA runtime"
    )
    assert got["netplan"][1] == "netplan file matches the site spec"
    assert got["bond-bond0"][1] == "networkd bond0: mode 802.3ad, MTU and MII as declared"
    assert got["sriov"][1] == (
        "VFs {'ens1f0np0': 4, 'ens1f1np1': 4} (declared {'ens1f0np0': 4, 'ens1f1np1': 4}); SR-IOV udev rule present"
    )


CPU_SITE = """
name: cpu
catalog:
  servers:
    - {id: cpu-1u, name: CPU 1U, height_u: 1, max_power_kw: 0.5, weight_kg: 15, source: "test data"}
racks:
  - name: r
    static_weight_rating_kg: 1000
    cooling: {type: air_open}
    power: {a: {circuits: [{voltage_v: 230, amps: 16, phases: 1}]}}
    servers: [{name: cpu-1, model: cpu-1u, position_u: 1}]
"""


def test_a_server_without_gpus_or_nics_has_nothing_to_check() -> None:
    site = load_site_text(CPU_SITE, "cpu.yaml").site
    host = FakeHost()
    assert results(host, site, "cpu-1") == {}
    assert host.ran == []


def fails_only(host: FakeHost, site: Site, name: str, *failing: str) -> dict[str, tuple[bool, str]]:
    got = results(host, site, name)
    assert sorted(cid for cid, (ok, _) in got.items() if not ok) == sorted(failing), got
    return got


# ----- disagreements -----


def test_wrong_gpu_count() -> None:
    host = healthy(FRA1, "gpu-a01")
    host.commands["nvidia-smi --query-gpu"] = Result(0, "NVIDIA L40S, 46068, 550.127.05\n" * 3)
    got = fails_only(host, FRA1, "gpu-a01", "gpus")
    assert got["gpus"][1] == "nvidia-smi sees 3× NVIDIA L40S (46068 MiB); declared 4× NVIDIA L40S (46068 MiB)"


def test_wrong_gpu_name() -> None:
    host = healthy(LAB, "lab-l4-1")
    host.commands["nvidia-smi --query-gpu"] = Result(0, "NVIDIA L40S, 23034, 550.127.05\n" * 4)
    got = fails_only(host, LAB, "lab-l4-1", "gpus")
    assert "sees 4× NVIDIA L40S (23034 MiB); declared 4× NVIDIA L4 (23034 MiB)" in got["gpus"][1]


def test_one_gpu_of_another_model_among_the_right_ones() -> None:
    host = healthy(LAB, "lab-l4-1")
    host.commands["nvidia-smi --query-gpu"] = Result(
        0, "NVIDIA L4, 23034, 550.127.05\n" * 3 + "NVIDIA A10, 23028, 550.127.05\n"
    )
    got = fails_only(host, LAB, "lab-l4-1", "gpus")
    assert "sees 4× NVIDIA A10, NVIDIA L4 (23028, 23034 MiB)" in got["gpus"][1]


def test_wrong_gpu_memory() -> None:
    host = healthy(FRA1, "dgx-b01")
    host.commands["nvidia-smi --query-gpu"] = Result(0, "NVIDIA H100 80GB HBM3, 40960, 550.127.05\n" * 8)
    got = fails_only(host, FRA1, "dgx-b01", "gpus")
    assert "(40960 MiB); declared 8× NVIDIA H100 80GB HBM3 (81559 MiB)" in got["gpus"][1]


def test_nvidia_smi_fails() -> None:
    host = healthy(FRA1, "gpu-a01")
    host.commands["nvidia-smi --query-gpu"] = Result(9, "", "NVIDIA-SMI has failed because it couldn't communicate")
    got = fails_only(host, FRA1, "gpu-a01", "gpus")
    assert "driver-loaded" not in got  # nothing to compare without nvidia-smi
    assert got["gpus"][1] == "nvidia-smi failed (rc 9): NVIDIA-SMI has failed because it couldn't communicate"


def test_driver_package_mismatch() -> None:
    host = healthy(FRA1, "gpu-a01")
    host.packages["nvidia-driver-550-server"] = "550.90.07-0ubuntu1"
    got = fails_only(host, FRA1, "gpu-a01", "driver-version")
    assert got["driver-version"][1] == "nvidia-driver-550-server 550.90.07-0ubuntu1, declared 550.127.05-0ubuntu1"


def test_driver_package_missing() -> None:
    host = healthy(LAB, "lab-l4-1")
    del host.packages["nvidia-driver-550-server"]
    got = fails_only(host, LAB, "lab-l4-1", "driver-version")
    assert got["driver-version"][1] == "nvidia-driver-550-server not installed, declared 550.127.05-0ubuntu1"


def test_loaded_driver_differs_from_the_package() -> None:
    host = healthy(FRA1, "gpu-a01")  # package upgraded, old kernel module still answering (no reboot)
    host.commands["nvidia-smi --query-gpu"] = Result(0, "NVIDIA L40S, 46068, 550.90.07\n" * 4)
    got = fails_only(host, FRA1, "gpu-a01", "driver-loaded")
    assert got["driver-loaded"][1] == "driver answering 550.90.07, declared 550.127.05"


def test_fabric_manager_stopped() -> None:
    host = healthy(FRA1, "dgx-b01")
    host.commands["nvidia-fabricmanager"] = Result(3, "inactive\n")
    got = fails_only(host, FRA1, "dgx-b01", "fabric-manager")
    assert got["fabric-manager"][1] == (
        "nvidia-fabricmanager 550.127.05-0ubuntu1 (not running), driver 550.127.05-0ubuntu1"
    )


def test_fabric_manager_of_another_version() -> None:
    host = healthy(LAB, "lab-dgx-1")
    host.packages["nvidia-fabricmanager-550"] = "550.90.07-0ubuntu1"
    got = fails_only(host, LAB, "lab-dgx-1", "fabric-manager")
    assert got["fabric-manager"][1].startswith("nvidia-fabricmanager 550.90.07-0ubuntu1 (running)")


def test_fabric_manager_missing_on_an_nvswitch_system() -> None:
    host = healthy(LAB, "lab-dgx-1")
    del host.packages["nvidia-fabricmanager-550"]
    got = fails_only(host, LAB, "lab-dgx-1", "fabric-manager")
    assert got["fabric-manager"][1] == "nvidia-fabricmanager-550 is not installed on an NVSwitch system"


def test_no_fabric_manager_check_without_nvswitch() -> None:
    assert "fabric-manager" not in results(healthy(LAB, "lab-l40s-2"), LAB, "lab-l40s-2")


def test_dcgm_host_engine_not_listening() -> None:
    host = healthy(LAB, "lab-l40s-2")
    host.listening.clear()
    got = fails_only(host, LAB, "lab-l40s-2", "dcgm-hostengine")
    assert got["dcgm-hostengine"][1] == "nv-hostengine running, not listening on 5555"


def test_dcgm_services_stopped_and_metrics_empty() -> None:
    host = healthy(LAB, "lab-l40s-2")
    host.commands["nvidia-dcgm"] = Result(3)
    host.commands["dcgm-exporter"] = Result(3)
    host.commands["9400/metrics"] = Result(1, "", "Connection refused")
    got = fails_only(host, LAB, "lab-l40s-2", "dcgm-hostengine", "dcgm-exporter")
    assert got["dcgm-hostengine"][1] == "nv-hostengine not running, listening on 5555"
    assert got["dcgm-exporter"][1] == "dcgm-exporter not running, /metrics unreachable or empty"


def test_dcgm_exporter_running_without_the_gpu_metric() -> None:
    host = healthy(LAB, "lab-l40s-2")
    host.commands["9400/metrics"] = Result(0, "# HELP go_goroutines\ngo_goroutines 12\n")
    got = fails_only(host, LAB, "lab-l40s-2", "dcgm-exporter")
    assert got["dcgm-exporter"][1] == "dcgm-exporter running, /metrics unreachable or empty"


def test_missing_containerd_config() -> None:
    host = healthy(FRA1, "gpu-a01")
    del host.files[CONTAINERD_CONFIG]
    got = fails_only(host, FRA1, "gpu-a01", "container-runtime")
    assert got["container-runtime"][1] == (
        f"nvidia-container-toolkit 1.17.4-1; containerd (kubeadm, {CONTAINERD_CONFIG}) does not register the NVIDIA "
        "runtime"
    )


def test_containerd_config_without_the_nvidia_runtime() -> None:
    host = healthy(FRA1, "gpu-a01")
    host.files[CONTAINERD_CONFIG] = 'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n'

    fails_only(host, FRA1, "gpu-a01", "container-runtime")


@pytest.mark.parametrize("layout", ["k3s", "rke2"])
def test_a_k3s_or_rke2_host_is_verified_in_its_own_template(layout: str) -> None:
    """Detected from the host as the role detects it (its data-dir): the runtime is looked for in that
    distribution's config.toml.tmpl, not in kubeadm's file, which such a host may hold from before."""
    template = DEFAULTS["containerd_config_files"][layout]
    host = healthy(FRA1, "gpu-a01")
    host.dirs.add(DEFAULTS["containerd_distribution_dirs"][layout])
    fails_only(host, FRA1, "gpu-a01", "container-runtime")  # kubeadm's file registers it; the template is missing
    host.files[template] = (
        '{{ template "base" . }}\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes."nvidia"]\n'
    )
    got = fails_only(host, FRA1, "gpu-a01")
    assert got["container-runtime"][1] == (
        f"nvidia-container-toolkit 1.17.4-1; containerd ({layout}, {template}) registers the NVIDIA runtime"
    )


def test_container_toolkit_missing() -> None:
    host = healthy(LAB, "lab-l4-1")
    del host.packages["nvidia-container-toolkit"]
    got = fails_only(host, LAB, "lab-l4-1", "container-runtime")
    assert got["container-runtime"][1] == (
        f"nvidia-container-toolkit missing; containerd (kubeadm, {CONTAINERD_CONFIG}) registers the NVIDIA runtime"
    )


def test_netplan_file_missing() -> None:
    host = healthy(FRA1, "gpu-a01")
    del host.files[NETPLAN]
    got = fails_only(host, FRA1, "gpu-a01", "netplan")
    assert got["netplan"][1] == "/etc/netplan/60-gpuctl.yaml is missing"
    assert "bond-bond0" not in got  # the bond checks read the rendered netplan: nothing to compare


def test_netplan_file_differs() -> None:
    host = healthy(FRA1, "gpu-a01")
    host.files[NETPLAN] = host.files[NETPLAN].replace("mtu: 9000", "mtu: 1500")
    got = fails_only(host, FRA1, "gpu-a01", "netplan")
    assert got["netplan"][1] == "netplan file differs from the site spec"


def test_bond_in_another_mode() -> None:
    host = healthy(FRA1, "gpu-a01")
    path = "/run/systemd/network/10-netplan-bond0.netdev"
    host.files[path] = host.files[path].replace("Mode=802.3ad", "Mode=active-backup")
    got = fails_only(host, FRA1, "gpu-a01", "bond-bond0")
    assert got["bond-bond0"][1] == "networkd bond0: missing or different from the spec"


def test_bond_without_link_monitoring() -> None:
    host = healthy(LAB, "lab-l40s-1")
    path = "/run/systemd/network/10-netplan-bond0.netdev"
    host.files[path] = host.files[path].replace("MIIMonitorSec=100ms\n", "")
    fails_only(host, LAB, "lab-l40s-1", "bond-bond0")


def test_bond_netdev_missing() -> None:
    host = healthy(LAB, "lab-l40s-1")
    del host.files["/run/systemd/network/10-netplan-bond0.netdev"]
    fails_only(host, LAB, "lab-l40s-1", "bond-bond0")


def test_sriov_udev_rule_missing() -> None:
    host = healthy(LAB, "lab-l40s-1")
    del host.files[SRIOV_RULE]
    got = fails_only(host, LAB, "lab-l40s-1", "sriov")
    assert got["sriov"][1] == "VFs {'ens1f1np1': 8} (declared {'ens1f1np1': 8}); SR-IOV udev rule missing"


def test_sriov_vf_count_differs() -> None:
    host = healthy(LAB, "lab-l40s-1")
    host.files[NETPLAN] = host.files[NETPLAN].replace("virtual-function-count: 8", "virtual-function-count: 4")
    got = fails_only(host, LAB, "lab-l40s-1", "netplan", "sriov")
    assert got["sriov"][1] == "VFs {'ens1f1np1': 4} (declared {'ens1f1np1': 8}); SR-IOV udev rule present"


def test_an_externally_managed_network_is_not_checked() -> None:
    s = server(FRA1, "gpu-a01").model_copy(update={"network_externally_managed": True})
    v = {**variables(FRA1, "gpu-a01"), "network_externally_managed": True}
    host: Any = FakeHost()
    assert list(check_network(host, FRA1, s, v)) == []
    assert host.ran == []


# ----- what verify expects comes from the rendered inventory -----


def test_checks_follow_the_inventory_not_literals() -> None:
    """An environment that moves the exporter and the netplan file (an inventory overlay) moves the checks."""
    overlay = Overlay(
        name="test",
        ssh_config=Path("ssh_config"),
        hosts=frozenset({"gpu-a01"}),
        where="a test",
        vars={"dcgm_exporter_port": 9500, "network_netplan_file": "/etc/netplan/50-site.yaml"},
    )
    v = variables(FRA1, "gpu-a01", overlay)
    host = healthy(FRA1, "gpu-a01")
    host.files["/etc/netplan/50-site.yaml"] = host.files.pop(NETPLAN)
    host.commands["9500/metrics"] = host.commands.pop("9400/metrics")
    s = server(FRA1, "gpu-a01")
    got = {cid: ok for check in ALL_CHECKS for cid, ok, _ in check(host, FRA1, s, v)}
    assert got and all(got.values()), got


def test_a_driver_version_set_in_the_site_is_what_verify_expects() -> None:
    text = (ROOT / "inventories" / "lab" / "site.yaml").read_text()
    site = load_site_text(
        text.replace("racks:\n", "provisioning: {driver_version: 550.144.03-0ubuntu1}\n\nracks:\n", 1), "lab.yaml"
    ).site
    host = healthy(LAB, "lab-l4-1")  # the old driver
    got = {
        cid: (ok, msg)
        for check in ALL_CHECKS
        for cid, ok, msg in check(host, site, server(site, "lab-l4-1"), variables(site, "lab-l4-1"))
    }
    assert got["driver-version"] == (
        False,
        "nvidia-driver-550-server 550.127.05-0ubuntu1, declared 550.144.03-0ubuntu1",
    )


@pytest.mark.parametrize(
    ("cmdline", "passed"),
    [("BOOT_IMAGE=/vmlinuz ro quiet", False), ("BOOT_IMAGE=/vmlinuz intel_iommu=on iommu=pt", True)],
)
def test_iommu_is_checked_where_vfs_are_declared(cmdline: str, passed: bool) -> None:
    host = healthy(FRA1, "dgx-b01")
    host.files["/proc/cmdline"] = cmdline + "\n"
    got = list(check_iommu(host, FRA1, server(FRA1, "dgx-b01"), variables(FRA1, "dgx-b01")))
    assert [(cid, ok) for cid, ok, _ in got] == [("iommu", passed)]


def test_iommu_is_not_checked_where_the_inventory_turns_it_off() -> None:
    overlay = Overlay(
        name="test", ssh_config=Path("c"), hosts=frozenset(), where="t", vars={"preflight_iommu_check": False}
    )
    host = healthy(FRA1, "dgx-b01")
    assert list(check_iommu(host, FRA1, server(FRA1, "dgx-b01"), variables(FRA1, "dgx-b01", overlay))) == []
    assert list(check_iommu(host, FRA1, server(FRA1, "gpu-a11"), variables(FRA1, "gpu-a11"))) == []  # no VFs
    assert host.ran == []
