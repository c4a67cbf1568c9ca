"""The profile run's sampler warm-up goes by the top-k/top-p path the install takes (FlashInfer's kernels or PyTorch's
sort), not by the version; a gpuctl deployment takes what the vllm/vllm-openai image of its release does
(engines/vllm.py `SAMPLER_BYTES_PER_LOGIT` cites the sources). Corpus cases take the path their own text states."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from gpuctl import catalog, engines
from gpuctl.engines import vllm
from gpuctl.vram import EngineSettings, arch_from_hf_mapping, predict
from tests.cli.test_validate_cli import gpuctl

from . import corpus

LLAMA_8B = {
    "model_type": "llama", "num_hidden_layers": 32, "hidden_size": 4096, "num_attention_heads": 32,
    "num_key_value_heads": 8, "intermediate_size": 14336, "vocab_size": 128256, "max_position_embeddings": 131072,
    "torch_dtype": "bfloat16",
}  # fmt: skip


@pytest.mark.parametrize(
    ("version", "path"),
    [("0.6.3", "sort"), ("0.6.6", "sort"), ("0.8.4", "flashinfer"), ("0.9.2", "flashinfer"), ("0.10.1", "flashinfer"),
     ("0.11.0", "flashinfer")],
)  # fmt: skip
def test_the_image_path_follows_the_engine_of_the_release(version: str, path: str) -> None:
    """v0 imports FlashInfer only with VLLM_USE_FLASHINFER_SAMPLER=1; V1 takes it whenever the image ships it."""
    profile = engines.memory_profile("vllm", version)
    assert isinstance(profile, vllm.VllmMemory)
    assert profile.sampler_path == "image" and profile.resolved_sampler_path == path
    assert profile.sampler_bytes_per_logit == vllm.SAMPLER_BYTES_PER_LOGIT[path]


def test_an_explicit_path_overrides_the_image_and_moves_the_kv_cache() -> None:
    arch = arch_from_hf_mapping({"_name_or_path": "llama", **LLAMA_8B}, "test")
    gpu = catalog.builtin().gpus["h100-sxm5-80gb"]
    image = engines.memory_profile("vllm", "0.11.0")
    assert isinstance(image, vllm.VllmMemory)
    sort = dataclasses.replace(image, sampler_path="sort")
    s = EngineSettings(engine_version="0.11.0", max_model_len=16000)
    a, b = predict(arch, gpu, s, image), predict(arch, gpu, s, sort)
    # 1024 sequences (H100 defaults) x 128,256 logits x (39 - 10.5) B more held by the sort path
    assert a.kv_cache_gib - b.kv_cache_gib == pytest.approx(1024 * 128256 * 28.5 / 2**30, rel=0.02)


@pytest.mark.parametrize("case", [c for c in corpus.cases() if "sampler_path" in c.flags], ids=lambda c: c.id)
def test_a_case_sets_its_sampler_path_only_from_a_quoted_line(case: corpus.Case) -> None:
    path = case.flags["sampler_path"]
    assert any(evidence in case.log for evidence in corpus.SAMPLER_EVIDENCE[path]), (case.id, path)


def test_the_cli_takes_a_sampler_path_and_rejects_an_unknown_one(tmp_path: Path) -> None:
    args = ("vram", "-m", "llama-3.1-8b", "-g", "h100-sxm5-80gb", "--max-model-len", "16000", "-f", "json")
    image = json.loads(gpuctl(*args).stdout)
    sort = json.loads(gpuctl(*args, "--sampler-path", "sort").stdout)
    assert image["activation_gib"] < sort["activation_gib"]
    bad = gpuctl(*args, "--sampler-path", "cuda")
    assert bad.returncode == 2 and "--sampler-path" in bad.stderr
