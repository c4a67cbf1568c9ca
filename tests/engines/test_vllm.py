"""vLLM: image, arguments, endpoints, metric names by version and memory accounting by version."""

from __future__ import annotations

import pytest

from gpuctl.engines import SIGNALS, vllm
from gpuctl.errors import UsageError
from gpuctl.model import Deployment
from gpuctl.model.serving import RankMemory, SchedulerLimits, SchedulerRequest

ENGINE = vllm.ENGINE


def deployment(**fields: object) -> Deployment:
    return Deployment.model_validate({"name": "chat", "model": "llama-3.1-8b", "node_pool": "h100", **fields})


def sizes(limits: SchedulerLimits) -> tuple[int, int]:
    return limits.max_num_seqs, limits.max_num_batched_tokens


def test_image_and_endpoints() -> None:
    assert ENGINE.image(None) == "docker.io/vllm/vllm-openai:v0.11.0"
    assert ENGINE.image("0.8.5") == "docker.io/vllm/vllm-openai:v0.8.5"
    assert (ENGINE.port, ENGINE.liveness_path, ENGINE.readiness_path) == (8000, "/health", "/health")
    assert (ENGINE.metrics_port, ENGINE.metrics_path) == (8000, "/metrics")


def test_args_from_the_deployment() -> None:
    dep = deployment(precision="fp8", kv_cache_dtype="fp8", tensor_parallel_size=4)
    assert ENGINE.args(dep, 32768) == [
        "--model", "/models/llama-3.1-8b", "--served-model-name", "llama-3.1-8b", "--port", "8000",
        "--tensor-parallel-size", "4", "--pipeline-parallel-size", "1", "--gpu-memory-utilization", "0.9",
        "--max-model-len", "32768", "--kv-cache-dtype", "fp8", "--quantization", "fp8",
    ]  # fmt: skip
    assert ENGINE.args(deployment(precision="bf16"), None)[-2:] == ["--dtype", "bfloat16"]


def test_scheduler_limits_come_from_the_target_concurrency() -> None:
    args = ENGINE.args(deployment(target_concurrency=64, prompt_tokens=2000), 8192)
    assert args[args.index("--max-num-seqs") + 1] == "64"
    # one decode token per running sequence + one average prompt, rounded up to 256
    assert args[args.index("--max-num-batched-tokens") + 1] == "2304"
    small = ENGINE.args(deployment(target_concurrency=4, prompt_tokens=100), 8192)
    assert small[small.index("--max-num-batched-tokens") + 1] == "2048"
    assert "--max-num-seqs" not in ENGINE.args(deployment(), 8192)  # no target: the engine's defaults
    explicit = ENGINE.args(deployment(target_concurrency=64, max_num_seqs=32, max_num_batched_tokens=8192), None)
    assert explicit[explicit.index("--max-num-seqs") + 1] == "32"
    assert explicit[explicit.index("--max-num-batched-tokens") + 1] == "8192"


@pytest.mark.parametrize(
    ("fields", "cc", "quantization"),
    [({"precision": "int4"}, 9.0, "awq_marlin"), ({"precision": "int4"}, 7.5, "awq"),
     ({"precision": "int4", "quantization_method": "gptq"}, 8.9, "gptq_marlin"),
     ({"precision": "int8"}, 9.0, "compressed-tensors"),
     ({"precision": "int8", "quantization_method": "bitsandbytes"}, 8.0, "bitsandbytes"),
     ({"precision": "fp8"}, 8.0, "fp8")],
)  # fmt: skip
def test_int8_int4_and_fp8_reach_the_arguments(fields: dict[str, str], cc: float, quantization: str) -> None:
    args = ENGINE.args(deployment(**fields), None, cc)
    assert args[args.index("--quantization") + 1] == quantization
    assert "--dtype" not in args


@pytest.mark.parametrize(
    ("fields", "cc", "problem"),
    [({"precision": "int4"}, 7.0, "vllm runs int4 (awq) from compute capability 7.5; this GPU is 7.0"),
     ({"precision": "int4", "quantization_method": "compressed-tensors"}, 7.5,
      "vllm runs int4 (compressed-tensors) from compute capability 8.0; this GPU is 7.5"),
     ({"precision": "bf16"}, 7.5, "bf16 needs compute capability 8.0 (Ampere) or newer; this GPU is 7.5"),
     ({"precision": "fp8"}, 9.0, None), ({"precision": "int4", "quantization_method": "gptq"}, 7.0, None)],
)  # fmt: skip
def test_unsupported_combinations_say_why(fields: dict[str, str], cc: float, problem: str | None) -> None:
    assert ENGINE.unsupported(deployment(**fields), cc) == problem


