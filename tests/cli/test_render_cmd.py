"""`gpuctl render SITE -o DIR`: one file per object, the same objects the Pulumi program declares, atomically
written, stale files of a previous render removed, nothing else in DIR touched; bad input is exit 2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml

from gpuctl.loader import load_site
from gpuctl.render import objects
from tests.conftest import EXAMPLE, FAILING

from .test_validate_cli import gpuctl


def test_every_object_is_one_file_equal_to_what_pulumi_declares(tmp_path: Path) -> None:
    out = gpuctl("render", str(EXAMPLE), "-o", str(tmp_path / "out"), "--format", "json")
    assert out.returncode == 0, out.stderr
    listed = json.loads(out.stdout)["files"]
    written = sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*.yaml"))
    assert listed == written
    site = load_site(EXAMPLE).site
    expected = {objects.object_path(o): o for o in objects.site_objects(site)}
    for rel, obj in expected.items():
        text = (tmp_path / "out" / rel).read_text()
        assert text.startswith("# DO NOT EDIT: rendered by `gpuctl render` from site fra1")
        assert yaml.safe_load(text) == obj
    assert set(written) == {*expected, "helm/gpu-operator-values.yaml"}
    assert "inference/scaledobject-llama-70b-chat.yaml" in written and "cluster/runtimeclass-nvidia.yaml" in written


def test_a_second_render_removes_only_its_own_stale_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert gpuctl("render", str(EXAMPLE), "-o", str(out)).returncode == 0
    (out / "README.md").write_text("the team's own file\n")
    smaller = tmp_path / "site.yaml"
    text = EXAMPLE.read_text()
    start = text.index("  - name: llama-8b-batch")
    smaller.write_text(text[:start] + text[text.index("\nsuppressions:") + 1 :])
    again = gpuctl("render", str(smaller), "-o", str(out), "--format", "json")
    assert again.returncode == 0, again.stderr
    removed = json.loads(again.stdout)["removed"]
    assert "inference/deployment-llama-8b-batch.yaml" in removed
    assert not (out / "inference" / "deployment-llama-8b-batch.yaml").exists()
    assert (out / "README.md").read_text() == "the team's own file\n"


def test_validation_errors_stop_the_render(tmp_path: Path) -> None:
    out = gpuctl("render", str(FAILING), "-o", str(tmp_path / "out"))
    assert out.returncode == 1 and "validation failed" in out.stderr
    assert not (tmp_path / "out").exists()


def test_bad_output_is_exit_2(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    out = gpuctl("render", str(EXAMPLE), "-o", str(tmp_path / "file"))
    assert out.returncode == 2 and "is not a directory" in out.stderr and "Traceback" not in out.stderr
    missing = gpuctl("render", str(EXAMPLE))
    assert missing.returncode == 2 and "--output" in missing.stderr


def test_render_names_the_secrets_the_pods_read_but_it_does_not_write(tmp_path: Path) -> None:
    out = gpuctl("render", str(EXAMPLE), "-o", str(tmp_path / "out"))
    assert out.returncode == 0, out.stderr
    assert "inference/burst-provider-api-key  keys: api-key" in out.stdout
    assert "gpuctl-gateway/gpuctl-gateway-tls" in out.stdout
    table = (tmp_path / "out" / "SECRETS-REQUIRED.md").read_text()
    site = load_site(EXAMPLE).site
    declared = {o["metadata"]["name"] for o in objects.site_objects(site) if o["kind"] == "Secret"}
    listed = set()
    for dep in site.deployments:
        assert f"`{dep.name}-engine-tls`" in table  # the engines serve mutual TLS behind the gateway
        listed.add(f"{dep.name}-engine-tls")
    assert "| inference | `burst-provider-api-key` | `api-key` | Deployment/llama-70b-chat-gateway |" in table
    assert listed.isdisjoint(declared)
    as_json = json.loads(gpuctl("render", str(EXAMPLE), "-o", str(tmp_path / "out"), "--format", "json").stdout)
    assert {"namespace": "inference", "name": "burst-provider-api-key", "keys": ["api-key"]} in as_json[
        "secrets_required"
    ]


def test_a_symlinked_namespace_directory_is_refused_and_nothing_outside_is_touched(tmp_path: Path) -> None:
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    assert gpuctl("render", str(EXAMPLE), "-o", str(out)).returncode == 0
    elsewhere.mkdir()
    (elsewhere / "deployment-llama-8b-batch.yaml").write_text("someone else's file\n")  # stale-removal bait
    shutil.rmtree(out / "inference")
    (out / "inference").symlink_to(elsewhere)
    result = gpuctl("render", str(EXAMPLE), "-o", str(out))
    assert result.returncode == 2, result.stderr
    assert "is a symbolic link" in result.stderr and "Traceback" not in result.stderr
    assert [p.name for p in elsewhere.iterdir()] == ["deployment-llama-8b-batch.yaml"]
    assert (elsewhere / "deployment-llama-8b-batch.yaml").read_text() == "someone else's file\n"


def test_a_symlinked_file_pointing_outside_is_refused(tmp_path: Path) -> None:
    out, outside = tmp_path / "out", tmp_path / "outside.yaml"
    assert gpuctl("render", str(EXAMPLE), "-o", str(out)).returncode == 0
    outside.write_text("keep\n")
    target = out / "cluster" / "runtimeclass-nvidia.yaml"
    target.unlink()
    target.symlink_to(outside)
    result = gpuctl("render", str(EXAMPLE), "-o", str(out))
    assert result.returncode == 2 and "outside" in result.stderr, result.stderr
    assert outside.read_text() == "keep\n"
