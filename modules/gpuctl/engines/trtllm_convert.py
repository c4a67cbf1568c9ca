"""Converting a Hugging Face checkpoint into a TensorRT-LLM checkpoint, the step before `trtllm-build` when a
Triton deployment stages Hugging Face weights (`build_from: hf_checkpoint`).

TensorRT-LLM converts per model family with its examples' scripts:
- `examples/<family>/convert_checkpoint.py`: bf16/fp16 as they are, or INT8 weight-only (`--use_weight_only
  --weight_only_precision int8`, QuantAlgo W8A16);
- `examples/quantization/quantize.py` (NVIDIA ModelOpt): FP8 (`--qformat fp8`) and INT4 AWQ (`--qformat
  int4_awq`), with an FP8 KV cache (`--kv_cache_dtype fp8`); it calibrates on `--calib_dataset`, a Hugging Face
  dataset name or a local directory: gpuctl passes the directory `calibration/` staged with the weights, as
  nothing may be fetched at run time.
Both write `--output_dir` with a config.json whose `mapping` (tp_size, pp_size) and `quantization` (quant_algo,
kv_cache_quant_algo) the script checks before building: a checkpoint of another layout or precision is converted
again, never built.

Families: the llama converter takes Llama, Mistral and Mixtral checkpoints (tensorrtllm_backend v0.17.0
README.md, "Build LLaMA v3 70B using 4-way tensor parallelism and 2-way pipeline parallelism" and Mixtral through
`../llama/convert_checkpoint.py`,
https://github.com/triton-inference-server/tensorrtllm_backend/blob/v0.17.0/README.md). Other families' converters
take other options and are not rendered (rule SRV022).

Where the scripts are: TensorRT-LLM's `examples/` at /app/examples, where the backend's own image recipe puts them
(tensorrtllm_backend v0.17.0 dockerfile/Dockerfile.triton.trt_llm_backend: `WORKDIR /app`, `COPY
tensorrt_llm/examples examples`). The NGC image built by Triton's build.py (v2.54.0) installs the TensorRT-LLM
wheel but not its examples, so a deployment that converts needs an image built from that recipe (`image:`); the
script says so and stops when the converter is missing, before touching the cache.

Options: tests/engines/fixtures/trtllm-convert-options.json (what the scripts' argparse declares, with the
sources and the release caveat recorded there).
"""

from __future__ import annotations

import hashlib
import json
import shlex
from dataclasses import dataclass

from ..catalog import models as catalog_models
from ..model import Deployment

EXAMPLES = "/app/examples"
CHECKPOINTS_DIR = "trtllm-checkpoints"  # under the model's directory in the node's model cache
CALIBRATION_DIR = "calibration"  # quantize.py's local calibration dataset, staged with the weights
# Catalog id prefix -> examples/<family>/ whose convert_checkpoint.py converts it.
FAMILIES = {"llama-": "llama", "mistral-": "llama", "mixtral-": "llama"}
# (precision, quantization method) -> quantize.py --qformat (ModelOpt) / convert_checkpoint.py weight-only precision.
QFORMAT: dict[tuple[str, str | None], str] = {("fp8", None): "fp8", ("int4", "awq"): "int4_awq"}
WEIGHT_ONLY: dict[tuple[str, str | None], str] = {("int8", "compressed-tensors"): "int8"}
# What each writes in the checkpoint's quantization.quant_algo (tensorrt_llm/quantization/mode.py QuantAlgo).
QUANT_ALGO = {"fp8": "FP8", "int4_awq": "W4A16_AWQ", "int8": "W8A16"}
DTYPE = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}


def family(model: str) -> str | None:
    return next((f for prefix, f in FAMILIES.items() if model.startswith(prefix)), None)


def _method(dep: Deployment) -> tuple[str, str | None]:
    return dep.precision, None if dep.precision == "fp8" else dep.quant_method


def problem(dep: Deployment, model: str) -> str | None:
    """Why `model` cannot be converted for `dep` (None: it can)."""
    if family(model) is None:
        known = ", ".join(sorted({p.rstrip("-") + "*" for p in FAMILIES}))
        return (
            f"no TensorRT-LLM converter is rendered for {model!r} (the llama converter takes {known}); "
            "stage a converted TensorRT-LLM checkpoint instead (build_from: trtllm_checkpoint)"
        )
    quantized = dep.precision in ("fp8", "int8", "int4")
    method = _method(dep)
    if quantized and method not in QFORMAT and method not in WEIGHT_ONLY:
        return (
            f"precision {dep.precision} with {method[1]} cannot be made from a Hugging Face checkpoint here "
            "(fp8 and int4 awq through quantize.py, int8 weight-only through convert_checkpoint.py); stage the "
            "converted TensorRT-LLM checkpoint instead"
        )
    if dep.kv_cache_dtype == "fp8" and method not in QFORMAT:
        return "an FP8 KV cache is calibrated by quantize.py, which gpuctl runs for precision fp8 or int4 (awq) only"
    return None


# The scripts' one JSON check, defined once as a shell function: `matches FILE EXPECT` exits non-zero, saying why,
# unless FILE has every dotted key of EXPECT (a JSON list of [key, value, value a missing key means]) at its value.
_MATCHES_PY = (
    "import json, sys\n"
    "path, expect = sys.argv[1], json.loads(sys.argv[2])\n"
    "try:\n"
    "    doc = json.load(open(path))\n"
    "except (OSError, ValueError) as exc:\n"
    '    sys.exit(f"{path}: {exc}")\n'
    "for key, want, missing in expect:\n"
    "    got = doc\n"
    '    for part in key.split("."):\n'
    "        got = got.get(part, missing) if isinstance(got, dict) else missing\n"
    "    if got != want:\n"
    '        sys.exit(f"{path}: {key} is {got!r}, the deployment needs {want!r}")\n'
)
MATCHES_FUNCTION = f'matches() {{ python3 -c {shlex.quote(_MATCHES_PY)} "$@"; }}'


