"""`gpuctl verify`: testinfra checks generated from the model, per host.

Each check names what the site declares and what the host has: driver version, GPUs nvidia-smi sees (model,
count, memory), fabric manager present, running and matching the driver on NVSwitch systems, DCGM host engine
and exporter running and listening, the container runtime configured, netplan rendering the declared bonds,
VLANs, MTU and VFs, and IOMMU on the kernel command line when VFs are declared. Live state too: persistence mode
and uncorrected ECC errors, the last XID per GPU (DCGM), bond mode and member state from /proc/net/bonding and
sriov_numvfs from sysfs (each skipped with its reason where the kernel or device has none), and with a
kubeconfig each node's Ready condition, allocatable nvidia.com/gpu and burn-in gate, and every deployment's
health route through the API server's service proxy.

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
from .burnin_results import BurninParseError, parse_dmon, parse_smi_csv
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


Check = Callable[[Any, Site, Server, Vars], Iterator[tuple[str, bool | None, str]]]


def _sh(host: Any, cmd: str) -> Any:
    try:
        return host.run(cmd)
    except RuntimeError as exc:
        # testinfra's SSH backend raises when a command exits 255 (it cannot tell it from ssh's own failure); the
        # host answered before (verify_host checks), so it is the command's status.
        if exc.args and hasattr(exc.args[0], "rc"):
            return exc.args[0]
        raise


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


def containerd_layout(host: Any, v: Vars) -> str:
    """The spec's layout, or the one the containerd role detects (tasks/layout.yml): k3s or RKE2 where its data-dir
    is, else kubeadm's."""
    if v["containerd_layout"] != "auto":
        return str(v["containerd_layout"])
    found = [name for name, path in v["containerd_distribution_dirs"].items() if host.file(path).is_directory]
    return str(found[0]) if found else "kubeadm"


