"""Generators of hostile input: mutated example sites, damaged YAML, config.json and TCO scenarios, option values.

Every generator returns the bytes (or argv) to run and a short human-readable description of what was done,
which is the reproducer recorded with any issue the run meets.
"""

from __future__ import annotations

import copy
import json
import math
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

from tests.fuzz.harness import ROOT
from tests.vram.test_vram_cli import DEEPSEEK_V3_CONFIG
from tests.vram.test_weight_formats import GPT_OSS_120B

SITES = {name: ROOT / "inventories" / name / "site.yaml" for name in ("fra1", "lab", "ams2")}
SITE_TEXT = {name: path.read_text(encoding="utf-8") for name, path in SITES.items()}
SITE_DATA = {name: yaml.load(text, Loader=yaml.CSafeLoader) for name, text in SITE_TEXT.items()}
SITE_PICKLE = {name: pickle.dumps(data) for name, data in SITE_DATA.items()}  # a fresh copy in 0.4 ms
TCO_YAML = ROOT / "inventories" / "fra1" / "tco.yaml"
TCO_DATA: dict[str, Any] = yaml.safe_load(TCO_YAML.read_text(encoding="utf-8"))

Path_ = tuple[str | int, ...]

# Values of the wrong type, out of range or hostile, set at any key.
# Numbers at the edges: zero and signs, beyond 64 bits, beyond a float, non-finite, subnormal.
EDGE_NUMBERS: list[Any] = [0, -1, 1, 2**31, 2**63, -(2**63) - 1, 10**400, -(10**400), 1.5, -0.0, 1e308, 5e-324]
EDGE_NUMBERS += [math.inf, -math.inf, math.nan]

WEIRD_VALUES: list[Any] = [
    *EDGE_NUMBERS,
    None,
    [],
    {},
    [1, "two", None],
    {"x": 1},
    {"name": {"nested": [{"deeper": None}]}},
    True,
    False,
    "",
    " ",
    "0",
    "1e999",
    "yes",
    "null",
    "\x00",
    "\x07\x1b[31mred",
    "a\nb",
    "line1\r\nline2",
    "$(id)",
    "`id`",
    "; rm -rf / #",
    "../..",
    "../../../etc/passwd",
    "/etc/shadow",
    "~root/.ssh/id_rsa",
    "x" * 5000,
    "é" * 300,
    "\u202eevil",
    "\ud7ff\ufeff",
    "{{ lookup('pipe', 'id') }}",
    "%s%s%n",
    "L1-L2",
    "dgx-h100",
]

# Tokens placed verbatim in the YAML text where a value was (tags, anchors, odd scalars, flow damage).
RAW_TOKENS = [
    "1e999",
    "-1e999",
    ".inf",
    "-.Inf",
    ".NaN",
    "0x1F",
    "0o777",
    "1_000",
    "~",
    "2001-12-14t21:59:43.10-05:00",
    "!!python/object:os.system {}",
    "!!python/object/apply:os.system ['id']",
    "!!python/name:os.system",
    "!!binary aGVsbG8=",
    "!!set {a, b}",
    "!!omap [a: 1]",
    "!!str 5",
    "!!int '12'",
    "!!float 'x'",
    "!custom tag",
    "&anchor value",
    "*undefined_alias",
    "'unterminated",
    '"unterminated',
    "{",
    "[",
    "{a: 1, a: 2}",
    "[a, [b, [c, [d]]]]",
    "{? [a, b] : c}",
    "|\n  literal\n  block",
    ">-\n  folded",
    "- a\n- b",
    "@reserved",
    "`reserved",
    "%directive",
    "a: b: c",
    "!!null ''",
    "!!bool maybe",
]


