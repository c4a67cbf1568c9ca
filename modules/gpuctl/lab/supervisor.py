"""The lab's long-lived parent: starts the repository server and every host, then waits.

Hosts are started from this process's main thread with a parent-death signal, so they die with it
(`gpuctl lab down` sends it SIGTERM; a `kill -9` has the same effect)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

# The lab state as core.LabState.save wrote it, read as JSON: importing core (the site loader, the model) would
# cost this process most of a second before it starts any host.
State = dict[str, Any]

HOST_SCRIPT = r"""
set -e
R="$HOSTDIR/root"
mount -t overlay overlay -o "lowerdir=$BASE,upperdir=$HOSTDIR/upper,workdir=$HOSTDIR/work" "$R"
mount -t proc proc "$R/proc"
mount -t sysfs sysfs "$R/sys"
mount -t tmpfs -o mode=755,size=16m tmpfs "$R/dev"
for d in null zero full random urandom tty; do : > "$R/dev/$d"; mount --bind "/dev/$d" "$R/dev/$d"; done
mkdir -p "$R/dev/pts" "$R/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts "$R/dev/pts"
ln -sf pts/ptmx "$R/dev/ptmx"
mount -t tmpfs -o mode=1777 tmpfs "$R/dev/shm"
mount -t tmpfs -o mode=755 tmpfs "$R/run"
mkdir -p "$R/run/sshd" "$R/run/lock"
mount -t tmpfs -o mode=1777 tmpfs "$R/tmp"
hostname "$HOSTNAME_"
cd "$R"
mkdir -p .oldroot
pivot_root . .oldroot
cd /
umount -l /.oldroot
rmdir /.oldroot 2>/dev/null || true
exec /usr/sbin/sshd -D -e
"""


def spawn_host(state: State, h: State) -> subprocess.Popen[bytes]:
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "BASE": state["base"], "HOSTDIR": h["dir"], "HOSTNAME_": h["name"]}
    cmd = [
        "ip",
        "netns",
        "exec",
        h["netns"],
        "setpriv",
        "--pdeathsig",
        "KILL",
        "--",
        "unshare",
        "--mount",
        "--uts",
        "--pid",
        "--fork",
        "--kill-child",
        "--mount-proc",
        "--propagation",
        "private",
        "--",
        "/bin/sh",
        "-c",
        HOST_SCRIPT,
    ]
    return subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL)


def spawn_repo(state: State) -> subprocess.Popen[bytes]:
    repo_ip = state["repo_url"].split("//")[1].split(":")[0]
    ns = state["hosts"][0]["netns"].rsplit("-", 1)[0] + "-repo"
    cmd = [
        "ip",
        "netns",
        "exec",
        ns,
        "setpriv",
        "--pdeathsig",
        "KILL",
        "--",
        sys.executable,
        "-m",
        "gpuctl.lab.repo_server",
        repo_ip,
        "8080",
        str(Path(state["root"]) / "repo"),
    ]
    return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main(path: str) -> None:
    state: State = json.loads(Path(path).read_text())
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    children = [spawn_repo(state)] + [spawn_host(state, h) for h in state["hosts"]]
    print(f"started {len(children) - 1} hosts and the repository", flush=True)
    stop.wait()
    for child in children:
        child.kill()


if __name__ == "__main__":
    main(sys.argv[1])
