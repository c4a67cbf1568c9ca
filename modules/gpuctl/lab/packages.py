"""Stand-in NVIDIA packages under their real names, built with dpkg-deb into a signed apt repository.

The driver package installs an nvidia-smi that answers for the GPUs the host has (its hardware file, written
from the catalog at `lab up` and changed by tests: gpuctl.lab.faults), DCGM a dcgmi with `diag -j` and
`dmon`, dcgm-exporter the exporter stand-in (standins/dcgm_exporter.py, the host's hardware file as DCGM series),
and a stand-in nccl-tests package an all_reduce_perf with `-J`; daemons
(nv-hostengine, dcgm-exporter, fabric manager, persistenced) ship SysV init scripts because lab hosts have
no systemd. The repository carries what the site's spec asks for (driver branch and version, container toolkit
version) plus one newer driver build, so pinning and rolling upgrades can be exercised. Names, ports and paths
are the vendors' own (the stand-ins imitate the real packages; they do not read the roles, so a role that
disagrees with the real packages fails here too)."""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from ..model.k8s import KubernetesSettings
from ..model.site import ProvisioningSettings

# The newer driver build the repository also carries: the rolling upgrade test moves the hosts to it.
UPGRADE_DRIVER_VERSION = "550.144.03-0ubuntu1"
DCGM_VERSION = "1:3.3.9"
DCGM_EXPORTER_VERSION = "3.3.9-3.6.1"
NCCL_TESTS_PACKAGE = "nccl-tests"
NCCL_TESTS_VERSION = "2.19.6-1"
# Ports the real daemons listen on by default: nv-hostengine 5555 (nv-hostengine(1),
# https://docs.nvidia.com/datacenter/dcgm/latest/reference/command-line-reference/nv-hostengine.html),
# dcgm-exporter 9400 (https://github.com/NVIDIA/dcgm-exporter, "-a, --address ... :9400"), fabric manager 6666
# (FM_CMD_PORT_NUMBER, https://docs.nvidia.com/datacenter/tesla/fabric-manager-user-guide/).
HOSTENGINE_PORT = 5555
EXPORTER_PORT = 9400
FABRICMANAGER_PORT = 6666
SUITE = "stable"
COMPONENT = "main"
KEYRING = "gpuctl-lab-archive-keyring.gpg"


@dataclass
class Package:
    name: str
    version: str
    description: str
    depends: list[str] = field(default_factory=list)
    files: dict[str, tuple[str, int]] = field(default_factory=dict)  # path -> (content, mode)


def upstream(version: str) -> str:
    """The upstream part of a Debian version (550.127.05-0ubuntu1 -> 550.127.05), what the tools print."""
    return version.split(":", 1)[-1].split("-")[0]


def _standin(name: str) -> str:
    return resources.files(__package__).joinpath("standins", name).read_text(encoding="utf-8")


def _service(name: str, program: str, port: int, description: str) -> dict[str, tuple[str, int]]:
    init = (
        _standin("init.sh")
        .replace("@NAME@", name)
        .replace("@PROGRAM@", program)
        .replace("@PORT@", str(port))
        .replace("@DESCRIPTION@", description)
    )
    init = init.replace("/usr/lib/gpuctl-lab/daemon.py", f"/usr/lib/gpuctl-lab/{name}/daemon.py")
    return {
        f"/etc/init.d/{name}": (init, 0o755),
        f"/usr/lib/gpuctl-lab/{name}/daemon.py": (_standin("daemon.py"), 0o755),
    }


# The dcgm-exporter stand-in (standins/dcgm_exporter.py) where the lab's package installs it, the pid file its init
# script keeps, and its command line: `gpuctl lab up` starts the same command in each GPU host (gpuctl.lab.exporters)
# and the package's init script runs it when the dcgm role (re)starts the service. The counters file is the dcgm
# role's dcgm_exporter_counters_file (the real package's default path).
EXPORTER_DIR = "/usr/lib/gpuctl-lab/dcgm-exporter"
EXPORTER_PIDFILE = "/run/dcgm-exporter.pid"  # init.sh's /run/$NAME.pid
EXPORTER_ARGS = ("--listen", f"0.0.0.0:{EXPORTER_PORT}", "--counters", "/etc/dcgm-exporter/default-counters.csv")


