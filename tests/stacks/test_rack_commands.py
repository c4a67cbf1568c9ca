"""The per-rack `gpuctl provision` commands as the Pulumi program declares them: what they run and what they are
given. Secrets (the kubeconfig) travel only inside Pulumi's secret wrapper, in the command's environment, never in
its command text or in plain state."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

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
