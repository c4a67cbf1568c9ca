"""Read a Hugging Face config.json into a ModelArch. Local files only: no network at run time.

Every field read is checked for its JSON type before it is used (an integer is never a bool, a float, a
string or null-where-required; a section is a mapping), so a malformed file is a message naming the key
path and its `file:line:col`, never an exception from the arithmetic. Sizes are then bounded by the model
(`ModelArch`), whose errors are reported at the config.json key they came from.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any, NoReturn

from pydantic import ValidationError

from ..errors import Problem, SpecError
from ..fsutil import read_text_capped
from ..model.arch import ModelArch

MAX_CONFIG_BYTES = 16 * 2**20  # the largest published config.json files are tens of KiB
# An integer in a config.json fits in int32 (no model dimension comes close); larger values would overflow
# float arithmetic before the model's own, tighter bounds could report them.
MAX_INT = 2**31 - 1

_DTYPES = {"bfloat16": "bf16", "float16": "fp16", "float32": "fp32", "half": "fp16"}
Loc = tuple[str, ...]


def _describe(value: Any) -> str:
    """A JSON value as the file spells it, short."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, int) and abs(value) > MAX_INT:
        return f"{str(value)[:12]}… ({len(str(abs(value)))} digits)"
    if isinstance(value, str):
        return json.dumps(value[:40] + ("…" if len(value) > 40 else ""), ensure_ascii=False)
    return repr(value)


