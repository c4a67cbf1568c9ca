"""A secret given to `gpuctl provision --secrets-file` reaches the hosts and nothing else: not a command line on
the controller, not the inventory, the journal, the run's artifacts or gpuctl's output."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from gpuctl.lab import core
from gpuctl.provision.runner import STATE_DIR

from .conftest import LAB_SITE
from .test_provision_lab import gpuctl, ssh

pytestmark = pytest.mark.integration

KUBELET_CONF = "/etc/kubernetes/kubelet.conf"


class ProcessSampler(threading.Thread):
    """Reads every controller-side process's command line and environment every few milliseconds. Lab hosts run in
    their own PID namespaces: the join command executing there is the secret's destination, not a leak."""

    def __init__(self, needle: bytes) -> None:
        super().__init__(daemon=True)
        self.needle = needle
        self.own_ns = Path("/proc/self/ns/pid").readlink()
        self.hits: list[str] = []
        self.samples = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for proc in (p for p in Path("/proc").iterdir() if p.name.isdigit()):
                try:
                    if (proc / "ns" / "pid").readlink() != self.own_ns:
                        continue
                    for what in ("cmdline", "environ"):
                        if self.needle in (proc / what).read_bytes():
                            self.hits.append(f"pid {proc.name} {what}")
                except OSError:
                    continue
            self.samples += 1
            self.stop.wait(0.02)


def files_containing(root: Path, needle: bytes) -> list[str]:
    hits = []
    for path in root.rglob("*"):
        try:
            if path.is_file() and not path.is_symlink() and needle in path.read_bytes():
                hits.append(str(path))
        except OSError:
            continue
    return hits


def test_bootstrap_token_secret_reaches_hosts_only(lab: core.LabState, tmp_path: Path) -> None:
    """The lab API's real bootstrap token, given through the secrets file: the nodes join with it, and it is never on
    a controller process's command line or environment, in the run's output or in a file gpuctl keeps."""
    assert lab.bootstrap_token_file
    canary = Path(lab.bootstrap_token_file).read_text().strip()
    secrets = tmp_path / "secrets.yml"
    secrets.write_text(f'kubernetes_node_bootstrap_token: "{canary}"\n')
    secrets.chmod(0o600)
    hosts = [h.name for h in lab.hosts]
    for host in hosts:
        ssh(lab, host, f"/etc/init.d/kubelet stop >/dev/null 2>&1; rm -f {KUBELET_CONF}")

    sampler = ProcessSampler(canary.encode())
    sampler.start()
    try:
        out = gpuctl(
            "provision", "lab-a", "--site", str(LAB_SITE), "--lab", "--tags", "kubernetes",
            "--secrets-file", str(secrets), "-f", "json",
        )  # fmt: skip
    finally:
        sampler.stop.set()
        sampler.join()
    assert out.returncode == 0, out.stdout + out.stderr
    for host in hosts:
        assert ssh(lab, host, f"stat -c %a {KUBELET_CONF}").strip() == "600", f"{host}: did not join"
        assert ssh(lab, host, "ls /etc/kubernetes").split().count("gpuctl-join.yaml") == 0, "JoinConfiguration kept"
    assert sampler.samples > 10, "the process sampler hardly ran"
    print(f"canary: {sampler.samples} process samples during the run")
    assert sampler.hits == [], f"secret on a controller process: {sampler.hits}"
    assert canary not in out.stdout + out.stderr
    needle = canary.encode()
    leaked = files_containing(STATE_DIR, needle) + files_containing(LAB_SITE.parent, needle)
    assert leaked == [], f"secret written to {leaked}"
    assert not (STATE_DIR / "lab" / "runner" / "env").exists(), "the extra-vars file outlived the run"


def test_secret_on_the_command_line_is_refused(tmp_path: Path) -> None:
    out = gpuctl(
        "provision", "lab-a", "--site", str(LAB_SITE), "--lab",
        "-e", "kubernetes_node_bootstrap_token=abcdef.0123456789abcdef",
    )  # fmt: skip
    assert out.returncode == 2
    assert "--secrets-file" in out.stderr and "Traceback" not in out.stderr


def test_world_readable_secrets_file_is_refused(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.yml"
    secrets.write_text("kubernetes_node_bootstrap_token: abcdef.0123456789abcdef\n")
    secrets.chmod(0o644)
    out = gpuctl("provision", "lab-a", "--site", str(LAB_SITE), "--lab", "--secrets-file", str(secrets))
    assert out.returncode == 2
    assert "chmod 600" in out.stderr and "0123456789abcdef" not in out.stderr
