"""Building a TensorRT-LLM engine for Triton on the node: `trtllm-build` over a staged TensorRT-LLM checkpoint.

Triton's TensorRT-LLM backend serves a built engine, and an engine is bound to the GPU model, the TensorRT-LLM
release and the parallel layout it was built for. With `build_engine`, the model's staged source is a TensorRT-LLM
checkpoint (the output of the model's convert_checkpoint.py or of ModelOpt's quantization, which is where FP8 /
INT8 / INT4 are chosen), or with `build_from: hf_checkpoint` a Hugging Face checkpoint that the same init container
converts first (engines/trtllm_convert.py, into its own keyed, checked, renamed directory), and an init container
of the serving pod builds the engine:
- in the server's own image, so the builder is the TensorRT-LLM release the backend runs;
- with the pod's own GPUs (an init container's GPU request is the pod's), on the node that serves it, into that
  node's model cache under a key of the build options, so a restart or a second pod finds it built;
- under flock on the cache, into a temporary directory renamed when complete (a killed build leaves nothing a
  server would load);
- after checking the checkpoint's `mapping` (tp_size, pp_size) against the deployment: a checkpoint converted for
  another layout is refused with the reason, before minutes of building.
An engine directory is used as it is only when its config.json says the layout and limits asked for
(`engine_expected`); the build's own output is checked the same way before the rename.
Staging replaces the model's whole directory when its manifest changes (render/stage_weights.sh), so engines
built from an older checkpoint go with it.
A Job was not used: it would need a GPU of its own beside the serving pods and one run per node of the pool.

Options: tensorrt_llm/commands/build.py (tests/engines/fixtures/trtllm-build-options.json, with the options the
backend's v0.17.0 CI passes: ci/L0_backend_trtllm/generate_engines.sh). The build.py there is a stored
version, not the one of TensorRT-LLM 350625cc (the backend v0.17.0 submodule), which could not be read here
(its release_note). `--use_paged_context_fmha enable` because
the generated tensorrt_llm config enables KV cache reuse and chunked context, which need it (the same CI script,
"enable use_paged_context_fmha for KV cache reuse"; inflight_batcher_llm/src/model_instance_state.cc, chunked
context "requires building the model with use_paged_context_fmha").
"""

from __future__ import annotations

import hashlib
import shlex
from dataclasses import dataclass

from .trtllm_convert import MATCHES_FUNCTION, Conversion, matches

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
    convert: Conversion | None = None  # the staged model is a Hugging Face checkpoint to convert first

    @property
    def checkpoint_dir(self) -> str:
        return self.convert.output_dir if self.convert else f"/models/{self.model}"

    @property
    def tokenizer_dir(self) -> str:
        """A Hugging Face checkpoint holds its tokenizer; a staged TensorRT-LLM checkpoint has it in tokenizer/."""
        return self.convert.hf_dir if self.convert else f"/models/{self.model}/{TOKENIZER_DIR}"

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
        return f"/models/{self.model}/{CACHE_DIR}/{key}"

    def command(self) -> list[str]:
        return ["trtllm-build", *self.options(), "--output_dir", f"{self.engine_dir}.tmp"]

    def engine_expected(self) -> list[tuple[str, object, object]]:
        """What the built engine's config.json must say (trtllm-build writes the checkpoint's config as
        pretrained_config and its own limits as build_config) for the pod to use it without building."""
        tp, pp = self.tensor_parallel_size, self.pipeline_parallel_size
        expect: list[tuple[str, object, object]] = [
            ("pretrained_config.mapping.tp_size", tp, 1),
            ("pretrained_config.mapping.pp_size", pp, 1),
            ("build_config.max_batch_size", self.max_batch_size, None),
            ("build_config.max_num_tokens", self.max_num_tokens, None),
        ]
        if self.max_seq_len is not None:
            expect.append(("build_config.max_seq_len", self.max_seq_len, None))
        return expect

    def script(self) -> str:
        """The init container's shell script (every value comes from pattern-checked spec fields, quoted):
        nothing to do when the engine directory's config matches; else, under flock on the cache, the conversion
        (when the source is a Hugging Face checkpoint), the checkpoint's layout checked, the build into a temporary
        directory, its config checked, and a rename."""
        out = shlex.quote(self.engine_dir)
        config = shlex.quote(f"{self.checkpoint_dir}/config.json")
        engine = self.engine_expected()
        layout: list[tuple[str, object, object]] = [
            ("mapping.tp_size", self.tensor_parallel_size, 1),
            ("mapping.pp_size", self.pipeline_parallel_size, 1),
        ]
        return "\n".join(
            [
                "set -eu",
                MATCHES_FUNCTION,
                f"{matches(f'{out}/config.json', engine, quiet=True)} && exit 0",
                f"mkdir -p {shlex.quote(f'/models/{self.model}/{CACHE_DIR}')}",
                f"exec 9>{out}.lock",
                "flock 9",
                f"{matches(f'{out}/config.json', engine, quiet=True)} && exit 0",
                *(self.convert.script() if self.convert else []),
                matches(config, layout),
                f"rm -rf {out}.tmp",
                shlex.join(self.command()),
                matches(f"{out}.tmp/config.json", engine),
                f"rm -rf {out}",
                f"mv {out}.tmp {out}",
            ]
        )
