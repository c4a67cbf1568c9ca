"""The OpenSSH client configuration for a site: one file that provisioning (Ansible) and verify (testinfra)
both pass with `ssh -F`, so host key checking, the known_hosts file, the key and the jump host are the same
for every connection gpuctl makes.

Paths are double-quoted (ssh_config(5) tokenises on whitespace and honours double quotes; ProxyJump takes no
quotes, so it must be a bare user@host:port), and anything that could end a quoted argument, start a new line or
expand a `%` token is refused even though the model's types already exclude it."""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import SpecError
from ..model import Site

_UNSAFE = re.compile(r'["\\%\x00-\x1f\x7f]')
_TOKEN = re.compile(r"[A-Za-z0-9_.@:\[\]-]+")


class UnsafeSshValue(SpecError):
    """A value that would change the meaning of the SSH configuration it is written into."""


def quoted(value: str) -> str:
    if _UNSAFE.search(value) or value.startswith("-"):
        raise UnsafeSshValue(f"refusing to write {value!r} into an SSH configuration")
    return f'"{value}"'


def token(value: str) -> str:
    """A bare word (ProxyJump takes no quotes): user@host:port characters only."""
    if not _TOKEN.fullmatch(value) or value.startswith("-"):
        raise UnsafeSshValue(f"refusing to write {value!r} into an SSH configuration")
    return value


def local_path(value: str, site_dir: Path) -> Path:
    """A path from the spec on the operator's machine: ~ expands, a relative path is relative to the site file."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else site_dir / path


def ssh_config(site: Site, site_dir: Path, header: str = "") -> str:
    ssh = site.provisioning.ssh
    lines = [header.rstrip("\n")] if header else []
    lines += [
        "Host *",
        f"  User {quoted(ssh.user)}",
        f"  Port {int(ssh.port)}",
        # Never accept an unknown or changed host key, never ask: a provisioning run has no one to answer.
        "  StrictHostKeyChecking yes",
        "  BatchMode yes",
        "  UpdateHostKeys no",
    ]
    if ssh.known_hosts_file:
        lines.append(f"  UserKnownHostsFile {quoted(str(local_path(ssh.known_hosts_file, site_dir)))}")
    if ssh.private_key_file:
        lines.append(f"  IdentityFile {quoted(str(local_path(ssh.private_key_file, site_dir)))}")
        lines.append("  IdentitiesOnly yes")
    if ssh.bastion:
        lines.append(f"  ProxyJump {token(ssh.bastion)}")
    return "\n".join(lines) + "\n"
