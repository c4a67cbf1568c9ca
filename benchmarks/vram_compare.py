"""gpuctl's KV-cache prediction against published start-up logs, on the fitted and the held-out cases.

Writes docs/vram-comparison.md (or prints it with --stdout); the corpus is tests/vram/corpus/startup-logs.yaml. Other
calculators' formulas, as read from their source, are compared on the same cases:
- naive: nominal GB x utilization - weights (params x bytes / tp).
- gpu_poor (src/App.js, https://github.com/RahulSChand/gpu_poor/blob/ad2fc0ef/src/App.js): nominal memory,
  activation ctx x hidden x 5 x 2 + ctx^2 x heads x 2 bytes, 650 MB overhead, no utilization, no TP.
- llm-d capacity_planner.py, last version before it moved to llm-d-planner
  (https://github.com/llm-d/llm-d-benchmark/blob/0fa12aa9/config_explorer/src/config_explorer/capacity_planner.py):
  nominal memory x util x GPUs - weights - constant activation (Llama 4.8, Qwen 5.6, MoE 8.0, else 5.5 GiB) -
  non-torch (0.15 tp1 / 0.6 GiB), pooled over GPUs, shown per GPU.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.vram import corpus  # noqa: E402
from tests.vram.corpus import Case, Error  # noqa: E402

Row = Error

from gpuctl.vram.weights import BYTES, params  # noqa: E402

GIB = 2**30
NOMINAL_GB = {  # what the other calculators take as the GPU's memory: the marketing size
    "h100-sxm5-80gb": 80,
    "a100-sxm4-80gb": 80,
    "a100-40gb": 40,
    "l4": 24,
    "l40s": 48,
    "a10": 24,
    "rtx-3090": 24,
    "rtx-4090": 24,
    "h100-nvl": 94,
    "l40": 48,
    "h200-sxm-141gb": 141,
    "h100-pcie-80gb": 80,
}
OVER = 1.0  # GiB: a case off by more than this needs an explanation (its notes)


def _weights(case: Case) -> float:
    arch = corpus.arch(case.model)
    return params(arch) * BYTES[arch.quantization or arch.dtype]


def naive(case: Case) -> float:
    tp = case.settings.get("tensor_parallel_size", 1) * case.settings.get("pipeline_parallel_size", 1)
    util = case.settings.get("gpu_memory_utilization", 0.9)
    return float(NOMINAL_GB[case.gpu] * util - _weights(case) / tp / GIB)


def gpu_poor(case: Case) -> float:
    arch = corpus.arch(case.model)
    ctx = case.settings.get("max_model_len", arch.max_position_embeddings)
    activation = (ctx * arch.hidden_size * 5 * 2 + ctx * ctx * arch.num_heads * 2) / GIB
    return float(NOMINAL_GB[case.gpu] - _weights(case) / GIB - activation - 650 / 1024)  # no TP: one GPU holds it all


def llm_d(case: Case) -> float:
    arch = corpus.arch(case.model)
    gpus = case.settings.get("tensor_parallel_size", 1) * case.settings.get("pipeline_parallel_size", 1)
    util = case.settings.get("gpu_memory_utilization", 0.9)
    name = case.model.lower()
    activation = 8.0 if arch.moe else 4.8 if "llama" in name else 5.6 if "qwen" in name else 5.5
    non_torch = 0.15 if gpus == 1 else 0.6
    pooled = NOMINAL_GB[case.gpu] * util * gpus - _weights(case) / GIB - activation - non_torch * gpus
    return float(pooled / gpus)


OTHERS = (("naive", naive), ("gpu_poor", gpu_poor), ("llm-d planner", llm_d))


def _tokens(e: Error) -> str:
    if e.case.kv_tokens is None:
        return "| – | – |"
    return f"| {e.case.kv_tokens:,} | {e.prediction.kv_cache_tokens:,} ({e.tokens_pct:+.1f}%) |"


def _label(case: Case) -> str:
    s = case.settings
    par = f"tp{s.get('tensor_parallel_size', 1)}" + (
        f" pp{s['pipeline_parallel_size']}" if s.get("pipeline_parallel_size", 1) > 1 else ""
    )
    return f"[{case.id}]({case.source}) | {case.gpu} | {case.engine} {case.engine_version} | {par}"


def case_table(rows: list[Row]) -> list[str]:
    lines = [
        "| case | GPU | engine | parallel | logged KV GiB | gpuctl (error) | logged tokens | gpuctl tokens (error) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        logged = f"≈{r.logged_gib:.2f} ‡" if r.from_tokens else f"{r.logged_gib:.2f}"
        mark = " †" if abs(r.gib) > OVER else ""
        lines.append(
            f"| {_label(r.case)} | {logged} | {r.prediction.kv_cache_gib:.2f} ({r.gib:+.2f}){mark} " + _tokens(r)
        )
    return lines


def stats(rows: list[Row]) -> tuple[float, float, Row, float, float, int]:
    """Mean, median and worst absolute GiB error, mean and worst absolute token error (%), cases over OVER GiB."""
    worst = max(rows, key=lambda r: abs(r.gib))
    pct = [abs(r.tokens_pct) for r in rows if r.tokens_pct is not None]
    over = sum(abs(r.gib) > OVER for r in rows)
    gib = [abs(r.gib) for r in rows]
    return corpus.mean(gib), statistics.median(gib), worst, corpus.mean(pct), max(pct, default=0.0), over


def summary(sets: list[tuple[str, list[Row]]]) -> list[str]:
    lines = [
        "| set | cases | mean abs. KV error (GiB) | median (GiB) | worst (GiB, case) | mean abs. token error "
        f"| worst token error | cases over {OVER:g} GiB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, rows in sets:
        mean_gib, median_gib, worst, mean_pct, worst_pct, over = stats(rows)
        lines.append(
            f"| {name} | {len(rows)} | **{mean_gib:.2f}** | {median_gib:.2f} | {worst.gib:+.2f} ({worst.case.id}) "
            f"| {mean_pct:.1f}% | {worst_pct:.1f}% | {over} |"
        )
    return lines


def others(sets: list[tuple[str, list[Row]]]) -> list[str]:
    lines = [
        "| set | gpuctl | " + " | ".join(name for name, _ in OTHERS) + " |",
        "|---|---|" + "---|" * len(OTHERS),
    ]
    for name, rows in sets:
        cells = [corpus.mean([abs(r.gib) for r in rows])]
        cells += [corpus.mean([abs(fn(r.case) - r.logged_gib) for r in rows]) for _, fn in OTHERS]
        lines.append(f"| {name} | " + " | ".join(f"{v:.2f}" for v in cells) + " |")
    return lines


def verdict(held: list[Row]) -> list[str]:
    mean_gib, median_gib, _, _, _, over = stats(held)
    met = "met" if mean_gib <= 0.3 else "**not met**"
    complete = sum(r.case.flags_stated == "complete" for r in held)
    return [
        f"Target (issue 12): held-out mean ≤ 0.3 GiB: {met} ({mean_gib:.2f} GiB; median {median_gib:.2f} GiB).",
        f"{over} held-out cases are off by more than {OVER:g} GiB; each is listed under † with what gpuctl does not",
        "model there, from the case's notes.",
        f"{complete} of {len(held)} held-out cases state version, GPU and launch flags in full by the pre-registered",
        "rule (`flags_stated`), so the complete-flags figure "
        + ("is in its own row." if complete else "cannot be given: every held-out case infers at least one of them."),
    ]


def explanations(rows: list[Row]) -> list[str]:
    return [f"- **{r.case.id}** ({r.gib:+.2f} GiB): {r.case.notes}" for r in rows if abs(r.gib) > OVER]


def _plural(n: int, noun: str) -> str:
    return noun if n == 1 else noun + "s"


def table() -> str:
    rows = [corpus.error(c) for c in corpus.cases()]
    fitted = [r for r in rows if not r.case.held_out and r.case.in_scope]
    held = [r for r in rows if r.case.held_out and r.case.in_scope]
    complete = [r for r in held if r.case.flags_stated == "complete"]
    first = [r for r in held if r.case.after_freeze and r.case.freeze < 2]
    second = [r for r in held if r.case.freeze == 2 and not r.case.after_last_change]
    last = [r for r in held if r.case.after_last_change]
    out = [r for r in rows if not r.case.in_scope]
    sets = [("fitted", fitted), ("held out", held)]
    if complete:
        sets.append(("held out, flags stated in full (pre-registered rule; part of held out)", complete))
    if first:
        sets.append(("held out, collected after the first freeze (model changed since, by source)", first))
    if second:
        sets.append(("held out, collected after the second freeze (model changed since, by source)", second))
    if last:
        freeze = corpus.LAST_FREEZE
        label = f"held out, collected after freeze {freeze}; no later change touches them (part of held out)"
        sets.append((label, last))
    if out:
        sets.append(("out of scope (version), not in the target", out))
    lines = [
        "# KV cache predictions vs published start-up logs",
        "",
        "Generated by `python benchmarks/vram_compare.py` from the corpus `tests/vram/corpus/startup-logs.yaml` (each",
        "case cites its issue, pull request or log file and quotes the lines); a test checks this file is current.",
        'The KV cache is per GPU, in GiB (vLLM\'s "Available KV cache memory"), and in tokens ("GPU KV cache size",',
        "GPU blocks x block size, or the token count of a refusal to start).",
        "",
        "**Split.** Fitted = the runs gpuctl's constants were fitted to before the corpus existed (llm-d's empirical",
        "table, GT-D; the dennislee22 A100 logs, GT-E). Held out = every other case: added with the corpus, never",
        "used to set or tune a constant. The rule is written in the corpus and a test checks each case against it.",
        "Some held-out cases were collected after a model freeze (`after_freeze` in the corpus). The model changed",
        "after the first, second and third freeze, by vLLM's and compressed-tensors' sources only, while those cases",
        f"were known; cases with `freeze: {corpus.LAST_FREEZE}` were collected after the last change that touches them",
        "(the fifth change, below, reaches MXFP4 checkpoints only, and none of them is one) by a rule written",
        "before any was looked at (corpus header: the rule and five amendments, each naming its searches before they",
        f"ran), and their row is the cleanest test of generalisation ({len(last)} {_plural(len(last), 'case')}",
        "so far: every other result of those searches failed a criterion, such as no KV line, no citable source, a GPU",
        "outside the catalog, a fork, or a release out of scope or not stated; the header lists them).",
        "`flags_stated: complete` marks",
        "the cases whose version, GPU and launch flags are all stated (a rule written into the corpus before the",
        "last cases were looked at); the others' unstated flags are vLLM's defaults by assumption.",
        "",
        f"**Scope.** gpuctl renders arguments for vLLM ≥ {corpus.SUPPORTED_SINCE['vllm']} and TensorRT-LLM's",
        f"trtllm-serve ≥ {corpus.SUPPORTED_SINCE['trtllm']} (`SUPPORTED_SINCE` in engines/vllm.py and",
        "engines/trtllm.py:",
        "older releases reject flags gpuctl renders, or serve through a runtime gpuctl does not render). Logs of older",
        "releases are predicted and shown in their own table, but not counted in the target's mean; the rule is in the",
        "corpus header and a test checks every case against it.",
        "",
        "**What the sources leave open.** The largest in-scope misses are activation peaks the published runs do",
        "not explain with their flags (unstated max_num_seqs / max_num_batched_tokens are taken as the version's",
        "defaults), a KV connector (LMCache) gpuctl does not model, and the sampler path of runs that do not say how",
        "vLLM was installed (the corpus rule below takes a pip install, the sort path). No constant was changed to",
        "close these gaps on held-out data; the cases keep their misses and their reasons.",
        "",
        "**Changed after the first freeze, from vLLM's source only** (engines/vllm.py cites file:line per tag): v0",
        "samples its profile run through the sort path (39 B per logit, the fitted native-path figure) on the driver",
        "rank; v0 up to 0.6.4.post1 counts the CUDA context as non-torch memory; v0's chunked-prefill batch is 512",
        "tokens up to 0.6.4.post1 and 2048 from 0.6.5; V1's large scheduler defaults go by GPU name (H100/H200)",
        "up to 0.8.4, by memory in 0.8.5, by memory except A100 from 0.9; interleaved sliding-window layers are paged",
        "as full attention by v0 and V1 0.8, and get their window from 0.9 (hybrid KV cache manager). Net effect on",
        "the cases known then: fitted 0.27 -> 0.27 GiB, held out 1.83 -> 1.85 GiB.",
        "",
        "**Changed after the second freeze, from the sources only** (vram/hf.py and vram/weights.py cite file:line):",
        "quantized checkpoints are sized by their format. compressed-tensors configs are read from their",
        "config_groups (pack-quantized W4A16/W8A16: packed ints + a model-dtype scale per group + packed zero points",
        "when asymmetric; int-quantized W8A8: 1 B; float-quantized: fp8), where a pack-quantized checkpoint was",
        "sized as fp8 before; AWQ/GPTQ use their config's group size (was 128 always); gpt-oss's MXFP4 packs the",
        "MoE experts only (e2m1 + an e8m0 scale per 32 values), padded as vLLM 0.10.1's MoE kernels pad them. Net",
        "effect on the cases known then: fitted 0.27 -> 0.27 GiB, held out 1.57 -> 1.61 GiB (one case moved:",
        "vllm-pr14447, whose AWQ config has group 64).",
        "",
        "**Changed after the third freeze, from vLLM's sources only** (engines/vllm.py `SAMPLER_BYTES_PER_LOGIT`",
        "cites envs.py, topk_topp_sampler.py, sampler.py, setup.py and the Dockerfile of 0.6.3-0.11.0 by line): the",
        "sampler warm-up goes by the top-k/top-p path the install takes, not by the version. The two fitted figures",
        "stay (sort 39 B per logit from GT-D, FlashInfer 10.5 B from GT-E); what changed is which runs get which. A",
        "gpuctl deployment takes what the vllm/vllm-openai image of its release does (FlashInfer on V1, the sort on",
        "v0); a corpus case takes what its own text says (a FlashInfer log line, the image, a pip install), else the",
        "sort path of a pip install (a rule written into the corpus header before any case was recomputed, but",
        "knowing which way the earlier held-out misses pointed). Net effect on the cases known then: fitted",
        "0.30 -> 0.24 GiB (gte-...-two-nodes, whose log says FlashInfer was not available), held out 1.95 -> 1.55",
        "GiB mean, median 0.88 -> 0.88 GiB, worst +8.07 -> +8.07 GiB (vllm12330, a v0 run the change does not",
        "touch); four held-out cases moved (vllm23278 +5.35 -> -0.12, vllm21348 +6.26 -> +2.13, vllm-pr17122",
        "+4.56 -> +3.69, vllm-pr12569 +0.73 -> -2.36 GiB). These cases were known when the change was made: the",
        "row of the cases collected after it is the test.",
        "",
        "**Changed after the fourth freeze, from vLLM's release files only** (vram/weights.py `mxfp4_kernel` cites",
        "quantization/mxfp4.py, requirements/cuda.txt, setup.py and docker/Dockerfile of 0.10.1, 0.10.2 and 0.11.0):",
        "gpt-oss's MXFP4 MoE kernel on Ampere, Ada and Hopper is Marlin, not OpenAI's triton kernels. vLLM takes the",
        "triton kernels only when the optional triton_kernels package imports and torch is 2.8 or later (0.10.1",
        "pins 2.7.1); neither the wheel nor the vllm/vllm-openai image installs the package, so both fall back to",
        "Marlin, whose padding holds 5.1 GiB more of gpt-oss-120b's weights on one GPU. A wrong default, found by",
        "reading the sources after vllm27508's notes had shown that Marlin gives its logged figure; that case and",
        "vllm23278 were known, so they are no clean test of it. It reaches MXFP4 checkpoints only. Net effect: held",
        "out 1.42 -> 1.20 GiB (vllm27508 +5.12 -> -0.01); fitted 0.24 -> 0.57 GiB (gtd-gpt-oss-20b +0.54 -> -0.31,",
        "gtd-gpt-oss-120b -0.46 -> -5.59: that GT-D row does not add up by vLLM's formula and names no install; its",
        "notes give the two setups its figures admit). The fitted set got worse: the change was kept because it is",
        "what the releases do, not because it scored better.",
        "",
        "## Summary",
        "",
        *summary(sets),
        "",
        *verdict(held),
        "",
        "## Fitted cases",
        "",
        *case_table(fitted),
        "",
        "## Held-out cases",
        "",
        *case_table(held),
        "",
        "## Out of scope (version): releases gpuctl does not render for",
        "",
        *case_table(out),
        "",
        f"† Off by more than {OVER:g} GiB; the reasons, from each case's notes:",
        "",
        *explanations(rows),
        "",
        "‡ The log gives a token count only: the GiB shown is tokens x the model's KV bytes per token per rank, and",
        "the error is the token error in those bytes.",
        "",
        "## Other calculators on the same cases (mean abs. KV error, GiB)",
        "",
        *others(sets),
        "",
        "Formulas as read from their source (see the script's docstring): gpu_poor",
        "https://github.com/RahulSChand/gpu_poor/blob/ad2fc0ef/src/App.js; llm-d planner",
        "https://github.com/llm-d/llm-d-benchmark/blob/0fa12aa9/config_explorer/src/config_explorer/capacity_planner.py.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    text = table()
    if "--stdout" not in sys.argv:
        (ROOT / "docs" / "vram-comparison.md").write_text(text)
    print(text, end="")
