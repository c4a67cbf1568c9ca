"""The substitutions the proof makes on what gpuctl rendered are exactly the documented ones (tests/realparts/
rendered.py), and a change in what gpuctl renders stops the proof instead of passing unnoticed. Runs without the
real parts."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import pytest

from . import parts, rendered

TINY = Path("/tiny")


def test_a_replica_runs_the_rendered_args_with_only_the_documented_changes() -> None:
    dep = rendered.load()
    args = dep.replica_args()
    argv = dep.engine_argv(TINY, 4321)
    assert argv[:3] == [str(parts.PYTHON), "-m", "vllm.entrypoints.openai.api_server"]
    i = args.index("--gpu-memory-utilization")
    expected = args[:i] + args[i + 2 :]
    expected[expected.index("--model") + 1] = str(TINY)
    expected[expected.index("--port") + 1] = "4321"
    cpu = ["--host", "127.0.0.1", "--kv-cache-memory-bytes", str(64 * 2**20), "--enforce-eager"]
    assert argv[3:] == expected + cpu
    assert rendered.flag_value(argv, "--max-num-seqs") == "1"  # the saturation point is gpuctl's, from the spec


@pytest.mark.parametrize("flag", ["--model", "--port", "--gpu-memory-utilization"])
def test_a_flag_gpuctl_stops_rendering_stops_the_proof(flag: str) -> None:
    args = rendered.load().replica_args()
    i = args.index(flag)
    with pytest.raises(rendered.RenderingChangedError, match=flag):
        rendered.replica_argv(args[:i] + args[i + 2 :], TINY, 4321)


def test_a_model_outside_the_cache_or_another_entry_point_stops_the_proof() -> None:
    dep = rendered.load()
    moved = dep.replica_args()
    moved[moved.index("--model") + 1] = "/tmp/elsewhere"
    with pytest.raises(rendered.RenderingChangedError, match="model cache"):
        rendered.replica_argv(moved, TINY, 4321)
    engine = dep.container()
    engine["command"] = ["vllm", "serve"]
    with (
        mock.patch.object(rendered.TestDeployment, "container", return_value=engine),
        pytest.raises(rendered.RenderingChangedError, match="engine command"),
    ):
        dep.engine_argv(TINY, 4321)


def test_the_router_runs_the_rendered_command_with_worker_urls_on_loopback() -> None:
    dep = rendered.load()
    argv = dep.router_argv(["http://127.0.0.1:1", "http://127.0.0.1:2"], 3, 4)
    assert argv[0] == str(parts.ROUTER)
    assert rendered.flag_value(argv, "--policy") == "round_robin"  # the spec's policy, rendered
    assert rendered.flag_value(argv, "--host") == "127.0.0.1"
    assert rendered.flag_value(argv, "--prometheus-host") == "127.0.0.1"
    assert argv[argv.index("--worker-urls") + 1 : argv.index("--worker-urls") + 3] == [
        "http://127.0.0.1:1",
        "http://127.0.0.1:2",
    ]
    assert "--service-discovery" not in argv


def test_the_gateway_differs_from_the_rendered_one_only_in_its_addresses_and_paths(tmp_path: Path) -> None:
    dep = rendered.load()
    config = dep.gateway_config("http://127.0.0.1:1", "http://127.0.0.1:2/v1", tmp_path, 3, "127.0.0.1:4")
    assert "listen 127.0.0.1:3;" in config
    assert "access_log syslog:server=127.0.0.1:4," in config
    assert "server 127.0.0.1:1 max_conns=" in config
    assert "proxy_pass http://127.0.0.1:2;" in config
    assert f"include {tmp_path / 'auth.conf'};" in config
    assert "burst.example.com" not in config and "svc.cluster.local" not in config


def test_the_split_counter_differs_from_the_rendered_one_only_in_its_addresses(tmp_path: Path) -> None:
    dep = rendered.load()
    argv = rendered.split_counter_argv(dep, tmp_path, "127.0.0.1:4", 5)
    assert argv[0] == "mtail"
    assert rendered.flag_value(argv, "--logs") == "udp://127.0.0.1:4"
    assert rendered.flag_value(argv, "--address") == "127.0.0.1" and rendered.flag_value(argv, "--port") == "5"
    assert rendered.flag_value(argv, "--progs") == str(tmp_path)
    assert "--emit_prog_label=false" in argv
