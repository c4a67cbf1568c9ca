"""`gpuctl vram` as users call it, config.json input, log calibration and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gpuctl import catalog
from gpuctl.vram import EngineSettings, arch_from_hf_config
from tests.cli.test_validate_cli import gpuctl
from tests.vram import predict

LLAMA_31_8B_CONFIG = {  # meta-llama/Llama-3.1-8B config.json keys that matter (maxtext copy, see catalog source)
    "_name_or_path": "meta-llama/Llama-3.1-8B",
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "num_hidden_layers": 32,
    "hidden_size": 4096,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "intermediate_size": 14336,
    "vocab_size": 128256,
    "max_position_embeddings": 131072,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
    "rope_scaling": {"rope_type": "llama3"},
}
DEEPSEEK_V3_CONFIG = {  # DeepSeek-V3 config.json fields (config_671B.json shapes)
    "model_type": "deepseek_v3",
    "num_hidden_layers": 61,
    "hidden_size": 7168,
    "num_attention_heads": 128,
    "num_key_value_heads": 128,
    "intermediate_size": 18432,
    "moe_intermediate_size": 2048,
    "vocab_size": 129280,
    "max_position_embeddings": 163840,
    "n_routed_experts": 256,
    "n_shared_experts": 1,
    "num_experts_per_tok": 8,
    "first_k_dense_replace": 3,
    "kv_lora_rank": 512,
    "q_lora_rank": 1536,
    "qk_rope_head_dim": 64,
    "qk_nope_head_dim": 128,
    "v_head_dim": 128,
    "torch_dtype": "bfloat16",
    "quantization_config": {"quant_method": "fp8"},
}


def test_json_output_has_the_documented_keys() -> None:
    out = gpuctl(
        "vram",
        "--model",
        "llama-3.1-8b",
        "--gpu",
        "h100-sxm5-80gb",
        "--format",
        "json",
        "--concurrency",
        "64",
        "--prompt-tokens",
        "2000",
        "--output-tokens",
        "500",
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    for key in (
        "total_gib",
        "weights_gib",
        "activation_gib",
        "non_torch_gib",
        "cuda_graph_gib",
        "kv_cache_gib",
        "kv_cache_tokens",
        "num_blocks",
        "max_model_len_supported",
        "fits",
        "max_concurrency",
        "binding_constraint",
        "workload_fits",
        "workload_headroom_pct",
    ):
        assert key in data
    assert data["total_gib"] == 79.18
    assert data["workload_fits"] is True
    assert data["kv_cache_tokens"] == data["num_blocks"] * 16


def test_console_explains_a_no_fit_and_what_would_fit() -> None:
    out = gpuctl("vram", "-m", "llama-3.1-70b", "-g", "l40s", "--tp", "2", "--max-model-len", "32768")
    assert out.returncode == 0
    assert "does NOT start" in out.stdout
    assert "would fit with: --tp 4" in out.stdout


def test_config_json_matches_the_catalog_entry(tmp_path: Path) -> None:
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(LLAMA_31_8B_CONFIG))
    arch = arch_from_hf_config(cfg)
    gpu = catalog.builtin().gpus["h100-sxm5-80gb"]
    a = predict(arch, gpu, EngineSettings())
    b = predict(catalog.models()["llama-3.1-8b"], gpu, EngineSettings())
    assert a.kv_cache_tokens == b.kv_cache_tokens
    assert a.weights_gib == pytest.approx(b.weights_gib)
    out = gpuctl("vram", "--model", str(cfg), "--gpu", "h100-sxm5-80gb", "-f", "json")
    assert json.loads(out.stdout)["kv_cache_tokens"] == b.kv_cache_tokens


def test_config_json_with_moe_mla_and_quantization(tmp_path: Path) -> None:
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(DEEPSEEK_V3_CONFIG))
    arch = arch_from_hf_config(cfg)
    assert arch.mla is not None and arch.moe is not None and arch.quantization == "fp8"
    p = predict(arch, catalog.builtin().gpus["h200-sxm-141gb"], EngineSettings(tensor_parallel_size=8))
    # MLA latent (512 + 64) × 61 layers × 2 B on every rank, not divided by tp
    assert p.kv_bytes_per_token == 576 * 61 * 2


def test_calibrate_reads_a_vllm_log(tmp_path: Path) -> None:
    log = tmp_path / "vllm.log"
    log.write_text(
        "INFO 10-01 12:00:00 [gpu_model_runner.py:1] Model loading took 14.9888 GiB and 3.2 seconds\n"
        "INFO 10-01 12:00:09 [gpu_worker.py:2] Available KV cache memory: 51.38 GiB\n"
        "INFO 10-01 12:00:09 [kv_cache_utils.py:3] GPU KV cache size: 420,864 tokens\n"
    )
    out = gpuctl(
        "vram",
        "-m",
        "llama-3.1-8b",
        "-g",
        "h100-sxm5-80gb",
        "--block-size",
        "128",
        "--max-model-len",
        "16000",
        "--sampler-path",
        "sort",  # GT-D's path (the corpus's sampler-path rule); the image's FlashInfer path holds less
        "--calibrate",
        str(log),
        "-f",
        "json",
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)["calibration"]
    assert report["compare"]["kv_cache_tokens"]["logged"] == 420864
    assert abs(report["compare"]["kv_cache_gib"]["diff"]) < 0.05
    assert abs(report["kv_overhead_correction_gib"]) < 0.05


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (["-m", "llama-3.1-8b", "-g", "h100"], "unknown GPU 'h100'"),
        (["-m", "llama-3.1-8b", "-g", "l4", "--tp", "0"], "tensor parallel size must be ≥ 1"),
        (["-m", "llama-3.1-8b", "-g", "l40s", "--tp", "3"], "does not divide the 32 attention heads"),
        (["-m", "llama-3.1-8b", "-g", "l4", "--gpu-memory-utilization", "1.5"], "utilization must be in (0, 1]"),
        (["-m", "llama-9b", "-g", "l4"], "unknown model 'llama-9b'"),
        (["-m", "llama-3.1-8b", "-g", "l4", "--concurrency", "4"], "needs --prompt-tokens"),
    ],
)
def test_bad_input_exits_2(args: list[str], expect: str) -> None:
    out = gpuctl("vram", *args)
    assert out.returncode == 2
    assert expect in out.stderr
    assert "Traceback" not in out.stderr


def test_config_json_missing_fields_exits_2(tmp_path: Path) -> None:
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"hidden_size": 4096}))
    out = gpuctl("vram", "-m", str(cfg), "-g", "l4")
    assert out.returncode == 2
    assert "lacks num_hidden_layers" in out.stderr


def test_comparison_doc_is_current() -> None:
    import subprocess
    import sys

    from tests.conftest import ROOT

    out = subprocess.run(
        [sys.executable, "benchmarks/vram_compare.py", "--stdout"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
        timeout=120,
    )
    assert (ROOT / "docs" / "vram-comparison.md").read_text() == out.stdout, "run: python benchmarks/vram_compare.py"


def test_mxfp4_kernel_option(tmp_path: Path) -> None:
    """gpt-oss-120b on one H100: vLLM's wheel and image run Marlin (65.9 GiB of weights, as vllm#23278 logs 65.97);
    an image that adds the triton_kernels package holds 5.1 GiB less."""
    from tests.vram.test_weight_formats import GPT_OSS_120B

    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(GPT_OSS_120B))
    base = ("vram", "-m", str(cfg), "-g", "h100-sxm5-80gb", "--engine-version", "0.11.0", "-f", "json")
    default = json.loads(gpuctl(*base).stdout)
    triton = json.loads(gpuctl(*base, "--mxfp4-kernel", "triton_kernels").stdout)
    assert 65.8 < default["weights_gib"] < 66.0
    assert default["weights_gib"] - triton["weights_gib"] == pytest.approx(5.13, abs=0.01)
    bad = gpuctl(*base, "--mxfp4-kernel", "cutlass")
    assert bad.returncode == 2 and "mxfp4 kernel must be one of auto|marlin|flashinfer|triton_kernels" in bad.stderr
