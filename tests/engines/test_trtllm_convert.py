"""Checkpoint conversion before trtllm-build (engines/trtllm_convert.py): the rendered options against the
converters' released argparse (tests/engines/fixtures/trtllm-convert-options.json), and the init container's
script run by a real sh, flock and python3 against stand-in converters that refuse any option or value the fixture
does not declare and write the checkpoint config the real ones would for the arguments they got (not for the spec)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from gpuctl.engines import triton, trtllm_convert
from gpuctl.engines.trtllm_build import EngineBuild
from gpuctl.model import Deployment

from .test_trtllm_build import run_script

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "trtllm-convert-options.json").read_text())
SCRIPTS = {
    "convert_checkpoint.py": "examples/llama/convert_checkpoint.py",
    "quantize.py": "examples/quantization/quantize.py",
}


def deployment(**fields: object) -> Deployment:
    base = {
        "name": "chat",
        "model": "llama-3.1-8b",
        "node_pool": "h100",
        "engine": "triton",
        "build_engine": True,
        "build_from": "hf_checkpoint",
        "target_concurrency": 16,
    }
    return Deployment.model_validate({**base, **fields})


def build_of(dep: Deployment, context: int = 8192) -> EngineBuild:
    build = triton.ENGINE.build(dep, context)
    assert build is not None and build.convert is not None
    return build


def parse(script: str, args: list[str]) -> dict[str, str | bool]:
    """The options as the script's argparse (per the fixture) would take them; AssertionError on any other."""
    spec = FIXTURE[SCRIPTS[script]]
    out: dict[str, str | bool] = {}
    it = iter(args)
    for arg in it:
        assert arg.startswith("--"), arg
        name = arg[2:]
        if name in spec["flags"]:
            out[name] = True
            continue
        assert name in spec["valued"], f"{script} declares no --{name}"
        value = next(it)
        assert value in spec["choices"].get(name, [value]), f"{script} --{name} {value}"
        out[name] = value
    return out