class _Fields:
    """The keys of one config.json mapping, read with their types checked; problems collect per key path."""

    def __init__(self, data: dict[str, Any], loc: Loc, problems: list[tuple[Loc, str]]) -> None:
        self.data = data
        self.loc = loc
        self.problems = problems

    def _bad(self, key: str, message: str) -> None:
        self.problems.append((self.loc + (key,), message))

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def integer(self, key: str, default: int | None = None, least: int = 1) -> int | None:
        """An integer ≥ least; absent or null gives the default."""
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self._bad(key, f"expected an integer, got {_describe(value)}")
            return default
        if value < least:
            self._bad(key, f"must be ≥ {least}, got {value}")
            return default
        if value > MAX_INT:
            self._bad(key, f"must be ≤ {MAX_INT:,} (2^31 − 1), got {_describe(value)}")
            return default
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self._bad(key, f"expected true or false, got {_describe(value)}")
            return default
        return value

    def text(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            self._bad(key, f"expected a string, got {_describe(value)}")
            return None
        return value

    def section(self, key: str, required: bool = False) -> _Fields | None:
        """A nested mapping; null is accepted only where the section is optional."""
        if key not in self.data or (self.data[key] is None and not required):
            return None
        value = self.data[key]
        if not isinstance(value, dict):
            self._bad(key, f"expected a mapping, got {_describe(value)}")
            return None
        return _Fields(value, self.loc + (key,), self.problems)


Quant = dict[str, Any]  # ModelArch's quantization, quant_group_size, quant_zero_points


def _int_quant(bits: int | None, group: int | None, zeros: bool | None) -> Quant:
    out: Quant = {"quantization": "int8" if bits == 8 else "int4"}
    if group is not None:
        out["quant_group_size"] = group
    if zeros is not None:
        out["quant_zero_points"] = zeros
    return out


def _compressed_tensors(q: _Fields) -> Quant:
    """A compressed-tensors checkpoint (compressed-tensors 0.10.2, compressed_tensors/quantization/quant_config.py
    `QuantizationConfig`: config_groups of `QuantizationScheme`s whose `weights` are `QuantizationArgs` in
    quant_args.py: num_bits (8), type "int" | "float" ("int"), symmetric (true), strategy "tensor" | "channel" |
    "group" | "block" | "tensor_group", group_size; `format` a config/base.py `CompressionFormat`). The weights of
    the group that targets Linear layers decide: int 4/8 bits = packed int with its group and zero points
    (pack-quantized W4A16/W8A16, int-quantized W8A8), float 8 bits = fp8 (float-quantized). Without config_groups
    (an abridged config) the format alone: float-quantized = fp8, int-quantized = int8, pack-quantized = int4."""
    groups = q.section("config_groups")
    fmt = q.text("format") or ""
    weights: _Fields | None = None
    if groups is not None:
        schemes = [g for key in groups.data if (g := groups.section(key)) is not None]
        linear = [g for g in schemes if "Linear" in (g.data.get("targets") or [])]
        for scheme in linear + schemes:
            if (weights := scheme.section("weights")) is not None:
                break
    if weights is None:
        if fmt.startswith("float"):
            return {"quantization": "fp8"}
        if fmt.startswith("int"):
            return _int_quant(q.integer("bits") or 8, None, None)
        if fmt == "pack-quantized":
            return _int_quant(q.integer("bits") or 4, None, None)
        return {}
    bits = weights.integer("num_bits", 8)
    kind = weights.text("type") or "int"
    if kind == "float":
        if bits == 8:
            return {"quantization": "fp8"}
        weights._bad("num_bits", f"{bits}-bit float weights (NVFP4/MXFP4 in compressed-tensors) are not modelled")
        return {}
    if bits not in (4, 8):
        weights._bad("num_bits", f"{bits}-bit int weights are not modelled (4 or 8)")
        return {}
    strategy = weights.text("strategy")
    group = weights.integer("group_size", least=-1)
    per: int | None = group  # "group" (or unstated strategy): the group size
    if strategy in ("channel", "tensor", "token") or group == -1:
        per = -1  # one scale per output row (or per tensor): no group overhead
    if bits == 8 and fmt == "int-quantized":  # W8A8: int8 weights with a scale per channel, no packing
        return {"quantization": "int8"}
    return _int_quant(bits, per, not weights.flag("symmetric", True))


def _quantization(q: _Fields | None) -> Quant:
    """The checkpoint's weight format from config.json's quantization_config."""
    if q is None:
        return {}
    method = (q.text("quant_method") or "").lower()
    if method == "mxfp4":  # gpt-oss: MoE experts in MXFP4, modules_to_not_convert (attention, router, embeddings) bf16
        return {"quantization": "mxfp4"}
    if method == "compressed-tensors":
        return _compressed_tensors(q)
    bits = q.integer("bits") or q.integer("w_bit")
    if method in ("awq", "gptq") or bits == 4:
        group = q.integer("group_size", least=-1) or q.integer("q_group_size", least=-1)
        # AWQ stores zero points (`zero_point`, true); GPTQ unless `sym` (vLLM's Marlin path drops them then)
        zeros = q.flag("zero_point", True) if method == "awq" else (not q.flag("sym", False) if q.has("sym") else None)
        return _int_quant(bits or 4, group, zeros)
    if method in ("fp8", "fbgemm_fp8"):
        return {"quantization": "fp8"}
    if bits == 8:
        return {"quantization": "int8"}
    return {}


def _window_layers(cfg: _Fields, model_type: str | None) -> dict[str, Any]:
    """Which layers use the sliding window: config.json's `layer_types` where given (transformers 4.53+), else
    the model family's rule: Gemma-2 alternates, Gemma-3 keeps every `sliding_window_pattern`-th layer global
    (transformers' configuration_gemma3.py, default 6), other models slide on every layer."""
    types = cfg.data.get("layer_types")
    if isinstance(types, list) and types and all(isinstance(t, str) for t in types):
        full = sum(t == "full_attention" for t in types)
        if full == 0:
            return {"sliding_window_layers": "all"}
        if full * 2 >= len(types):  # half or more global: counted as alternating
            return {"sliding_window_layers": "alternate"}
        return {"sliding_window_layers": "pattern", "sliding_window_pattern": len(types) // full}
    if model_type == "gemma2":
        return {"sliding_window_layers": "alternate"}
    if model_type in ("gemma3", "gemma3_text"):
        pattern = cfg.integer("sliding_window_pattern", 6, least=2)
        return {"sliding_window_layers": "pattern", "sliding_window_pattern": min(pattern or 6, 1024)}
    return {"sliding_window_layers": "all"}


_REQUIRED = ("num_hidden_layers", "hidden_size", "num_attention_heads", "intermediate_size", "vocab_size")
# ModelArch fields and the config.json keys they come from (for reporting the model's own bounds).
_SOURCE_KEYS = {
    "num_layers": ("num_hidden_layers",),
    "hidden_size": ("hidden_size",),
    "num_heads": ("num_attention_heads",),
    "num_kv_heads": ("num_key_value_heads", "num_attention_heads"),
    "head_dim": ("head_dim", "qk_nope_head_dim", "hidden_size"),
    "intermediate_size": ("intermediate_size",),
    "vocab_size": ("vocab_size",),
    "max_position_embeddings": ("max_position_embeddings",),
    "sliding_window": ("sliding_window",),
    "sliding_window_pattern": ("sliding_window_pattern", "layer_types"),
    "name": ("_name_or_path",),
    "id": ("_name_or_path",),
    "num_experts": ("num_local_experts", "n_routed_experts", "num_experts"),
    "experts_per_token": ("num_experts_per_tok",),
    "expert_intermediate_size": ("moe_intermediate_size", "intermediate_size"),
    "shared_experts": ("n_shared_experts",),
    "first_dense_layers": ("first_k_dense_replace",),
    "kv_lora_rank": ("kv_lora_rank",),
    "qk_rope_head_dim": ("qk_rope_head_dim",),
    "qk_nope_head_dim": ("qk_nope_head_dim",),
    "v_head_dim": ("v_head_dim",),
    "q_lora_rank": ("q_lora_rank",),
    "quant_group_size": ("quantization_config",),
}
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _label(text: str, limit: int = 200) -> str:
    """A display string from a file: one line, no control or bidi characters, bounded."""
    clean = _UNPRINTABLE.sub("?", text)
    return clean if len(clean) <= limit else "…" + clean[-(limit - 1) :]


def _model_id(text: str) -> str:
    slug = re.sub(r"[^a-z0-9._+-]+", "-", text.lower().replace("/", "--")).strip("-._+")
    return slug[:80].rstrip("-._+") or "model"


def _read(p: Path) -> tuple[str, Any]:
    text = read_text_capped(p, MAX_CONFIG_BYTES, "config.json")
    try:
        return text, json.loads(text)
    except json.JSONDecodeError as exc:
        problem = Problem(f"not JSON: {exc.msg}", file=str(p), line=exc.lineno, column=exc.colno)
    except RecursionError:
        problem = Problem("not a config.json: nested too deeply", file=str(p))
    except ValueError as exc:  # an integer literal past Python's digit limit
        problem = Problem(f"not a config.json: {str(exc).split(';')[0]}", file=str(p))
    raise SpecError("bad JSON", [problem]) from None


def arch_from_hf_config(path: str | Path) -> ModelArch:
    """The architecture a Hugging Face config.json describes; a `SpecError` (exit 2) names every bad key."""
    p = Path(path)
    text, raw = _read(p)
    return _arch(p, text, raw)


def arch_from_hf_mapping(data: dict[str, Any], origin: str) -> ModelArch:
    """The architecture of config.json fields already parsed (e.g. kept in a corpus file); `origin` names them in
    messages and in the architecture's source."""
    return _arch(Path(origin), json.dumps(data, indent=1), data)


def _arch(p: Path, text: str, raw: Any) -> ModelArch:
    problems: list[tuple[Loc, str]] = []
    if not isinstance(raw, dict):
        raise SpecError(
            "bad config.json",
            [Problem(f"expected a mapping of settings at the top level, got {_describe(raw)}", file=str(p), line=1)],
        )
    top = _Fields(raw, (), problems)
    # Multimodal wrappers keep the language model's shapes under text_config.
    cfg = top.section("text_config", required=True) if "text_config" in raw else top
    if cfg is None:
        _raise(p, text, raw, problems)
    missing = [k for k in _REQUIRED if k not in cfg.data]
    if missing:
        # A missing key has no line of its own: point at the mapping it belongs in.
        from ..yamlpos import Locator, Position

        pos = Locator(text).position(cfg.loc) if cfg.loc else Position(1, 1)
        raise SpecError(
            "incomplete config.json",
            [
                Problem(
                    f"config.json lacks {', '.join(missing)}",
                    file=str(p),
                    line=pos.line if pos else None,
                    column=pos.column if pos else None,
                    path=".".join(cfg.loc) or None,
                    hint="a Hugging Face config.json of a decoder model has these keys",
                )
            ],
        )
    layers = cfg.integer("num_hidden_layers")
    hidden = cfg.integer("hidden_size")
    heads = cfg.integer("num_attention_heads")
    inter = cfg.integer("intermediate_size")
    vocab = cfg.integer("vocab_size")
    for key, value in zip(_REQUIRED, (layers, hidden, heads, inter, vocab), strict=True):
        if value is None and cfg.data.get(key) is None:
            cfg._bad(key, "expected an integer, got null")
    head_dim = cfg.integer("head_dim")
    if head_dim is None and not cfg.has("head_dim") and hidden and heads and hidden // heads < 1:
        cfg._bad("num_attention_heads", f"{heads} heads leave less than one dimension each of hidden_size {hidden}")
    label = cfg.text("_name_or_path")
    model_type = cfg.text("model_type")
    dtype = cfg.text("torch_dtype")
    name = _label(label or p.parent.name or p.name)
    data: dict[str, Any] = {
        "id": _model_id(name),
        "name": name,
        "num_layers": layers,
        "hidden_size": hidden,
        "num_heads": heads,
        "num_kv_heads": cfg.integer("num_key_value_heads", heads),
        "head_dim": head_dim or (hidden // heads if hidden and heads else None),
        "intermediate_size": inter,
        "vocab_size": vocab,
        "max_position_embeddings": cfg.integer("max_position_embeddings", 4096),
        "tie_word_embeddings": cfg.flag("tie_word_embeddings", False),
        "qkv_bias": cfg.flag("attention_bias", model_type in ("qwen2",)),
        "dtype": _DTYPES.get(dtype or "bfloat16", "bf16"),
        **_quantization(cfg.section("quantization_config")),
        "source": f"config.json at {_label(str(p), 250)}",
    }
    if model_type == "gemma2":
        data["norms_per_layer"] = 4
    if "quantization" not in data:
        data["quantization"] = None
    window = cfg.integer("sliding_window", least=0)  # 0 or null: no sliding window
    if window and cfg.flag("use_sliding_window", True):
        data["sliding_window"] = window
        data.update(_window_layers(cfg, model_type))
    experts = next(
        (n for k in ("num_local_experts", "n_routed_experts", "num_experts") if (n := cfg.integer(k, least=0))), None
    )
    if experts:
        per_token = cfg.integer("num_experts_per_tok", 2)
        if per_token is not None and per_token > experts:
            cfg._bad("num_experts_per_tok", f"{per_token} experts per token > {experts} experts")
        dense = cfg.integer("first_k_dense_replace", 0, least=0)
        if dense is not None and layers is not None and dense > layers:
            cfg._bad("first_k_dense_replace", f"{dense} dense layers > num_hidden_layers {layers}")
        data["moe"] = {
            "num_experts": experts,
            "experts_per_token": per_token,
            "expert_intermediate_size": cfg.integer("moe_intermediate_size", inter),
            "shared_experts": cfg.integer("n_shared_experts", 0, least=0),
            "first_dense_layers": dense,
            "expert_bias": model_type == "gpt_oss",  # gate_up_proj_bias and down_proj_bias per expert
        }
    if cfg.integer("kv_lora_rank", least=0):
        mla = {
            k: cfg.integer(k)
            for k in ("kv_lora_rank", "qk_rope_head_dim", "qk_nope_head_dim", "v_head_dim", "q_lora_rank")
        }
        for key in ("qk_rope_head_dim", "qk_nope_head_dim", "v_head_dim"):
            if key not in cfg.data:
                cfg._bad(key, "missing (a multi-head latent attention model has it with kv_lora_rank)")
        data["mla"] = mla
        if mla["qk_nope_head_dim"] and mla["qk_rope_head_dim"]:
            data["head_dim"] = mla["qk_nope_head_dim"] + mla["qk_rope_head_dim"]
    if problems:
        _raise(p, text, raw, problems)
    try:
        return ModelArch.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            field = next((str(part) for part in reversed(err["loc"]) if str(part) in _SOURCE_KEYS), None)
            source = next((k for k in _SOURCE_KEYS.get(field or "", ()) if k in cfg.data), None)
            loc = cfg.loc + (source,) if source else cfg.loc + tuple(map(str, err["loc"]))
            problems.append((loc, f"{err['msg']} (as ModelArch.{'.'.join(map(str, err['loc']))})"))
        _raise(p, text, raw, problems)


def _present(raw: Any, loc: Loc) -> bool:
    node = raw
    for key in loc:
        if not isinstance(node, dict) or key not in node:
            return False
        node = node[key]
    return bool(loc)


def _raise(p: Path, text: str, raw: Any, problems: list[tuple[Loc, str]]) -> NoReturn:
    from ..yamlpos import Locator, Position  # positions only when a message needs them (JSON is YAML flow)

    locator = Locator(text)
    out = []
    for loc, message in problems:
        # A missing key has no line of its own: point at the mapping it belongs in.
        where = loc if _present(raw, loc) else loc[:-1]
        pos = locator.position(where) if where else Position(1, 1)
        out.append(
            Problem(
                message,
                file=str(p),
                line=pos.line if pos else None,
                column=pos.column if pos else None,
                path=".".join(loc) or None,
            )
        )
    raise SpecError("unusable config.json", out)
