"""The substitutions the proof makes on gpuctl's rendered replica arguments are exactly the documented ones, and a
change in what gpuctl renders stops the proof instead of passing unnoticed. Runs without the real parts."""

from __future__ import annotations

from pathlib import Path

import pytest

from . import rendered


def test_only_the_documented_flags_change() -> None:
    args = rendered.load().replica_args()
    argv = rendered.replica_argv(args, Path("/tiny"), 4321)
    assert argv[1:3] == ["-m", "vllm.entrypoints.openai.api_server"]
    run = argv[3:]
    substituted = {"--model", "--port", "--gpu-memory-utilization", "--max-num-seqs"}
    kept = [a for i, a in enumerate(args) if a not in substituted and (i == 0 or args[i - 1] not in substituted)]
    assert run[:6] == ["--model", "/tiny", "--host", "127.0.0.1", "--port", "4321"]
    assert run[6 : 6 + len(kept)] == kept
    cpu = ["--kv-cache-memory-bytes", str(64 * 2**20), "--enforce-eager", "--max-num-seqs", "1"]
    assert run[6 + len(kept) :] == cpu


@pytest.mark.parametrize("flag", ["--model", "--port", "--gpu-memory-utilization"])
def test_a_flag_gpuctl_stops_rendering_stops_the_proof(flag: str) -> None:
    args = rendered.load().replica_args()
    i = args.index(flag)
    with pytest.raises(rendered.RenderingChanged, match=flag):
        rendered.replica_argv(args[:i] + args[i + 2 :], Path("/tiny"), 4321)


def test_a_model_outside_the_cache_stops_the_proof() -> None:
    args = rendered.load().replica_args()
    args[args.index("--model") + 1] = "/tmp/elsewhere"
    with pytest.raises(rendered.RenderingChanged, match="model cache"):
        rendered.replica_argv(args, Path("/tiny"), 4321)