def all_paths(node: Any, path: Path_ = ()) -> list[Path_]:
    """Every node below the root, as key/index paths."""
    out: list[Path_] = []
    if isinstance(node, dict):
        for k, v in node.items():
            out.append((*path, k))
            out.extend(all_paths(v, (*path, k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.append((*path, i))
            out.extend(all_paths(v, (*path, i)))
    return out


def _parent(data: Any, path: Path_) -> Any:
    node = data
    for part in path[:-1]:
        node = node[part]
    return node


def show(path: Path_) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".") or "<root>"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:40] + f"… ({len(text)} chars)"


@dataclass
class Doc:
    """A document being mutated: data plus raw tokens substituted after dumping."""

    data: Any
    raw: dict[str, str]
    steps: list[str]


@st.composite
def mutate_tree(draw: st.DrawFn, doc: Doc) -> Doc:
    paths = all_paths(doc.data)
    if not paths:
        return doc
    path = draw(st.sampled_from(paths))
    parent = _parent(doc.data, path)
    key = path[-1]
    kind = draw(st.sampled_from(["drop", "value", "value", "value", "raw", "duplicate", "wrap", "rename"]))
    if kind == "drop":
        del parent[key]
        doc.steps.append(f"drop {show(path)}")
    elif kind == "value":
        value = draw(st.sampled_from(WEIRD_VALUES))
        parent[key] = copy.deepcopy(value)
        doc.steps.append(f"{show(path)} := {_short(value)}")
    elif kind == "raw":
        token = draw(st.sampled_from(RAW_TOKENS))
        marker = f"RAWTOKEN{len(doc.raw)}X"
        doc.raw[marker] = token
        parent[key] = marker
        doc.steps.append(f"{show(path)} := raw {token!r}")
    elif kind == "duplicate":
        if isinstance(parent, list):
            parent.insert(key + 1, copy.deepcopy(parent[key]))  # type: ignore[operator]
            doc.steps.append(f"duplicate {show(path)}")
        else:
            marker = f"DUPKEY{len(doc.raw)}X"
            doc.raw[marker] = str(key)  # the same key twice in one mapping
            parent[marker] = copy.deepcopy(parent[key])
            doc.steps.append(f"duplicate key {show(path)}")
    elif kind == "wrap":
        value = parent[key]
        parent[key] = draw(st.sampled_from([[value], {"value": value}, [value, value]]))
        doc.steps.append(f"wrap {show(path)} in a {type(parent[key]).__name__}")
    else:
        if isinstance(parent, dict):
            new = draw(st.sampled_from(["", "Name", "name ", "näme", "x" * 300, "1", "racks", "version"]))
            if new not in parent:
                parent[new] = parent.pop(key)
                doc.steps.append(f"rename key {show(path)} -> {new!r}")
    return doc


def _finite(node: Any, raw: dict[str, str]) -> Any:
    """Non-finite floats as markers for YAML's own spellings (JSON has none)."""
    if isinstance(node, float) and not math.isfinite(node):
        marker = f"RAWTOKEN{len(raw)}X"
        raw[marker] = ".nan" if math.isnan(node) else (".inf" if node > 0 else "-.inf")
        return marker
    if isinstance(node, dict):
        return {k: _finite(v, raw) for k, v in node.items()}
    if isinstance(node, list):
        return [_finite(v, raw) for v in node]
    return node


def dump(doc: Doc, block: bool = True) -> str:
    """Block-style YAML (libyaml's emitter), or indented JSON (which is YAML, and 20x faster to write)."""
    raw = dict(doc.raw)
    if block:
        text = yaml.dump(doc.data, Dumper=yaml.CSafeDumper, sort_keys=False, allow_unicode=True, width=100)
    else:
        text = json.dumps(_finite(doc.data, raw), indent=1, ensure_ascii=False)
    for marker, token in raw.items():
        text = text.replace(f'"{marker}"', token).replace(marker, token)
    return text


@st.composite
def damage_text(draw: st.DrawFn, text: str) -> tuple[bytes, str]:
    """Damage at the YAML or byte level."""
    data = text.encode("utf-8")
    kind = draw(
        st.sampled_from(
            [
                "truncate",
                "tab",
                "bom",
                "bom-middle",
                "non-utf8",
                "nul",
                "control",
                "tag",
                "complex-key",
                "alias-bomb",
                "alias-bomb-used",
                "delete-line",
                "duplicate-line",
                "indent",
                "crlf",
                "cr-only",
                "long-line",
                "documents",
                "directive",
                "empty",
                "only-comment",
                "merge-key",
                "anchor-alias",
                "deep-nesting",
            ]
        )
    )
    at = draw(st.integers(0, max(0, len(data) - 1)))
    lines = text.split("\n")
    line_no = draw(st.integers(0, max(0, len(lines) - 1)))
    desc = kind
    if kind == "truncate":
        data, desc = data[:at], f"truncate at byte {at}"
    elif kind == "tab":
        data, desc = data[:at] + b"\t" + data[at:], f"tab at byte {at}"
    elif kind == "bom":
        data = b"\xef\xbb\xbf" + data
    elif kind == "bom-middle":
        data, desc = data[:at] + b"\xef\xbb\xbf" + data[at:], f"BOM at byte {at}"
    elif kind == "non-utf8":
        byte = draw(st.sampled_from([b"\xff", b"\xc3", b"\x80", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80"]))
        data, desc = data[:at] + byte + data[at:], f"{byte!r} at byte {at}"
    elif kind == "nul":
        data, desc = data[:at] + b"\x00" + data[at:], f"NUL at byte {at}"
    elif kind == "control":
        ch = draw(st.sampled_from([b"\x01", b"\x1b", b"\x7f", b"\x0b", b"\x0c", "\u2028".encode(), "\x85".encode()]))
        data, desc = data[:at] + ch + data[at:], f"{ch!r} at byte {at}"
    elif kind == "tag":
        tag = draw(st.sampled_from(["!!python/object:os.system ", "!!python/object/apply:os.system ", "!!map ", "!x "]))
        lines[line_no] = _before_value(lines[line_no], tag)
        data, desc = "\n".join(lines).encode(), f"tag {tag.strip()!r} on line {line_no + 1}"
    elif kind == "complex-key":
        key = draw(st.sampled_from(["? [a, b]\n: c\n", "? {a: 1}\n: c\n", "[a, b]: c\n", "? |\n  block key\n: c\n"]))
        data = (key + text).encode() if draw(st.booleans()) else (text + "\n" + key).encode()
    elif kind == "alias-bomb":
        data = (_alias_bomb(draw(st.integers(2, 9)), used=False) + text).encode()
    elif kind == "alias-bomb-used":
        depth = draw(st.integers(2, 9))
        data, desc = (_alias_bomb(depth, used=True) + text).encode(), f"alias bomb of depth {depth} as racks"
        data = data.replace(b"\nracks:", b"\nracks-orig:", 1)
    elif kind == "delete-line":
        del lines[line_no]
        data, desc = "\n".join(lines).encode(), f"delete line {line_no + 1}"
    elif kind == "duplicate-line":
        lines.insert(line_no, lines[line_no])
        data, desc = "\n".join(lines).encode(), f"duplicate line {line_no + 1}"
    elif kind == "indent":
        shift = draw(st.sampled_from([-2, -1, 1, 3]))
        line = lines[line_no]
        lines[line_no] = " " * shift + line if shift > 0 else line[-shift:]
        data, desc = "\n".join(lines).encode(), f"indent line {line_no + 1} by {shift}"
    elif kind == "crlf":
        data = text.replace("\n", "\r\n").encode()
    elif kind == "cr-only":
        data = text.replace("\n", "\r").encode()
    elif kind == "long-line":
        lines.insert(line_no, "# " + "x" * 200_000)
        data, desc = "\n".join(lines).encode(), f"200,000-character comment at line {line_no + 1}"
    elif kind == "documents":
        data = ("---\n" + text + "\n---\nname: second\n").encode()
    elif kind == "directive":
        data = ("%YAML 1.1\n%TAG ! tag:evil.com,2000:\n---\n" + text).encode()
    elif kind == "empty":
        data = draw(st.sampled_from([b"", b"\n", b"---\n", b"...\n", b"null\n", b"~", b"[]", b"42", b'"a string"']))
        desc = f"whole file {data!r}"
    elif kind == "only-comment":
        data = b"# nothing here\n"
    elif kind == "merge-key":
        data = ("base: &base {name: merged}\n<<: *base\n" + text).encode()
    elif kind == "anchor-alias":
        data = text.replace("racks:", "racks: &r", 1).encode() + b"\nextra: *r\n"
    elif kind == "deep-nesting":
        depth = draw(st.sampled_from([100, 1000, 10000]))
        data, desc = (text + "\ndeep: " + "[" * depth + "]" * depth + "\n").encode(), f"nesting depth {depth}"
    return data, desc


def _before_value(line: str, tag: str) -> str:
    if ": " in line:
        k, v = line.split(": ", 1)
        return f"{k}: {tag}{v}"
    if line.lstrip().startswith("- "):
        i = line.index("- ")
        return line[: i + 2] + tag + line[i + 2 :]
    return tag + line


def _alias_bomb(depth: int, used: bool) -> str:
    lines = ["x-a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, depth):
        lines.append(f"x-a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    if used:
        lines.append(f"racks: *a{depth - 1}")
    return "\n".join(lines) + "\n"


@st.composite
def mutated_site(draw: st.DrawFn) -> tuple[bytes, str]:
    """An example site with 1-3 tree mutations (then dumped as YAML), or YAML/byte damage to its text."""
    name = draw(st.sampled_from(sorted(SITES)))
    how = draw(st.sampled_from(["tree", "tree", "tree", "text", "both"]))
    if how == "text":
        data, desc = draw(damage_text(SITE_TEXT[name]))
        return data, f"inventories/{name}/site.yaml, {desc}"
    doc = Doc(pickle.loads(SITE_PICKLE[name]), {}, [])
    for _ in range(draw(st.integers(1, 3))):
        doc = draw(mutate_tree(doc))
    block = draw(st.sampled_from([True, False, False]))
    text = dump(doc, block)
    steps = "; ".join(doc.steps)
    style = "block YAML" if block else "JSON-style YAML"
    if how == "both":
        data, desc = draw(damage_text(text))
        return data, f"inventories/{name}/site.yaml as {style}, {steps}; then {desc}"
    return text.encode("utf-8"), f"inventories/{name}/site.yaml as {style}, {steps}"


# ----- config.json for `gpuctl vram -m` -----

LLAMA = {
    "_name_or_path": "meta-llama/Llama-3.1-8B",
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "num_hidden_layers": 32,
    "hidden_size": 4096,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "head_dim": 128,
    "intermediate_size": 14336,
    "vocab_size": 128256,
    "max_position_embeddings": 131072,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
    "rope_theta": 500000.0,
}
MIXTRAL = {
    "model_type": "mixtral",
    "num_hidden_layers": 32,
    "hidden_size": 4096,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "intermediate_size": 14336,
    "vocab_size": 32000,
    "max_position_embeddings": 32768,
    "num_local_experts": 8,
    "num_experts_per_tok": 2,
    "sliding_window": None,
    "torch_dtype": "bfloat16",
}
DEEPSEEK = DEEPSEEK_V3_CONFIG | {
    "quantization_config": {"quant_method": "fp8", "fmt": "e4m3", "weight_block_size": [128, 128]},
}
GEMMA = {
    "model_type": "gemma2",
    "num_hidden_layers": 46,
    "hidden_size": 4608,
    "num_attention_heads": 32,
    "num_key_value_heads": 16,
    "head_dim": 128,
    "intermediate_size": 36864,
    "vocab_size": 256000,
    "max_position_embeddings": 8192,
    "sliding_window": 4096,
    "tie_word_embeddings": True,
    "torch_dtype": "bfloat16",
}
QWEN_AWQ = {
    "model_type": "qwen2",
    "num_hidden_layers": 28,
    "hidden_size": 3584,
    "num_attention_heads": 28,
    "num_key_value_heads": 4,
    "intermediate_size": 18944,
    "vocab_size": 152064,
    "max_position_embeddings": 32768,
    "sliding_window": 131072,
    "use_sliding_window": False,
    "torch_dtype": "float16",
    "quantization_config": {"quant_method": "awq", "bits": 4, "group_size": 128},
}
MULTIMODAL = {"model_type": "llava", "architectures": ["LlavaForConditionalGeneration"], "text_config": LLAMA}
CONFIGS = {"llama": LLAMA, "mixtral": MIXTRAL, "deepseek": DEEPSEEK, "gemma": GEMMA, "qwen-awq": QWEN_AWQ}
CONFIGS["gpt-oss"] = GPT_OSS_120B  # MXFP4 experts, attention bias, alternating sliding-window layers
CONFIGS["multimodal"] = MULTIMODAL

# Every key gpuctl.vram.hf reads (and a few it may read next).
HF_KEYS = [
    "text_config",
    "num_hidden_layers",
    "hidden_size",
    "num_attention_heads",
    "num_key_value_heads",
    "head_dim",
    "intermediate_size",
    "vocab_size",
    "max_position_embeddings",
    "tie_word_embeddings",
    "attention_bias",
    "model_type",
    "torch_dtype",
    "quantization_config",
    "sliding_window",
    "use_sliding_window",
    "num_local_experts",
    "n_routed_experts",
    "num_experts",
    "num_experts_per_tok",
    "moe_intermediate_size",
    "n_shared_experts",
    "first_k_dense_replace",
    "kv_lora_rank",
    "q_lora_rank",
    "qk_rope_head_dim",
    "qk_nope_head_dim",
    "v_head_dim",
    "_name_or_path",
    "layer_types",
    "sliding_window_pattern",
]
HF_VALUES: list[Any] = [
    *EDGE_NUMBERS,
    -8,
    3,
    7,
    2**40,
    0.5,
    None,
    True,
    "",
    "32",
    "bfloat16",
    "float8",
    "awq",
    "x" * 3000,
    "../../etc/passwd",
    [],
    [1, 2],
    {},
    {"quant_method": "gptq"},
    {"quant_method": "mxfp4"},
    {"quant_method": "mxfp4", "modules_to_not_convert": "lm_head"},
    {"quant_method": None, "bits": "4"},
    {"quant_method": ["fp8"], "bits": 8},
    {"bits": 10**400},
    {"text_config": None},
]


@st.composite
def hf_config(draw: st.DrawFn) -> tuple[bytes, str]:
    name = draw(st.sampled_from(sorted(CONFIGS)))
    cfg = copy.deepcopy(CONFIGS[name])
    steps = []
    how = draw(st.sampled_from(["keys", "keys", "keys", "keys", "damage", "whole"]))
    if how == "whole":
        data = draw(
            st.sampled_from(
                [b"", b"null", b"[]", b"42", b'"s"', b"{}", b'{"text_config": null}', b'{"text_config": []}', b"\xff"]
            )
        )
        return data, f"config.json is {data!r}"
    if how == "keys":
        target = cfg["text_config"] if "text_config" in cfg and draw(st.booleans()) else cfg
        for _ in range(draw(st.integers(1, 3))):
            key = draw(st.sampled_from(HF_KEYS))
            if draw(st.integers(0, 4)) == 0 and key in target:
                del target[key]
                steps.append(f"drop {key}")
            else:
                value = copy.deepcopy(draw(st.sampled_from(HF_VALUES)))
                target[key] = value
                steps.append(f"{key} := {_short(value)}")
        text = json.dumps(cfg, indent=2)  # Python writes NaN/Infinity, which Python's json reads back
        return text.encode(), f"{name} config.json, " + "; ".join(steps)
    text = json.dumps(cfg, indent=2)
    raw = text.encode()
    at = draw(st.integers(0, len(raw) - 1))
    kind = draw(st.sampled_from(["truncate", "byte", "bom", "comma", "comment", "dup"]))
    if kind == "truncate":
        raw, desc = raw[:at], f"truncated at byte {at}"
    elif kind == "byte":
        raw, desc = raw[:at] + b"\xff" + raw[at:], f"0xff at byte {at}"
    elif kind == "bom":
        raw, desc = b"\xef\xbb\xbf" + raw, "BOM"
    elif kind == "comma":
        raw, desc = raw.replace(b"\n}", b",\n}", 1), "trailing comma"
    elif kind == "comment":
        raw, desc = b"// a comment\n" + raw, "a // comment"
    else:
        raw, desc = raw.replace(b"{", b'{\n  "hidden_size": "dup",', 1), "duplicate key hidden_size"
    return raw, f"{name} config.json, {desc}"


# ----- TCO scenarios -----

SCENARIO_KEYS = [
    "gpus",
    "utilization",
    "months",
    "hours_per_month",
    "cloud_rate_per_gpu_hour",
    "gpu_price_usd",
    "amortization_months",
    "power_price_per_kwh",
    "energy_kwh_per_gpu_month",
    "average_draw_fraction",
    "server_price_usd",
    "colocation_per_gpu_month",
    "staffing_per_month",
    "egress_gb_per_month",
    "cloud_egress_per_gb",
    "bare_metal_egress_per_gb",
    "hybrid_bare_metal_share",
    "monthly_inference_spend",
    "signals",
    "no_such_input",
]
SIGNAL_KEYS = ["p99_missed_in_cloud", "data_constraints", "traffic", "retrain_interval_days", "infra_staff"]
TCO_VALUES: list[Any] = [
    *EDGE_NUMBERS,
    2,
    241,
    0.999999,
    None,
    True,
    "",
    "1",
    "inf",
    "steady",
    "x" * 2000,
    [],
    [1],
    {},
    {"dgx-h100": math.inf},
    {"dgx-h100": -1},
    {"no-such-server": 1},
    {"traffic": "weekly"},
]


def toml_dumps(data: dict[str, Any]) -> str | None:
    """Scalars, lists of scalars and one level of tables; None where TOML has no way to say it."""

    def scalar(v: Any) -> str | None:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int):
            return str(v)
        if isinstance(v, float):
            if math.isnan(v):
                return "nan"
            if math.isinf(v):
                return "inf" if v > 0 else "-inf"
            return repr(v)
        if isinstance(v, str):
            return json.dumps(v)  # JSON string escapes are TOML basic-string escapes
        if isinstance(v, list):
            items = [scalar(x) for x in v]
            return None if any(x is None for x in items) else "[" + ", ".join(items) + "]"  # type: ignore[arg-type]
        return None

    head, tables = [], []
    for k, v in data.items():
        if isinstance(v, dict):
            body = []
            for kk, vv in v.items():
                s = scalar(vv)
                if s is None:
                    return None
                body.append(f"{json.dumps(str(kk))} = {s}")
            tables.append(f"[{json.dumps(k)}]\n" + "\n".join(body))
        else:
            s = scalar(v)
            if s is None:
                return None
            head.append(f"{json.dumps(k)} = {s}")
    return "\n".join(head) + "\n\n" + "\n\n".join(tables) + "\n"


@st.composite
def tco_scenario(draw: st.DrawFn) -> tuple[bytes, str, str]:
    """(file content, suffix .yaml/.toml, description)."""
    data = copy.deepcopy(TCO_DATA)
    steps = []
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(SCENARIO_KEYS))
        target, where = data, key
        if key == "signals" and draw(st.booleans()):
            target, key = data.setdefault("signals", {}), draw(st.sampled_from(SIGNAL_KEYS))
            if not isinstance(target, dict):
                target, key = data, "signals"
            where = f"signals.{key}"
        if draw(st.integers(0, 4)) == 0 and key in target:
            del target[key]
            steps.append(f"drop {where}")
        else:
            value = copy.deepcopy(draw(st.sampled_from(TCO_VALUES)))
            target[key] = value
            steps.append(f"{where} := {_short(value)}")
    suffix = draw(st.sampled_from([".yaml", ".toml"]))
    text = toml_dumps(data) if suffix == ".toml" else None
    if text is None:
        suffix = ".yaml"
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    raw = text.encode()
    if draw(st.integers(0, 4)) == 0:
        at = draw(st.integers(0, len(raw) - 1))
        kind = draw(st.sampled_from(["truncate", "byte", "tab", "dupkey", "bom"]))
        if kind == "truncate":
            raw = raw[:at]
        elif kind == "byte":
            raw = raw[:at] + b"\xff" + raw[at:]
        elif kind == "tab":
            raw = raw[:at] + b"\t" + raw[at:]
        elif kind == "bom":
            raw = b"\xef\xbb\xbf" + raw
        else:
            first = raw.split(b"\n", 1)[0]
            raw = raw + b"\n" + first + b"\n" if b"=" in first or b":" in first else raw
        steps.append(f"then {kind} at byte {at}")
    return raw, suffix, f"fra1 tco{suffix}, " + "; ".join(steps)


# ----- option values -----

NUMBER_STRINGS = [
    "0",
    "-1",
    "1",
    "2",
    "3",
    "7",
    "8",
    "16",
    "1024",
    "2147483648",
    "9" * 400,
    "-" + "9" * 400,
    "1e999",
    "-1e999",
    "inf",
    "-inf",
    "nan",
    "NaN",
    "1e308",
    "0.0000001",
    "0.5",
    "1.0",
    "",
    " ",
    "abc",
    "0x10",
    "1_000",
    "１",  # a full-width digit: int() accepts it
    "٣",  # an Arabic-Indic digit
]


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
