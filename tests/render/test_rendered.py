"""Rendered files of the example sites: snapshots, `netplan generate`, schema checks, and the inventory contract.

Every file a role templates onto a host is snapshotted as that host gets it (tests/render/hostfiles.py renders the
role's template with Ansible's templar over the role defaults and the site's inventory); the inventory, the SSH
configuration and the Kubernetes objects the Pulumi program declares are snapshotted from their renderers.

Snapshots live in tests/render/snapshots; after an intended change run
`GPUCTL_UPDATE_SNAPSHOTS=1 pytest tests/render` and review the diff."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from gpuctl.loader import load_site
from gpuctl.provision.inventory import inventory
from gpuctl.render import k8s, kschema, objects
from gpuctl.render.security import gateway
from gpuctl.render.ssh_config import ssh_config
from tests.conftest import ROOT

from .hostfiles import host_files, site_inventory, template_tasks

SITES = ["fra1", "lab"]
SNAPSHOTS = Path(__file__).parent / "snapshots"
TRITON_SITE = Path(__file__).parent / "fixtures" / "triton" / "site.yaml"
ROLES = ROOT / "playbooks" / "roles"
CONNECTION_VARS = {
    "ansible_host",
    "ansible_user",
    "ansible_port",
    "ansible_ssh_common_args",
    "ansible_ssh_private_key_file",
    "ansible_python_interpreter",
}


def rendered(site_name: str) -> dict[str, str]:
    site_file = ROOT / "inventories" / site_name / "site.yaml"
    site = load_site(site_file).site
    files = {name: text for name, text, _ in host_files(site_name)}
    site_dir = Path("inventories") / site_name
    files["inventory.yml"] = yaml.safe_dump(site_inventory(site_name), sort_keys=False)
    files["ssh_config"] = ssh_config(site, site_dir)
    files["objects.yaml"] = yaml.safe_dump_all(objects.site_objects(site), sort_keys=False)
    files["gpu-operator-values.yaml"] = yaml.safe_dump(k8s.gpu_operator_values(site), sort_keys=False)
    files["gateway-haproxy.cfg"] = gateway.config(site, "/etc/gpuctl/gateway")
    files["gateway-maps.txt"] = "".join(f"## {name}\n{text}" for name, text in gateway.maps(site).items())
    return files


@pytest.mark.parametrize("site_name", SITES)
def test_snapshots(site_name: str) -> None:
    check_snapshots(site_name, rendered(site_name))


def triton_rendered() -> dict[str, str]:
    """A Triton server with several models (tests/render/fixtures/triton/site.yaml): its objects, and its model
    repository as the server's directory tree (from the engine ConfigMap, `__` = `/`)."""
    site = load_site(TRITON_SITE).site
    objs = objects.site_objects(site)
    files = {"objects.yaml": yaml.safe_dump_all(objs, sort_keys=False)}
    for obj in objs:
        if obj["kind"] == "ConfigMap" and obj["metadata"]["name"].endswith("-engine"):
            for key, text in obj["data"].items():
                if not key.endswith("model.py"):  # the released Python steps: checked by SHA-256 in tests/engines
                    files[f"{obj['metadata']['name']}/{key.replace('__', '/')}"] = text
    return files


def test_triton_snapshots() -> None:
    check_snapshots("triton", triton_rendered())


def check_snapshots(site_name: str, files: dict[str, str]) -> None:
    base = SNAPSHOTS / site_name
    if os.environ.get("GPUCTL_UPDATE_SNAPSHOTS"):
        shutil.rmtree(base, ignore_errors=True)
        for name, text in files.items():
            (base / name).parent.mkdir(parents=True, exist_ok=True)
            (base / name).write_text(text)
    on_disk = {str(p.relative_to(base)): p.read_text() for p in base.rglob("*") if p.is_file()}
    assert set(on_disk) == set(files), "rendered files changed: update the snapshots"
    for name, text in files.items():
        assert text == on_disk[name], f"{site_name}/{name} differs from its snapshot"