def exporter_files() -> dict[str, tuple[str, int]]:
    return {
        f"{EXPORTER_DIR}/dcgm_exporter.py": (_standin("dcgm_exporter.py"), 0o755),
        f"{EXPORTER_DIR}/metrics_http.py": (_standin("metrics_http.py"), 0o644),
    }


def _exporter_service() -> dict[str, tuple[str, int]]:
    init = (
        _standin("init.sh")
        .replace("@NAME@", "dcgm-exporter")
        .replace("@DESCRIPTION@", "DCGM Prometheus exporter")
        .replace("/usr/lib/gpuctl-lab/daemon.py", f"{EXPORTER_DIR}/dcgm_exporter.py")
        .replace("@PROGRAM@ @PORT@", " ".join(EXPORTER_ARGS))
    )
    return {"/etc/init.d/dcgm-exporter": (init, 0o755), **exporter_files()}


def kubernetes_packages(kubernetes: KubernetesSettings) -> list[Package]:
    """kubeadm, kubelet and kubectl under their real names at the spec's version (pkgs.k8s.io names them so:
    https://kubernetes.io/docs/setup/production-environment/tools/kubeadm/install-kubeadm/). Debian has no kubelet,
    so these are stand-ins; see standins/kubeadm and standins/kubelet for what they do and refuse."""
    version = f"{kubernetes.version}-{kubernetes.package_revision}"

    def tool(name: str) -> str:
        return _standin(name).replace("@VERSION@", kubernetes.version)

    init = (
        _standin("init.sh")
        .replace("@NAME@", "kubelet")
        .replace("@DESCRIPTION@", "kubelet")
        .replace("DAEMON=/usr/lib/gpuctl-lab/daemon.py", "DAEMON=/usr/bin/kubelet")
        .replace(" @PROGRAM@ @PORT@", "")
    )
    return [
        Package(
            "kubelet",
            version,
            "Kubernetes node agent (stand-in)",
            files={"/usr/bin/kubelet": (tool("kubelet"), 0o755), "/etc/init.d/kubelet": (init, 0o755)},
        ),
        Package(
            "kubeadm",
            version,
            "Kubernetes cluster bootstrapping tool (stand-in)",
            depends=[f"kubelet (= {version})"],
            files={"/usr/bin/kubeadm": (tool("kubeadm"), 0o755)},
        ),
        Package(
            "kubectl", version, "Kubernetes client (stand-in)", files={"/usr/bin/kubectl": (tool("kubectl"), 0o755)}
        ),
    ]


