"""`gpuctl lab up` / `gpuctl lab down`: the same code serves the CLI and the pytest fixture."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..loader import load_site
from ..model import Site
from ..provision.inventory import Overlay
from .base import LabError, ensure_base
from .config import LabConfig
from .faults import hardware, healthy_busbw
from .net import Attachment, attach, create_bridge, lab_links, lab_namespaces, ns_run, run
from .packages import (
    COMPONENT,
    KEYRING,
    NCCL_TESTS_PACKAGE,
    SUITE,
    build_debs,
    build_repo,
    catalog,
    debian_packages,
    kubernetes_packages,
)

READY_TIMEOUT_S = 30.0
KUBE_API_PORT = 6443

# What a lab host needs besides its address: it shares the machine's kernel (no IOMMU to check, no sysctl to
# apply, no bonds to bring up, no reboot) and runs no systemd and no container runtime (SysV init scripts of the
# stand-in packages); everything else runs as in production. The lab's inventory overlay carries these.
LAB_VARS: dict[str, Any] = {
    "preflight_iommu_check": False,
    "base_apply_sysctl": False,
    "network_apply": False,
    "nvidia_driver_reboot_allowed": False,
    "containerd_restart": False,
    "nvidia_driver_service_manager": "sysvinit",
    "dcgm_service_manager": "sysvinit",
    "containerd_service_manager": "sysvinit",
    "kubernetes_node_service_manager": "sysvinit",
    # The test API speaks plain HTTP: there is no CA to pin.
    "kubernetes_node_unsafe_skip_ca_verification": True,
    # nccl-tests is not an NVIDIA package: the lab's repository plays the site mirror that carries a build.
    "burnin_nccl_tests_package": NCCL_TESTS_PACKAGE,
}


@dataclass(frozen=True)
class LabHost:
    name: str
    ip: str
    netns: str
    dir: str
    gpu_name: str | None
    gpu_count: int
    memory_mib: int
    nccl_busbw_gbs: float = 0.0
    power_limit_w: float = 0.0  # the catalog GPU's board power: the enforced limit its stand-in exporter reports


@dataclass
class LabState:
    site_file: str
    rack: str | None
    root: str
    base: str
    repo_url: str
    repo_key: str
    ssh_config: str
    known_hosts: str
    private_key: str
    hosts: list[LabHost]
    supervisor_pid: int | None = None
    kube_api: str | None = None  # host:port of the test Kubernetes API (gpuctl.lab.kube_api)
    kubeconfig: str | None = None  # its admin kubeconfig (0600)
    bootstrap_token_file: str | None = None  # a bootstrap token for joins (0600)
    kube_api_pid: int | None = None
    exporter_pids: dict[str, int] = field(default_factory=dict)  # host -> its dcgm-exporter (lab/exporters.py)

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> LabState:
        data = json.loads(path.read_text())
        data["hosts"] = [LabHost(**h) for h in data["hosts"]]
        return cls(**data)

    @property
    def addresses(self) -> dict[str, str]:
        return {h.name: h.ip for h in self.hosts}


def inventory_overlay(state: LabState) -> Overlay:
    """The lab's layer over the site's inventory: LAB_VARS, the lab repository, each host by its name in the
    lab's own ssh_config (which holds its address, key and known_hosts)."""
    return Overlay(
        name="lab",
        ssh_config=Path(state.ssh_config),
        hosts=frozenset(state.addresses),
        where=f"the running lab (started from {state.site_file}, rack {state.rack or 'all'})",
        vars={
            **LAB_VARS,
            "nvidia_driver_repo_url": state.repo_url,
            "nvidia_driver_repo_suite": SUITE,
            "nvidia_driver_repo_components": COMPONENT,
            "nvidia_driver_repo_key_url": f"{state.repo_url}/{KEYRING}",
            # containerd, runc and the Kubernetes packages come from the lab repository the driver role adds
            "kubernetes_node_repo_url": "",
            **(
                {
                    "kubernetes_node_api_server_endpoint": state.kube_api,
                    "kubernetes_node_bootstrap_token_file": state.bootstrap_token_file,
                }
                if state.kube_api
                else {}
            ),
        },
        host_vars={h: {"ansible_host": h} for h in state.addresses},
    )


