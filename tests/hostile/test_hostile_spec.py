"""The site file is a trust boundary: every hostile value is refused at its line (exit 2), and a value that passes
validation cannot change the inventory, the SSH configuration, the testinfra command or the apt files beyond its
own field."""

from __future__ import annotations

import copy
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpuctl.cli.app import main
from gpuctl.errors import SpecError
from gpuctl.loader import load_site, load_site_text
from gpuctl.model import Site
from gpuctl.provision.inventory import inventory
from gpuctl.render.ssh_config import ssh_config
from tests.conftest import ROOT

from .cases import HOSTILE

LAB = ROOT / "inventories" / "lab" / "site.yaml"
FIXTURE = Path(__file__).parent / "site.yaml"
BASE: dict[str, Any] = yaml.safe_load(LAB.read_text())
FIRST_PER_FIELD: dict[tuple[str | int, ...], str] = {}
for _where, _path, _ in HOSTILE:
    FIRST_PER_FIELD.setdefault(_where, _path)


def with_value(where: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    return _set(copy.deepcopy(BASE), where, value)


def problems(data: dict[str, Any]) -> list[Any]:
    with pytest.raises(SpecError) as err:
        load_site_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), str(LAB))
    return err.value.problems


@pytest.mark.parametrize(("where", "path", "value"), HOSTILE, ids=[f"{c[1]}={c[2]!r}"[:60] for c in HOSTILE])
def test_hostile_value_is_refused_at_its_field(where: tuple[str | int, ...], path: str, value: Any) -> None:
    found = problems(with_value(where, value))
    mine = [p for p in found if p.path and p.path.startswith(path)]
    assert mine, f"no problem names {path}: {[p.render() for p in found]}"
    assert all(p.line and p.line > 0 for p in mine), [p.render() for p in mine]


def test_fixture_site_is_the_lab_site_with_the_first_hostile_value_of_each_field() -> None:
    """tests/hostile/site.yaml was generated from cases.py: a case added there must reach the fixture too."""
    data = copy.deepcopy(BASE)
    for where in FIRST_PER_FIELD:
        value = next(v for w, _, v in HOSTILE if w == where)
        data = _set(data, where, value)
    assert yaml.safe_load(FIXTURE.read_text()) == data


