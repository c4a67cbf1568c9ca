"""Every vLLM release gpuctl supports gets only arguments it accepts: the rendered command of each fra1 deployment
(engine TLS and tracing included) at each release against the options that release's own sources define
(fixtures/vllm-options.json, extracted from the PyPI sdists), and v0's batched-tokens check."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gpuctl.loader import load_site
from gpuctl.render import serving
from tests.conftest import ROOT

OPTIONS = json.loads((Path(__file__).parent / "fixtures" / "vllm-options.json").read_text())
VERSIONS = [v for v in OPTIONS if not v.startswith("_")]
FRA1 = ROOT / "inventories" / "fra1" / "site.yaml"


def fra1_at(tmp_path: Path, version: str) -> Path:
    text = FRA1.read_text().replace("    engine: vllm\n", f"    engine: vllm\n    engine_version: '{version}'\n")
    site = tmp_path / "inventories" / "fra1"
    site.mkdir(parents=True)
    for f in FRA1.parent.iterdir():  # the site's neighbours (keys, catalog files) stay beside it
        if f.is_file() and f.name != "site.yaml":
            (site / f.name).write_bytes(f.read_bytes())
    (site / "site.yaml").write_text(text)
    return site / "site.yaml"


def flags(command: list[str]) -> set[str]:
    return {t.split("=", 1)[0] for part in command for t in re.split(r"\s+", part) if t.startswith("--")}


@pytest.mark.parametrize("version", VERSIONS)
def test_every_rendered_flag_exists_in_that_release(tmp_path: Path, version: str) -> None:
    site = load_site(fra1_at(tmp_path, version)).site
    assert {d.engine_version for d in site.deployments} == {version}
    for dep in site.deployments:
        unknown = flags(serving.engine_command(site, dep)) - set(OPTIONS[version])
        assert unknown == set(), f"{dep.name} at vLLM {version}: {sorted(unknown)}"


def test_tls_refresh_only_where_the_release_has_it(tmp_path: Path) -> None:
    for version, refresh in (("0.7.3", False), ("0.8.4", True)):
        site = load_site(fra1_at(tmp_path / version, version)).site
        command = serving.engine_command(site, site.deployments[0])
        assert "--ssl-cert-reqs" in command and ("--enable-ssl-refresh" in command) is refresh


def test_v0_batched_tokens_below_the_context_chunk_prefills(tmp_path: Path) -> None:
    """vllm/config.py SchedulerConfig._verify_args (0.6.3): max_num_batched_tokens < max_model_len raises unless
    chunked prefill is on. qwen-7b-rag: 32 sequences + a 12000-token prompt = 12032 batched, 16384 context."""
    site = load_site(fra1_at(tmp_path, "0.6.3")).site
    for dep in site.deployments:
        command = serving.engine_command(site, dep)
        batched = int(command[command.index("--max-num-batched-tokens") + 1])
        context = int(command[command.index("--max-model-len") + 1])
        assert ("--enable-chunked-prefill" in command) is (batched < context), dep.name
    qwen = next(d for d in site.deployments if d.name == "qwen-7b-rag")
    assert "--enable-chunked-prefill" in serving.engine_command(site, qwen)
