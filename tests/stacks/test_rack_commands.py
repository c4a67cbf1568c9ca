"""The per-rack `gpuctl provision` commands as the Pulumi program declares them: what they run and what they are
given. Secrets (the kubeconfig) travel only inside Pulumi's secret wrapper, in the command's environment, never in
its command text or in plain state."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import ROOT

from .harness import KUBECONFIG, Recorded, run_program
from .test_security_secrets import SECRET_SIG, _plain

FRA1 = "inventories/fra1/site.yaml"


def commands(**kwargs: object) -> list[Recorded]:
    run = run_program(FRA1, provision=True, **kwargs)  # type: ignore[arg-type]
    found = run.of_type("command:local:Command")
    assert [r.name for r in found] == ["rack-a-provision", "rack-b-provision"]
    return found


def environment(r: Recorded) -> dict[str, str]:
    """The command's environment as the provider would set it (a secret's value unwrapped)."""

    def unwrap(value: Any) -> Any:
        return value["value"] if isinstance(value, dict) and SECRET_SIG in value else value

    return {k: unwrap(v) for k, v in (unwrap(r.inputs.get("environment")) or {}).items()}


def prelude(create: str) -> str:
    """The command's shell text up to the gpuctl invocation (which would reach for the site's hosts)."""
    return create[: create.index("\nfi\n") + 4]


def test_the_kubeconfig_reaches_each_rack_run_as_a_0600_file_in_its_environment(tmp_path: Path) -> None:
    for r in commands(kubeconfig=KUBECONFIG):
        assert "not-a-real-token" not in r.inputs["create"] and "not-a-real-token" not in r.inputs["update"]
        assert r.wire["environment"]["PULUMI_RACK_KUBECONFIG"][SECRET_SIG], "the kubeconfig travels as a secret"
        assert [s for s in _plain(r.wire) if "not-a-real-token" in s] == []
        script = prelude(r.inputs["create"]) + (
            'stat -c %a "$GPUCTL_KUBECONFIG"; echo "left:${PULUMI_RACK_KUBECONFIG:-}"; echo "$GPUCTL_KUBECONFIG"\n'
        )
        out = subprocess.run(
            ["/bin/sh", "-c", script],
            env={"PATH": "/usr/bin:/bin", "TMPDIR": str(tmp_path), **environment(r)},
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        mode, left, path = out.stdout.split()
        assert mode == "600" and left == "left:", "the text is in a private file, no longer in the environment"
        assert Path(path).parent == tmp_path and not Path(path).exists(), "the file lives only as long as the run"


def test_the_file_holds_the_kubeconfig_text(tmp_path: Path) -> None:
    [first, _] = commands(kubeconfig=KUBECONFIG)
    copy = tmp_path / "copy"
    script = prelude(first.inputs["create"]) + f'cp "$GPUCTL_KUBECONFIG" {copy}\n'
    subprocess.run(["/bin/sh", "-c", script], env={"PATH": "/usr/bin:/bin", **environment(first)}, check=True)
    assert copy.read_text() == KUBECONFIG


def test_without_a_kubeconfig_the_command_has_no_kubeconfig() -> None:
    for r in commands():
        assert "PULUMI_RACK_KUBECONFIG" not in environment(r)


TOKEN = "abcdef.0123456789abcdef"  # the shape of a kubeadm bootstrap token; a canary here


def test_gpuctl_runs_by_the_programs_interpreter_and_the_token_only_as_a_secret_in_its_environment() -> None:
    config = {
        "gpuctl:siteFile": FRA1,
        "gpuctl:provision": "true",
        "gpuctl:bootstrapToken": TOKEN,
        "gpuctl:secretsFile": "secrets/fra1.yaml",
    }
    run = run_program(None, config=config, secret_keys=("gpuctl:bootstrapToken",))
    for r in run.of_type("command:local:Command"):
        rack = r.name.removesuffix("-provision")
        last = r.inputs["create"].rstrip("\n").splitlines()[-1]
        assert last == f"{shlex.quote(sys.executable)} -m gpuctl provision {rack} --site {FRA1}"
        assert r.inputs["update"] == r.inputs["create"]
        assert r.wire["environment"]["GPUCTL_BOOTSTRAP_TOKEN"][SECRET_SIG]
        assert [s for s in _plain(r.wire) if TOKEN in s] == [], "the token is nowhere in plain text"
        assert environment(r)["GPUCTL_BOOTSTRAP_TOKEN"] == TOKEN
        assert environment(r)["GPUCTL_SECRETS_FILE"] == str(ROOT / "secrets" / "fra1.yaml")


def test_the_rack_command_runs_gpuctl_without_it_on_path(tmp_path: Path) -> None:
    """The recorded command, run by /bin/sh with a PATH that holds no gpuctl: gpuctl still runs (here it stops at
    the pre-flight check of a site with errors, before any host; a shell that looked gpuctl up in PATH exits 127)."""
    [first, _] = commands()
    site = tmp_path / FRA1
    site.parent.mkdir(parents=True)
    site.write_text((ROOT / "inventories" / "ams2" / "site.yaml").read_text())  # ams2 fails pre-flight
    env = {k: v for k, v in os.environ.items() if k != "PATH"} | {"PATH": "/usr/bin:/bin"}
    env |= {"GPUCTL_STATE_DIR": str(tmp_path / "state"), **environment(first)}
    out = subprocess.run(
        ["/bin/sh", "-c", first.inputs["create"]], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 1, out.stderr
    assert "pre-flight errors; nothing was provisioned" in out.stdout + out.stderr
