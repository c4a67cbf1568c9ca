"""`gpuctl verify`: testinfra checks generated from the model, per host.

Each check names what the site declares and what the host has: driver version, GPUs nvidia-smi sees (model,
count, memory), fabric manager present, running and matching the driver on NVSwitch systems, DCGM host engine
and exporter running and listening, the container runtime configured, netplan rendering the declared bonds,
VLANs, MTU and VFs, and IOMMU on the kernel command line when VFs are declared."""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..loader import load_site
from ..model import Server, Site
from ..render.netplan import netplan
from .inventory import SSH_CONFIG, host_vars, write_ssh_config
from .journal import Journal
from .runner import STATE_DIR, close_masters, resolve_target

CONTAINERD_DROPIN = "/etc/containerd/conf.d/99-nvidia.toml"


@dataclass(frozen=True)
class CheckResult:
    host: str
    check: str
    passed: bool
    message: str
    skipped: bool = False


Check = Callable[[Any, Site, Server], Iterator[tuple[str, bool, str]]]


def _sh(host: Any, cmd: str) -> Any:
    return host.run(cmd)


def check_driver(host: Any, site: Site, server: Server) -> Iterator[tuple[str, bool, str]]:
    p = site.provisioning
    if not site.gpu_count(server):
        return
    pkg = host.package(f"nvidia-driver-{p.driver_branch}-server")
    have = pkg.version if pkg.is_installed else "not installed"
    yield (
        "driver-version",
        have == p.driver_version,
        f"nvidia-driver-{p.driver_branch}-server {have}, declared {p.driver_version}",
    )


def check_gpus(host: Any, site: Site, server: Server) -> Iterator[tuple[str, bool, str]]:
    gpu = site.gpu_spec(server)
    if gpu is None:
        return
    out = _sh(host, "nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader,nounits")
    if out.rc != 0:
        yield "gpus", False, f"nvidia-smi failed (rc {out.rc}): {out.stdout.strip() or out.stderr.strip()}"
        return
    rows = [[c.strip() for c in line.split(",")] for line in out.stdout.strip().splitlines()]
    want_name = gpu.smi_name or gpu.name
    count = site.gpu_count(server)
    names = sorted({r[0] for r in rows})
    mem = sorted({r[1] for r in rows})
    ok = len(rows) == count and names == [want_name] and (gpu.memory_mib is None or mem == [str(gpu.memory_mib)])
    yield (
        "gpus",
        ok,
        (
            f"nvidia-smi sees {len(rows)}× {', '.join(names)} ({', '.join(mem)} MiB); declared {count}× "
            f"{want_name} ({gpu.memory_mib or '?'} MiB)"
        ),
    )
    driver = site.provisioning.driver_version.split("-")[0]
    versions = sorted({r[2] for r in rows})
    yield "driver-loaded", versions == [driver], f"driver answering {', '.join(versions)}, declared {driver}"


def check_fabric_manager(host: Any, site: Site, server: Server) -> Iterator[tuple[str, bool, str]]:
    if not site.server_spec(server).nvswitch or not site.gpu_count(server):
        return
    p = site.provisioning
    pkg = host.package(f"nvidia-fabricmanager-{p.driver_branch}")
    if not pkg.is_installed:
        yield "fabric-manager", False, f"nvidia-fabricmanager-{p.driver_branch} is not installed on an NVSwitch system"
        return
    running = _sh(host, "/etc/init.d/nvidia-fabricmanager status || systemctl is-active nvidia-fabricmanager").rc == 0
    ok = pkg.version == p.driver_version and running
    yield (
        "fabric-manager",
        ok,
        (f"nvidia-fabricmanager {pkg.version} ({'running' if running else 'not running'}), driver {p.driver_version}"),
    )


def _service_running(host: Any, name: str) -> bool:
    return bool(_sh(host, f"/etc/init.d/{shlex.quote(name)} status || systemctl is-active {shlex.quote(name)}").rc == 0)


def check_dcgm(host: Any, site: Site, server: Server) -> Iterator[tuple[str, bool, str]]:
    if not site.gpu_count(server):
        return
    engine = _service_running(host, "nvidia-dcgm")
    listening = host.socket("tcp://0.0.0.0:5555").is_listening
    yield (
        "dcgm-hostengine",
        engine and listening,
        (
            f"nv-hostengine {'running' if engine else 'not running'}, "
            f"{'listening' if listening else 'not listening'} on 5555"
        ),
    )
    exporter = _service_running(host, "dcgm-exporter")
    metrics = _sh(
        host,
        "python3 -c \"import urllib.request;print(urllib.request.urlopen('http://127.0.0.1:9400/metrics',"
        ' timeout=5).read().decode())"',
    )
    has = "DCGM_FI_DEV_GPU_UTIL" in metrics.stdout
    yield (
        "dcgm-exporter",
        exporter and has,
        (
            f"dcgm-exporter {'running' if exporter else 'not running'}, /metrics "
            f"{'exports DCGM_FI_DEV_GPU_UTIL' if has else 'unreachable or empty'}"
        ),
    )


