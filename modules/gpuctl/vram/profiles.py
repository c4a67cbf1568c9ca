"""What differs between serving-engine versions: defaults, profiling constants, CUDA graph accounting.

Constants are calibrated on the published logs in the shared reference (vram.md, "Calibration cases")
and named after them; each says which case fixes it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VllmProfile:
    name: str
    v1: bool
    # Sampler warm-up of the profile run: max_num_seqs × vocab × this many bytes (fp32 logits, softmax,
    # sort). ≥0.11: 39 B, the mean of GT-D (Llama-3.1-8B 4.76 GiB, Llama-3.3-70B 4.84, Qwen3 5.56/5.64,
    # gpt-oss 7.38 GiB, all at max_num_seqs 1024). v1 before 0.11: 10.5 B, from GT-E (vLLM 0.10.1,
    # A100, Qwen2-7B, 0.51 GiB non-KV overhead at max_num_seqs 256). v0: 4 B (reference §Recommended 3).
    sampler_bytes_per_logit: float
    # Non-torch memory (NCCL, CUDA context growth after init): GT-D 0.13 GiB at tp1, 0.55 GiB at tp2;
    # GT-E (0.10.1) implies about 0.25 GiB at tp2.
    non_torch_tp1_gib: float
    non_torch_tpn_gib: float
    # From v0.21 the CUDA graph pool is estimated and taken out of the budget; before, graphs are
    # captured after the KV cache is allocated and sit outside total × utilization.
    graphs_in_budget: bool


PROFILES = (
    VllmProfile(
        "0.6",
        v1=False,
        sampler_bytes_per_logit=4.0,
        non_torch_tp1_gib=0.13,
        non_torch_tpn_gib=0.55,
        graphs_in_budget=False,
    ),
    VllmProfile(
        "0.8",
        v1=True,
        sampler_bytes_per_logit=10.5,
        non_torch_tp1_gib=0.13,
        non_torch_tpn_gib=0.25,
        graphs_in_budget=False,
    ),
    VllmProfile(
        "0.11",
        v1=True,
        sampler_bytes_per_logit=39.0,
        non_torch_tp1_gib=0.13,
        non_torch_tpn_gib=0.55,
        graphs_in_budget=False,
    ),
    VllmProfile(
        "0.21",
        v1=True,
        sampler_bytes_per_logit=39.0,
        non_torch_tp1_gib=0.13,
        non_torch_tpn_gib=0.55,
        graphs_in_budget=True,
    ),
)
DEFAULT_VERSION = "0.11.0"  # the newest release the calibration cases cover (GT-D)


def parse_version(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    if not parts:
        raise ValueError(f"not a version: {text!r}")
    return tuple(parts)


def vllm_profile(version: str) -> VllmProfile:
    v = parse_version(version)
    chosen = PROFILES[0]
    for profile in PROFILES:
        if v >= parse_version(profile.name):
            chosen = profile
    return chosen


@dataclass(frozen=True)
class SchedulerDefaults:
    max_num_seqs: int
    max_num_batched_tokens: int
    chunked_prefill: bool


def vllm_defaults(profile: VllmProfile, total_gib: float, is_a100: bool, max_model_len: int) -> SchedulerDefaults:
    """vLLM's own defaults for the API server (reference §1a, 0.11.0 engine/arg_utils.py)."""
    if profile.v1:
        if total_gib >= 70 and not is_a100:
            return SchedulerDefaults(1024, 8192, True)
        return SchedulerDefaults(256, 2048, True)
    # v0: chunked prefill switches on by default above 32K context (512-token chunks);
    # otherwise a prefill batch holds a whole max_model_len prompt.
    if max_model_len > 32768:
        return SchedulerDefaults(256, 512, True)
    return SchedulerDefaults(256, max(max_model_len, 2048), False)


def cuda_graph_gib(num_layers: int, tp: int) -> float:
    """Estimate of the CUDA graph pool (reference: 0.3-3.5 GiB; GT-E 0.50 GiB for 28 layers tp1, 0.65 GiB
    tp2; 1.88 GiB for gpt-oss-120b tp4). Graph buffers grow with depth and with tp's all-reduce buffers."""
    return min(3.5, 0.14 + 0.013 * num_layers + 0.15 * (tp > 1))