def running_overlay(cfg: LabConfig | None = None) -> Overlay:
    """The overlay of the lab that is up; an error saying how to start one when none is."""
    state = current(cfg)
    if state is None:
        raise LabError("no lab is up: run `gpuctl lab up SITE` first (or drop --lab)")
    return inventory_overlay(state)


def require_root() -> None:
    if os.geteuid() != 0:
        raise LabError("the lab needs root (network namespaces, overlay mounts, sshd): run it with sudo")


def state_path(cfg: LabConfig) -> Path:
    return cfg.root / "lab.json"


def current(cfg: LabConfig | None = None) -> LabState | None:
    cfg = cfg or LabConfig()
    path = state_path(cfg)
    return LabState.load(path) if path.exists() else None


def _hosts(site: Site, rack: str | None, cfg: LabConfig) -> list[LabHost]:
    servers = [(r, s) for r, s in site.all_servers() if rack is None or r.name == rack]
    if rack is not None and not any(r.name == rack for r in site.racks):
        raise LabError(f"site {site.name} has no rack '{rack}'; racks: {', '.join(r.name for r in site.racks)}")
    if not servers:
        raise LabError("no servers to start")
    if len(servers) > 200:
        raise LabError(f"{len(servers)} hosts is more than the lab subnet holds (200)")
    hosts = []
    for i, (_, server) in enumerate(servers):
        gpu = site.gpu_spec(server)
        hosts.append(
            LabHost(
                name=server.name,
                ip=cfg.address(10 + i),
                netns=cfg.netns(f"h{i}"),
                dir=str(cfg.root / "hosts" / server.name),
                gpu_name=(gpu.smi_name or gpu.name) if gpu else None,
                gpu_count=site.gpu_count(server),
                memory_mib=(gpu.memory_mib or 0) if gpu else 0,
                nccl_busbw_gbs=healthy_busbw(gpu),
                power_limit_w=gpu.board_power_w if gpu else 0.0,
            )
        )
    return hosts


def _prepare_host(h: LabHost, index: int, client_pub: str) -> str:
    """Write the host's own files into its overlay upper dir; returns its public host key line."""
    d = Path(h.dir)
    upper = d / "upper"
    for sub in ("upper", "work", "root"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    (upper / "etc" / "ssh" / "sshd_config.d").mkdir(parents=True, exist_ok=True)
    (upper / "etc" / "gpuctl-lab").mkdir(parents=True, exist_ok=True)
    (upper / "root" / ".ssh").mkdir(parents=True, mode=0o700, exist_ok=True)
    (upper / "etc" / "apt" / "sources.list.d").mkdir(parents=True, exist_ok=True)
    (upper / "etc" / "hostname").write_text(f"{h.name}\n")
    (upper / "etc" / "hosts").write_text(f"127.0.0.1 localhost\n{h.ip} {h.name}\n")
    # The lab is air-gapped: the base's Debian mirror is hidden, only gpuctl's repository exists.
    (upper / "etc" / "apt" / "sources.list").write_text("# lab host: no upstream mirror\n")
    (upper / "etc" / "apt" / "sources.list.d" / "debian.sources").write_text("")
    # No systemd runs in a lab host (sshd is PID 1), but the base has systemctl (netplan pulls it in): hide it
    # with an overlay whiteout so service management takes the SysV path the stand-in packages provide.
    for tool in ("systemctl",):
        whiteout = upper / "usr" / "bin" / tool
        whiteout.parent.mkdir(parents=True, exist_ok=True)
        if not whiteout.exists():
            os.mknod(whiteout, stat.S_IFCHR | 0o000, os.makedev(0, 0))
    key = upper / "etc" / "ssh" / "ssh_host_ed25519_key"
    if not key.exists():
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"root@{h.name}", "-f", str(key)])
    (upper / "etc" / "ssh" / "sshd_config.d" / "gpuctl-lab.conf").write_text(
        "PermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        "UseDNS no\nHostKey /etc/ssh/ssh_host_ed25519_key\nMaxStartups 100:30:200\nMaxSessions 50\n"
    )
    auth = upper / "root" / ".ssh" / "authorized_keys"
    auth.write_text(client_pub)
    auth.chmod(0o600)
    (upper / "etc" / "gpuctl-lab" / "hardware.json").write_text(json.dumps(hardware(h, index), indent=1))
    pub = key.with_suffix(".pub").read_text().split()
    return f"{pub[0]} {pub[1]}"


