"""The base root filesystem every lab host overlays: built once with mmdebstrap, cached by its package list.

Never the live machine's directories: a package install on the machine during a run would show through, and
the hosts would inherit its dotfiles and apt configuration (observed when the lab overlaid the live machine's
/etc, /usr and /var: "dpkg was interrupted" in the hosts, root's .bashrc and the apt proxy configuration in
every host; an observation on this project's machines, not a published source)."""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
from pathlib import Path

from ..errors import GpuctlError
from .config import BASE_PACKAGES, SUITE, LabConfig


class LabError(GpuctlError):
    """The lab cannot be built or started; the message says why and what to do."""

    exit_code = 2


def base_key() -> str:
    return hashlib.sha256(f"{SUITE}|{','.join(sorted(BASE_PACKAGES))}|v2".encode()).hexdigest()[:16]


def ensure_base(cfg: LabConfig) -> Path:
    """The unpacked base rootfs directory (built or unpacked from the cached tarball if needed)."""
    key = base_key()
    cfg.cache.mkdir(parents=True, exist_ok=True)
    tarball = cfg.cache / f"base-{key}.tar.zst"
    rootfs = cfg.cache / f"base-{key}"
    with (cfg.cache / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (rootfs / ".gpuctl-ready").exists():
            return rootfs
        if not tarball.exists():
            if shutil.which("mmdebstrap") is None:
                raise LabError("mmdebstrap is not installed: apt-get install mmdebstrap")
            tmp = tarball.with_suffix(".tmp.tar.zst")
            cmd = ["mmdebstrap", "--quiet", "--variant=apt", f"--include={','.join(BASE_PACKAGES)}", SUITE, str(tmp)]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                raise LabError(f"building the lab base with mmdebstrap failed:\n{proc.stderr[-2000:]}")
            tmp.replace(tarball)
        if rootfs.exists():
            shutil.rmtree(rootfs)
        rootfs.mkdir()
        subprocess.run(["tar", "--zstd", "-xpf", str(tarball), "-C", str(rootfs)], check=True)
        (rootfs / ".gpuctl-ready").write_text(key)
    return rootfs