def test_multi_node_commands_run_a_ray_cluster_over_the_group() -> None:
    dep = deployment(tensor_parallel_size=8, pipeline_parallel_size=2)
    leader, worker = ENGINE.multi_node(dep, ENGINE.args(dep, 4096)) or ([], [])
    assert leader[:2] == worker[:2] == ["sh", "-c"]
    script = "/vllm-workspace/examples/online_serving/multi-node-serving.sh"
    assert leader[2].startswith(
        f"bash {script} leader --ray_cluster_size=$(LWS_GROUP_SIZE); "
        "exec python3 -m vllm.entrypoints.openai.api_server --model /models/llama-3.1-8b"
    )
    assert "--pipeline-parallel-size 2" in leader[2] and leader[2].endswith("--distributed-executor-backend ray")
    assert worker[2] == (
        "exec bash /vllm-workspace/examples/online_serving/multi-node-serving.sh worker "
        "--ray_address=$(LWS_LEADER_ADDRESS)"
    )


@pytest.mark.parametrize(
    ("version", "kv"),
    [("0.6.3", "vllm:gpu_cache_usage_perc"), ("0.9.1", "vllm:gpu_cache_usage_perc"),
     ("0.9.2", "vllm:kv_cache_usage_perc"), (None, "vllm:kv_cache_usage_perc"), ("0.33.0", "vllm:kv_cache_usage_perc")],
)  # fmt: skip
def test_kv_cache_usage_gauge_by_version(version: str | None, kv: str) -> None:
    metrics = ENGINE.metrics(version)
    assert metrics["kv_cache_usage"].name == kv
    assert set(metrics) <= set(SIGNALS)
    assert all(m.name.startswith("vllm:") for k, m in metrics.items() if k != "http_requests")
    assert all(m.name.endswith("_total") for m in metrics.values() if m.kind == "counter")
    assert metrics["requests_waiting"].selector == "vllm:num_requests_waiting"


@pytest.mark.parametrize(
    ("version", "since", "graphs_in_budget"),
    [("0.6.3", "0.6", False), ("0.5.0", "0.6", False), ("0.6.4", "0.6", False), ("0.6.6", "0.6.5", False),
     ("0.8.4", "0.8", False), ("0.8.5", "0.8.5", False), ("0.9.2", "0.9", False), ("0.10.1", "0.9", False),
     ("0.11.0", "0.11", False), ("v0.21.1", "0.21", True), ("0.33.0", "0.21", True)],
)  # fmt: skip
def test_accounting_by_version(version: str, since: str, graphs_in_budget: bool) -> None:
    profile = ENGINE.memory_profile(version)
    assert profile.version == version
    assert profile.accounting.since == since
    assert profile.graphs_in_budget is graphs_in_budget
    assert profile.block_size == 16


def test_an_unreadable_version_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="not a version: 'latest'"):
        ENGINE.memory_profile("latest")


def test_scheduler_defaults_by_gpu_and_era() -> None:
    v1 = ENGINE.memory_profile("0.11.0")
    assert sizes(v1.scheduler(SchedulerRequest("h100-sxm5-80gb", 79.18, 16000, None, None))) == (1024, 8192)
    assert sizes(v1.scheduler(SchedulerRequest("a100-sxm4-80gb", 79.15, 16000, None, None))) == (256, 2048)
    assert sizes(v1.scheduler(SchedulerRequest("l40s", 44.42, 16000, None, None))) == (256, 2048)
    assert sizes(v1.scheduler(SchedulerRequest("l40s", 44.42, 16000, 64, 4096))) == (64, 4096)
    v0 = ENGINE.memory_profile("0.6.3")
    short = v0.scheduler(SchedulerRequest("h100-sxm5-80gb", 79.18, 8192, None, None))
    assert (short.max_num_seqs, short.max_num_batched_tokens) == (256, 8192)
    assert short.notes == ("v0 profiles a whole 8192-token prefill (chunked prefill off below 32K context)",)
    long = v0.scheduler(SchedulerRequest("h100-sxm5-80gb", 79.18, 65536, None, None))
    assert (long.max_num_batched_tokens, long.notes) == (512, ())


def test_kv_budget_is_total_times_utilization_minus_the_rest() -> None:
    before, after = ENGINE.memory_profile("0.11.0"), ENGINE.memory_profile("0.21.0")
    assert before.kv_cache_gib(80.0, 0.9, RankMemory(15.0, 5.0, 0.13, 0.6)) == pytest.approx(72 - 15 - 5 - 0.13)
    assert after.kv_cache_gib(80.0, 0.9, RankMemory(15.0, 5.0, 0.13, 0.6)) == pytest.approx(72 - 15 - 5 - 0.13 - 0.6)
    assert before.non_torch_gib(1) == 0.13 and before.non_torch_gib(2) == 0.55
    assert before.cuda_graph_gib(28, 1) == pytest.approx(0.504)
    assert before.cuda_graph_gib(400, 8) == 3.5