def test_every_template_a_role_renders_has_snapshots() -> None:
    sources = {t.src for t in template_tasks()}
    assert sources == {p.name for p in (ROOT / "templates").glob("*.j2")}, (
        "a template no role renders, or one outside templates/"
    )
    # The JoinConfiguration exists only during a join (the example sites name no API endpoint): its own tests render it.
    only_at_join = {"kubeadm-join"}
    for site_name in SITES:
        snapped = {name.split("/")[0] for name in rendered(site_name) if "/" in name}
        assert snapped == {src.removesuffix(".j2").partition(".")[0] for src in sources} - only_at_join, site_name


def test_netplan_snapshots_come_from_the_hosts_template() -> None:
    """The netplan file a host gets is the template's output over the inventory's network_netplan, and it says what
    the model says: the same document the inventory carries, under `network:`."""
    for site_name in SITES:
        inv = site_inventory(site_name)
        hosts = next(iter(inv["all"]["children"].values()))["hosts"]
        for name, text, task in host_files(site_name):
            if task.src == "netplan.yaml.j2":
                host = name.split("/")[1].removesuffix(".yaml")
                assert text.startswith("# Ansible managed\n# Rendered by gpuctl from the site spec. DO NOT EDIT")
                assert yaml.safe_load(text) == {"network": hosts[host]["network_netplan"]}


@pytest.mark.skipif(shutil.which("netplan") is None, reason="netplan.io is not installed (.ci/run installs it)")
@pytest.mark.parametrize("site_name", SITES)
def test_netplan_generate_accepts_every_host(site_name: str, tmp_path: Path) -> None:
    site = load_site(ROOT / "inventories" / site_name / "site.yaml").site
    servers = {s.name: s for _, s in site.all_servers()}
    checked = 0
    for name, text, task in host_files(site_name):
        if task.src != "netplan.yaml.j2":
            continue
        server = servers[name.split("/")[1].removesuffix(".yaml")]
        root = tmp_path / server.name
        (root / "etc" / "netplan").mkdir(parents=True)
        cfg = root / "etc" / "netplan" / "60-gpuctl.yaml"
        cfg.write_text(text)
        cfg.chmod(0o600)
        out = subprocess.run(["netplan", "generate", "--root-dir", str(root)], capture_output=True, text=True)
        assert out.returncode == 0, f"{server.name}: {out.stderr}"
        for bond in server.bonds:
            netdev = (root / "run/systemd/network" / f"10-netplan-{bond.name}.netdev").read_text()
            assert f"Mode={bond.mode}" in netdev
        checked += 1
    assert checked == len(servers)


@pytest.mark.parametrize("site_name", SITES)
def test_kubernetes_objects_validate(site_name: str) -> None:
    site = load_site(ROOT / "inventories" / site_name / "site.yaml").site
    for obj in objects.site_objects(site):
        kschema.validate(obj)


def declared_variables() -> dict[str, str]:
    out = {}
    for spec in ROLES.glob("*/meta/argument_specs.yml"):
        options = yaml.safe_load(spec.read_text())["argument_specs"]["main"]["options"]
        for name in options:
            out[name] = spec.parent.parent.name
    return out


def test_every_inventory_variable_is_declared_by_a_role() -> None:
    declared = declared_variables()
    for site_name in SITES:
        inv = inventory(load_site(ROOT / "inventories" / site_name / "site.yaml").site, Path("ssh_config"))
        used = set(inv["all"]["vars"])
        for host in inv["all"]["children"][f"site_{site_name}"]["hosts"].values():
            used |= set(host)
        undeclared = used - set(declared) - CONNECTION_VARS
        assert undeclared == set(), f"{site_name}: inventory variables no role declares: {sorted(undeclared)}"


def test_role_variables_are_prefixed_and_documented() -> None:
    for role_dir in ROLES.iterdir():
        defaults = yaml.safe_load((role_dir / "defaults" / "main.yml").read_text()) or {}
        spec = yaml.safe_load((role_dir / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"][
            "options"
        ]
        for name in defaults:
            assert name.startswith(f"{role_dir.name}_"), f"{role_dir.name}: {name} lacks the role prefix"
            assert name in spec, f"{role_dir.name}: default {name} missing from meta/argument_specs.yml"
        for name, opt in spec.items():
            assert opt.get("description"), f"{role_dir.name}: {name} has no description"
