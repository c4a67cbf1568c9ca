"""The VRAM prediction sizes the profile run with the scheduler limits gpuctl renders: one fact, not two."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpuctl import engines
from gpuctl.loader import load_site
from gpuctl.vram.engine import deployment_prediction, deployment_settings, pool_gpu

SITE = Path(__file__).resolve().parents[2] / "inventories" / "fra1" / "site.yaml"


def _flag(args: list[str], name: str) -> int:
    return int(args[args.index(name) + 1])


@pytest.mark.parametrize("name", ["llama-70b-chat", "qwen-7b-rag", "llama-8b-batch"])
def test_prediction_uses_the_rendered_max_num_seqs_and_batched_tokens(name: str) -> None:
    site = load_site(SITE).site
    dep = next(d for d in site.deployments if d.name == name)
    assert dep.target_concurrency is not None and dep.max_num_seqs is None  # sizes derived from concurrency
    gpu = pool_gpu(site, dep)
    assert gpu is not None
    args = engines.get(dep.engine).args(dep, dep.max_model_len)
    settings = deployment_settings(site, dep, gpu, with_workload=False)
    assert settings.max_num_seqs == _flag(args, "--max-num-seqs") == dep.target_concurrency
    assert settings.max_num_batched_tokens == _flag(args, "--max-num-batched-tokens")
    prediction = deployment_prediction(site, dep, engines.memory_profile(dep.engine, dep.engine_version))
    assert prediction is not None
    assert prediction.max_num_seqs == _flag(args, "--max-num-seqs")
    assert prediction.max_num_batched_tokens == _flag(args, "--max-num-batched-tokens")