def matches(path: str, expect: list[tuple[str, object, object]], quiet: bool = False) -> str:
    """The shell call of MATCHES_FUNCTION for a (quoted) path."""
    call = f"matches {path} {shlex.quote(json.dumps(expect))}"
    return f"{call} 2>/dev/null" if quiet else call


@dataclass(frozen=True)
class Conversion:
    model: str  # the model's directory under /models: the staged Hugging Face checkpoint
    family: str
    tensor_parallel_size: int
    pipeline_parallel_size: int
    dtype: str  # bfloat16 | float16 | float32: the unquantized layers
    qformat: str | None = None  # quantize.py
    weight_only: str | None = None  # convert_checkpoint.py
    kv_cache_fp8: bool = False

    @property
    def hf_dir(self) -> str:
        return f"/models/{self.model}"

    @property
    def script_path(self) -> str:
        return (
            f"{EXAMPLES}/quantization/quantize.py"
            if self.qformat
            else f"{EXAMPLES}/{self.family}/convert_checkpoint.py"
        )

    def options(self) -> list[str]:
        """The script's options except --output_dir."""
        tp, pp = str(self.tensor_parallel_size), str(self.pipeline_parallel_size)
        opts = ["--model_dir", self.hf_dir, "--dtype", self.dtype, "--tp_size", tp, "--pp_size", pp]
        if self.qformat:
            opts += ["--qformat", self.qformat, "--calib_dataset", f"{self.hf_dir}/{CALIBRATION_DIR}"]
            return opts + (["--kv_cache_dtype", "fp8"] if self.kv_cache_fp8 else [])
        if self.weight_only:
            opts += ["--use_weight_only", "--weight_only_precision", self.weight_only]
        return opts + ["--workers", str(self.tensor_parallel_size * self.pipeline_parallel_size)]

    @property
    def output_dir(self) -> str:
        """The converted checkpoint, keyed by the conversion's options: another layout or precision converts anew."""
        key = hashlib.sha256(shlex.join([self.script_path, *self.options()]).encode()).hexdigest()[:16]
        return f"{self.hf_dir}/{CHECKPOINTS_DIR}/{key}"

    def command(self) -> list[str]:
        return ["python3", self.script_path, *self.options(), "--output_dir", f"{self.output_dir}.tmp"]

    def expected(self) -> list[tuple[str, object, object]]:
        algo = QUANT_ALGO.get(self.qformat or self.weight_only or "")
        return [
            ("mapping.tp_size", self.tensor_parallel_size, 1),
            ("mapping.pp_size", self.pipeline_parallel_size, 1),
            ("quantization.quant_algo", algo, None),
            ("quantization.kv_cache_quant_algo", "FP8" if self.kv_cache_fp8 else None, None),
        ]

    def script(self) -> list[str]:
        """Shell lines (run under `set -eu`, the cache's lock and MATCHES_FUNCTION) leaving a checked checkpoint
        at output_dir: kept when one of this layout and precision is there, else converted into a temporary
        directory, checked, and renamed."""
        out, hf, tool = (shlex.quote(p) for p in (self.output_dir, self.hf_dir, self.script_path))
        missing_tool = (
            f"the image has no TensorRT-LLM converter at {self.script_path}: use an image built with "
            "tensorrtllm_backend's dockerfile/Dockerfile.triton.trt_llm_backend (TensorRT-LLM examples at "
            f"{EXAMPLES}), or stage a TensorRT-LLM checkpoint (build_from: trtllm_checkpoint)"
        )

        def require(test: str, why: str) -> str:
            return f"  {test} || {{ echo {shlex.quote(why)} >&2; exit 1; }}"

        lines = [
            f"if ! {matches(f'{out}/config.json', self.expected(), quiet=True)}; then",
            require(f"test -f {hf}/config.json", f"{self.hf_dir}: no Hugging Face config.json staged"),
            require(f"test -f {tool}", missing_tool),
        ]
        if self.qformat:
            calib = f"{self.hf_dir}/{CALIBRATION_DIR}"
            why = f"{calib}: no calibration dataset staged (quantize.py would download one)"
            lines.append(require(f"test -d {shlex.quote(calib)}", why))
        lines += [
            f"  mkdir -p {shlex.quote(f'{self.hf_dir}/{CHECKPOINTS_DIR}')}",
            f"  rm -rf {out}.tmp",
            f"  {shlex.join(self.command())}",
            f"  {matches(f'{out}.tmp/config.json', self.expected())}",
            f"  rm -rf {out}",
            f"  mv {out}.tmp {out}",
            "fi",
        ]
        return lines


def conversion(dep: Deployment, model: str) -> Conversion | None:
    """The conversion of `model` (the deployment's own or a triton_models entry's, which share its precision and
    GPUs) for `dep`; None when a rule rejects it (SRV022)."""
    fam = family(model)
    if fam is None or problem(dep, model) is not None:
        return None
    arch = catalog_models().get(model)
    source_dtype = DTYPE[arch.dtype] if arch else "bfloat16"
    method = _method(dep)
    return Conversion(
        model=model,
        family=fam,
        tensor_parallel_size=dep.tensor_parallel_size,
        pipeline_parallel_size=dep.pipeline_parallel_size,
        dtype=DTYPE.get(dep.precision, source_dtype),
        qformat=QFORMAT.get(method) if dep.precision in ("fp8", "int4") else None,
        weight_only=WEIGHT_ONLY.get(method) if dep.precision == "int8" else None,
        kv_cache_fp8=dep.kv_cache_dtype == "fp8",
    )