def _set(data: dict[str, Any], where: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    node: Any = data
    for i, part in enumerate(where[:-1]):
        if isinstance(part, str) and part not in node:
            node[part] = [None] if isinstance(where[i + 1], int) else {}
        node = node[part]
    node[where[-1]] = value
    return data


def test_fixture_site_reports_every_hostile_field_and_nothing_else() -> None:
    """tests/hostile/site.yaml carries the first hostile value of every field at once."""
    expected = set(FIRST_PER_FIELD.values())
    with pytest.raises(SpecError) as err:
        load_site(FIXTURE)
    paths = {p.path for p in err.value.problems}
    assert {e for e in expected if not any(p and p.startswith(e) for p in paths)} == set()
    assert {p for p in paths if not any(p and p.startswith(e) for e in expected)} == set()


def test_fixture_site_exits_2_with_a_line_per_problem(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as code:
        main(["validate", str(FIXTURE)])
    out = capsys.readouterr()
    assert code.value.code == 2
    assert "Traceback" not in out.err and "internal error" not in out.err
    lines = [ln for ln in out.err.splitlines() if ln.strip()]
    assert len(lines) >= len(FIRST_PER_FIELD)
    assert all(re.match(rf"{re.escape(str(FIXTURE))}:\d+:\d+: ", ln) for ln in lines), lines
    assert "\x1b" not in out.err and "\u202e" not in out.err, "control characters echoed to the terminal"


# ----- values that pass validation stay inside their field -----


def _pattern(model: type[Any], field: str) -> str:
    info = model.model_fields[field]
    for meta in [*info.metadata, *getattr(info.annotation, "__metadata__", ())]:
        if getattr(meta, "pattern", None):
            return str(meta.pattern)
    args = getattr(info.annotation, "__args__", ())
    for arg in args:
        for meta in getattr(arg, "__metadata__", ()):
            if getattr(meta, "pattern", None):
                return str(meta.pattern)
    raise AssertionError(f"{model.__name__}.{field} has no pattern")


def valid(model: type[Any], field: str, max_size: int = 40) -> st.SearchStrategy[str]:
    return st.from_regex(_pattern(model, field), fullmatch=True).filter(
        lambda s: 0 < len(s) <= max_size and s == s.strip()
    )


def load(data: dict[str, Any]) -> Site:
    return load_site_text(yaml.safe_dump(data, sort_keys=False), str(LAB)).site


def ssh_lines(site: Site) -> dict[str, str]:
    out = {}
    for line in ssh_config(site, Path("/srv/site")).splitlines():
        key, _, value = line.strip().partition(" ")
        out[key] = value
    return out


def infra_argv(config: Path, address: str) -> list[str]:
    """The command line testinfra's ssh backend runs through a shell (verify._host_for), split as the shell would."""
    from gpuctl.provision.verify import _host_for

    backend = _host_for(address, config).backend
    cmd, args = backend._build_ssh_command("true")
    return shlex.split(backend.quote(" ".join(cmd), *args))


SSH = pytest.importorskip("gpuctl.model.site").SshSettings
PROV = pytest.importorskip("gpuctl.model.site").ProvisioningSettings
FUZZ = settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(known=valid(SSH, "known_hosts_file"), key=valid(SSH, "private_key_file"), jump=valid(SSH, "bastion"))
def test_ssh_values_stay_in_their_option(known: str, key: str, jump: str) -> None:
    data = with_value(("provisioning", "ssh"), {"known_hosts_file": known, "private_key_file": key, "bastion": jump})
    lines = ssh_lines(load(data))
    assert set(lines) == {
        "Host", "User", "Port", "StrictHostKeyChecking", "BatchMode", "UpdateHostKeys",
        "UserKnownHostsFile", "IdentityFile", "IdentitiesOnly", "ProxyJump",
    }  # fmt: skip
    assert lines["StrictHostKeyChecking"] == "yes"
    assert lines["ProxyJump"] == jump
    for option, value in (("UserKnownHostsFile", known), ("IdentityFile", key)):
        quoted = lines[option]
        assert quoted.startswith('"') and quoted.endswith('"') and quoted.count('"') == 2
        expected = (
            value
            if value.startswith("/")
            else str(Path.home() / value[2:])
            if value.startswith("~/")
            else f"/srv/site/{value}"
        )
        assert quoted[1:-1] == expected
    argv = infra_argv(Path("/srv/my site/generated/ssh_config"), "10.60.0.11")
    assert argv[:3] == ["ssh", "-F", "/srv/my site/generated/ssh_config"] and argv[-2:] == ["10.60.0.11", "true"]
    assert not any("ProxyCommand" in a or a.startswith("-oUser") for a in argv)


@FUZZ
@given(
    version=valid(PROV, "driver_version"),
    url=valid(PROV, "apt_repository_url", 80),
    suite=valid(PROV, "apt_repository_suite"),
    components=valid(PROV, "apt_repository_components"),
    tz=valid(PROV, "timezone"),
)
def test_apt_and_time_values_stay_in_their_field(version: str, url: str, suite: str, components: str, tz: str) -> None:
    site = load(
        with_value(
            ("provisioning",),
            {
                "driver_version": version,
                "apt_repository_url": url,
                "apt_repository_suite": suite,
                "apt_repository_components": components,
                "timezone": tz,
            },
        )
    )
    base = BASE_VARS
    got = inventory(site, Path("/srv/ssh_config"))["all"]["vars"]
    changed = {k for k in got if got[k] != base.get(k)}
    assert changed <= {
        "nvidia_driver_version", "nvidia_driver_repo_url", "nvidia_driver_repo_suite",
        "nvidia_driver_repo_components", "base_timezone",
    }  # fmt: skip
    env = jinja_env()
    sources = env.from_string(apt_source_template()).render(
        nvidia_driver_keyring="/usr/share/keyrings/k.gpg",
        nvidia_driver_repo_url=url,
        nvidia_driver_repo_suite=suite,
        nvidia_driver_repo_components=components,
    )
    assert "\n" not in sources.strip()
    tokens = sources.split()
    assert tokens[:3] == ["deb", "[signed-by=/usr/share/keyrings/k.gpg]", url] and tokens[3] == suite
    assert tokens[4:] == components.split()
    pin = env.from_string((ROOT / "templates" / "apt-preferences-nvidia.j2").read_text()).render(
        ansible_managed="managed", nvidia_driver_branch="550", nvidia_driver_version=version
    )
    assert [ln for ln in pin.splitlines() if ln.startswith("Pin:")] == [f"Pin: version {version}"]
    assert len(pin.splitlines()) == 6
    assert ".." not in tz.split("/")


BASE_VARS = inventory(load_site(LAB).site, Path("/srv/ssh_config"))["all"]["vars"]


def jinja_env() -> Any:
    import jinja2

    return jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


def apt_source_template() -> str:
    tasks = yaml.safe_load((ROOT / "playbooks" / "roles" / "nvidia_driver" / "tasks" / "main.yml").read_text())
    task = next(t for t in tasks if t["name"] == "Add the NVIDIA repository")
    return str(task["ansible.builtin.copy"]["content"])
