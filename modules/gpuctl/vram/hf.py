"""Read a Hugging Face config.json into a ModelArch. Local files only: no network at run time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import Problem, SpecError
from ..model.arch import ModelArch

_DTYPES = {"bfloat16": "bf16", "float16": "fp16", "float32": "fp32", "half": "fp16"}


def _quantization(cfg: dict[str, Any]) -> str | None:
    q = cfg.get("quantization_config") or {}
    method = str(q.get("quant_method", "")).lower()
    bits = q.get("bits") or q.get("w_bit")
    if method in ("awq", "gptq") or bits == 4:
        return "int4"
    if method in ("fp8", "compressed-tensors", "fbgemm_fp8"):
        return "fp8"
    if bits == 8:
        return "int8"
    return None


def arch_from_hf_config(path: str | Path) -> ModelArch:
    p = Path(path)
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(f"{p}: no such file", [Problem("no such file", file=str(p))]) from None
    except json.JSONDecodeError as exc:
        raise SpecError(
            "bad JSON", [Problem(f"not JSON: {exc.msg}", file=str(p), line=exc.lineno, column=exc.colno)]
        ) from None
    cfg: dict[str, Any] = raw.get("text_config", raw) if isinstance(raw, dict) else {}
    required = ("num_hidden_layers", "hidden_size", "num_attention_heads", "intermediate_size", "vocab_size")
    missing = [k for k in required if k not in cfg]
    if missing:
        raise SpecError(
            "incomplete config.json",
            [
                Problem(
                    f"config.json lacks {', '.join(missing)}",
                    file=str(p),
                    hint="a Hugging Face config.json of a decoder model has these keys",
                )
            ],
        )
    heads = cfg["num_attention_heads"]
    data: dict[str, Any] = {
        "id": str(cfg.get("_name_or_path") or p.parent.name or "model").lower().replace("/", "--")[:80] or "model",
        "name": str(cfg.get("_name_or_path") or p.parent.name or p.name),
        "num_layers": cfg["num_hidden_layers"],
        "hidden_size": cfg["hidden_size"],
        "num_heads": heads,
        "num_kv_heads": cfg.get("num_key_value_heads") or heads,
        "head_dim": cfg.get("head_dim") or cfg["hidden_size"] // heads,
        "intermediate_size": cfg["intermediate_size"],
        "vocab_size": cfg["vocab_size"],
        "max_position_embeddings": cfg.get("max_position_embeddings", 4096),
        "tie_word_embeddings": bool(cfg.get("tie_word_embeddings", False)),
        "qkv_bias": bool(cfg.get("attention_bias", cfg.get("model_type") in ("qwen2",))),
        "dtype": _DTYPES.get(str(cfg.get("torch_dtype", "bfloat16")), "bf16"),
        "quantization": _quantization(cfg),
        "source": f"config.json at {p}",
    }
    if cfg.get("model_type") == "gemma2":
        data["norms_per_layer"] = 4
    window = cfg.get("sliding_window")
    if window and cfg.get("use_sliding_window", True) is not False:
        data["sliding_window"] = window
        data["sliding_window_layers"] = "alternate" if cfg.get("model_type") in ("gemma2", "gemma3") else "all"
    experts = cfg.get("num_local_experts") or cfg.get("n_routed_experts") or cfg.get("num_experts")
    if experts:
        data["moe"] = {
            "num_experts": experts,
            "experts_per_token": cfg.get("num_experts_per_tok", 2),
            "expert_intermediate_size": cfg.get("moe_intermediate_size") or cfg["intermediate_size"],
            "shared_experts": cfg.get("n_shared_experts", 0) or 0,
            "first_dense_layers": cfg.get("first_k_dense_replace", 0) or 0,
        }
    if cfg.get("kv_lora_rank"):
        data["mla"] = {
            "kv_lora_rank": cfg["kv_lora_rank"],
            "qk_rope_head_dim": cfg["qk_rope_head_dim"],
            "qk_nope_head_dim": cfg["qk_nope_head_dim"],
            "v_head_dim": cfg["v_head_dim"],
            "q_lora_rank": cfg.get("q_lora_rank"),
        }
        data["head_dim"] = cfg["qk_nope_head_dim"] + cfg["qk_rope_head_dim"]
    try:
        return ModelArch.model_validate(data)
    except ValidationError as exc:
        problems = [Problem(f"{'.'.join(map(str, e['loc']))}: {e['msg']}", file=str(p)) for e in exc.errors()]
        raise SpecError("unusable config.json", problems) from None
