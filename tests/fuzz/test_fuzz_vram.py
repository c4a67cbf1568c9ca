"""Fuzz `gpuctl vram`: generated config.json files, and generated option values.

Location contract: with a generated config.json and valid options, whatever makes the run exit 2 lies inside the
config file (JSON damage, a missing key, a value of the wrong type or out of range at any key the reader uses),
so every stderr line must start with `CONFIG:LINE`. With a catalog model and generated option values, the fault
is on the command line: no file location is expected.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.harness import SCALES, Located, check, command_line, fuzz_settings, run_cli
from tests.fuzz.strategies import NUMBER_STRINGS, hf_config

# GPUs with a memory figure: the config.json runs must not fail for a reason outside the file.
GPUS = ["h100-sxm5-80gb", "l40s", "l4", "b200", "a100-40gb"]
ALL_GPUS = [*GPUS, "mi300x", "gb200", "no-such-gpu", "h100\x1b[2J", "../../etc/passwd"]
MODELS = ["llama-3.1-8b", "llama-3.1-70b", "mixtral-8x7b", "deepseek-v3", "gemma-2-27b", "qwen2.5-7b", "phi-3-mini-4k"]


@pytest.mark.parametrize("scale", SCALES)
def test_vram_generated_config_json(scale: int, tmp_path: Path) -> None:
    path = tmp_path / "config.json"

    @fuzz_settings(400 * scale)
    @given(hf_config(), st.sampled_from(GPUS), st.sampled_from(["json", "json", "console"]))
    def run(case: tuple[bytes, str], gpu: str, fmt: str) -> None:
        data, desc = case
        path.write_bytes(data)
        o = run_cli("vram", ["vram", "-m", str(path), "-g", gpu, "-f", fmt])
        check(o, f"vram -g {gpu} -f {fmt}: {desc}", json_format=fmt == "json", located=Located(str(path)))

    run()


OPTIONS = [
    "--tp",
    "--pp",
    "--block-size",
    "--max-model-len",
    "--max-num-seqs",
    "--max-num-batched-tokens",
    "--gpu-memory-utilization",
    "--concurrency",
    "--prompt-tokens",
    "--output-tokens",
]
WORDS = {
    "--dtype": ["auto", "bf16", "fp8", "int4", "fp4", ""],
    "--kv-cache-dtype": ["auto", "fp8", "int8"],
    "--engine": ["vllm", "trtllm", "triton", ""],
    "--engine-version": ["0.11.0", "0.6.0", "0.0.1", "99.0", "", "latest", "x" * 500, "../../x"],
    "--sampler-path": ["image", "sort", "flashinfer", "topk", ""],
    "--mxfp4-kernel": ["auto", "marlin", "triton_kernels", "flashinfer", "cutlass", ""],
}


@st.composite
def vram_options(draw: st.DrawFn) -> list[str]:
    argv: list[str] = []
    for opt in draw(st.lists(st.sampled_from(OPTIONS), min_size=1, max_size=4, unique=True)):
        argv += [opt, draw(st.sampled_from(NUMBER_STRINGS))]
    for opt in draw(st.lists(st.sampled_from(sorted(WORDS)), max_size=2, unique=True)):
        argv += [opt, draw(st.sampled_from(WORDS[opt]))]
    return argv


@pytest.mark.parametrize("scale", SCALES)
def test_vram_generated_options(scale: int) -> None:
    @fuzz_settings(400 * scale)
    @given(st.sampled_from(MODELS), st.sampled_from(ALL_GPUS), vram_options(), st.sampled_from(["json", "console"]))
    def run(model: str, gpu: str, options: list[str], fmt: str) -> None:
        argv = ["vram", "-m", model, "-g", gpu, *options, "-f", fmt]
        o = run_cli("vram", argv)
        check(o, command_line(argv), json_format=fmt == "json")

    run()
