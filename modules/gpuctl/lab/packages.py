"""Stand-in NVIDIA packages under their real names, built with dpkg-deb into a signed apt repository.

The driver package installs an nvidia-smi that answers for the GPUs the host is declared to have; daemons
(nv-hostengine, dcgm-exporter, fabric manager, persistenced) ship SysV init scripts because lab hosts have
no systemd. Two driver versions exist so pinning and rolling upgrades can be exercised."""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

DRIVER_BRANCH = "550"
DRIVER_VERSIONS = ("550.127.05-0ubuntu1", "550.144.03-0ubuntu1")
DCGM_VERSION = "1:3.3.9"
TOOLKIT_VERSION = "1.17.4-1"


@dataclass
class Package:
    name: str
    version: str
    description: str
    depends: list[str] = field(default_factory=list)
    files: dict[str, tuple[str, int]] = field(default_factory=dict)  # path -> (content, mode)


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


def catalog() -> list[Package]:
    b = DRIVER_BRANCH
    pkgs: list[Package] = []
    for version in DRIVER_VERSIONS:
        upstream = version.split("-")[0]
        pkgs += [
            Package(
                f"nvidia-kernel-common-{b}",
                version,
                "NVIDIA kernel common files (stand-in)",
                files={f"/usr/lib/nvidia/{upstream}/kernel-common": ("stand-in\n", 0o644)},
            ),
            Package(
                f"nvidia-utils-{b}",
                version,
                "NVIDIA driver support binaries (stand-in nvidia-smi)",
                files={"/usr/bin/nvidia-smi": (_standin("nvidia-smi").replace("@DRIVER_VERSION@", upstream), 0o755)},
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
                files=_service("nvidia-fabricmanager", "nv-fabricmanager", 6666, "NVIDIA Fabric Manager")
                | {f"/usr/share/nvidia/nvswitch/fabricmanager-{upstream}": ("stand-in\n", 0o644)},
            ),
        ]
    pkgs += [
        Package(
            "datacenter-gpu-manager",
            DCGM_VERSION,
            "NVIDIA DCGM (stand-in nv-hostengine)",
            files=_service("nvidia-dcgm", "nv-hostengine", 5555, "NVIDIA DCGM host engine"),
        ),
        Package(
            "dcgm-exporter",
            "3.3.9-3.6.1",
            "DCGM exporter for Prometheus (stand-in)",
            depends=["datacenter-gpu-manager"],
            files=_service("dcgm-exporter", "dcgm-exporter", 9400, "DCGM Prometheus exporter"),
        ),
        Package(
            "nvidia-container-toolkit-base",
            TOOLKIT_VERSION,
            "NVIDIA container toolkit base (stand-in)",
            files={"/usr/bin/nvidia-ctk": ("#!/bin/sh\necho 'NVIDIA Container Toolkit CLI version 1.17.4'\n", 0o755)},
        ),
        Package(
            "nvidia-container-toolkit",
            TOOLKIT_VERSION,
            "NVIDIA container toolkit (stand-in)",
            depends=[f"nvidia-container-toolkit-base (= {TOOLKIT_VERSION})"],
            files={"/usr/bin/nvidia-container-runtime": ("#!/bin/sh\nexit 0\n", 0o755)},
        ),
    ]
    return pkgs


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


def build_repo(repo: Path, packages: list[Package] | None = None, suite: str = "stable") -> Path:
    """A signed flat-component repository at `repo`; returns the path of the binary signing key."""
    if repo.exists():
        shutil.rmtree(repo)
    pool = repo / "pool"
    pool.mkdir(parents=True)
    work = repo.parent / f".{repo.name}-build"
    shutil.rmtree(work, ignore_errors=True)
    for pkg in packages or catalog():
        build_deb(pkg, pool, work)
    shutil.rmtree(work, ignore_errors=True)
    binary = repo / "dists" / suite / "main" / "binary-all"
    binary.mkdir(parents=True)
    packages_txt = subprocess.run(
        ["apt-ftparchive", "packages", "pool"], cwd=repo, check=True, capture_output=True, text=True
    ).stdout
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
            "APT::FTPArchive::Release::Components=main",
            "release",
            f"dists/{suite}",
        ],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    (repo / "dists" / suite / "Release").write_text(release)
    gnupg = repo.parent / ".gnupg-lab"
    shutil.rmtree(gnupg, ignore_errors=True)
    gnupg.mkdir(mode=0o700)
    gpg = ["gpg", "--batch", "--quiet", "--homedir", str(gnupg), "--pinentry-mode", "loopback", "--passphrase", ""]
    subprocess.run(
        [*gpg, "--quick-gen-key", "gpuctl lab repository <lab@gpuctl.invalid>", "ed25519", "sign", "1d"],
        check=True,
        capture_output=True,
    )
    key = repo / "gpuctl-lab-archive-keyring.gpg"
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
    shutil.rmtree(gnupg, ignore_errors=True)
    return key
