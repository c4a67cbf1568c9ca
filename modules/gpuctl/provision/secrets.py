"""Secrets for a provisioning run (the kubeadm join command, tokens): from a 0600 file, into Ansible through a
0600 extra-vars file that ansible-runner reads with `-e @file`, never on a command line, in the inventory or in
the run's artifacts.

Which variables are secrets is what the roles declare with `no_log: true` in their argument specs."""

from __future__ import annotations

import os
import stat
from functools import cache
from pathlib import Path

import yaml

from ..errors import Problem, UsageError
from ..fsutil import read_text_capped, write_atomic

MAX_SECRETS_BYTES = 64 * 1024


class SecretsError(UsageError):
    """The secrets file cannot be used (permissions, shape, unknown keys). Messages never show values."""


@cache
def secret_variables(roles_dir: Path) -> frozenset[str]:
    names = set()
    for spec in roles_dir.glob("*/meta/argument_specs.yml"):
        for entry in (yaml.safe_load(spec.read_text(encoding="utf-8")) or {}).get("argument_specs", {}).values():
            for name, option in (entry.get("options") or {}).items():
                if isinstance(option, dict) and option.get("no_log"):
                    names.add(name)
    return frozenset(names)


def read_secrets(path: Path, allowed: frozenset[str]) -> dict[str, str]:
    display = str(path)
    try:
        st = path.stat()
    except OSError as exc:
        raise SecretsError(
            f"{display}: {exc.strerror or exc}", [Problem(exc.strerror or str(exc), file=display)]
        ) from None
    if stat.S_ISREG(st.st_mode) and st.st_mode & 0o077:
        raise _error(display, f"is readable by others (mode {stat.S_IMODE(st.st_mode):04o})", f"chmod 600 {display}")
    if stat.S_ISREG(st.st_mode) and st.st_uid != os.geteuid():
        raise _error(display, "belongs to another user", "keep secrets in a file you own")
    text = read_text_capped(path, MAX_SECRETS_BYTES, "secrets file")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise SecretsError(
            f"{display}: malformed YAML",
            [Problem("malformed YAML", file=display, line=mark.line + 1 if mark else None)],
        ) from None
    if not isinstance(data, dict):
        raise _error(display, "must be a mapping of variable: value", f"known secrets: {', '.join(sorted(allowed))}")
    problems = []
    for key, value in data.items():
        if key not in allowed:
            problems.append(
                Problem(
                    f"'{key}' is not a secret any role declares", file=display, hint=f"use {', '.join(sorted(allowed))}"
                )
            )
        elif not isinstance(value, str) or not value or "\x00" in value:
            problems.append(Problem(f"'{key}' must be a non-empty string", file=display))
    if problems:
        raise SecretsError(f"{display}: unusable secrets file", problems)
    return {str(k): str(v) for k, v in data.items()}


def refuse_secret_extra_vars(extra: dict[str, object], allowed: frozenset[str]) -> None:
    """A secret passed with -e would sit on gpuctl's and ansible-playbook's command lines for the whole run."""
    named = sorted(k for k in extra if k in allowed)
    if named:
        raise SecretsError(
            f"{', '.join(named)} is a secret: put it in a 0600 file and pass --secrets-file, not -e "
            "(command lines are visible to every user in ps)"
        )


def write_extravars_file(runner_dir: Path, secrets: dict[str, str]) -> Path:
    """ansible-runner adds `-e @<private_data_dir>/env/extravars` when that file exists."""
    target = runner_dir / "env" / "extravars"
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_atomic(target, yaml.safe_dump(secrets), mode=0o600)
    return target


def _error(display: str, message: str, hint: str) -> SecretsError:
    return SecretsError(f"{display}: {message}", [Problem(message, file=display, hint=hint)])