def catalog(provisioning: ProvisioningSettings) -> list[Package]:
    """The packages a site's hosts install, at the versions its spec declares, plus the upgrade driver build."""
    b = provisioning.driver_branch
    toolkit = provisioning.container_toolkit_version
    pkgs: list[Package] = []
    for version in dict.fromkeys((provisioning.driver_version, UPGRADE_DRIVER_VERSION)):
        smi_version = upstream(version)
        pkgs += [
            Package(
                f"nvidia-kernel-common-{b}",
                version,
                "NVIDIA kernel common files (stand-in)",
                files={f"/usr/lib/nvidia/{smi_version}/kernel-common": ("stand-in\n", 0o644)},
            ),
            Package(
                f"nvidia-utils-{b}",
                version,
                "NVIDIA driver support binaries (stand-in nvidia-smi)",
                files={"/usr/bin/nvidia-smi": (_standin("nvidia-smi").replace("@DRIVER_VERSION@", smi_version), 0o755)},
            ),
            Package(
                f"nvidia-compute-utils-{b}",
                version,
                "NVIDIA compute utilities (stand-in persistenced)",
                files=_service("nvidia-persistenced", "nvidia-persistenced", 0, "NVIDIA persistence daemon"),
            ),
            Package(
                f"nvidia-driver-{b}-server",
                version,
                "NVIDIA driver metapackage (stand-in)",
                depends=[
                    f"nvidia-utils-{b} (= {version})",
                    f"nvidia-compute-utils-{b} (= {version})",
                    f"nvidia-kernel-common-{b} (= {version})",
                ],
            ),
            Package(
                f"nvidia-fabricmanager-{b}",
                version,
                "NVIDIA Fabric Manager (stand-in)",
                files=_service("nvidia-fabricmanager", "nv-fabricmanager", FABRICMANAGER_PORT, "NVIDIA Fabric Manager")
                | {f"/usr/share/nvidia/nvswitch/fabricmanager-{smi_version}": ("stand-in\n", 0o644)},
            ),
        ]
    pkgs += [
        Package(
            "datacenter-gpu-manager",
            DCGM_VERSION,
            "NVIDIA DCGM (stand-in nv-hostengine)",
            files=_service("nvidia-dcgm", "nv-hostengine", HOSTENGINE_PORT, "NVIDIA DCGM host engine")
            | {"/usr/bin/dcgmi": (_standin("dcgmi"), 0o755)},
        ),
        # NVIDIA ships nccl-tests as source (https://github.com/NVIDIA/nccl-tests), not as a package: a site
        # builds it into its own mirror; the lab's repository plays that mirror with a stand-in.
        Package(
            NCCL_TESTS_PACKAGE,
            NCCL_TESTS_VERSION,
            "nccl-tests all_reduce_perf (stand-in)",
            files={"/usr/bin/all_reduce_perf": (_standin("all_reduce_perf"), 0o755)},
        ),
        Package(
            "dcgm-exporter",
            DCGM_EXPORTER_VERSION,
            "DCGM exporter for Prometheus (stand-in)",
            depends=["datacenter-gpu-manager"],
            files=_exporter_service(),
        ),
        Package(
            "nvidia-container-toolkit-base",
            toolkit,
            "NVIDIA container toolkit base (stand-in)",
            files={
                "/usr/bin/nvidia-ctk": (
                    f"#!/bin/sh\necho 'NVIDIA Container Toolkit CLI version {upstream(toolkit)}'\n",
                    0o755,
                )
            },
        ),
        Package(
            "nvidia-container-toolkit",
            toolkit,
            "NVIDIA container toolkit (stand-in)",
            depends=[f"nvidia-container-toolkit-base (= {toolkit})"],
            files={"/usr/bin/nvidia-container-runtime": ("#!/bin/sh\nexit 0\n", 0o755)},
        ),
    ]
    return pkgs


def debian_packages(provisioning: ProvisioningSettings, cache: Path) -> list[Path]:
    """The real Debian containerd and runc at the spec's versions, downloaded once into the cache (the lab hosts are
    Debian 12 and air-gapped: the lab repository serves them)."""
    from .base import LabError

    rt = provisioning.container_runtime
    want = {"containerd": rt.containerd_version, "runc": rt.runc_version}
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    out = []
    for name, version in want.items():
        found = sorted(debs.glob(f"{name}_{version.split(':')[-1]}_*.deb"))
        if not found:
            proc = subprocess.run(
                ["apt-get", "-q", "-o", "APT::Sandbox::User=root", "download", f"{name}={version}"],
                cwd=debs,
                capture_output=True,
                text=True,
                check=False,
            )
            found = sorted(debs.glob(f"{name}_{version.split(':')[-1]}_*.deb"))
            if proc.returncode != 0 or not found:
                raise LabError(
                    f"cannot download the Debian package {name}={version} for the lab: {proc.stderr.strip()[-300:]} "
                    "(the machine needs its Debian 12 sources and `apt-get update`; or set "
                    "provisioning.container_runtime versions that Debian 12 has)"
                )
        out.append(found[-1])
    return out


