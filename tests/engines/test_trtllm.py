"""TensorRT-LLM in Triton's TensorRT-LLM backend: image, command, endpoints, metrics and memory accounting."""

from __future__ import annotations

import pytest

from gpuctl.engines import SIGNALS, trtllm
from gpuctl.model import Deployment
from gpuctl.model.serving import RankMemory, SchedulerLimits, SchedulerRequest

ENGINE = trtllm.ENGINE


def sizes(limits: SchedulerLimits) -> tuple[int, int]:
    return limits.max_num_seqs, limits.max_num_batched_tokens


def test_image_command_and_endpoints() -> None:
    dep = Deployment.model_validate({"name": "chat", "model": "llama-3.1-8b", "node_pool": "h100", "engine": "trtllm"})
    assert ENGINE.image(None) == ENGINE.image("0.17.0") == "nvcr.io/nvidia/tritonserver:25.01-trtllm-python-py3"
    assert ENGINE.args(dep, 8192) == ["tritonserver", "--model-repository=/models/llama-3.1-8b", "--http-port=8000"]
    assert (ENGINE.port, ENGINE.liveness_path, ENGINE.readiness_path) == (8000, "/v2/health/live", "/v2/health/ready")
    assert (ENGINE.metrics_port, ENGINE.metrics_path) == (8002, "/metrics")


def test_metrics_are_triton_core_plus_the_backend() -> None:
    metrics = ENGINE.metrics(None)
    assert set(metrics) <= set(SIGNALS)
    assert metrics["request_success"].name == "nv_inference_request_success"
    assert metrics["queue_time"].name == "nv_inference_queue_duration_us"
    assert metrics["compute_time"].name == "nv_inference_compute_infer_duration_us"
    assert metrics["requests_running"].selector == 'nv_trt_llm_request_metrics{request_type="scheduled"}'
    assert metrics["kv_cache_blocks_used"].selector == 'nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type="used"}'


def test_kv_cache_is_a_fraction_of_free_memory() -> None:
    profile = ENGINE.memory_profile(None)
    used = RankMemory(15.0, 1.0, 0.13, 0.0)
    assert profile.kv_cache_gib(80.0, 0.5, used) == pytest.approx((80 - 15 - 1 - 0.13) * 0.9)  # utilization unused
    nothing_free = RankMemory(90.0, 1.0, 0.13, 0.0)
    assert profile.kv_cache_gib(80.0, 0.9, nothing_free) == 0.0
    assert (profile.version, profile.block_size, profile.graphs_in_budget) == ("trtllm", 32, True)
    assert sizes(profile.scheduler(SchedulerRequest("h100-sxm5-80gb", 79.18, 8192, None, None))) == (256, 8192)
    assert sizes(profile.scheduler(SchedulerRequest("h100-sxm5-80gb", 79.18, 8192, 64, 2048))) == (64, 2048)
    assert profile.cuda_graph_gib(80, 8) == 0.0 and profile.sampler_bytes_per_logit == 0.0