def check_container_runtime(host: Any, site: Site, server: Server, v: Vars) -> Iterator[tuple[str, bool, str]]:
    if not site.gpu_count(server):
        return
    layout = containerd_layout(host, v)
    config = host.file(v["containerd_config_files"][layout])
    runtime = f"runtimes.{v['containerd_nvidia_runtime_name']}]"
    registered = config.exists and runtime in config.content_string.replace('"', "")
    name = v["container_toolkit_package"]
    toolkit = host.package(name)
    yield (
        "container-runtime",
        registered and toolkit.is_installed,
        (
            f"{name} {toolkit.version if toolkit.is_installed else 'missing'}; "
            f"containerd ({layout}, {config.path}) {'registers' if registered else 'does not register'} the NVIDIA "
            "runtime"
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


# Live state ------------------------------------------------------------------------------------------------
# A check yields (id, passed, message); passed None means skipped (the message says why).

SMI_HEALTH = [
    "index",
    "persistence_mode",
    "ecc.errors.uncorrected.volatile.total",
    "ecc.errors.corrected.volatile.total",
]


def check_gpu_health(host: Any, site: Site, server: Server, v: Vars) -> Iterator[tuple[str, bool | None, str]]:
    """Persistence mode on every GPU (nvidia-smi's persistence_mode) and no uncorrected ECC error since the
    driver loaded (ecc.errors.uncorrected.volatile.total; `nvidia-smi --help-query-gpu`)."""
    if not site.gpu_count(server):
        return
    out = _sh(host, f"nvidia-smi --query-gpu={','.join(SMI_HEALTH)} --format=csv,noheader,nounits")
    if out.rc != 0:
        yield "gpu-health", False, f"nvidia-smi failed (rc {out.rc}): {out.stdout.strip() or out.stderr.strip()}"
        return
    try:
        rows = parse_smi_csv(out.stdout, SMI_HEALTH)
    except BurninParseError as exc:
        yield "gpu-health", False, str(exc)
        return
    off = [r["index"] for r in rows if r["persistence_mode"] != "Enabled"]
    yield (
        "persistence-mode",
        not off,
        f"persistence mode off on GPU {', '.join(off)}" if off else f"persistence mode on, {len(rows)} GPUs",
    )
    bad = [f"GPU {r[SMI_HEALTH[0]]}: {r[SMI_HEALTH[2]]}" for r in rows if r[SMI_HEALTH[2]] not in ("0", "[N/A]")]
    corrected = sum(int(r[SMI_HEALTH[3]]) for r in rows if r[SMI_HEALTH[3]].isdigit())
    yield (
        "ecc",
        not bad,
        f"uncorrected ECC errors: {'; '.join(bad)}"
        if bad
        else f"no uncorrected ECC error ({corrected} corrected since the driver loaded)",
    )


def check_xid(host: Any, site: Site, server: Server, v: Vars) -> Iterator[tuple[str, bool | None, str]]:
    """The last XID per GPU, DCGM field 230 (DCGM_FI_DEV_XID_ERRORS) through `dcgmi dmon`: non-zero means the
    driver reported an error (https://docs.nvidia.com/deploy/xid-errors/)."""
    if not site.gpu_count(server):
        return
    out = _sh(host, "dcgmi dmon -e 230 -c 1")
    xids = parse_dmon(out.stdout)
    if out.rc != 0 or not xids:
        yield "xid", False, f"dcgmi dmon failed (rc {out.rc}): {(out.stdout.strip() or out.stderr.strip())[:200]}"
        return
    raised = [f"GPU {g} XID {x}" for g, x in sorted(xids.items()) if x not in ("0", "N/A")]
    yield "xid", not raised, ", ".join(raised) if raised else f"no XID on {len(xids)} GPUs"


# bond_mode_name() in the Linux kernel, drivers/net/bonding/bond_main.c: what /proc/net/bonding/<bond> prints.
BOND_MODE_NAMES = {
    "balance-rr": "load balancing (round-robin)",
    "active-backup": "fault-tolerance (active-backup)",
    "balance-xor": "load balancing (xor)",
    "broadcast": "fault-tolerance (broadcast)",
    "802.3ad": "IEEE 802.3ad Dynamic link aggregation",
    "balance-tlb": "transmit load balancing",
    "balance-alb": "adaptive load balancing",
}


def bond_state(text: str) -> tuple[str, str, dict[str, str]]:
    """/proc/net/bonding/<bond> (drivers/net/bonding/bond_procfs.c): the mode, the bond's MII status and each
    member's MII status."""
    mode = status = ""
    members: dict[str, str] = {}
    current: str | None = None
    for line in text.splitlines():
        key, _, value = (part.strip() for part in line.partition(":"))
        if key == "Bonding Mode":
            mode = value
        elif key == "Slave Interface":
            current = value
            members[current] = ""
        elif key == "MII Status":
            if current is None:
                status = value
            elif not members[current]:
                members[current] = value
    return mode, status, members


def check_bonds_live(host: Any, site: Site, server: Server, v: Vars) -> Iterator[tuple[str, bool | None, str]]:
    if not server.bonds:
        return
    if not host.file("/proc/net/bonding").exists:
        for bond in server.bonds:
            yield f"bond-{bond.name}-live", None, "skipped: the kernel has no bonding driver (no /proc/net/bonding)"
        return
    for bond in server.bonds:
        f = host.file(f"/proc/net/bonding/{bond.name}")
        if not f.exists:
            yield f"bond-{bond.name}-live", False, f"{bond.name} does not exist (no /proc/net/bonding/{bond.name})"
            continue
        mode, status, members = bond_state(f.content_string)
        want_mode = BOND_MODE_NAMES[bond.mode]
        down = [m for m in bond.members if members.get(m) != "up"]
        ok = mode == want_mode and status == "up" and not down
        detail = f"mode '{mode}' (declared '{want_mode}'), MII {status or '?'}"
        if down:
            detail += "; members not up: " + ", ".join(f"{m} ({members.get(m) or 'absent'})" for m in down)
        yield f"bond-{bond.name}-live", ok, detail


def check_sriov_live(host: Any, site: Site, server: Server, v: Vars) -> Iterator[tuple[str, bool | None, str]]:
    for nic in server.nics:
        for port in nic.ports:
            if not port.sriov_vfs:
                continue
            cid = f"sriov-{port.name}-live"
            if not host.file(f"/sys/class/net/{port.name}").exists:
                yield cid, False, f"port {port.name} is not on the host"
                continue
            numvfs = host.file(f"/sys/class/net/{port.name}/device/sriov_numvfs")
            if not numvfs.exists:
                yield cid, None, f"skipped: {port.name} has no sriov_numvfs in sysfs (no SR-IOV device or driver)"
                continue
            have = numvfs.content_string.strip()
            yield cid, have == str(port.sriov_vfs), f"{port.name}: {have} VFs, declared {port.sriov_vfs}"


LIVE_CHECKS = (check_gpu_health, check_xid, check_bonds_live, check_sriov_live)


def check_node(kubeconfig: str, site: Site, server: Server) -> Iterator[tuple[str, bool | None, str]]:
    """The node through the Kubernetes API: Ready, allocatable nvidia.com/gpu equal to the catalog's count, and
    the burn-in gate (label set, not cordoned; else the reason gpuctl burnin annotated)."""
    from ..render.k8s import BURNIN_LABEL, BURNIN_PASSED
    from .k8s_api import BURNIN_REASON, node_state

    state = node_state(kubeconfig, server.name)
    if not state["found"]:
        yield "node-ready", False, f"no node {server.name} in the cluster"
        return
    yield "node-ready", state["ready"], "Ready" if state["ready"] else f"not Ready: {state['ready_reason']}"
    count = site.gpu_count(server)
    if not count:
        return
    have = state["allocatable_gpus"]
    yield "node-gpus", have == str(count), f"allocatable nvidia.com/gpu {have}, catalog {count}"
    passed = state["labels"].get(BURNIN_LABEL) == BURNIN_PASSED and not state["unschedulable"]
    reason = state["annotations"].get(BURNIN_REASON, "")
    if passed:
        msg = "burn-in passed, schedulable"
    else:
        msg = "cordoned" if state["unschedulable"] else "schedulable without the burn-in label"
        msg += f": {reason}" if reason else " (no burn-in verdict: run gpuctl burnin)"
    yield "node-burnin", passed, msg


CHECKS: tuple[Check, ...] = (
    check_driver,
    check_gpus,
    check_fabric_manager,
    check_dcgm,
    check_container_runtime,
    check_network,
    check_iommu,
    *LIVE_CHECKS,
)


def check_endpoints(kubeconfig: str, site: Site) -> Iterator[tuple[str, bool | None, str]]:
    """Each deployment's Service has ready endpoints: pods whose readiness route answers the kubelet's probe.

    Read from the Service's EndpointSlices, not by calling the route: the site's NetworkPolicies admit the engine
    port only from the deployment's router (security/k8s.py), so a call through the API server's service proxy
    (which comes from the API server's host) is dropped by an enforcing CNI, and no policy can name the API
    server's addresses. The kubelet's probe comes from the pod's own node, which NetworkPolicy never blocks
    (https://kubernetes.io/docs/concepts/services-networking/network-policies/, "what you can't do"), so the
    readiness condition is the route's answer on the path the router uses. A deployment whose Service the cluster
    does not have is skipped: serving is not deployed."""
    from .. import engines
    from .k8s_api import endpoint_readiness

    for dep in site.deployments:
        path = engines.get(dep.engine).readiness_path
        deployed, ready, total = endpoint_readiness(kubeconfig, dep.namespace, dep.name)
        if not deployed:
            yield f"endpoint-{dep.name}", None, f"skipped: no Service {dep.namespace}/{dep.name} (not deployed)"
        else:
            msg = f"{dep.namespace}/{dep.name}: {ready} of {total} endpoints ready (readiness probe on {path})"
            yield f"endpoint-{dep.name}", ready > 0, msg


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
            results.append(CheckResult(name, cid, ok is not False, msg, skipped=ok is None))
    return results


def verify(
    site_file: str | Path, target: str = "all", overlay: Overlay | None = None, kubeconfig: str | None = None
) -> list[CheckResult]:
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
    if kubeconfig:
        for h in hosts:
            results += [
                CheckResult(h, cid, ok is not False, msg, skipped=ok is None)
                for cid, ok, msg in check_node(kubeconfig, site, servers[h])
            ]
        results += [
            CheckResult("cluster", cid, ok is not False, msg, skipped=ok is None)
            for cid, ok, msg in check_endpoints(kubeconfig, site)
        ]
    statuses = {h: "passed" if all(r.passed for r in results if r.host == h) else "failed" for h in hosts}
    journal = Journal(STATE_DIR / site.name / "journal.json")
    journal.record_verify(statuses)
    return results
