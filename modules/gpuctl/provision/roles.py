"""The Ansible roles as data: their defaults, their argument specs, and the variables a host ends up with.

A role's `defaults/main.yml` is where Ansible takes a role variable's default from (an argument spec's `default`
only documents it: https://docs.ansible.com/ansible/latest/playbook_guide/playbooks_reuse_roles.html#specification-format),
so host-side facts the site spec does not set (paths, ports, package and service names) live there once; what
the spec does set comes from the model through the inventory. `host_variables` layers them the way Ansible does
for gpuctl's inventory (role defaults < the inventory's `all` vars < host vars; extra vars are a run's own),
which is how `gpuctl verify` learns what to check."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml

PROJECT_DIR = Path(os.environ.get("GPUCTL_PROJECT_DIR", Path(__file__).resolve().parents[3]))
PLAYBOOKS_DIR = PROJECT_DIR / "playbooks"
ROLES_DIR = PLAYBOOKS_DIR / "roles"


@cache
def role_defaults(roles_dir: Path = ROLES_DIR) -> dict[str, dict[str, Any]]:
    """Role name -> its defaults/main.yml."""
    return {
        path.parent.parent.name: yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for path in sorted(roles_dir.glob("*/defaults/main.yml"))
    }


@cache
def argument_specs(roles_dir: Path = ROLES_DIR) -> dict[str, dict[str, dict[str, Any]]]:
    """Role name -> the options of its `main` entry point in meta/argument_specs.yml."""
    out = {}
    for path in sorted(roles_dir.glob("*/meta/argument_specs.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        out[path.parent.parent.name] = dict(data.get("argument_specs", {}).get("main", {}).get("options") or {})
    return out


def all_defaults(roles_dir: Path = ROLES_DIR) -> dict[str, Any]:
    """Every role's defaults in one mapping (role variables carry their role's prefix, so none collide)."""
    out: dict[str, Any] = {}
    for defaults in role_defaults(roles_dir).values():
        out.update(defaults)
    return out


def inventory_host_vars(inventory: Mapping[str, Any], host: str) -> dict[str, Any]:
    """The inventory's own variables for a host: the `all` group's, then the host's."""
    root = inventory["all"]
    for group in root.get("children", {}).values():
        hosts = group.get("hosts") or {}
        if host in hosts:
            return {**root.get("vars", {}), **(hosts[host] or {})}
    raise KeyError(f"{host} is not in the inventory")


def host_variables(inventory: Mapping[str, Any], host: str, roles_dir: Path = ROLES_DIR) -> dict[str, Any]:
    """What the roles see for `host` in a run without extra vars: role defaults overlaid with the inventory,
    templated role defaults (a package name built from the driver branch) resolved by Ansible's own templar."""
    return resolve(all_defaults(roles_dir), inventory_host_vars(inventory, host))


def resolve(defaults: Mapping[str, Any], inventory_vars: Mapping[str, Any]) -> dict[str, Any]:
    """Layer the inventory over the defaults and render the defaults that are Jinja templates. Only role defaults
    are trusted as templates (as Ansible trusts a role's files); values from the inventory stay literal."""
    merged = {**defaults, **inventory_vars}
    templated = [k for k, v in defaults.items() if k not in inventory_vars and isinstance(v, str) and "{{" in v]
    if not templated:
        return merged
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar, trust_as_template

    variables = {k: trust_as_template(v) if k in templated else v for k, v in merged.items()}
    templar = Templar(loader=DataLoader(), variables=variables)
    for key in templated:
        merged[key] = templar.template(variables[key])
    return merged
