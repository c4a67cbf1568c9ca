"""Triton model repositories: the TensorRT-LLM ensemble as tensorrtllm_backend ships it, and plain Python models.

The ensemble is four models, each config.pbtxt filled from the backend's own template, copied unchanged from
tensorrtllm_backend v0.17.0 (the backend release in Triton 25.01) into `tensorrtllm_backend/` beside this file
(tensorrtllm_backend/SOURCE.json: commit and SHA-256 per file):
- `preprocessing` (Python backend): tokenizes `text_input` (all_models/inflight_batcher_llm/preprocessing);
- `tensorrt_llm` (the C++ `tensorrtllm` backend): the engine, in-flight batching (.../tensorrt_llm);
- `postprocessing` (Python backend): detokenizes (.../postprocessing);
- `ensemble`: chains them; what a client calls with `text_input` and `max_tokens` (.../ensemble).
https://github.com/triton-inference-server/tensorrtllm_backend/tree/v0.17.0/all_models/inflight_batcher_llm

Filling follows the backend's tools/fill_template.py (string.Template.safe_substitute with `max_queue_size` 0
unless given). The parameters whose placeholder docs/model_config.md lists as optional and gpuctl leaves unset
are removed rather than left as `${name}`: the C++ backend reads a missing parameter as unset (inflight_batcher_llm/src/
model_state.cc, GetParameter throws "Cannot find parameter", callers fall back to the default). A template
placeholder gpuctl has no value for and that is not optional is an error here, never a file with `${...}`.

The Python models' code (1/model.py of preprocessing and postprocessing) goes into the repository too: the
`-trtllm-python-py3` image ships the backend, not the all_models directory.

Model names: the first LLM of a server keeps the template names; a further LLM `N` gets `N` for its ensemble and
`N-preprocessing`, `N-tensorrt_llm`, `N-postprocessing` for the steps (Triton model names are directory names).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from string import Template

from ..errors import InternalError

TEMPLATE_DIR = "tensorrtllm_backend"
STEPS = ("preprocessing", "tensorrt_llm", "postprocessing")
ENSEMBLE = "ensemble"
PYTHON_CODE = {"preprocessing": "preprocessing/1/model.py.txt", "postprocessing": "postprocessing/1/model.py.txt"}
# tools/fill_template.py's own default (v0.17.0).
FILL_DEFAULTS = {"max_queue_size": "0"}
# docs/model_config.md (v0.17.0), "Optional parameters" of each model: what may stay unset. Two placeholders of the
# tensorrt_llm template are missing from that table, kv_cache_onboard_blocks and speculative_decoding_fast_logits;
# inflight_batcher_llm/src/model_instance_state.cc reads both in a try/catch with a default, so they are optional.
OPTIONAL = {
    "preprocessing": frozenset({"add_special_tokens", "visual_model_path", "engine_dir", "max_num_images"}),
    "postprocessing": frozenset({"skip_special_tokens"}),
    "tensorrt_llm": frozenset(
        {
            "encoder_engine_dir",
            "max_attention_window_size",
            "sink_token_length",
            "exclude_input_in_output",
            "cancellation_check_period_ms",
            "stats_check_period_ms",
            "recv_poll_period_ms",
            "iter_stats_max_iterations",
            "request_stats_max_iterations",
            "normalize_log_probs",
            "gpu_device_ids",
            "participant_ids",
            "gpu_weights_percent",
            "max_tokens_in_paged_kv_cache",
            "kv_cache_free_gpu_mem_fraction",
            "cross_kv_cache_fraction",
            "kv_cache_host_memory_bytes",
            "kv_cache_onboard_blocks",
            "enable_kv_cache_reuse",
            "lora_cache_optimal_adapter_size",
            "lora_cache_max_adapter_size",
            "lora_cache_gpu_memory_fraction",
            "lora_cache_host_memory_bytes",
            "max_beam_width",
            "decoding_mode",
            "enable_chunked_context",
            "multi_block_mode",
            "enable_context_fmha_fp32_acc",
            "cuda_graph_mode",
            "cuda_graph_cache_size",
            "batch_scheduler_policy",
            "medusa_choices",
            "eagle_choices",
            "speculative_decoding_fast_logits",
        }
    ),
    "ensemble": frozenset(),
}
_PLACEHOLDER = re.compile(r"\$\{(\w+)\}")
# A `parameters` entry of the templates: `parameters[:] { key: "k" value: { string_value: "v" } }`.
_PARAMETER = re.compile(
    r'^parameters:? \{\s*key: "(?P<key>\w+)"\s*value: \{\s*string_value: "(?P<value>[^"]*)"\s*\}\s*\}\n?', re.M
)
_TOP_NAME = re.compile(r'^name: "\w+"$', re.M)


class TemplateError(InternalError):
    """A template placeholder without a value (a gpuctl bug, not a spec error)."""


def template(path: str) -> str:
    return resources.files(__package__).joinpath(TEMPLATE_DIR, path).read_text(encoding="utf-8")


def fill(model: str, values: Mapping[str, str]) -> str:
    """The backend's template of `model` (preprocessing, tensorrt_llm, postprocessing, ensemble) filled with
    `values`; optional parameters without a value are removed; any other placeholder left is a TemplateError."""
    text = Template(template(f"{model}/config.pbtxt")).safe_substitute({**FILL_DEFAULTS, **values})

    def unset(match: re.Match[str]) -> str:
        placeholder = _PLACEHOLDER.fullmatch(match["value"])
        return "" if placeholder and placeholder[1] in OPTIONAL[model] else match[0]

    text = _PARAMETER.sub(unset, text)
    # A commented-out parameter (tensorrt_llm's deprecated enable_trt_overlap) is not configuration.
    text = "".join(line for line in text.splitlines(keepends=True) if not (line.startswith("#") and "${" in line))
    left = sorted(set(_PLACEHOLDER.findall(text)))
    if left:
        raise TemplateError(f"{model}/config.pbtxt: no value for {', '.join(left)}")
    return text


@dataclass(frozen=True)
class LlmModel:
    """One TensorRT-LLM model of a server, as its ensemble's templates need it."""

    name: str  # what clients call (the ensemble); "ensemble" for the server's first LLM
    engine_dir: str  # the built engine (config.json + rank*.engine)
    tokenizer_dir: str  # the Hugging Face checkpoint's tokenizer files
    max_batch_size: int
    kv_cache_free_gpu_mem_fraction: float
    max_tokens_in_paged_kv_cache: int | None = None  # a cap when several models share the GPUs
    max_attention_window_size: int | None = None
    decoupled: bool = True  # streaming responses (the `stream` input); the ensemble works either way

    def step(self, step: str) -> str:
        """The Triton model name of one step of this LLM's ensemble."""
        return step if self.name == ENSEMBLE else f"{self.name}-{step}"

    def values(self) -> dict[str, str]:
        batch = str(self.max_batch_size)
        values = {
            "triton_max_batch_size": batch,
            "logits_datatype": "TYPE_FP32",
            # preprocessing / postprocessing
            "tokenizer_dir": self.tokenizer_dir,
            "preprocessing_instance_count": "1",
            "postprocessing_instance_count": "1",
            "add_special_tokens": "true",
            "skip_special_tokens": "true",
            "visual_model_path": "",  # preprocessing reads the key unconditionally; "" means no vision engine
            # tensorrt_llm
            "triton_backend": "tensorrtllm",
            "decoupled_mode": "true" if self.decoupled else "false",
            "max_queue_delay_microseconds": "0",
            "engine_dir": self.engine_dir,
            "batching_strategy": "inflight_fused_batching",
            "batch_scheduler_policy": "guaranteed_no_evict",
            "encoder_input_features_data_type": "TYPE_FP16",  # a decoder-only model never receives the input
            "kv_cache_free_gpu_mem_fraction": f"{self.kv_cache_free_gpu_mem_fraction:g}",
            "enable_chunked_context": "true",
            "enable_kv_cache_reuse": "true",
            "exclude_input_in_output": "true",
            "max_beam_width": "1",
        }
        if self.max_tokens_in_paged_kv_cache is not None:
            values["max_tokens_in_paged_kv_cache"] = str(self.max_tokens_in_paged_kv_cache)
        if self.max_attention_window_size is not None:
            values["max_attention_window_size"] = str(self.max_attention_window_size)
        return values

    def repository(self) -> dict[str, str]:
        """The ensemble's files: `<model>/config.pbtxt`, the Python steps' `1/model.py`, and an empty `1/`
        (ConfigMap keys with `__` for `/`)."""
        values = self.values()
        renames = {s: self.step(s) for s in STEPS} | {ENSEMBLE: self.name}
        files: dict[str, str] = {}
        for model in (*STEPS, ENSEMBLE):
            text = _TOP_NAME.sub(f'name: "{renames[model]}"', fill(model, values), count=1)
            if model == ENSEMBLE:
                for old, new in renames.items():
                    text = text.replace(f'model_name: "{old}"', f'model_name: "{new}"')
            name = renames[model]
            files[f"{name}__config.pbtxt"] = text
            code = PYTHON_CODE.get(model)
            files[f"{name}__1__" + ("model.py" if code else ".keep")] = template(code) if code else ""
        return files


@dataclass(frozen=True)
class PythonModel:
    """A plain Python-backend model: gpuctl writes its config.pbtxt; its code is the staged `model.py`, and its
    tensors come from that code's `auto_complete_config` (Triton's Python backend README, "auto_complete_config",
    https://github.com/triton-inference-server/python_backend/blob/r25.01/README.md)."""

    name: str
    max_batch_size: int
    instance_count: int
    gpu: bool

    def config_pbtxt(self) -> str:
        kind = "KIND_GPU" if self.gpu else "KIND_CPU"
        return (
            f'name: "{self.name}"\nbackend: "python"\nmax_batch_size: {self.max_batch_size}\n'
            f"instance_group [\n  {{\n    count: {self.instance_count}\n    kind: {kind}\n  }}\n]\n"
        )


def model_names(files: Mapping[str, str]) -> list[str]:
    """The models of a repository's files (the directories holding a config.pbtxt)."""
    return sorted(k.removesuffix("__config.pbtxt") for k in files if k.endswith("__config.pbtxt"))
