"""Building a TensorRT-LLM engine for Triton on the node: `trtllm-build` over a staged TensorRT-LLM checkpoint.

Triton's TensorRT-LLM backend serves a built engine, and an engine is bound to the GPU model, the TensorRT-LLM
release and the parallel layout it was built for. With `build_engine`, the model's staged source is a TensorRT-LLM
checkpoint (the output of the model's convert_checkpoint.py or of ModelOpt's quantization, which is where FP8 /
INT8 / INT4 are chosen), and an init container of the serving pod builds the engine:
- in the server's own image, so the builder is the TensorRT-LLM release the backend runs;
- with the pod's own GPUs (an init container's GPU request is the pod's), on the node that serves it, into that
  node's model cache under a key of the build options, so a restart or a second pod finds it built;
- under flock on the cache, into a temporary directory renamed when complete (a killed build leaves nothing a
  server would load);
- after checking the checkpoint's `mapping` (tp_size, pp_size) against the deployment: a checkpoint converted for
  another layout is refused with the reason, before minutes of building.
Staging replaces the model's whole directory when its manifest changes (render/stage_weights.sh), so engines
built from an older checkpoint go with it.
A Job was not used: it would need a GPU of its own beside the serving pods and one run per node of the pool.

Options: tensorrt_llm/commands/build.py (tests/engines/fixtures/trtllm-build-options.json, with the options the
backend's v0.17.0 CI passes: ci/L0_backend_trtllm/generate_engines.sh). `--use_paged_context_fmha enable` because
the generated tensorrt_llm config enables KV cache reuse and chunked context, which need it (the same CI script,
"enable use_paged_context_fmha for KV cache reuse"; inflight_batcher_llm/src/model_instance_state.cc, chunked
context "requires building the model with use_paged_context_fmha").
"""

from __future__ import annotations

import hashlib
import shlex
from dataclasses import dataclass

CACHE_DIR = "trtllm-engines"  # under the model's directory in the node's model cache
TOKENIZER_DIR = "tokenizer"  # the Hugging Face tokenizer files, beside the checkpoint


@dataclass(frozen=True)
class EngineBuild:
    model: str  # the model's directory under /models (the staged checkpoint)
    tensor_parallel_size: int
    pipeline_parallel_size: int
    max_batch_size: int
    max_num_tokens: int
    max_seq_len: int | None  # None: build.py deduces it from the checkpoint's config

    @property
    def checkpoint_dir(self) -> str:
        return f"/models/{self.model}"

    @property
    def tokenizer_dir(self) -> str:
        return f"{self.checkpoint_dir}/{TOKENIZER_DIR}"

    def options(self) -> list[str]:
        """trtllm-build's options except --output_dir."""
        opts = ["--checkpoint_dir", self.checkpoint_dir, "--max_batch_size", str(self.max_batch_size)]
        opts += ["--max_num_tokens", str(self.max_num_tokens)]
        if self.max_seq_len is not None:
            opts += ["--max_input_len", str(self.max_seq_len), "--max_seq_len", str(self.max_seq_len)]
        opts += ["--kv_cache_type", "paged", "--use_paged_context_fmha", "enable"]
        return opts + ["--workers", str(self.tensor_parallel_size * self.pipeline_parallel_size)]

    @property
    def engine_dir(self) -> str:
        """Where the engine is built and read: keyed by the build's options, so a changed option builds anew."""
        key = hashlib.sha256(" ".join(self.options()).encode()).hexdigest()[:16]
        return f"{self.checkpoint_dir}/{CACHE_DIR}/{key}"

    def command(self) -> list[str]:
        return ["trtllm-build", *self.options(), "--output_dir", f"{self.engine_dir}.tmp"]

    def script(self) -> str:
        """The init container's shell script (every value comes from pattern-checked spec fields, quoted)."""
        out = shlex.quote(self.engine_dir)
        config = shlex.quote(f"{self.checkpoint_dir}/config.json")
        tp, pp = self.tensor_parallel_size, self.pipeline_parallel_size
        check = (
            "import json, sys\n"
            'm = json.load(open(sys.argv[1])).get("mapping", {})\n'
            'got = (m.get("tp_size", 1), m.get("pp_size", 1))\n'
            f"if got != ({tp}, {pp}):\n"
            '    sys.exit(f"{sys.argv[1]}: checkpoint converted for tp {got[0]} x pp {got[1]}, '
            f'the deployment runs tp {tp} x pp {pp}: convert it again")\n'
        )
        return "\n".join(
            [
                "set -eu",
                f"test -f {out}/config.json && exit 0",
                f"mkdir -p {shlex.quote(f'{self.checkpoint_dir}/{CACHE_DIR}')}",
                f"exec 9>{out}.lock",
                "flock 9",
                f"test -f {out}/config.json && exit 0",
                f"python3 -c {shlex.quote(check)} {config}",
                f"rm -rf {out}.tmp",
                shlex.join(self.command()),
                f"mv {out}.tmp {out}",
            ]
        )