def build_deb(pkg: Package, out: Path, work: Path) -> Path:
    root = work / f"{pkg.name}_{pkg.version.replace(':', '%3a')}"
    (root / "DEBIAN").mkdir(parents=True)
    control = textwrap.dedent(f"""\
        Package: {pkg.name}
        Version: {pkg.version}
        Architecture: all
        Maintainer: gpuctl lab <lab@gpuctl.invalid>
        Description: {pkg.description}
        """)
    if pkg.depends:
        control += f"Depends: {', '.join(pkg.depends)}\n"
    (root / "DEBIAN" / "control").write_text(control)
    for path, (content, mode) in pkg.files.items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
        target.chmod(mode)
    deb = out / f"{pkg.name}_{pkg.version.split(':')[-1]}_all.deb"
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(root), str(deb)], check=True, capture_output=True
    )
    return deb


def build_debs(packages: list[Package], out: Path) -> list[Path]:
    """Each stand-in's .deb in `out`, built once per `lab up` (its repositories link to them), a few at a time."""
    from concurrent.futures import ThreadPoolExecutor

    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    work = out.parent / f".{out.name}-build"
    shutil.rmtree(work, ignore_errors=True)
    with ThreadPoolExecutor(max_workers=4) as pool:
        debs = list(pool.map(lambda pkg: build_deb(pkg, out, work), packages))
    shutil.rmtree(work, ignore_errors=True)
    return debs


def _place(deb: Path, pool: Path) -> None:
    """A hard link where the file system allows one (the repositories share their .debs), else a copy."""
    try:
        (pool / deb.name).hardlink_to(deb)
    except OSError:
        shutil.copy2(deb, pool / deb.name)


def build_repo(repo: Path, debs: list[Path], gnupg: Path, suite: str = SUITE) -> Path:
    """A signed one-component repository at `repo` of `debs` (stand-ins and real packages), signed with the key in
    `gnupg` (made there by the first repository that needs it); returns the path of the binary signing key."""
    if repo.exists():
        shutil.rmtree(repo)
    pool = repo / "pool"
    pool.mkdir(parents=True)
    for deb in debs:
        _place(deb, pool)
    packages_txt = subprocess.run(
        ["apt-ftparchive", "packages", "pool"], cwd=repo, check=True, capture_output=True, text=True
    ).stdout
    for arch in ("all", "amd64", "arm64"):
        binary = repo / "dists" / suite / COMPONENT / f"binary-{arch}"
        binary.mkdir(parents=True)
        (binary / "Packages").write_text(packages_txt)
    release = subprocess.run(
        [
            "apt-ftparchive",
            "-o",
            f"APT::FTPArchive::Release::Suite={suite}",
            "-o",
            f"APT::FTPArchive::Release::Codename={suite}",
            "-o",
            "APT::FTPArchive::Release::Architectures=all amd64 arm64",
            "-o",
            f"APT::FTPArchive::Release::Components={COMPONENT}",
            "release",
            f"dists/{suite}",
        ],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    (repo / "dists" / suite / "Release").write_text(release)
    gpg = ["gpg", "--batch", "--quiet", "--homedir", str(gnupg), "--pinentry-mode", "loopback", "--passphrase", ""]
    if not gnupg.exists():
        gnupg.mkdir(mode=0o700, parents=True)
        subprocess.run(
            [*gpg, "--quick-gen-key", "gpuctl lab repository <lab@gpuctl.invalid>", "ed25519", "sign", "1d"],
            check=True,
            capture_output=True,
        )
    key = repo / KEYRING
    subprocess.run([*gpg, "--output", str(key), "--export", "lab@gpuctl.invalid"], check=True, capture_output=True)
    dist = repo / "dists" / suite
    subprocess.run(
        [*gpg, "--clearsign", "--output", str(dist / "InRelease"), str(dist / "Release")],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [*gpg, "--armor", "--detach-sign", "--output", str(dist / "Release.gpg"), str(dist / "Release")],
        check=True,
        capture_output=True,
    )
    return key
