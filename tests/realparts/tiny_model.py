"""Build the tiny Llama the real vLLM serves in the proof tests (nothing can be downloaded from a model hub here).

Run with the vLLM venv's Python (it has torch, transformers and tokenizers): `python tiny_model.py OUT_DIR`.
2 layers, hidden 128, 4 heads (head size 32: vLLM's CPU attention backend accepts 32, 64, 80, 96, 112, 128 and up,
not 16), intermediate 256, random weights (seeded) in safetensors, and a byte-level BPE tokenizer trained on a few
hundred generated sentences, saved as a fast tokenizer with a chat template. Deterministic: same files every run.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
SPECIAL = ["<s>", "</s>", "<pad>", "<|system|>", "<|user|>", "<|assistant|>"]
MAX_POSITIONS = 2048


def sentences() -> list[str]:
    subjects = ["the rack", "a server", "the router", "each replica", "the pool", "our cluster", "the gateway"]
    verbs = ["serves", "drops", "routes", "scales", "cools", "powers", "queues"]
    objects = ["many requests", "a token", "the model", "hot air", "two feeds", "one queue", "the cache"]
    tails = ["today.", "at night.", "under load.", "in the colo.", "without a GPU.", "again and again."]
    return [" ".join(w) for w in itertools.product(subjects, verbs, objects, tails)][::5]


def build(out: Path) -> None:
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(sentences(), vocab_size=900, min_frequency=1, special_tokens=SPECIAL, show_progress=False)
    tok = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        additional_special_tokens=SPECIAL[3:],
        model_max_length=MAX_POSITIONS,
    )
    tok.chat_template = CHAT_TEMPLATE
    config = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=MAX_POSITIONS,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        torch_dtype="float32",
        tie_word_embeddings=False,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    tmp = out.with_name(out.name + ".partial")
    model.save_pretrained(tmp, safe_serialization=True)
    tok.save_pretrained(tmp)
    tmp.rename(out)  # a half-built model is never taken for a finished one


if __name__ == "__main__":
    build(Path(sys.argv[1]))
