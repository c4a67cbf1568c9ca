"""The start-up-log corpus (tests/vram/corpus/startup-logs.yaml): cases, the fitted/held-out split, predictions.

A case's architecture comes from the config.json fields stored with its model (vram/hf.py reads them as it reads a
config.json), its GPU from the catalog, its engine's memory profile from the engine registry; flags that are not
EngineSettings fields (enforce_eager, VLLM_USE_V1 on 0.7.x, TensorRT-LLM's kv_cache_free_gpu_mem_fraction) adjust the
profile the way the engine would.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from gpuctl import catalog, engines
from gpuctl.engines import trtllm, vllm
from gpuctl.engines.base import parse_version
from gpuctl.model.arch import ModelArch
from gpuctl.model.serving import MemoryProfile, RankMemory, SchedulerLimits, SchedulerRequest
from gpuctl.vram import EngineSettings, Prediction, arch_from_hf_mapping, predict

CORPUS = Path(__file__).parent / "corpus" / "startup-logs.yaml"
FITTED_PROVENANCE = ("gt-d", "gt-e")  # the runs gpuctl's constants were fitted to before this corpus existed
_SETTINGS = {f.name for f in dataclasses.fields(EngineSettings)}


@dataclass(frozen=True)
class Case:
    id: str
    provenance: str
    split: str
    source: str
    log: str
    model: str
    gpu: str
    engine: str
    engine_version: str
    settings: dict[str, Any]
    logged: dict[str, float]
    fits: bool = True
    notes: str = ""
    flags: dict[str, Any] = field(default_factory=dict)  # engine flags that are not EngineSettings fields
    scope: str = "in"  # "version": a release gpuctl does not render for (reported apart, not in the target's mean)
    added: str = "corpus v1"  # when the case joined the corpus
    after_freeze: bool = False  # collected after a model freeze (the header's "Model freeze")
    freeze: int = 0  # the freeze it was collected after (LAST_FREEZE: after the last change; 0: after_freeze = 1st)
    flags_stated: str = "partial"  # "complete": version, GPU and launch flags all stated (the header's rule)

    @property
    def after_last_change(self) -> bool:
        return self.freeze == LAST_FREEZE

    @property
    def held_out(self) -> bool:
        return self.split == "held_out"

    @property
    def in_scope(self) -> bool:
        return self.scope == "in"

    @property
    def kv_gib(self) -> float | None:
        return self.logged.get("kv_cache_gib")

    @property
    def kv_tokens(self) -> int | None:
        tokens = self.logged.get("kv_cache_tokens")
        return int(tokens) if tokens is not None else None


SUPPORTED_SINCE = {"vllm": vllm.SUPPORTED_SINCE, "trtllm": trtllm.SUPPORTED_SINCE}
# The corpus header's "Sampler path" rule, step 3: a run whose text says nothing about FlashInfer or its install
# takes the sort path (a pip install; vLLM's wheel carries no FlashInfer). Steps 1 and 2 are the cases' own
# `sampler_path` settings, each backed by a quoted line (tests/vram/test_corpus.py checks that).
DEFAULT_SAMPLER_PATH = "sort"
SAMPLER_EVIDENCE = {
    "flashinfer": ("Using FlashInfer for top-p & top-k sampling",),
    "sort": ("FlashInfer is not available", "FlashInfer is available, but it is not enabled", "pip install vllm"),
    "image": ("vllm/vllm-openai",),
}
LAST_FREEZE = 4  # the corpus header's "Fourth freeze": no model change after it


def expected_scope(case: Case) -> str:
    """The corpus's scope rule: a case is in scope iff its engine version is one gpuctl renders for."""
    return "in" if parse_version(case.engine_version) >= parse_version(SUPPORTED_SINCE[case.engine]) else "version"


def expected_split(case: Case) -> str:
    """The corpus's split rule: fitted iff the case is one of the runs the constants were fitted to before."""
    return "fitted" if case.provenance in FITTED_PROVENANCE else "held_out"


@cache
def _raw() -> dict[str, Any]:
    data = yaml.safe_load(CORPUS.read_text())
    assert isinstance(data, dict)
    return data


