"""`gpuctl vram`: what a serving engine (vLLM, TensorRT-LLM, Triton, any registered one) will allocate per GPU,
and whether it starts."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated, Literal, cast, get_args

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .. import catalog, engines
from ..engines import vllm
from ..errors import UsageError
from ..model.arch import ModelArch
from ..model.hardware import GpuSpec
from ..model.serving import MemoryProfile
from ..model.site import near_names
from ..vram import EngineSettings, Prediction, arch_from_hf_config, predict
from ..vram.calibrate import calibrate_log
from ..vram.engine import head_layout_problem
from ..vram.weights import Mxfp4Kernel
from .common import ConsoleJson, format_option, wide

WeightDtype = Literal["auto", "bf16", "fp16", "fp8", "int8", "int4"]
KvDtype = Literal["auto", "fp8"]


def resolve_model(name: str) -> ModelArch:
    try:
        is_file = Path(name).is_file()
    except OSError:  # a name too long for a path is a catalog id that does not exist
        is_file = False
    if name.endswith(".json") or is_file:
        return arch_from_hf_config(name)
    models = catalog.models()
    if name not in models:
        raise UsageError(f"unknown model '{name}' (a catalog id or a path to a config.json){near_names(name, models)}")
    return models[name]


def resolve_gpu(name: str) -> GpuSpec:
    gpus = catalog.builtin().gpus
    if name not in gpus:
        raise UsageError(f"unknown GPU '{name}'{near_names(name, gpus)}")
    return gpus[name]


def suggestions(arch: ModelArch, gpu_id: str, s: EngineSettings, p: Prediction, profile: MemoryProfile) -> list[str]:
    """What would make it fit: the largest max_model_len, the smallest tp, or an fp8 KV cache."""
    out = []
    gpu = resolve_gpu(gpu_id)
    if p.max_model_len_supported > 0:
        out.append(f"--max-model-len {p.max_model_len_supported} (the largest that fits)")
    for tp in (1, 2, 4, 8, 16):
        if tp <= s.tensor_parallel_size or arch.num_heads % tp:
            continue
        alt = predict(arch, gpu, _replace(s, tensor_parallel_size=tp), profile)
        if alt.fits and (s.concurrency is None or alt.workload_fits):
            out.append(f"--tp {tp} ({alt.kv_cache_tokens:,} KV tokens)")
            break
    if s.kv_cache_dtype != "fp8":
        alt = predict(arch, gpu, _replace(s, kv_cache_dtype="fp8"), profile)
        if alt.fits and (s.concurrency is None or alt.workload_fits):
            out.append(f"--kv-cache-dtype fp8 ({alt.kv_cache_tokens:,} KV tokens)")
    return out


def _replace(s: EngineSettings, **changes: object) -> EngineSettings:
    import dataclasses

    return dataclasses.replace(s, **changes)  # type: ignore[arg-type]


def _console(p: Prediction, tips: list[str]) -> None:
    console = Console(highlight=False, width=wide())
    t = Table(
        title=Text(
            f"{p.model} on {p.gpu} — {p.engine} {p.engine_version}, tp {p.tensor_parallel_size}"
            f" pp {p.pipeline_parallel_size}, per GPU"
        )
    )
    t.add_column("item")
    t.add_column("GiB", justify="right")
    t.add_column("how")
    est = " (estimated)" if p.total_estimated else ""
    rows = [
        ("total (torch-visible)", p.total_gib, f"catalog{est}"),
        ("budget", p.budget_gib, "total × gpu_memory_utilization"),
        ("− weights", p.weights_gib, "per rank: sharded, replicated, embeddings, rotary cache"),
        (
            "− activation peak",
            p.activation_gib,
            f"profile run: {p.max_num_batched_tokens} tokens / sampler {p.max_num_seqs} seqs",
        ),
        ("− non-torch", p.non_torch_gib, "CUDA context growth, NCCL"),
        ("CUDA graphs", p.cuda_graph_gib, "inside the budget" if p.cuda_graph_in_budget else "outside the budget"),
        ("= KV cache", p.kv_cache_gib, f"{p.num_blocks:,} blocks × {p.block_size} = {p.kv_cache_tokens:,} tokens"),
    ]
    for name, gib, how in rows:
        t.add_row(name, f"{gib:.2f}", Text(how))
    console.print(t)
    verdict = "starts" if p.fits else "does NOT start"
    console.print(
        Text(
            f"max_model_len {p.max_model_len:,}: engine {verdict}; largest that fits "
            f"{p.max_model_len_supported:,}; concurrency at full length {p.max_concurrency:.2f}x; "
            f"binding: {p.binding_constraint}"
        )
    )
    if p.workload_fits is not None:
        console.print(
            Text(
                f"workload {p.workload_tokens:,} tokens: {'fits' if p.workload_fits else 'does NOT fit'} "
                f"(headroom {p.workload_headroom_pct:.0f}%)"
            )
        )
    for note in p.notes:
        console.print(Text(f"note: {note}"))
    if tips:
        console.print(Text("would fit with: " + "; ".join(tips)))


# Upper bounds of what is physically meaningful (the lower bounds are EngineSettings.check's): the largest
# NVLink domains are 72-576 GPUs; no model has more than a few hundred layers; vLLM's block sizes are 1-256;
# the longest published contexts are 10M tokens (2^24 = 16,777,216 leaves room).
MAX_PARALLEL = 1024
MAX_BLOCK_SIZE = 1024
MAX_TOKENS = 2**24
MAX_SEQUENCES = 2**20
# Help texts from the built-in engines (a registered engine is accepted too: --engine is checked at run time).
ENGINE_HELP = f"Serving engine: {', '.join(engines.names())}."
BLOCK_SIZE_HELP = (
    "Default: the engine's ("
    + ", ".join(f"{e.name} {e.memory_profile(None).block_size}" for e in engines.BUILTIN)
    + "); at most 1024."
)


def vram(
    model: Annotated[str, typer.Option("--model", "-m", help="Catalog id or path to a Hugging Face config.json.")] = "",
    gpu: Annotated[str, typer.Option("--gpu", "-g", help="GPU catalog id (h100-sxm5-80gb, l40s, ...).")] = "",
    tp: Annotated[int, typer.Option("--tp", max=MAX_PARALLEL, help="Tensor parallel size, 1-1024.")] = 1,
    pp: Annotated[
        int, typer.Option("--pp", max=MAX_PARALLEL, help="Pipeline parallel size, 1 to the model's layers.")
    ] = 1,
    dtype: Annotated[str, typer.Option(help="auto|bf16|fp16|fp8|int8|int4 (weights).")] = "auto",
    kv_cache_dtype: Annotated[str, typer.Option(help="auto|fp8.")] = "auto",
    max_model_len: Annotated[
        int | None, typer.Option(max=MAX_TOKENS, help="Default: the model's max positions; at most 2^24.")
    ] = None,
    gpu_memory_utilization: Annotated[float, typer.Option(help="In (0, 1]; vLLM's default 0.9.")] = 0.9,
    max_num_seqs: Annotated[
        int | None, typer.Option(max=MAX_SEQUENCES, help="Default: the engine's, by GPU size; at most 2^20.")
    ] = None,
    max_num_batched_tokens: Annotated[
        int | None, typer.Option(max=MAX_TOKENS, help="Default: the engine's, by GPU size; at most 2^24.")
    ] = None,
    block_size: Annotated[int | None, typer.Option(max=MAX_BLOCK_SIZE, help=BLOCK_SIZE_HELP)] = None,
    engine: Annotated[str, typer.Option(help=ENGINE_HELP)] = "vllm",
    engine_version: Annotated[
        str | None,
        typer.Option(
            help=f"Engine version whose memory accounting to use; default: the engine's (vLLM {vllm.DEFAULT_VERSION})."
        ),
    ] = None,
    sampler_path: Annotated[
        str,
        typer.Option(
            help="vLLM's top-k/top-p path in the profile run: image (what the vllm/vllm-openai image gpuctl "
            "renders takes), flashinfer, or sort (a pip install without FlashInfer)."
        ),
    ] = "image",
    mxfp4_kernel: Annotated[
        str,
        typer.Option(
            help="MXFP4 (gpt-oss) MoE kernel: auto (what the vllm/vllm-openai image picks: FlashInfer on B200, "
            "Marlin on every other GPU), marlin (also a pip install on B200, which has no FlashInfer), flashinfer, or "
            "triton_kernels (an image that adds the triton_kernels package)."
        ),
    ] = "auto",
    concurrency: Annotated[
        int | None,
        typer.Option(max=MAX_SEQUENCES, help="Concurrent requests to hold in the KV cache; at most 2^20."),
    ] = None,
    prompt_tokens: Annotated[
        int | None, typer.Option(max=MAX_TOKENS, help="Prompt tokens per request; at most 2^24.")
    ] = None,
    output_tokens: Annotated[
        int | None, typer.Option(max=MAX_TOKENS, help="Output tokens per request; at most 2^24.")
    ] = None,
    calibrate: Annotated[
        Path | None, typer.Option(help="A vLLM start-up log (at most 256 MiB) to compare with the prediction.")
    ] = None,
    format: Annotated[ConsoleJson, format_option()] = ConsoleJson.console,
) -> int:
    """Predict the memory a serving engine allocates per GPU: weights, activation, KV cache, and if it starts."""
    if not model or not gpu:
        raise UsageError("--model and --gpu are required")
    if engine not in engines.names():
        raise UsageError(f"--engine must be one of {', '.join(engines.names())}, got {engine!r}")
    if dtype not in ("auto", "bf16", "fp16", "fp8", "int8", "int4") or kv_cache_dtype not in ("auto", "fp8"):
        raise UsageError("--dtype is one of auto|bf16|fp16|fp8|int8|int4 and --kv-cache-dtype auto|fp8")
    arch = resolve_model(model)
    spec = resolve_gpu(gpu)
    if pp > arch.num_layers:
        raise UsageError(f"--pp {pp}: pipeline parallel size must be ≤ the model's {arch.num_layers} layers")
    settings = EngineSettings(
        engine=engine,
        engine_version=engine_version,
        tensor_parallel_size=tp,
        pipeline_parallel_size=pp,
        dtype=cast(WeightDtype, dtype),
        kv_cache_dtype=cast(KvDtype, kv_cache_dtype),
        max_model_len=max_model_len,
        gpu_memory_utilization=gpu_memory_utilization,
        max_num_seqs=max_num_seqs,
        max_num_batched_tokens=max_num_batched_tokens,
        block_size=block_size,
        concurrency=concurrency,
        prompt_tokens=prompt_tokens,
        output_tokens=output_tokens,
        mxfp4_kernel=cast(Mxfp4Kernel, mxfp4_kernel),
    )
    settings.check()  # before the engine reads its version: option errors first, as they always came
    layout = head_layout_problem(arch, tp)
    if layout:
        raise UsageError(f"--tp {tp}: {layout}; vLLM refuses this layout (the site rule VRM003 says the same)")
    if sampler_path not in get_args(vllm.SamplerPath):
        raise UsageError(f"--sampler-path is one of {'|'.join(get_args(vllm.SamplerPath))}, got {sampler_path!r}")
    profile = engines.memory_profile(engine, engine_version)
    if isinstance(profile, vllm.VllmMemory):
        profile = dataclasses.replace(profile, sampler_path=cast(vllm.SamplerPath, sampler_path))
    p = predict(arch, spec, settings, profile)
    tips = [] if p.fits and p.workload_fits is not False else suggestions(arch, gpu, settings, p, profile)
    if calibrate is not None:
        report = calibrate_log(calibrate, p)
        if format == "json":
            typer.echo(json.dumps({"prediction": p.as_dict(), "calibration": report}, indent=2, allow_nan=False))
        else:
            _console(p, tips)
            for key, row in report["compare"].items():
                typer.echo(
                    f"calibration {key}: logged {row['logged']} predicted {row['predicted']} (diff {row['diff']:+.3f})"
                )
        return 0
    if format == "json":
        typer.echo(json.dumps(p.as_dict() | {"suggestions": tips}, indent=2, allow_nan=False))
    else:
        _console(p, tips)
    return 0
