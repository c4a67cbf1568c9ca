"""`gpuctl verify`: testinfra checks generated from the model, per host.

Each check names what the site declares and what the host has: driver version, GPUs nvidia-smi sees (model,
count, memory), fabric manager present, running and matching the driver on NVSwitch systems, DCGM host engine
and exporter running and listening, the container runtime configured, netplan rendering the declared bonds,
VLANs, MTU and VFs, and IOMMU on the kernel command line when VFs are declared.

What a check expects comes from the host's variables as the roles see them (`roles.host_variables`: the role
defaults under the rendered inventory), so a version, path, port, package or service name is written once; the
GPUs a host should have come from the hardware catalog."""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..loader import load_site
from ..model import Server, Site
from .inventory import SSH_CONFIG, Overlay, inventory, write_ssh_config
from .journal import Journal
from .roles import host_variables
from .runner import STATE_DIR, close_masters, resolve_target

Vars = Mapping[str, Any]


@dataclass(frozen=True)
class CheckResult:
    host: str
    check: str
    passed: bool
    message: str
    skipped: bool = False


Check = Callable[[Any, Site, Server, Vars], Iterator[tuple[str, bool, str]]]


def _sh(host: Any, cmd: str) -> Any:
    return host.run(cmd)


def check_driver(host: Any, site: Site, server: Server, v: Vars) -> Iterator[tuple[str, bool, str]]:
    if not site.gpu_count(server):
        return
    name, version = v["nvidia_driver_package"], v["nvidia_driver_version"]
    pkg = host.package(name)
    have = pkg.version if pkg.is_installed else "not installed"
    yield "driver-version", have == version, f"{name} {have}, declared {version}"


def check_gpus(host: Any, site: Site, server: Server, v: Vars) -> Iterator[tuple[str, bool, str]]:
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
    driver = str(v["nvidia_driver_version"]).split("-")[0]
    versions = sorted({r[2] for r in rows})
    yield "driver-loaded", versions == [driver], f"driver answering {', '.join(versions)}, declared {driver}"


def check_fabric_manager(host: Any, site: Site, server: Server, v: Vars) -> Iterator[tuple[str, bool, str]]:
    if not v["nvidia_driver_nvswitch"] or not site.gpu_count(server):
        return
    name, version = v["nvidia_driver_fabricmanager_package"], v["nvidia_driver_version"]
    pkg = host.package(name)
    if not pkg.is_installed:
        yield "fabric-manager", False, f"{name} is not installed on an NVSwitch system"
        return
    running = _service_running(host, v["nvidia_driver_fabricmanager_service"])
    yield (
        "fabric-manager",
        pkg.version == version and running,
        f"nvidia-fabricmanager {pkg.version} ({'running' if running else 'not running'}), driver {version}",
    )


def _service_running(host: Any, name: str) -> bool:
    return bool(_sh(host, f"/etc/init.d/{shlex.quote(name)} status || systemctl is-active {shlex.quote(name)}").rc == 0)


def check_dcgm(host: Any, site: Site, server: Server, v: Vars) -> Iterator[tuple[str, bool, str]]:
    if not site.gpu_count(server):
        return
    engine = _service_running(host, v["dcgm_service"])
    port = int(v["dcgm_hostengine_port"])
    # nv-hostengine listens on 127.0.0.1 unless told otherwise (nv-hostengine(1),
    # https://docs.nvidia.com/datacenter/dcgm/latest/reference/command-line-reference/nv-hostengine.html); testinfra
    # counts a socket on 0.0.0.0 as listening on 127.0.0.1 only when asked for 0.0.0.0, so both are asked.
    listening = any(host.socket(f"tcp://{a}:{port}").is_listening for a in ("0.0.0.0", "127.0.0.1"))
    yield (
        "dcgm-hostengine",
        engine and listening,
        (
            f"nv-hostengine {'running' if engine else 'not running'}, "
            f"{'listening' if listening else 'not listening'} on {port}"
        ),
    )
    if not v["dcgm_exporter_enabled"]:
        return
    exporter = _service_running(host, v["dcgm_exporter_service"])
    url = f"http://127.0.0.1:{int(v['dcgm_exporter_port'])}/metrics"
    metrics = _sh(
        host, f"python3 -c \"import urllib.request;print(urllib.request.urlopen('{url}', timeout=5).read().decode())\""
    )
    metric = str(v["dcgm_exporter_counters"][0][0])
    has = metric in metrics.stdout
    yield (
        "dcgm-exporter",
        exporter and has,
        (
            f"dcgm-exporter {'running' if exporter else 'not running'}, /metrics "
            f"{'exports ' + metric if has else 'unreachable or empty'}"
        ),
    )


