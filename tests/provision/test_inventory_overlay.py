"""The lab is an inventory overlay: its settings, addresses and SSH configuration go through the same inventory
code as production, and nothing in production code knows the lab."""

from __future__ import annotations

import ast
from pathlib import Path

from gpuctl.lab.core import LAB_VARS, LabHost, LabState, inventory_overlay
from gpuctl.lab.packages import KEYRING
from gpuctl.loader import load_site
from gpuctl.provision.inventory import inventory
from gpuctl.provision.roles import host_variables
from tests.conftest import ROOT

LAB = load_site(ROOT / "inventories" / "lab" / "site.yaml").site
MODULES = ROOT / "modules" / "gpuctl"


def lab_state(tmp_path: Path) -> LabState:
    hosts = [
        LabHost(s.name, f"10.213.0.{10 + i}", f"gl-h{i}", str(tmp_path / s.name), None, 0, 0)
        for i, (_, s) in enumerate(LAB.all_servers())
    ]
    return LabState(
        site_file="inventories/lab/site.yaml",
        rack="lab-a",
        root=str(tmp_path),
        base=str(tmp_path / "base"),
        repo_url="http://10.213.0.253:8080",
        repo_key=str(tmp_path / "repo" / KEYRING),
        ssh_config=str(tmp_path / "ssh" / "ssh_config"),
        known_hosts=str(tmp_path / "ssh" / "known_hosts"),
        private_key=str(tmp_path / "ssh" / "id_ed25519"),
        hosts=hosts,
    )


def test_the_lab_overlay_reaches_every_host(tmp_path: Path) -> None:
    state = lab_state(tmp_path)
    inv = inventory(LAB, Path("inventories/lab/generated/ssh_config"), inventory_overlay(state))
    group_vars = inv["all"]["vars"]
    assert {k: group_vars[k] for k in LAB_VARS} == LAB_VARS
    assert group_vars["nvidia_driver_repo_url"] == "http://10.213.0.253:8080"
    assert group_vars["nvidia_driver_repo_key_url"] == f"http://10.213.0.253:8080/{KEYRING}"
    assert group_vars["ansible_ssh_common_args"] == f"-F {tmp_path}/ssh/ssh_config"
    for name, host in inv["all"]["children"]["site_lab"]["hosts"].items():
        assert host["ansible_host"] == name  # the lab's ssh_config maps the name to the address
        v = host_variables(inv, name)
        assert v["preflight_iommu_check"] is False and v["network_apply"] is False


def test_without_an_overlay_the_inventory_is_the_sites() -> None:
    inv = inventory(LAB, Path("ssh_config"))
    assert not set(LAB_VARS) & set(inv["all"]["vars"])
    assert inv["all"]["children"]["site_lab"]["hosts"]["lab-l40s-1"]["ansible_host"] == "10.60.0.11"
    assert host_variables(inv, "lab-dgx-1")["preflight_iommu_check"] is True


def _imports(path: Path) -> set[str]:
    """Absolute names a module imports (relative imports resolved against its package)."""
    package = ["gpuctl", *path.relative_to(MODULES).parent.parts]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            out |= {module} | {f"{module}.{a.name}" for a in node.names}
    return out


def test_production_code_does_not_import_the_lab() -> None:
    """Only the CLI (and tests) import gpuctl.lab; production code never branches on it."""
    offenders = [
        str(p.relative_to(MODULES))
        for p in MODULES.rglob("*.py")
        if p.parts[len(MODULES.parts)] not in ("lab", "cli")
        and any(m == "gpuctl.lab" or m.startswith("gpuctl.lab.") for m in _imports(p))
    ]
    assert offenders == []


def test_plan_and_infra_take_arithmetic_from_calc_not_rules() -> None:
    for path in [MODULES / "plan.py", *(MODULES / "infra").glob("*.py")]:
        if path.name == "policies.py":  # CrossGuard policies run the rules themselves, by design
            continue
        rules = {m for m in _imports(path) if m == "gpuctl.rules" or m.startswith("gpuctl.rules.")}
        assert not {m for m in rules if m.startswith("gpuctl.rules.cooling")}, path
    assert "gpuctl.calc.cooling.cooling_capacity_kw" in _imports(MODULES / "rules" / "cooling.py")
