#!/usr/bin/env python3
"""The tiny trained pair converted to q8_0 must carry exactly what upstream llama.cpp wrote for it.

The expected tables below are docs/gguf-example.md (llama.cpp's own converter, commit 34af94c, on
tests/data/tiny-gemma4/{target,assistant}); layers 1 and 4, which the document leaves out because
they repeat layers 0 and 3, are filled in the same way. Every key (type and value, including the
tokenizer's), every tensor name, type and shape, and the tensor order are compared. The output is
read with the PyPI `gguf` package. `--vocab-only` must give the same keys without
general.size_label and without tensors, as llama.cpp's --vocab-only does.

Usage: test_convert_tiny_pair.py --binary BUILD/leapfrog --data tests/data --work WORKDIR
"""
import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from gguf import GGUFReader, GGUFValueType as VT

CHAT_TEMPLATE_START = "{%- macro format_parameters(properties, required) -%}\n    {%"

TOKENIZER = [
    ("tokenizer.ggml.model", "STRING", "gemma4"),
    ("tokenizer.ggml.tokens", "ARRAY[STRING]", (8192, ["<pad>", "<eos>", "<bos>"])),
    ("tokenizer.ggml.scores", "ARRAY[FLOAT32]", (8192, [-1000.0, -1000.0, -1000.0])),
    ("tokenizer.ggml.token_type", "ARRAY[INT32]", (8192, [3, 3, 3])),
    ("tokenizer.ggml.merges", "ARRAY[STRING]", (7780, ["▁ t", "h e", "▁ a"])),
    ("tokenizer.ggml.bos_token_id", "UINT32", 2),
    ("tokenizer.ggml.eos_token_id", "UINT32", 1),
    ("tokenizer.ggml.unknown_token_id", "UINT32", 3),
    ("tokenizer.ggml.padding_token_id", "UINT32", 0),
    ("tokenizer.ggml.add_bos_token", "BOOL", True),
    ("tokenizer.ggml.add_sep_token", "BOOL", False),
    ("tokenizer.ggml.add_eos_token", "BOOL", False),
    ("tokenizer.chat_template", "STRING", ("template", 16448)),
    ("tokenizer.ggml.add_space_prefix", "BOOL", False),
]


def target_keys():
    A = "gemma4"
    return [
        ("general.architecture", "STRING", A),
        ("general.type", "STRING", "model"),
        ("general.name", "STRING", "Target"),
        ("general.size_label", "STRING", "8.2M"),
        (f"{A}.block_count", "UINT32", 6),
        (f"{A}.context_length", "UINT32", 4096),
        (f"{A}.embedding_length", "UINT32", 256),
        (f"{A}.feed_forward_length", "UINT32", 1024),
        (f"{A}.attention.head_count", "UINT32", 4),
        (f"{A}.attention.head_count_kv", "ARRAY[INT32]", [2, 2, 1, 2, 2, 1]),
        (f"{A}.rope.freq_base", "FLOAT32", 1000000.0),
        (f"{A}.rope.freq_base_swa", "FLOAT32", 10000.0),
        (f"{A}.attention.layer_norm_rms_epsilon", "FLOAT32", 9.999999974752427e-07),
        (f"{A}.attention.key_length", "UINT32", 128),
        (f"{A}.attention.value_length", "UINT32", 128),
        ("general.file_type", "UINT32", 7),
        (f"{A}.final_logit_softcapping", "FLOAT32", 30.0),
        (f"{A}.attention.sliding_window", "UINT32", 128),
        (f"{A}.attention.shared_kv_layers", "UINT32", 0),
        (f"{A}.embedding_length_per_layer_input", "UINT32", 0),
        (f"{A}.attention.sliding_window_pattern", "ARRAY[BOOL]", [True, True, False, True, True, False]),
        (f"{A}.attention.key_length_swa", "UINT32", 64),
        (f"{A}.attention.value_length_swa", "UINT32", 64),
        (f"{A}.rope.dimension_count", "UINT32", 128),
        (f"{A}.rope.dimension_count_swa", "UINT32", 64),
        ("general.quantization_version", "UINT32", 2),
    ] + TOKENIZER


def assistant_keys():
    A = "gemma4-assistant"
    return [
        ("general.architecture", "STRING", A),
        ("general.type", "STRING", "model"),
        ("general.name", "STRING", "Assistant"),
        ("general.size_label", "STRING", "2.3M"),
        (f"{A}.block_count", "UINT32", 4),
        (f"{A}.context_length", "UINT32", 4096),
        (f"{A}.embedding_length", "UINT32", 128),
        (f"{A}.feed_forward_length", "UINT32", 512),
        (f"{A}.attention.head_count", "UINT32", 4),
        (f"{A}.attention.head_count_kv", "ARRAY[INT32]", [2, 2, 2, 1]),
        (f"{A}.rope.freq_base", "FLOAT32", 1000000.0),
        (f"{A}.rope.freq_base_swa", "FLOAT32", 10000.0),
        (f"{A}.attention.layer_norm_rms_epsilon", "FLOAT32", 9.999999974752427e-07),
        (f"{A}.attention.key_length", "UINT32", 128),
        (f"{A}.attention.value_length", "UINT32", 128),
        ("general.file_type", "UINT32", 7),
        (f"{A}.attention.sliding_window", "UINT32", 128),
        (f"{A}.attention.shared_kv_layers", "UINT32", 4),
        (f"{A}.embedding_length_per_layer_input", "UINT32", 0),
        (f"{A}.attention.sliding_window_pattern", "ARRAY[BOOL]", [True, True, True, False]),
        (f"{A}.attention.key_length_swa", "UINT32", 64),
        (f"{A}.attention.value_length_swa", "UINT32", 64),
        (f"{A}.rope.dimension_count", "UINT32", 128),
        (f"{A}.rope.dimension_count_swa", "UINT32", 64),
        (f"{A}.embedding_length_out", "UINT32", 256),
        (f"{A}.nextn_predict_layers", "UINT32", 4),
        ("general.quantization_version", "UINT32", 2),
    ] + TOKENIZER