@cache
def cases() -> tuple[Case, ...]:
    out = []
    for entry in _raw()["cases"]:
        entry = dict(entry)
        settings = dict(entry.pop("settings") or {})
        flags = {k: settings.pop(k) for k in list(settings) if k not in _SETTINGS}
        version = str(entry.pop("engine_version"))
        added = str(entry.pop("added", "corpus v1"))
        out.append(Case(settings=settings, flags=flags, engine_version=version, added=added, **entry))
    return tuple(out)


@cache
def arch(model: str) -> ModelArch:
    entry = _raw()["models"][model]
    return arch_from_hf_mapping({"_name_or_path": model, **entry["config"]}, f"{model} config.json ({entry['hf']})")


@dataclass(frozen=True)
class _Eager:
    """A profile with CUDA graphs off (--enforce-eager): no graph pool, nothing else changes."""

    inner: MemoryProfile

    @property
    def version(self) -> str:
        return self.inner.version

    @property
    def block_size(self) -> int:
        return self.inner.block_size

    @property
    def sampler_bytes_per_logit(self) -> float:
        return self.inner.sampler_bytes_per_logit

    @property
    def graphs_in_budget(self) -> bool:
        return self.inner.graphs_in_budget

    def scheduler(self, request: SchedulerRequest) -> SchedulerLimits:
        return self.inner.scheduler(request)

    def non_torch_gib(self, ranks: int) -> float:
        return self.inner.non_torch_gib(ranks)

    def cuda_graph_gib(self, num_layers: int, tensor_parallel_size: int) -> float:
        return 0.0

    def kv_cache_gib(self, total_gib: float, gpu_memory_utilization: float, used: RankMemory) -> float:
        return self.inner.kv_cache_gib(total_gib, gpu_memory_utilization, dataclasses.replace(used, cuda_graph_gib=0.0))


def profile(case: Case) -> MemoryProfile:
    prof: Any = engines.memory_profile(case.engine, case.engine_version)
    flags = dict(case.flags)
    if "kv_cache_free_gpu_mem_fraction" in flags:  # TensorRT-LLM's own knob (its profile is a dataclass)
        prof = dataclasses.replace(prof, kv_cache_free_gpu_mem_fraction=flags.pop("kv_cache_free_gpu_mem_fraction"))
    use_v1 = flags.pop("vllm_use_v1", None)
    if use_v1 is True:  # 0.7.x's opt-in V1 engine: the accounting of the first V1 release
        first_v1 = next(row for row in vllm.ACCOUNTING if row.v1)
        prof = dataclasses.replace(prof, accounting=first_v1)
    elif use_v1 is False:  # VLLM_USE_V1=0 on 0.8-0.10: the V0 engine, whose accounting is the last v0 row's
        last_v0 = [row for row in vllm.ACCOUNTING if not row.v1][-1]
        prof = dataclasses.replace(prof, accounting=last_v0)
    path = flags.pop("sampler_path", DEFAULT_SAMPLER_PATH)
    if case.engine == "vllm":
        prof = dataclasses.replace(prof, sampler_path=path)
    if flags.pop("enforce_eager", False):
        prof = _Eager(prof)
    assert not flags, f"{case.id}: flags gpuctl does not model: {sorted(flags)}"
    return prof  # type: ignore[no-any-return]


def run(case: Case) -> Prediction:
    settings = EngineSettings(engine=case.engine, engine_version=case.engine_version, **case.settings)
    return predict(arch(case.model), catalog.builtin().gpus[case.gpu], settings, profile(case))


GIB = float(2**30)


@dataclass(frozen=True)
class Error:
    """The prediction against the log. Where the log gives only a token count, the KV GiB it implies is tokens x
    the model's KV bytes per token per rank (`from_tokens`), and the GiB error is the token error in those bytes."""

    case: Case
    prediction: Prediction
    logged_gib: float
    from_tokens: bool
    gib: float
    tokens_pct: float | None


def error(case: Case) -> Error:
    p = run(case)
    tokens = case.kv_tokens
    pct = (p.kv_cache_tokens - tokens) / tokens * 100 if tokens else None
    if case.kv_gib is not None:
        return Error(case, p, case.kv_gib, False, p.kv_cache_gib - case.kv_gib, pct)
    assert tokens is not None, f"{case.id}: no KV figure"
    per_token = p.kv_bytes_per_token / GIB
    return Error(case, p, tokens * per_token, True, (p.kv_cache_tokens - tokens) * per_token, pct)


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0