def check_container_runtime(host: Any, site: Site, server: Server, v: Vars) -> Iterator[tuple[str, bool, str]]:
    if not site.gpu_count(server):
        return
    layout = str(v["containerd_layout"]) if v["containerd_layout"] != "auto" else "kubeadm"
    config = host.file(v["containerd_config_files"][layout])
    ok = config.exists and f"runtimes.{v['containerd_nvidia_runtime_name']}]" in config.content_string.replace('"', "")
    name = v["container_toolkit_package"]
    toolkit = host.package(name)
    ok = ok and toolkit.is_installed
    yield (
        "container-runtime",
        ok,
        (
            f"{name} {toolkit.version if toolkit.is_installed else 'missing'}; "
            f"containerd {'registers' if ok else 'does not register'} the NVIDIA runtime"
        ),
    )


def check_network(host: Any, site: Site, server: Server, v: Vars) -> Iterator[tuple[str, bool, str]]:
    want: dict[str, Any] = v["network_netplan"]
    if v["network_externally_managed"] or not ({"ethernets", "bonds", "vlans"} & set(want)):
        return
    path = str(v["network_netplan_file"])
    f = host.file(path)
    if not f.exists:
        yield "netplan", False, f"{path} is missing"
        return
    have = (yaml.safe_load(f.content_string) or {}).get("network", {})
    yield (
        "netplan",
        have == want,
        "netplan file matches the site spec" if have == want else "netplan file differs from the site spec",
    )
    for name, bond in want.get("bonds", {}).items():
        params = bond.get("parameters", {})
        netdev = host.file(f"/run/systemd/network/10-netplan-{name}.netdev")
        text = netdev.content_string if netdev.exists else ""
        ok = (
            "Kind=bond" in text
            and f"Mode={params.get('mode')}" in text
            and (not bond.get("mtu") or f"MTUBytes={bond['mtu']}" in text)
            and (not params.get("mii-monitor-interval") or f"MIIMonitorSec={params['mii-monitor-interval']}ms" in text)
        )
        detail = f"mode {params.get('mode')}, MTU and MII as declared" if ok else "missing or different from the spec"
        yield f"bond-{name}", ok, f"networkd {name}: {detail}"
    vfs = {
        n: e["virtual-function-count"] for n, e in want.get("ethernets", {}).items() if e.get("virtual-function-count")
    }
    if vfs:
        rule = host.file("/run/udev/rules.d/99-sriov-netplan-setup.rules").exists
        counts = {name: have.get("ethernets", {}).get(name, {}).get("virtual-function-count") for name in vfs}
        ok = rule and counts == vfs
        yield "sriov", ok, f"VFs {counts} (declared {vfs}); SR-IOV udev rule {'present' if rule else 'missing'}"


def check_iommu(host: Any, site: Site, server: Server, v: Vars) -> Iterator[tuple[str, bool, str]]:
    if not v["preflight_sriov_required"] or not v["preflight_iommu_check"]:
        return
    cmdline = host.file("/proc/cmdline").content_string.split()
    ok = any(a in cmdline for a in v["preflight_iommu_parameters"])
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
    check_iommu,
)


def _host_for(address: str, ssh_config: Path) -> Any:
    """A testinfra host over OpenSSH with the site's ssh_config: testinfra quotes the -F path and the address
    (its ssh backend runs a shell command line), and every other SSH setting is inside the file."""
    import testinfra

    return testinfra.get_host(f"ssh://{address}", ssh_config=str(ssh_config))


def verify_host(name: str, site: Site, server: Server, ssh_config: Path, v: Vars) -> list[CheckResult]:
    """Run every check on one host, connecting where provisioning does (its `ansible_host`, else its name)."""
    host = _host_for(str(v.get("ansible_host", name)), ssh_config)
    results: list[CheckResult] = []
    try:
        host.run("true")
    except Exception as exc:
        return [CheckResult(name, "reachable", False, f"cannot connect over SSH: {str(exc).splitlines()[0][:200]}")]
    for check in CHECKS:
        for cid, ok, msg in check(host, site, server, v):
            results.append(CheckResult(name, cid, ok, msg))
    return results


def verify(site_file: str | Path, target: str = "all", overlay: Overlay | None = None) -> list[CheckResult]:
    """Check `target`'s hosts against the site; with an overlay, through its SSH configuration and variables."""
    site = load_site(site_file).site
    _, hosts = resolve_target(site, target)
    site_path = Path(site_file)
    ssh_config = write_ssh_config(site, site_path, site_path.parent / "generated" / SSH_CONFIG)
    if overlay is not None:
        ssh_config = overlay.ssh_config
    # Fresh connections, so every one verifies the host key (a kept SSH master would skip it).
    close_masters(ssh_config.parent)
    inv = inventory(site, ssh_config, overlay)
    servers = {s.name: s for _, s in site.all_servers()}
    with ThreadPoolExecutor(max_workers=min(8, len(hosts) or 1)) as pool:
        futures = [pool.submit(verify_host, h, site, servers[h], ssh_config, host_variables(inv, h)) for h in hosts]
        results = [r for f in futures for r in f.result()]
    statuses = {h: "passed" if all(r.passed for r in results if r.host == h) else "failed" for h in hosts}
    journal = Journal(STATE_DIR / site.name / "journal.json")
    journal.record_verify({**journal.data.get("last_verify", {}).get("hosts", {}), **statuses})
    return results