def _write_ssh(cfg: LabConfig, hosts: list[LabHost], host_keys: dict[str, str], private_key: Path) -> tuple[Path, Path]:
    ssh = cfg.root / "ssh"
    known = ssh / "known_hosts"
    known.write_text("".join(f"{h.name},{h.ip} {host_keys[h.name]}\n" for h in hosts))
    config = ssh / "ssh_config"
    blocks = []
    for h in hosts:
        blocks.append(
            f"Host {h.name}\n  HostName {h.ip}\n  User root\n  IdentityFile {private_key}\n  IdentitiesOnly yes\n"
            f"  UserKnownHostsFile {known}\n  StrictHostKeyChecking yes\n  ControlMaster auto\n"
            f"  ControlPath {ssh}/cm-%C\n  ControlPersist 120s\n  ConnectTimeout 10\n"
            "  ServerAliveInterval 5\n  ServerAliveCountMax 3\n"
        )
    config.write_text("\n".join(blocks))
    return config, known


def _wait_ssh(hosts: list[LabHost], timeout: float, on_ready: Callable[[LabHost], object] = id) -> None:
    """Until every host's sshd answers; `on_ready(host)` as each one does (the others still starting)."""
    deadline = time.monotonic() + timeout
    pending = {h.name: h for h in hosts}
    while pending and time.monotonic() < deadline:
        for name, h in list(pending.items()):
            try:
                with socket.create_connection((h.ip, 22), timeout=0.2) as sock:
                    if sock.recv(16).startswith(b"SSH-"):
                        del pending[name]
                        on_ready(h)
            except OSError:
                pass
        if pending:
            time.sleep(0.05)
    if pending:
        raise LabError(
            f"lab hosts did not start sshd within {timeout:.0f} s: {', '.join(sorted(pending))} "
            f"(see {hosts[0].dir.rsplit('/hosts/', 1)[0]}/supervisor.log)"
        )


