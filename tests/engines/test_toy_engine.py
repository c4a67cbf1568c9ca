"""Adding an engine needs no edit outside its module: a toy engine, defined and registered only in the tests, is
loaded from a site, validated, rendered and predicted by `gpuctl vram` through the unchanged production code."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from gpuctl import engines
from gpuctl.cli.app import main
from gpuctl.errors import SpecError
from gpuctl.loader import load_site
from gpuctl.render import kschema, serving
from gpuctl.rules import evaluate
from gpuctl.rules.vram import deployment_prediction
from tests.conftest import ROOT

from . import toy

LAB = ROOT / "inventories" / "lab" / "site.yaml"
QWEN = "  - {name: qwen-7b, model: qwen2.5-7b,"


def site_with_engine(tmp_path: Path, engine: str) -> Path:
    """The lab site with its first deployment (qwen-7b on the L40S pool) on `engine`."""
    text = LAB.read_text()
    assert QWEN in text
    path = tmp_path / "site.yaml"
    path.write_text(text.replace(QWEN, QWEN.replace("qwen2.5-7b,", f"qwen2.5-7b, engine: {engine},")))
    return path


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(list(argv))
    out = capsys.readouterr()
    return int(done.value.code or 0), out.out, out.err


def test_a_fourth_engine_is_one_module(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = site_with_engine(tmp_path, "toy")
    with engines.registered(toy.ENGINE):
        assert engines.names() == ("toy", "triton", "trtllm", "vllm")

        # load and validate: the site's reference check accepts the name, the rules predict with its profile
        loaded = load_site(path)
        qwen = loaded.site.deployments[0]
        assert qwen.engine == "toy"
        p = deployment_prediction(loaded.site, qwen)
        assert p is not None and p.fits
        assert (p.engine, p.engine_version, p.block_size) == ("toy", "toy-1", 64)
        assert p.kv_cache_gib == pytest.approx(p.total_gib * 0.9 - p.weights_gib - p.activation_gib - 2.0)
        assert "toy: fixed 2 GiB reserve" in p.notes
        assert not evaluate(loaded).failed()
        code, out, err = cli(capsys, "validate", str(path), "--format", "json")
        assert code == 0, err
        assert json.loads(out)["sites"][0]["site"] == "lab"

        # render: image, arguments, port and probe from the engine; the largest context from its memory profile
        objects = serving.manifests(loaded.site)
        for obj in objects:
            kschema.validate(obj)
        by_key = {(o["kind"], o["metadata"]["name"]): o for o in objects}
        deployment, service = by_key[("Deployment", "qwen-7b")], by_key[("Service", "qwen-7b")]
        policy = by_key[("NetworkPolicy", "qwen-7b-clients")]
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["command"] == ["toy"]
        assert container["image"] == "registry.example.com/toy/server:1.0"
        assert container["args"] == ["serve", "/models/qwen2.5-7b", "--listen=:9000", "--context=16384"]
        assert container["ports"] == [
            {"name": "http", "containerPort": 9000, "protocol": "TCP"},
            {"name": "metrics", "containerPort": 9100, "protocol": "TCP"},
        ]
        assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
        assert container["startupProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
        assert service["spec"]["ports"][0]["port"] == 9000
        assert policy["kind"] == "NetworkPolicy"
        other = next(
            o
            for o in objects
            if o["kind"] == "Deployment"
            and o["metadata"]["name"] != "qwen-7b"
            and o["metadata"]["labels"]["gpuctl.io/component"] == "engine"
        )
        llama = other["spec"]["template"]["spec"]["containers"][0]  # the other deployment stays on vLLM
        # the pod's http port: vLLM's, or with engine TLS (the lab site has a gateway) the proxy's beside it
        pod = other["spec"]["template"]["spec"]["containers"]
        http = [p for c in pod for p in c["ports"] if p["name"] == "http"]
        assert llama["image"].startswith("docker.io/vllm/vllm-openai:") and http[0]["containerPort"] == 8000

        # gpuctl vram --engine toy
        code, out, err = cli(
            capsys, "vram", "-m", "llama-3.1-8b", "-g", "h100-sxm5-80gb", "--engine", "toy", "-f", "json"
        )
        assert code == 0, err
        data = json.loads(out)
        assert (data["engine"], data["engine_version"], data["block_size"]) == ("toy", "toy-1", 64)
        assert data["kv_cache_tokens"] == data["num_blocks"] * 64

    # unregistered again: the same site is a located spec error naming the registered engines
    assert "toy" not in engines.names()
    with pytest.raises(SpecError) as refused:
        load_site(path)
    [problem] = refused.value.problems
    assert problem.message == "unknown engine 'toy'; registered: triton, trtllm, vllm"
    assert problem.path == "deployments[qwen-7b].engine"
    assert problem.line == LAB.read_text()[: LAB.read_text().index(QWEN)].count("\n") + 1
    code, _, err = cli(capsys, "vram", "-m", "llama-3.1-8b", "-g", "l4", "--engine", "toy")
    assert code == 2
    assert "--engine must be one of triton, trtllm, vllm, got 'toy'" in err


def test_an_unknown_engine_is_exit_2_at_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = site_with_engine(tmp_path, "vlm")
    code, _, err = cli(capsys, "validate", str(path))
    line = LAB.read_text()[: LAB.read_text().index(QWEN)].count("\n") + 1
    assert code == 2
    assert f"{path}:{line}:" in err
    assert "deployments[qwen-7b].engine: unknown engine 'vlm'; registered: triton, trtllm, vllm" in err


def test_an_engine_name_is_a_constrained_string(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "validate", str(site_with_engine(tmp_path, "'vLLM; id'")))
    assert code == 2
    assert "deployments[qwen-7b].engine" in err


def test_no_module_outside_the_engines_names_an_engine() -> None:
    """Engines are asked, never compared by name: outside gpuctl/engines an engine name appears only as the default
    of a deployment's, the memory model's and `gpuctl vram`'s engine, and as the engine a deployment's
    `triton_models` (further models of one Triton server) need."""
    package = ROOT / "modules" / "gpuctl"
    builtin = {e.name for e in engines.BUILTIN}
    allowed = {("model/serving.py", 2), ("vram/engine.py", 1), ("cli/vram_cmd.py", 1)}
    found: dict[str, int] = {}
    for module in package.rglob("*.py"):
        rel = module.relative_to(package).as_posix()
        if rel.startswith(("engines/", "lab/standins/")):
            continue
        tree = ast.parse(module.read_text())
        hits = [n for n in ast.walk(tree) if isinstance(n, ast.Constant) and n.value in builtin]
        if hits:
            found[rel] = len(hits)
    assert set(found.items()) <= allowed, found
