"""The engine build for Triton (engines/trtllm_build.py): trtllm-build's options against the released sources, and
the init container's script run by a real sh, flock and python3 against a stand-in trtllm-build that refuses any
option build.py does not declare and writes an engine directory."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from gpuctl.engines import triton
from gpuctl.engines.trtllm_build import EngineBuild
from gpuctl.model import Deployment

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "trtllm-build-options.json").read_text())
BUILD_PY = set(FIXTURE["build_py"]["options"])
BACKEND_CI = set(FIXTURE["backend_ci"]["options"])


def deployment(**fields: object) -> Deployment:
    base = {"name": "chat", "model": "llama-3.1-8b", "node_pool": "h100", "engine": "triton", "build_engine": True}
    return Deployment.model_validate({**base, **fields})


def option_names(args: list[str]) -> set[str]:
    return {a.removeprefix("--") for a in args if a.startswith("--")}


def test_the_options_are_trtllm_build_s() -> None:
    build = triton.ENGINE.build(deployment(target_concurrency=48, tensor_parallel_size=2), 16384)
    assert build is not None
    cmd = build.command()
    assert cmd[0] == "trtllm-build"
    # build.py's own options, and the plugin option from the backend's v0.17.0 CI (plugin.py is not in build.py)
    assert option_names(cmd) <= BUILD_PY | BACKEND_CI
    assert option_names(cmd) - BUILD_PY == {"use_paged_context_fmha"} <= BACKEND_CI
    values = dict(zip(cmd[1::2], cmd[2::2], strict=False))
    assert values["--max_batch_size"] == "48" and values["--max_seq_len"] == "16384"
    assert values["--max_input_len"] == "16384" and values["--workers"] == "2"
    assert values["--max_num_tokens"] == str(deployment(target_concurrency=48).engine_max_num_batched_tokens)
    assert "misspelt_option" not in BUILD_PY | BACKEND_CI


def test_the_repository_reads_the_engine_the_pod_builds() -> None:
    dep = deployment(target_concurrency=8)
    build = triton.ENGINE.build(dep, 8192)
    llm = triton.ENGINE.llm(dep, 8192)
    assert build is not None and llm.engine_dir == build.engine_dir
    assert llm.tokenizer_dir == "/models/llama-3.1-8b/tokenizer"
    assert build.engine_dir.startswith("/models/llama-3.1-8b/trtllm-engines/")
    # a changed build option is a different engine directory; without build_engine the staged dir is the engine
    assert triton.ENGINE.build(dep, 4096).engine_dir != build.engine_dir  # type: ignore[union-attr]
    assert triton.ENGINE.llm(deployment(build_engine=False), 8192).engine_dir == "/models/llama-3.1-8b"
    assert triton.ENGINE.build(deployment(build_engine=False), 8192) is None


def test_build_engine_needs_triton() -> None:
    with pytest.raises(ValueError, match="need engine triton"):
        deployment(engine="vllm")


STAND_IN = """#!/usr/bin/env python3
import json, os, sys
allowed = set(json.loads(os.environ["BUILD_OPTIONS"]))
args = sys.argv[1:]
names = [a[2:] for a in args[::2]]
bad = [n for n in names if n not in allowed]
if bad or any(not a.startswith("--") for a in args[::2]):
    sys.exit(f"trtllm-build: error: unrecognized arguments: {bad or args}")
opts = dict(zip(names, args[1::2]))
with open(os.environ["BUILD_LOG"], "a") as log:
    log.write(json.dumps(opts) + "\\n")
with open(os.path.join(opts["checkpoint_dir"], "config.json")) as f:
    pretrained = json.load(f)
limits = {k: int(opts[k]) for k in ("max_batch_size", "max_num_tokens", "max_seq_len") if k in opts}
os.makedirs(opts["output_dir"])
with open(os.path.join(opts["output_dir"], "config.json"), "w") as f:
    json.dump({"pretrained_config": pretrained, "build_config": limits}, f)
"""


def run_script(
    build: EngineBuild, root: Path, tmp_path: Path, replace: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The init container's script with /models moved under `root` (and any other `replace`ments), the stand-in
    first on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    tool = bin_dir / "trtllm-build"
    tool.write_text(STAND_IN)
    tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "BUILD_OPTIONS": json.dumps(sorted(BUILD_PY | BACKEND_CI)),
        "BUILD_LOG": str(tmp_path / "builds.log"),
    }
    script = build.script().replace("/models/", f"{root}/")
    for old, new in (replace or {}).items():
        script = script.replace(old, new)
    return subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, timeout=120)


def test_the_script_builds_once_and_refuses_a_checkpoint_of_another_layout(tmp_path: Path) -> None:
    root = tmp_path / "models"
    ckpt = root / "llama-3.1-8b"
    ckpt.mkdir(parents=True)
    build = triton.ENGINE.build(deployment(tensor_parallel_size=2, target_concurrency=16), 8192)
    assert build is not None
    engine = Path(build.engine_dir.replace("/models/", f"{root}/"))

    (ckpt / "config.json").write_text(json.dumps({"mapping": {"tp_size": 1, "pp_size": 1}}))
    refused = run_script(build, root, tmp_path)
    assert refused.returncode != 0
    assert "config.json: mapping.tp_size is 1, the deployment needs 2" in refused.stderr
    assert not engine.exists() and not (tmp_path / "builds.log").exists()

    (ckpt / "config.json").write_text(json.dumps({"mapping": {"tp_size": 2, "pp_size": 1}}))
    built = run_script(build, root, tmp_path)
    assert built.returncode == 0, built.stderr
    assert json.loads((engine / "config.json").read_text())["build_config"]["max_batch_size"] == 16
    assert not Path(f"{engine}.tmp").exists()
    again = run_script(build, root, tmp_path)  # a second pod, or a restart: the engine is there
    assert again.returncode == 0
    logged = [json.loads(line) for line in (tmp_path / "builds.log").read_text().splitlines()]
    assert len(logged) == 1 and logged[0]["output_dir"] == f"{engine}.tmp"

    # an engine directory whose config says other limits (a foreign or damaged one) is built again, then replaced
    config = json.loads((engine / "config.json").read_text())
    config["build_config"]["max_batch_size"] = 4
    (engine / "config.json").write_text(json.dumps(config))
    rebuilt = run_script(build, root, tmp_path)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert json.loads((engine / "config.json").read_text())["build_config"]["max_batch_size"] == 16
    assert len((tmp_path / "builds.log").read_text().splitlines()) == 2