def layer(i, H, FF, D, q_out, kv_out, has_kv, has_v):
    t = [
        (f"blk.{i}.attn_norm.weight", "F32", [H]),
        (f"blk.{i}.layer_output_scale.weight", "F32", [1]),
        (f"blk.{i}.ffn_down.weight", "Q8_0", [FF, H]),
        (f"blk.{i}.ffn_gate.weight", "Q8_0", [H, FF]),
        (f"blk.{i}.ffn_up.weight", "Q8_0", [H, FF]),
        (f"blk.{i}.post_attention_norm.weight", "F32", [H]),
        (f"blk.{i}.post_ffw_norm.weight", "F32", [H]),
        (f"blk.{i}.ffn_norm.weight", "F32", [H]),
    ]
    if has_kv:
        t += [(f"blk.{i}.attn_k_norm.weight", "F32", [D]), (f"blk.{i}.attn_k.weight", "Q8_0", [H, kv_out])]
    t += [
        (f"blk.{i}.attn_output.weight", "Q8_0", [q_out, H]),
        (f"blk.{i}.attn_q_norm.weight", "F32", [D]),
        (f"blk.{i}.attn_q.weight", "Q8_0", [H, q_out]),
    ]
    if has_v:
        t.append((f"blk.{i}.attn_v.weight", "Q8_0", [H, kv_out]))
    return t


def target_tensors():
    t = [("rope_freqs.weight", "F32", [64]), ("token_embd.weight", "Q8_0", [256, 8192])]
    for i in range(6):
        full = i in (2, 5)
        t += layer(i, 256, 1024, 128 if full else 64, 512 if full else 256, 128, True, not full)
    return t + [("output_norm.weight", "F32", [256])]


def assistant_tensors():
    t = [("rope_freqs.weight", "F32", [64]), ("token_embd.weight", "Q8_0", [128, 8192])]
    for i in range(4):
        full = i == 3
        t += layer(i, 128, 512, 128 if full else 64, 512 if full else 256, 0, False, False)
    return t + [("output_norm.weight", "F32", [128]),
                ("nextn.post_projection.weight", "Q8_0", [128, 256]),
                ("nextn.pre_projection.weight", "Q8_0", [512, 128])]


def type_name(f):
    if f.types[0] == VT.ARRAY:
        return f"ARRAY[{f.types[1].name}]"
    return f.types[0].name


def compare(reader, keys, tensors, label):
    problems = []
    got_keys = [(n, f) for n, f in reader.fields.items() if not n.startswith("GGUF.")]
    if [n for n, _ in got_keys] != [k for k, _, _ in keys]:
        problems.append(f"key list/order differs:\n  got  {[n for n, _ in got_keys]}\n  want {[k for k, _, _ in keys]}")
    fields = dict(got_keys)
    for k, tname, value in keys:
        f = fields.get(k)
        if f is None:
            continue
        if type_name(f) != tname:
            problems.append(f"{k}: type {type_name(f)}, want {tname}")
            continue
        v = f.contents()
        if isinstance(value, tuple) and value[0] == "template":
            ok = isinstance(v, str) and v.startswith(CHAT_TEMPLATE_START) and len(v) == value[1]
        elif isinstance(value, tuple):
            ok = len(v) == value[0] and list(v[:len(value[1])]) == value[1]
        else:
            ok = v == value
        if not ok:
            shown = v if not isinstance(v, (list, str)) or len(v) < 20 else f"{str(v[:3])}... ({len(v)})"
            problems.append(f"{k}: {shown}, want {value if not isinstance(value, tuple) else value[:2]}")
    got_t = [(t.name, t.tensor_type.name, [int(x) for x in t.shape]) for t in reader.tensors]
    if got_t != tensors:
        want_set, got_set = {t[0]: t for t in tensors}, {t[0]: t for t in got_t}
        for n in sorted(set(want_set) | set(got_set)):
            if want_set.get(n) != got_set.get(n):
                problems.append(f"tensor {n}: got {got_set.get(n)}, want {want_set.get(n)}")
        if not problems:
            problems.append("tensor order differs")
    for p in problems:
        print(f"FAIL {label}: {p}")
    if not problems:
        print(f"ok   {label}: {len(keys)} keys, {len(tensors)} tensors as llama.cpp wrote them")
    return len(problems)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    failures = 0
    for name, keys, tensors in (("target", target_keys(), target_tensors()),
                                ("assistant", assistant_keys(), assistant_tensors())):
        src = Path(args.data) / "tiny-gemma4" / name
        out = work / f"tiny-{name}-q8_0.gguf"
        r = subprocess.run([args.binary, "convert", str(src), "-o", str(out), "--outtype", "q8_0"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            print(f"FAIL {name}: convert failed: {r.stderr.strip()}")
            failures += 1
            continue
        failures += compare(GGUFReader(str(out)), keys, tensors, name)
        vocab = work / f"tiny-{name}-vocab.gguf"
        r = subprocess.run([args.binary, "convert", str(src), "-o", str(vocab), "--outtype", "q8_0", "--vocab-only"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            print(f"FAIL {name} --vocab-only: convert failed: {r.stderr.strip()}")
            failures += 1
            continue
        failures += compare(GGUFReader(str(vocab)), [k for k in keys if k[0] != "general.size_label"], [],
                            f"{name} --vocab-only")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