CASES = {
    "bf16": ({"precision": "bf16"}, "convert_checkpoint.py", {"dtype": "bfloat16"}),
    "auto": ({}, "convert_checkpoint.py", {"dtype": "bfloat16"}),
    "int8": (
        {"precision": "int8"},
        "convert_checkpoint.py",
        {"use_weight_only": True, "weight_only_precision": "int8"},
    ),
    "fp8": ({"precision": "fp8", "kv_cache_dtype": "fp8"}, "quantize.py", {"qformat": "fp8", "kv_cache_dtype": "fp8"}),
    "int4": ({"precision": "int4"}, "quantize.py", {"qformat": "int4_awq"}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_options_are_the_converters(case: str) -> None:
    fields, script, want = CASES[case]
    build = build_of(deployment(tensor_parallel_size=2, pipeline_parallel_size=1, **fields))
    assert build.convert is not None
    cmd = build.convert.command()
    assert cmd[0] == "python3" and cmd[1] == f"/app/examples/{SCRIPTS[script].removeprefix('examples/')}"
    opts = parse(script, cmd[2:])
    assert {k: opts.get(k) for k in want} == want
    assert opts["tp_size"] == "2" and opts["pp_size"] == "1" and opts["model_dir"] == "/models/llama-3.1-8b"
    assert opts["output_dir"] == f"{build.convert.output_dir}.tmp"
    if script == "quantize.py":  # offline: calibration from the staged directory, never a hub dataset name
        assert opts["calib_dataset"] == "/models/llama-3.1-8b/calibration"
    # the engine is built from the converted checkpoint; the tokenizer is the Hugging Face checkpoint's own
    assert build.checkpoint_dir == build.convert.output_dir
    assert build.tokenizer_dir == "/models/llama-3.1-8b"
    assert triton.ENGINE.llm(deployment(**fields), 8192).tokenizer_dir == "/models/llama-3.1-8b"


def test_the_backend_release_s_own_conversions_are_in_the_fixture() -> None:
    """The tag's README and CI run these options against TensorRT-LLM v0.17.0: the stored argparse must have them."""
    llama = FIXTURE["examples/llama/convert_checkpoint.py"]
    for use in FIXTURE["backend_v0_17_0"]["uses"]:
        assert set(use["options"]) <= set(llama["valued"]), use


def test_a_layout_or_precision_change_is_another_checkpoint_and_engine() -> None:
    base = build_of(deployment())
    assert base.convert is not None
    for other in (deployment(tensor_parallel_size=2), deployment(precision="fp8")):
        b = build_of(other)
        assert b.convert is not None and b.convert.output_dir != base.convert.output_dir
        assert b.engine_dir != base.engine_dir
    assert base.engine_dir.startswith("/models/llama-3.1-8b/trtllm-engines/")
    assert base.convert.output_dir.startswith("/models/llama-3.1-8b/trtllm-checkpoints/")


def test_without_hf_checkpoint_nothing_is_converted() -> None:
    build = triton.ENGINE.build(deployment(build_from="trtllm_checkpoint"), 8192)
    assert build is not None and build.convert is None and build.checkpoint_dir == "/models/llama-3.1-8b"
    with pytest.raises(ValueError, match="build_from hf_checkpoint needs build_engine"):
        deployment(build_engine=False)


@pytest.mark.parametrize(
    ("model", "fields", "reason"),
    [
        ("qwen2.5-7b", {}, "no TensorRT-LLM converter is rendered for 'qwen2.5-7b'"),
        ("llama-3.1-8b", {"precision": "int4", "quantization_method": "gptq"}, "precision int4 with gptq"),
        ("llama-3.1-8b", {"kv_cache_dtype": "fp8"}, "an FP8 KV cache is calibrated by quantize.py"),
    ],
)
def test_what_is_not_converted_says_why(model: str, fields: dict[str, object], reason: str) -> None:
    dep = deployment(model=model, **fields)
    problem = trtllm_convert.problem(dep, model)
    assert problem is not None and reason in problem
    assert trtllm_convert.conversion(dep, model) is None


STAND_IN = """#!/usr/bin/env python3
import json, os, sys
spec = json.loads(os.environ["CONVERT_SPEC"])[os.path.basename(sys.argv[0])]
args, opts = sys.argv[1:], {}
i = 0
while i < len(args):
    name = args[i][2:]
    if not args[i].startswith("--") or (name not in spec["valued"] and name not in spec["flags"]):
        sys.exit(f"error: unrecognized arguments: {args[i]}")
    if name in spec["flags"]:
        opts[name], i = True, i + 1
        continue
    if args[i + 1] not in spec["choices"].get(name, [args[i + 1]]):
        sys.exit(f"error: argument --{name}: invalid choice: {args[i + 1]!r}")
    opts[name], i = args[i + 1], i + 2
with open(os.environ["CONVERT_LOG"], "a") as log:
    log.write(json.dumps(opts) + "\\n")
algo = {"fp8": "FP8", "int4_awq": "W4A16_AWQ"}.get(opts.get("qformat"))
if opts.get("use_weight_only"):
    algo = {"int8": "W8A16", "int4": "W4A16"}[opts.get("weight_only_precision", "int8")]
tp = int(opts.get("tp_size", 1)) + (1 if os.environ.get("CONVERT_FAULT") == "mapping" else 0)
os.makedirs(opts["output_dir"], exist_ok=True)
with open(os.path.join(opts["output_dir"], "config.json"), "w") as f:
    json.dump({"mapping": {"tp_size": tp, "pp_size": int(opts.get("pp_size", 1))},
               "quantization": {"quant_algo": algo,
                                "kv_cache_quant_algo": "FP8" if opts.get("kv_cache_dtype") == "fp8" else None}}, f)
"""


def examples_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault: str = "") -> Path:
    """TensorRT-LLM's examples/ as the image carries it, with stand-in converters."""
    examples = tmp_path / "examples"
    for rel in ("llama/convert_checkpoint.py", "quantization/quantize.py"):
        tool = examples / rel
        tool.parent.mkdir(parents=True, exist_ok=True)
        tool.write_text(STAND_IN)
        tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    spec = {name: FIXTURE[path] for name, path in SCRIPTS.items()}
    monkeypatch.setenv("CONVERT_SPEC", json.dumps(spec))
    monkeypatch.setenv("CONVERT_LOG", str(tmp_path / "converts.log"))
    monkeypatch.setenv("CONVERT_FAULT", fault)
    return examples


def converted(tmp_path: Path) -> list[dict[str, object]]:
    log = tmp_path / "converts.log"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


@pytest.fixture
def staged(tmp_path: Path) -> Path:
    root = tmp_path / "models"
    hf = root / "llama-3.1-8b"
    (hf / "calibration").mkdir(parents=True)
    (hf / "config.json").write_text(json.dumps({"architectures": ["LlamaForCausalLM"]}))
    return root


def test_the_script_converts_and_builds_once_and_atomically(
    staged: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build = build_of(deployment(tensor_parallel_size=2, precision="fp8", kv_cache_dtype="fp8"))
    assert build.convert is not None
    examples = examples_dir(tmp_path, monkeypatch)
    sub = {"/app/examples": str(examples)}
    ckpt = Path(build.convert.output_dir.replace("/models/", f"{staged}/"))
    engine = Path(build.engine_dir.replace("/models/", f"{staged}/"))

    first = run_script(build, staged, tmp_path, sub)
    assert first.returncode == 0, first.stderr
    assert json.loads((ckpt / "config.json").read_text())["quantization"] == {
        "quant_algo": "FP8",
        "kv_cache_quant_algo": "FP8",
    }
    pretrained = json.loads((engine / "config.json").read_text())["pretrained_config"]
    assert pretrained["mapping"] == {"tp_size": 2, "pp_size": 1}
    assert not Path(f"{ckpt}.tmp").exists() and not Path(f"{engine}.tmp").exists()
    assert len(converted(tmp_path)) == 1 and converted(tmp_path)[0]["output_dir"] == f"{ckpt}.tmp"

    again = run_script(build, staged, tmp_path, sub)  # a restart: the engine is there, nothing runs
    assert again.returncode == 0 and len(converted(tmp_path)) == 1

    # the engine lost (a node's cache cleaned of engines only): built again from the kept checkpoint, not converted
    for f in engine.iterdir():
        f.unlink()
    engine.rmdir()
    rebuilt = run_script(build, staged, tmp_path, sub)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert engine.is_dir() and len(converted(tmp_path)) == 1
    assert len((tmp_path / "builds.log").read_text().splitlines()) == 2


def test_a_converter_that_writes_another_layout_leaves_nothing(
    staged: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build = build_of(deployment(tensor_parallel_size=2))
    assert build.convert is not None
    sub = {"/app/examples": str(examples_dir(tmp_path, monkeypatch, fault="mapping"))}
    failed = run_script(build, staged, tmp_path, sub)
    assert failed.returncode != 0
    assert "mapping.tp_size is 3, the deployment needs 2" in failed.stderr
    ckpt = Path(build.convert.output_dir.replace("/models/", f"{staged}/"))
    assert not ckpt.exists() and not Path(build.engine_dir.replace("/models/", f"{staged}/")).exists()
    assert not (tmp_path / "builds.log").exists()


def test_missing_converter_or_calibration_data_stops_with_the_reason(
    staged: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build = build_of(deployment(precision="int4"))
    no_tool = run_script(build, staged, tmp_path, {"/app/examples": str(tmp_path / "nowhere")})
    assert no_tool.returncode != 0 and "the image has no TensorRT-LLM converter at" in no_tool.stderr
    (staged / "llama-3.1-8b" / "calibration").rmdir()
    no_calib = run_script(build, staged, tmp_path, {"/app/examples": str(examples_dir(tmp_path, monkeypatch))})
    assert no_calib.returncode != 0 and "no calibration dataset staged" in no_calib.stderr
    assert converted(tmp_path) == []