def wait_port(ip: str, port: int, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((ip, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise LabError(f"{what} did not start within {timeout:.0f} s")


def up(site_file: str | Path, rack: str | None = None, cfg: LabConfig | None = None) -> LabState:
    require_root()
    cfg = cfg or LabConfig()
    site = load_site(site_file).site
    cfg.root.mkdir(parents=True, exist_ok=True)
    with (cfg.root.parent / f".{cfg.root.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _down(cfg)
        cfg.root.mkdir(parents=True, exist_ok=True)
        base = ensure_base(cfg)
        hosts = _hosts(site, rack, cfg)
        repo_dir = cfg.root / "repo"
        packages = catalog(site.provisioning) + kubernetes_packages(site.cluster.kubernetes)
        debs = debian_packages(site.provisioning, cfg.cache)
        all_debs = build_debs(packages, cfg.root / "debs") + debs
        gnupg = cfg.root / ".gnupg-lab"  # one throwaway signing key for the three, removed with the lab
        key = build_repo(repo_dir, all_debs, gnupg)
        # Two more repositories under the same server, for offline-mirror runs: a complete mirror, and one
        # that lacks the fabric manager (the "package missing from the mirror" fault).
        build_repo(repo_dir / "mirror", all_debs, gnupg)
        build_repo(repo_dir / "partial", [d for d in all_debs if "fabricmanager" not in d.name], gnupg)
        ssh = cfg.root / "ssh"
        ssh.mkdir(mode=0o700, exist_ok=True)
        private = ssh / "id_ed25519"
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "gpuctl-lab", "-f", str(private)])
        client_pub = private.with_suffix(".pub").read_text()
        with ThreadPoolExecutor(max_workers=4) as pool:  # an ssh-keygen process each: a few at a time
            keys = pool.map(lambda ih: _prepare_host(ih[1], ih[0], client_pub), enumerate(hosts))
            host_keys = dict(zip([h.name for h in hosts], keys, strict=True))
        config, known = _write_ssh(cfg, hosts, host_keys, private)
        create_bridge(cfg)
        servers = {s.name: s for _, s in site.all_servers()}
        attach(
            cfg,
            [
                Attachment("rt", cfg.netns("router"), cfg.router_ip, None),
                Attachment("repo", cfg.netns("repo"), cfg.repo_ip, cfg.router_ip),
                # NIC port names are the site's wiring (no catalog fact): the one thing a lab host takes from the spec.
                *(
                    Attachment(
                        f"h{i}",
                        h.netns,
                        h.ip,
                        cfg.router_ip,
                        tuple(p.name for n in servers[h.name].nics for p in n.ports),
                    )
                    for i, h in enumerate(hosts)
                ),
            ],
        )
        ns_run(cfg.netns("router"), "sysctl", "-qw", "net.ipv4.ip_forward=0")
        state = LabState(
            site_file=str(site_file),
            rack=rack,
            root=str(cfg.root),
            base=str(base),
            repo_url=f"http://{cfg.repo_ip}:8080",
            repo_key=str(key),
            ssh_config=str(config),
            known_hosts=str(known),
            private_key=str(private),
            hosts=hosts,
        )
        state.save(state_path(cfg))
        state.supervisor_pid = _spawn(cfg.root / "supervisor.log", "gpuctl.lab.supervisor", str(state_path(cfg)))
        state.save(state_path(cfg))
        _start_kube_api(cfg, state)
        from . import exporters  # it builds on this module

        launched: dict[str, tuple[LabHost, subprocess.Popen[bytes]]] = {}

        def launch_exporter(h: LabHost) -> None:  # as soon as the host's sshd answers, not after all of them
            if exporters.runs_one(h):
                launched[h.name] = (h, exporters.launch(h))

        try:
            _wait_ssh(hosts, READY_TIMEOUT_S, launch_exporter)
            wait_port(cfg.repo_ip, 8080, READY_TIMEOUT_S, "the lab package repository")
            wait_port(cfg.controller_ip, KUBE_API_PORT, READY_TIMEOUT_S, "the lab's test Kubernetes API")
            state.exporter_pids = exporters.ready_all(launched)
            state.save(state_path(cfg))
        except LabError:
            _down(cfg)
            raise
        return state


def _start_kube_api(cfg: LabConfig, state: LabState) -> None:
    """The test Kubernetes API on the controller's lab address, where the hosts' kubeadm and kubelet reach it."""
    kube = cfg.root / "kube"
    kube.mkdir(mode=0o700, exist_ok=True)
    state.kube_api = f"{cfg.controller_ip}:{KUBE_API_PORT}"
    state.kubeconfig = str(kube / "admin.kubeconfig")
    state.bootstrap_token_file = str(kube / "bootstrap-token")
    state.kube_api_pid = _spawn(
        cfg.root / "kube-api.log",
        "gpuctl.lab.kube_api",
        cfg.controller_ip,
        str(KUBE_API_PORT),
        state.kubeconfig,
        state.bootstrap_token_file,
    )
    state.save(state_path(cfg))


def _spawn(log_file: Path, module: str, *args: str) -> int:
    """A long-lived lab process in its own session (it outlives `lab up`; `lab down` stops it by its PID)."""
    with log_file.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return proc.pid


def down(cfg: LabConfig | None = None) -> None:
    require_root()
    cfg = cfg or LabConfig()
    cfg.root.parent.mkdir(parents=True, exist_ok=True)
    with (cfg.root.parent / f".{cfg.root.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _down(cfg)


def _down(cfg: LabConfig) -> None:
    """Idempotent: finds everything by the lab's prefix and root, whether or not a state file exists."""
    path = state_path(cfg)
    if path.exists():
        try:
            pid = LabState.load(path).supervisor_pid
        except (ValueError, KeyError, TypeError):
            pid = None
        try:
            api_pid = LabState.load(path).kube_api_pid
            exporter_pids = list(LabState.load(path).exporter_pids.values())
        except (ValueError, KeyError, TypeError):
            api_pid, exporter_pids = None, []
        for one in (pid, api_pid, *exporter_pids):
            if one:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(one, signal.SIGTERM)
    for ns in lab_namespaces(cfg):
        pids = run(["ip", "netns", "pids", ns], check=False).stdout.split()
        for p in pids:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(p), signal.SIGKILL)
    for ns in lab_namespaces(cfg):
        run(["ip", "netns", "delete", ns], check=False)
    for link in lab_links(cfg):
        run(["ip", "link", "delete", link], check=False)
    root = str(cfg.root.resolve())
    mounts = [
        line.split()[1]
        for line in Path("/proc/mounts").read_text().splitlines()
        if line.split()[1].startswith(root + "/")
    ]
    for m in sorted(mounts, key=len, reverse=True):
        run(["umount", "-l", m], check=False)
    if cfg.root.exists():
        shutil.rmtree(cfg.root, ignore_errors=True)
