#!/usr/bin/env python3
"""Write a tiny, fully local Hugging Face style model directory for CI.

Why: Dynamo's mocker engine, the Dynamo frontend, aiperf and genai-perf all need a
"model" only for its tokenizer, chat template and a couple of config values. The CI
machines cannot reach any model hub, so we build one ourselves, offline and
deterministically, with the `tokenizers` package that the dynamo venv already pins.

Determinism: the training text is generated from a fixed seed and a word list that
lives in this file (NOT from files of the running Python, which differ between Python
builds), so the output depends only on this file and the pinned `tokenizers` version.

Usage: make-tiny-model.py OUT_DIR [--vocab N]
Writes: tokenizer.json, tokenizer_config.json (Llama-3 style chat_template),
        special_tokens_map.json, config.json, generation_config.json
No weights are written: the mocker never loads any.
"""
import argparse
import hashlib
import json
import os
import random

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

BOS, EOS, PAD = "<|begin_of_text|>", "<|end_of_text|>", "<|pad|>"
HDR_START, HDR_END, EOT = "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"
SPECIALS = [BOS, EOS, PAD, HDR_START, HDR_END, EOT]

# Plain English-ish vocabulary so that load generators' synthetic prompts (Shakespeare,
# lorem-style text) tokenize into a realistic number of tokens per word.
WORDS = """
the of and to in a is that for it as was with be by on not he this are or his from at
which but have an they you were her she there one all we their been has would when who
will more no if out so said what up its about into than them can only other new some
could time these two may then do first any my now such like our over man me even most
made after also did many before must through back years where much your way well down
should because each just those people how too little state good very make world still
own see men work long get here between both life being under never day same another
know while last might us great old year off come since against go came right used take
three model token server request latency throughput prefill decode worker frontend node
cluster slurm batch queue job time first output input length stream benchmark result
thou thee thy hath doth king lord lady love death night sweet heaven heart fair speak
""".split()
PUNCT = [".", ",", ";", ":", "!", "?", "'", '"', "(", ")", "-", "\n"]

TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "<|start_header_id|>{{ message['role'] }}<|end_header_id|>\n\n"
    "{{ message['content'] }}<|eot_id|>{% endfor %}"
    "{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}"
)


def corpus(seed: int, n_lines: int):
    """Yield deterministic pseudo sentences (words, numbers, punctuation, capitals)."""
    rng = random.Random(seed)
    for _ in range(n_lines):
        parts = []
        for _ in range(rng.randint(4, 24)):
            r = rng.random()
            if r < 0.05:
                parts.append(str(rng.randint(0, 99999)))
            else:
                w = rng.choice(WORDS)
                parts.append(w.capitalize() if r > 0.9 else w)
            if rng.random() < 0.12:
                parts[-1] += rng.choice(PUNCT)
        yield " ".join(parts) + ".\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--max-len", type=int, default=8192)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    # The full byte alphabet is seeded so that ANY input (unicode, code) is encodable.
    trainer = trainers.BpeTrainer(
        vocab_size=a.vocab,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus(seed=20261127, n_lines=40000), trainer=trainer)
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.save(os.path.join(a.out, "tokenizer.json"))

    ids = {t: tok.token_to_id(t) for t in SPECIALS}
    eos_ids = [ids[EOS], ids[EOT]]

    def dump(name, obj):
        with open(os.path.join(a.out, name), "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=2, sort_keys=True)
            f.write("\n")

    dump("tokenizer_config.json", {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": BOS, "eos_token": EOS, "pad_token": PAD,
        "model_max_length": a.max_len,
        "add_bos_token": False, "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        "chat_template": TEMPLATE,
    })
    dump("special_tokens_map.json", {"bos_token": BOS, "eos_token": EOS, "pad_token": PAD})
    # Llama-like shape; small numbers keep anything that sizes KV caches from it cheap.
    dump("config.json", {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "vocab_size": tok.get_vocab_size(), "hidden_size": 64, "intermediate_size": 128,
        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 4,
        "max_position_embeddings": a.max_len, "torch_dtype": "bfloat16",
        "bos_token_id": ids[BOS], "eos_token_id": eos_ids, "pad_token_id": ids[PAD],
    })
    dump("generation_config.json", {
        "bos_token_id": ids[BOS], "eos_token_id": eos_ids, "max_new_tokens": 256,
    })
    with open(os.path.join(a.out, "tokenizer.json"), "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:16]
    print(f"tiny model in {a.out}: vocab={tok.get_vocab_size()} tokenizer sha256={digest}")


if __name__ == "__main__":
    main()
