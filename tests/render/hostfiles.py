"""The files the roles put on hosts, rendered as the hosts get them: each `ansible.builtin.template` task of a role
in playbooks/site.yml, for every host whose role and task conditions hold, through Ansible's own templar with
the template action's settings (trim_blocks on, lstrip_blocks off, "\\n" line ends), over the role defaults and
the example site's rendered inventory. No copy of a template's logic lives here."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gpuctl.loader import load_site
from gpuctl.provision.inventory import inventory
from gpuctl.provision.roles import PLAYBOOKS_DIR, ROLES_DIR, all_defaults, inventory_host_vars
from tests.conftest import ROOT

TEMPLATE_MODULES = ("ansible.builtin.template", "template")
# What the template action passes to the templar (ansible/plugins/action/template.py defaults).
TEMPLATE_OVERRIDES = {"trim_blocks": True, "lstrip_blocks": False, "newline_sequence": "\n"}


@dataclass(frozen=True)
class TemplateTask:
    role: str
    src: str
    dest: str
    when: tuple[str, ...]  # the role's condition in site.yml and the task's own


def _conditions(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return tuple(str(v) for v in value) if isinstance(value, list) else (str(value),)


def template_tasks() -> list[TemplateTask]:
    """Every template task of the roles site.yml applies (playbooks/tasks/roles.yml imports them, with conditions)."""
    out = []
    for entry in yaml.safe_load((PLAYBOOKS_DIR / "tasks" / "roles.yml").read_text()):
        role = entry["ansible.builtin.import_role"]["name"]
        role_when = _conditions(entry.get("when"))
        out += _templates(role, role_when, yaml.safe_load((ROLES_DIR / role / "tasks" / "main.yml").read_text()) or [])
    return out


def _templates(role: str, when: tuple[str, ...], tasks: list[dict[str, Any]]) -> list[TemplateTask]:
    out = []
    for task in tasks:
        if "block" in task:
            out += _templates(role, when + _conditions(task.get("when")), task["block"])
        if "ansible.builtin.include_tasks" in task:  # a role's own tasks file, behind the include's condition
            included = yaml.safe_load((ROLES_DIR / role / "tasks" / task["ansible.builtin.include_tasks"]).read_text())
            out += _templates(role, when + _conditions(task.get("when")), included or [])
        for module in TEMPLATE_MODULES:
            if module in task:
                args = task[module]
                out.append(TemplateTask(role, args["src"], args["dest"], when + _conditions(task.get("when"))))
    return out


def site_inventory(site_name: str) -> dict[str, Any]:
    site = load_site(ROOT / "inventories" / site_name / "site.yaml").site
    return inventory(site, Path("inventories") / site_name / "generated" / "ssh_config")


def templar(variables: Mapping[str, Any]) -> Any:
    from ansible import constants
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar

    managed = constants.config.get_config_value("DEFAULT_MANAGED_STR")
    return Templar(loader=DataLoader(), variables={"ansible_managed": managed, **variables})


def host_template_vars(inv: Mapping[str, Any], host: str) -> dict[str, Any]:
    """Role defaults (trusted as templates, as Ansible trusts a role's files) under the inventory's variables."""
    from ansible.template import trust_as_template

    defaults = {k: trust_as_template(v) if isinstance(v, str) else v for k, v in all_defaults().items()}
    return {
        **defaults,
        **inventory_host_vars(inv, host),
        "inventory_hostname": host,
        "ansible_check_mode": False,
        # what the containerd role's detection (tasks/layout.yml) finds on the example sites' hosts: no k3s, no RKE2
        "containerd_detected_layout": "kubeadm",
    }


def render(task: TemplateTask, variables: Mapping[str, Any]) -> str:
    from ansible.template import trust_as_template

    text = (ROLES_DIR / task.role / "templates" / task.src).read_text()
    out: str = templar(variables).template(
        trust_as_template(text), escape_backslashes=False, overrides=TEMPLATE_OVERRIDES
    )
    return out


def applies(task: TemplateTask, variables: Mapping[str, Any]) -> bool:
    from ansible.template import trust_as_template

    t = templar(variables)
    return all(t.evaluate_conditional(trust_as_template(c)) for c in task.when)


def snapshot_name(src: str, host: str) -> str:
    """netplan.yaml.j2 -> netplan/<host>.yaml; apt-preferences-nvidia.j2 -> apt-preferences-nvidia/<host>."""
    name = src.removesuffix(".j2")
    stem, dot, suffix = name.partition(".")
    return f"{stem}/{host}{dot}{suffix}"


def host_files(site_name: str) -> Iterator[tuple[str, str, TemplateTask]]:
    """(snapshot name, rendered text, task) for every template every host of the site gets."""
    inv = site_inventory(site_name)
    hosts = next(iter(inv["all"]["children"].values()))["hosts"]
    tasks = template_tasks()
    for host in hosts:
        variables = host_template_vars(inv, host)
        for task in tasks:
            if applies(task, variables):
                yield snapshot_name(task.src, host), render(task, variables), task
