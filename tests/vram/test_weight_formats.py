"""Quantized checkpoint formats: what vram/hf.py reads from quantization_config and the bytes vram/weights.py gives.

The quantization_config blocks are those of public Hugging Face checkpoints (the `HF` URL beside each), as
compressed-tensors writes them (compressed-tensors 0.10.2 on PyPI: compressed_tensors/quantization/quant_config.py
`QuantizationConfig`, quant_args.py `QuantizationArgs`, config/base.py `CompressionFormat`). The expected bytes per
weight are derived in the test from the tensors vLLM allocates (file:line in vram/weights.py), not read back from
the code under test.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from gpuctl import catalog, engines
from gpuctl.errors import SpecError, UsageError
from gpuctl.vram import EngineSettings, arch_from_hf_mapping, predict
from gpuctl.vram.weights import mxfp4_kernel, weight_format

GIB = 2**30
LLAMA_8B = {
    "model_type": "llama", "num_hidden_layers": 32, "hidden_size": 4096, "num_attention_heads": 32,
    "num_key_value_heads": 8, "intermediate_size": 14336, "vocab_size": 128256, "max_position_embeddings": 131072,
    "tie_word_embeddings": False, "torch_dtype": "bfloat16",
}  # fmt: skip


def _scheme(weights: dict[str, Any], activations: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"group_0": {"targets": ["Linear"], "weights": weights, "input_activations": activations,
                        "output_activations": None}}  # fmt: skip


def _args(num_bits: int, kind: str, strategy: str, group_size: int | None, symmetric: bool = True) -> dict[str, Any]:
    return {"num_bits": num_bits, "type": kind, "symmetric": symmetric, "strategy": strategy,
            "group_size": group_size, "dynamic": False, "actorder": None, "block_structure": None,
            "observer": "minmax", "observer_kwargs": {}}  # fmt: skip


# HF https://huggingface.co/RedHatAI/Meta-Llama-3.1-8B-Instruct-quantized.w4a16/blob/main/config.json
W4A16 = {"quant_method": "compressed-tensors", "format": "pack-quantized", "quantization_status": "compressed",
         "ignore": ["lm_head"], "kv_cache_scheme": None,
         "config_groups": _scheme(_args(4, "int", "group", 128))}  # fmt: skip
# HF https://huggingface.co/RedHatAI/Meta-Llama-3.1-8B-Instruct-quantized.w8a8/blob/main/config.json
W8A8 = {"quant_method": "compressed-tensors", "format": "int-quantized", "quantization_status": "compressed",
        "ignore": ["lm_head"], "kv_cache_scheme": None,
        "config_groups": _scheme(_args(8, "int", "channel", None), _args(8, "int", "token", None))}  # fmt: skip
# HF https://huggingface.co/RedHatAI/Meta-Llama-3.1-8B-Instruct-FP8-dynamic/blob/main/config.json
FP8_DYNAMIC = {"quant_method": "compressed-tensors", "format": "float-quantized", "quantization_status": "compressed",
               "ignore": ["lm_head"], "kv_cache_scheme": None,
               "config_groups": _scheme(_args(8, "float", "channel", None),
                                        _args(8, "float", "token", None))}  # fmt: skip


def _arch(quant: dict[str, Any], base: dict[str, Any] = LLAMA_8B) -> Any:
    return arch_from_hf_mapping({**base, "quantization_config": quant}, "config.json")


def _bytes(arch: Any) -> float:
    return weight_format(arch, "auto").bytes_per_weight


def test_pack_quantized_w4a16_is_int4_with_group_scales_not_fp8() -> None:
    arch = _arch(W4A16)
    assert (arch.quantization, arch.quant_group_size, arch.quant_zero_points) == ("int4", 128, False)
    # weight_packed int32 [out, in/8] + weight_scale bf16 [out, in/128]; symmetric: no weight_zero_point
    assert _bytes(arch) == pytest.approx(4 / 8 + 2 / 128)


def test_asymmetric_w4a16_adds_packed_zero_points() -> None:
    quant = copy.deepcopy(W4A16)
    quant["config_groups"]["group_0"]["weights"]["symmetric"] = False
    arch = _arch(quant)
    assert arch.quant_zero_points is True
    # + weight_zero_point int32 [out/8, in/128]: 4 bits per group of 128
    assert _bytes(arch) == pytest.approx(4 / 8 + 2 / 128 + 0.5 / 128)


def test_channelwise_w4a16_has_one_scale_per_row() -> None:
    quant = copy.deepcopy(W4A16)
    quant["config_groups"]["group_0"]["weights"].update(strategy="channel", group_size=None)
    arch = _arch(quant)
    assert arch.quant_group_size == -1
    assert _bytes(arch) == pytest.approx(0.5)


def test_w8a16_pack_quantized_is_int8_with_group_scales() -> None:
    quant = copy.deepcopy(W4A16)
    quant["config_groups"]["group_0"]["weights"]["num_bits"] = 8
    arch = _arch(quant)
    assert arch.quantization == "int8"
    assert _bytes(arch) == pytest.approx(1 + 2 / 128)


def test_int_quantized_w8a8_is_one_byte_per_weight() -> None:
    arch = _arch(W8A8)
    assert arch.quantization == "int8"
    assert _bytes(arch) == 1.0


def test_float_quantized_fp8_is_one_byte_per_weight() -> None:
    arch = _arch(FP8_DYNAMIC)
    assert arch.quantization == "fp8"
    assert _bytes(arch) == 1.0


def test_weights_scale_with_the_format() -> None:
    """Llama-3.1-8B: 6.98 B linear weights; W4A16 holds them in 0.5156 B each where bf16 takes 2 B."""
    gpu = catalog.builtin().gpus["h100-sxm5-80gb"]
    prof = engines.memory_profile("vllm", "0.11.0")
    bf16 = predict(arch_from_hf_mapping(LLAMA_8B, "config.json"), gpu, EngineSettings(), prof)
    w4 = predict(_arch(W4A16), gpu, EngineSettings(), prof)
    fp8 = predict(_arch(FP8_DYNAMIC), gpu, EngineSettings(), prof)
    linear = 32 * (4096 * 4096 * 2 + 4096 * 1024 * 2 + 3 * 4096 * 14336)
    assert bf16.weights_gib - w4.weights_gib == pytest.approx(linear * (2 - 0.5 - 2 / 128) / GIB, rel=1e-6)
    assert bf16.weights_gib - fp8.weights_gib == pytest.approx(linear * 1.0 / GIB, rel=1e-6)


def test_nvfp4_in_compressed_tensors_is_refused_with_the_key() -> None:
    quant = copy.deepcopy(W4A16)
    quant["config_groups"]["group_0"]["weights"].update(type="float", group_size=16, strategy="tensor_group")
    with pytest.raises(SpecError) as err:
        _arch(quant)
    assert "num_bits" in str(err.value.problems[0].path) and "not modelled" in err.value.problems[0].message


# ----- MXFP4 (gpt-oss) -----
# HF https://huggingface.co/openai/gpt-oss-120b/blob/main/config.json; its quantization_config is quoted verbatim in
# https://github.com/xinyuwei-david/david-share/blob/master/Deep-Learning/OAI-OSS-on-Azure/README.md
GPT_OSS_120B = {
    "architectures": ["GptOssForCausalLM"], "attention_bias": True, "head_dim": 64, "hidden_size": 2880,
    "intermediate_size": 2880, "layer_types": ["sliding_attention", "full_attention"] * 18,
    "max_position_embeddings": 131072, "model_type": "gpt_oss", "num_attention_heads": 64,
    "num_experts_per_tok": 4, "num_hidden_layers": 36, "num_key_value_heads": 8, "num_local_experts": 128,
    "quantization_config": {"modules_to_not_convert": ["model.layers.*.self_attn", "model.layers.*.mlp.router",
                                                       "model.embed_tokens", "lm_head"], "quant_method": "mxfp4"},
    "sliding_window": 128, "tie_word_embeddings": False, "torch_dtype": "bfloat16", "vocab_size": 201088,
}  # fmt: skip


def _expert_gib(inter: int, hidden: int, tp: int) -> float:
    """36 layers x 128 experts: w13 [2I/tp, H] + w2 [H, I/tp] in e2m1 (0.5 B) + e8m0 scale per 32 (1/32 B)."""
    return 36 * 128 * 3 * inter // tp * hidden * (0.5 + 1 / 32) / GIB


def test_mxfp4_packs_the_experts_only() -> None:
    arch = arch_from_hf_mapping(GPT_OSS_120B, "config.json")
    assert arch.quantization == "mxfp4" and arch.moe is not None and arch.moe.expert_bias
    assert (arch.sliding_window, arch.sliding_window_layers) == (128, "alternate")
    gpu = catalog.builtin().gpus["h100-sxm5-80gb"]
    prof = engines.memory_profile("vllm", "0.10.1")
    triton = predict(arch, gpu, EngineSettings(engine_version="0.10.1", mxfp4_kernel="triton_kernels"), prof)
    marlin = predict(arch, gpu, EngineSettings(engine_version="0.10.1", mxfp4_kernel="marlin"), prof)
    # Marlin pads I to 128 (2880 -> 2944) and H to 256 (2880 -> 3072); the triton kernels pad I to 64 (2880 stays)
    assert marlin.weights_gib - triton.weights_gib == pytest.approx(
        _expert_gib(2944, 3072, 1) - _expert_gib(2880, 2880, 1) + 36 * 128 * (2 * 64 + 192) * 2 / GIB, rel=1e-6
    )
    # the rest (attention with biases, embeddings, lm_head) stays bf16: about 4 GiB, not a quarter of it
    rest = triton.weights_gib - _expert_gib(2880, 2880, 1)
    assert 3.9 < rest < 4.1
    assert 60.5 < triton.weights_gib < 61.0


def test_mxfp4_padding_follows_tp_shards() -> None:
    """tp 4 shards I = 2880 into 720 per rank, which the triton kernels round up to 768."""
    arch = arch_from_hf_mapping(GPT_OSS_120B, "config.json")
    gpu = catalog.builtin().gpus["h100-sxm5-80gb"]
    prof = engines.memory_profile("vllm", "0.10.1")
    s = EngineSettings(engine_version="0.10.1", tensor_parallel_size=4, mxfp4_kernel="triton_kernels")
    marlin = EngineSettings(engine_version="0.10.1", tensor_parallel_size=4, mxfp4_kernel="marlin")
    p = predict(arch, gpu, s, prof)
    m = predict(arch, gpu, marlin, prof)
    assert p.weights_gib < m.weights_gib
    bias = 36 * 128 * (2 * 768 + 2880) * 2 / GIB
    non_expert = p.weights_gib - _expert_gib(768 * 4, 2880, 4) - bias
    assert 0.9 < non_expert < 1.1  # attention sharded 4 ways + a quarter of embeddings and lm_head


@pytest.mark.parametrize(
    ("cc", "kernel"), [(8.0, "marlin"), (8.9, "marlin"), (9.0, "marlin"), (10.0, "flashinfer"), (12.0, "marlin")]
)
def test_mxfp4_kernel_by_compute_capability(cc: float, kernel: str) -> None:
    assert mxfp4_kernel(cc) == kernel
    assert mxfp4_kernel(cc, "marlin") == "marlin"
    assert mxfp4_kernel(cc, "triton_kernels") == "triton_kernels"


def test_mxfp4_kernel_of_an_unknown_gpu_is_marlin_and_a_bad_one_is_refused() -> None:
    assert mxfp4_kernel(None) == "marlin"  # no capability in the catalog: vLLM's fallback, the larger padding
    with pytest.raises(UsageError, match="mxfp4 kernel must be one of"):
        EngineSettings(mxfp4_kernel="cutlass").check()  # type: ignore[arg-type]


@pytest.mark.parametrize(("version", "groups", "need"), [("0.11.0", 2, 8192 + 521), ("0.8.5", 1, 8192)])
def test_gpt_oss_sliding_layers_are_paged_by_version(version: str, groups: int, need: int) -> None:
    """gpt-oss alternates 128-token sliding-window and full layers. From 0.9 the hybrid KV cache manager keeps two
    groups of 18 layers and reports blocks // groups x block tokens (kv_cache_utils.py:1080 of 0.11.0); a 131,072-token
    request needs 8192 full-layer blocks plus the window's (128 - 1 + 8192 batched tokens) / 16 + 1 = 521. 0.8 pages
    every layer as full attention: one group, 8192 blocks."""
    arch = arch_from_hf_mapping(GPT_OSS_120B, "config.json")
    gpu = catalog.builtin().gpus["h200-sxm-141gb"]
    p = predict(arch, gpu, EngineSettings(engine_version=version), engines.memory_profile("vllm", version))
    assert p.max_num_batched_tokens == 8192 and p.block_size == 16
    assert p.kv_cache_tokens == p.num_blocks // groups * 16
    assert p.max_concurrency == pytest.approx(p.num_blocks / need)