def check_container_runtime(host: Any, site: Site, server: Server) -> Iterator[tuple[str, bool, str]]:
    if not site.gpu_count(server):
        return
    dropin = host.file(CONTAINERD_DROPIN)
    main = host.file(site.provisioning.containerd_config)
    ok = (
        dropin.exists
        and "runtimes.nvidia" in dropin.content_string
        and main.exists
        and "conf.d/*.toml" in main.content_string
    )
    toolkit = host.package("nvidia-container-toolkit")
    ok = ok and toolkit.is_installed
    yield (
        "container-runtime",
        ok,
        (
            f"nvidia-container-toolkit {toolkit.version if toolkit.is_installed else 'missing'}; "
            f"containerd {'imports' if ok else 'does not import'} the NVIDIA runtime"
        ),
    )


def check_network(host: Any, site: Site, server: Server) -> Iterator[tuple[str, bool, str]]:
    if server.network_externally_managed or not (server.bonds or server.nics):
        return
    want = netplan(site, server)
    f = host.file("/etc/netplan/60-gpuctl.yaml")
    if not f.exists:
        yield "netplan", False, "/etc/netplan/60-gpuctl.yaml is missing"
        return
    have = (yaml.safe_load(f.content_string) or {}).get("network", {})
    yield (
        "netplan",
        have == want,
        "netplan file matches the site spec" if have == want else "netplan file differs from the site spec",
    )
    for bond in server.bonds:
        netdev = host.file(f"/run/systemd/network/10-netplan-{bond.name}.netdev")
        text = netdev.content_string if netdev.exists else ""
        ok = (
            "Kind=bond" in text
            and f"Mode={bond.mode}" in text
            and (not bond.mtu or f"MTUBytes={bond.mtu}" in text)
            and (not bond.mii_monitor_interval_ms or f"MIIMonitorSec={bond.mii_monitor_interval_ms}ms" in text)
        )
        detail = f"mode {bond.mode}, MTU and MII as declared" if ok else "missing or different from the spec"
        yield f"bond-{bond.name}", ok, f"networkd {bond.name}: {detail}"
    vfs = {p.name: p.sriov_vfs for n in server.nics for p in n.ports if p.sriov_vfs}
    if vfs:
        rule = host.file("/run/udev/rules.d/99-sriov-netplan-setup.rules").exists
        counts = {name: have.get("ethernets", {}).get(name, {}).get("virtual-function-count") for name in vfs}
        ok = rule and counts == vfs
        yield "sriov", ok, f"VFs {counts} (declared {vfs}); SR-IOV udev rule {'present' if rule else 'missing'}"


def check_iommu(host: Any, site: Site, server: Server, lab: bool) -> Iterator[tuple[str, bool, str]]:
    if not any(p.sriov_vfs for n in server.nics for p in n.ports):
        return
    if lab:
        return
    cmdline = host.file("/proc/cmdline").content_string.split()
    ok = any(a in cmdline for a in ("intel_iommu=on", "amd_iommu=on", "iommu=pt", "iommu=on"))
    yield (
        "iommu",
        ok,
        "IOMMU on the kernel command line" if ok else "VFs declared but no IOMMU on the kernel command line",
    )


CHECKS: tuple[Check, ...] = (
    check_driver,
    check_gpus,
    check_fabric_manager,
    check_dcgm,
    check_container_runtime,
    check_network,
)


def _host_for(address: str, ssh_config: Path) -> Any:
    """A testinfra host over OpenSSH with the site's ssh_config: testinfra quotes the -F path and the address
    (its ssh backend runs a shell command line), and every other SSH setting is inside the file."""
    import testinfra

    return testinfra.get_host(f"ssh://{address}", ssh_config=str(ssh_config))


def ssh_address(site: Site, server: Server) -> str:
    """Where verify connects: the management address provisioning uses (ansible_host), else the server name."""
    return str(host_vars(site, server).get("ansible_host", server.name))


def verify_host(name: str, site: Site, server: Server, ssh_config: Path, lab: bool) -> list[CheckResult]:
    host = _host_for(name if lab else ssh_address(site, server), ssh_config)
    results: list[CheckResult] = []
    try:
        host.run("true")
    except Exception as exc:
        return [CheckResult(name, "reachable", False, f"cannot connect over SSH: {str(exc).splitlines()[0][:200]}")]
    for check in CHECKS:
        for cid, ok, msg in check(host, site, server):
            results.append(CheckResult(name, cid, ok, msg))
    for cid, ok, msg in check_iommu(host, site, server, lab):
        results.append(CheckResult(name, cid, ok, msg))
    return results


def verify(site_file: str | Path, target: str = "all", lab: bool = False) -> list[CheckResult]:
    site = load_site(site_file).site
    _, hosts = resolve_target(site, target)
    site_path = Path(site_file)
    ssh_config = write_ssh_config(site, site_path, site_path.parent / "generated" / SSH_CONFIG)
    if lab:
        from ..lab import core
        from .runner import ProvisionError

        state = core.current()
        if state is None:
            raise ProvisionError("no lab is up: run `gpuctl lab up SITE` first (or drop --lab)")
        ssh_config = Path(state.ssh_config)
        close_masters(Path(state.ssh_config).parent)
    servers = {s.name: s for _, s in site.all_servers()}
    with ThreadPoolExecutor(max_workers=min(8, len(hosts) or 1)) as pool:
        futures = [pool.submit(verify_host, h, site, servers[h], ssh_config, lab) for h in hosts]
        results = [r for f in futures for r in f.result()]
    statuses = {h: "passed" if all(r.passed for r in results if r.host == h) else "failed" for h in hosts}
    journal = Journal(STATE_DIR / site.name / "journal.json")
    journal.record_verify({**journal.data.get("last_verify", {}).get("hosts", {}), **statuses})
    return results
