"""One source per fact: each of these fails on any disagreement between the places a fact could be written twice.

- a role's defaults/main.yml and its meta/argument_specs.yml (names, defaults, types);
- the model's defaults (what a site may set under `provisioning:`) and the role defaults they become;
- the serving Deployments' model cache hostPath and the serving role's cache directory;
- the inventory and the roles: every variable gpuctl renders is read by a task, template or playbook, and every
  role default is read by something (a variable nothing reads is a second, dead copy of a fact).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from gpuctl.loader import load_site
from gpuctl.model.k8s import ContainerRuntimeSettings
from gpuctl.model.site import ProvisioningSettings
from gpuctl.provision.inventory import provisioning_vars
from gpuctl.provision.roles import PLAYBOOKS_DIR, ROLES_DIR, all_defaults, argument_specs, role_defaults
from gpuctl.render import serving
from tests.conftest import ROOT

from .hostfiles import site_inventory

ROLES = sorted(role_defaults())
# Ansible's argument spec types (https://docs.ansible.com/ansible/latest/dev_guide/developing_program_flow_modules.html
# #argument-spec) and the Python values YAML gives for them.
TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "path": (str,),
    "int": (int,),
    "bool": (bool,),
    "list": (list,),
    "dict": (dict,),
}
# Variables the connection plugins read, and the playbooks' own (not role variables).
CONNECTION_VARS = {"ansible_host", "ansible_ssh_common_args", "ansible_python_interpreter"}


@pytest.mark.parametrize("role", ROLES)
def test_argument_spec_and_defaults_agree(role: str) -> None:
    defaults = role_defaults()[role]
    options = argument_specs()[role]
    assert set(options) == set(defaults), (
        f"{role}: only in defaults/main.yml: {sorted(set(defaults) - set(options))}; "
        f"only in meta/argument_specs.yml: {sorted(set(options) - set(defaults))}"
    )
    for name, option in options.items():
        assert "default" in option, f"{role}: {name} has no default in meta/argument_specs.yml"
        assert option["default"] == defaults[name], (
            f"{role}: {name} defaults to {defaults[name]!r} in defaults/main.yml but {option['default']!r} in "
            "meta/argument_specs.yml"
        )
        value = defaults[name]
        expected = TYPES[option["type"]]
        assert isinstance(value, expected) and not (option["type"] == "int" and isinstance(value, bool)), (
            f"{role}: {name} = {value!r} is not of its declared type {option['type']}"
        )
        if option["type"] == "list" and "elements" in option:
            element = TYPES[option["elements"]]
            assert all(isinstance(v, element) for v in value), f"{role}: {name} has elements of another type"


def test_base_sysctl_is_documented_as_it_is_applied() -> None:
    """The disagreement the issue found: the spec said {} while the role applied five settings."""
    assert argument_specs()["base"]["base_sysctl"]["default"] == role_defaults()["base"]["base_sysctl"]
    assert role_defaults()["base"]["base_sysctl"]["vm.swappiness"] == 1


def test_the_models_defaults_are_the_roles_defaults() -> None:
    """A site that sets nothing under `provisioning:` installs what the roles would install on their own."""
    defaults = all_defaults()
    model = provisioning_vars(ProvisioningSettings())
    different = {k: (v, defaults.get(k)) for k, v in model.items() if defaults.get(k) != v}
    assert different == {}, f"model default vs role default: {different}"


OTHER_VALUES: dict[str, Any] = {
    "driver_branch": "535",
    "driver_version": "535.230.02-0ubuntu1",
    "kernel_modules": "precompiled",
    "apt_repository_url": "http://mirror.example/nvidia",
    "apt_repository_suite": "stable",
    "apt_repository_components": "main",
    "apt_key_url": "http://mirror.example/nvidia/key.gpg",
    "container_toolkit_version": "1.16.2-1",
    "timezone": "Europe/Berlin",
    "ntp_servers": ["ntp.example"],
}


@pytest.mark.parametrize(
    "field", sorted(set(ProvisioningSettings.model_fields) - {"ssh", "container_runtime", "burnin"})
)
def test_every_provisioning_setting_reaches_a_role(field: str) -> None:
    """Each setting but the SSH ones (those go to the ssh_config) and burn-in's (`gpuctl burnin` passes them:
    tests/provision/test_burnin_gate.py) changes exactly one role variable."""
    base = provisioning_vars(ProvisioningSettings())
    changed = provisioning_vars(ProvisioningSettings().model_copy(update={field: OTHER_VALUES[field]}))
    assert len([k for k in base if base[k] != changed[k]]) == 1


RUNTIME_VALUES: dict[str, Any] = {
    "containerd_version": "1.7.24~ds1-1",
    "runc_version": "1.1.15+ds1-1",
    "layout": "k3s",
    "sandbox_image": "mirror.example/pause:3.10",
}


@pytest.mark.parametrize("field", sorted(RUNTIME_VALUES))
def test_every_container_runtime_setting_reaches_a_role(field: str) -> None:
    base = provisioning_vars(ProvisioningSettings())
    runtime = ContainerRuntimeSettings().model_copy(update={field: RUNTIME_VALUES[field]})
    changed = provisioning_vars(ProvisioningSettings(container_runtime=runtime))
    assert len([k for k in base if base[k] != changed[k]]) == 1


def test_a_containerd_mirror_sets_the_roles_source() -> None:
    runtime = ContainerRuntimeSettings(
        apt_repository_url="http://mirror.example/debian", apt_key_url="http://mirror.example/key.gpg"
    )
    v = provisioning_vars(ProvisioningSettings(container_runtime=runtime))
    assert (v["containerd_repo_url"], v["containerd_repo_suite"], v["containerd_repo_key_url"]) == (
        "http://mirror.example/debian",
        "stable",
        "http://mirror.example/key.gpg",
    )
    assert set(ContainerRuntimeSettings.model_fields) - {
        "apt_repository_suite",
        "apt_repository_components",
        "apt_key_url",
        "apt_repository_url",
    } == set(RUNTIME_VALUES)


def test_the_model_cache_is_one_directory() -> None:
    assert role_defaults()["serving"]["serving_model_cache"] == serving.MODEL_CACHE


def test_the_staging_container_runs_as_the_model_cache_owner() -> None:
    """The role chowns the cache to the uid/gid the init container writes as (fsGroup skips hostPath)."""
    defaults = role_defaults()["serving"]
    owner = (defaults["serving_model_cache_uid"], defaults["serving_model_cache_gid"])
    assert owner == (serving.MODEL_CACHE_UID, serving.MODEL_CACHE_GID) and 0 not in owner
    site = load_site(ROOT / "inventories" / "fra1" / "site.yaml").site
    dep = next(d for d in site.deployments if d.source)
    pod = serving.workload(site, dep)["spec"]["template"]["spec"]
    [stage] = [c for c in pod["initContainers"] if c["name"] == "stage-weights"]
    assert (stage["securityContext"]["runAsUser"], stage["securityContext"]["runAsGroup"]) == owner
    tasks = yaml.safe_load((ROLES_DIR / "serving" / "tasks" / "main.yml").read_text())
    task = next(t for t in tasks if "ansible.builtin.file" in t)
    assert task["ansible.builtin.file"]["owner"] == "{{ serving_model_cache_uid }}"
    assert task["ansible.builtin.file"]["group"] == "{{ serving_model_cache_gid }}"


def _readers() -> str:
    """Every task, handler, template and playbook: where a variable can be read."""
    texts = [p.read_text() for p in [*PLAYBOOKS_DIR.glob("*.yml"), *PLAYBOOKS_DIR.glob("tasks/*.yml")]]
    for role in ROLES_DIR.iterdir():
        for sub in ("tasks", "handlers", "templates"):
            texts += [p.read_text() for p in (role / sub).glob("*") if p.is_file()]
    # Role defaults may build on each other (a package name from the branch): those references count too.
    texts += [yaml.safe_dump({k: v}) for k, v in all_defaults().items() if isinstance(v, str) and "{{" in v]
    return "\n".join(texts)


def _read(name: str, readers: str) -> bool:
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", readers) is not None


@pytest.mark.parametrize("site_name", ["fra1", "lab"])
def test_every_inventory_variable_is_read_by_a_task(site_name: str) -> None:
    inv = site_inventory(site_name)
    used = set(inv["all"]["vars"])
    for host in next(iter(inv["all"]["children"].values()))["hosts"].values():
        used |= set(host)
    readers = _readers()
    unread = sorted(v for v in used - CONNECTION_VARS if not _read(v, readers))
    assert unread == [], f"{site_name}: inventory variables no task, template or playbook reads: {unread}"


def test_every_role_default_is_read() -> None:
    readers = _readers()
    own = all_defaults()
    unread = sorted(k for k in own if not _read(k, readers.replace(yaml.safe_dump({k: own[k]}), "")))
    assert unread == [], f"role defaults nothing reads: {unread}"


def test_the_preflight_role_runs_with_every_tag() -> None:
    """`--tags driver,dcgm` must still check the host first: the role carries `always`."""
    play: dict[str, Any] = yaml.safe_load((PLAYBOOKS_DIR / "site.yml").read_text())[0]
    checks = [t for t in play["tasks"] if "ansible.builtin.import_role" in t or "gpuctl_role_arguments" in t]
    assert "gpuctl_role_arguments" in checks[0], "the arguments are checked before any role runs"
    assert checks[1]["ansible.builtin.import_role"]["name"] == "preflight"
    assert all("always" in t["tags"] for t in checks[:2])


def test_the_lab_builds_the_versions_the_site_declares() -> None:
    from gpuctl.lab.packages import UPGRADE_DRIVER_VERSION, catalog

    p = ProvisioningSettings()
    versions = {(pkg.name, pkg.version) for pkg in catalog(p)}
    assert (f"nvidia-driver-{p.driver_branch}-server", p.driver_version) in versions
    assert (f"nvidia-driver-{p.driver_branch}-server", UPGRADE_DRIVER_VERSION) in versions
    assert ("nvidia-container-toolkit", p.container_toolkit_version) in versions
    other = p.model_copy(update={"driver_version": "550.90.07-0ubuntu1", "container_toolkit_version": "1.16.2-1"})
    assert ("nvidia-driver-550-server", "550.90.07-0ubuntu1") in {(k.name, k.version) for k in catalog(other)}
    assert ("nvidia-container-toolkit-base", "1.16.2-1") in {(k.name, k.version) for k in catalog(other)}


def test_the_lab_packages_carry_the_names_the_roles_install() -> None:
    """The stand-ins imitate the vendors' packages; the roles' package defaults must name the same packages."""
    from gpuctl.lab.packages import catalog
    from gpuctl.provision.roles import resolve

    names = {pkg.name for pkg in catalog(ProvisioningSettings())}
    v = resolve(all_defaults(), provisioning_vars(ProvisioningSettings()))
    for var in (
        "nvidia_driver_package",
        "nvidia_driver_fabricmanager_package",
        "container_toolkit_package",
        "container_toolkit_base_package",
        "dcgm_package",
        "dcgm_exporter_package",
    ):
        assert v[var] in names, f"{var} = {v[var]} is not a package the lab's repository has"


def test_no_template_lives_outside_templates() -> None:
    for link in ROLES_DIR.glob("*/templates/*"):
        assert link.is_symlink() and link.resolve().parent == ROOT / "templates", link
    assert not list(Path(ROOT / "playbooks").rglob("library/gpuctl_k8s_apply.py")), "Pulumi applies the manifests"


@pytest.mark.parametrize("site_name", ["fra1", "lab"])
def test_the_driver_pin_covers_the_packages_the_role_installs(site_name: str) -> None:
    """The apt preferences list the branch's packages by pattern; the ones the role installs must be among them."""
    from gpuctl.provision.roles import host_variables

    from .hostfiles import host_files

    inv = site_inventory(site_name)
    for name, text, _ in host_files(site_name):
        if not name.startswith("apt-preferences-nvidia/"):
            continue
        v = host_variables(inv, name.split("/")[1])
        pinned = next(line for line in text.splitlines() if line.startswith("Package:")).split()[1:]
        for var in ("nvidia_driver_package", "nvidia_driver_fabricmanager_package"):
            assert v[var] in pinned, f"{var} = {v[var]} is not pinned by the apt preferences"
