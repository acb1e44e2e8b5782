#!/usr/bin/env python3
"""Bad checkpoints and bad flags: `leapfrog convert` / `quantize` exit with status 1 and exactly one
line on stderr that names the problem; never a crash (signal), never a partial output file.

Each case copies the dense fixture into WORK, damages one thing (the safetensors header, the
data, config.json, or the flags) and states a phrase the error line must contain.

Usage: test_convert_errors.py --binary BUILD/leapfrog --data tests/data --work WORKDIR
"""
import argparse
import json
import shutil
import struct
import subprocess
import sys
from pathlib import Path


def read_st(path):
    raw = path.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    return json.loads(raw[8:8 + n]), raw[8 + n:]


def write_st(path, header, data, header_text=None):
    text = (header_text if header_text is not None else json.dumps(header)).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    src = Path(args.data) / "fixtures" / "dense" / "hf"
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    header, data = read_st(src / "model.safetensors")
    q_proj = "model.layers.0.self_attn.q_proj.weight"
    embed = "model.embed_tokens.weight"

    def mutate_header(fn):
        def apply(d):
            h = json.loads(json.dumps(header))
            fn(h)
            write_st(d / "model.safetensors", h, data)
        return apply

    def set_field(name, key, value):
        return mutate_header(lambda h: h[name].__setitem__(key, value))

    def raw_bytes(fn):
        def apply(d):
            p = d / "model.safetensors"
            p.write_bytes(fn(p.read_bytes()))
        return apply

    def config(fn):
        def apply(d):
            c = json.loads((d / "config.json").read_text())
            fn(c)
            (d / "config.json").write_text(json.dumps(c))
        return apply

    # q_proj moved back by 4 bytes: same size, but its start now lies inside the tensor before it.
    qb, qe = header[q_proj]["data_offsets"]
    assert qb >= 4
    cases = [
        # (name, damage, phrase the error must contain)
        ("truncated file", raw_bytes(lambda b: b[: len(b) // 2]), "run past the data area"),
        ("header only", raw_bytes(lambda b: b[:6]), "too short"),
        ("header length past the end", raw_bytes(lambda b: struct.pack("<Q", len(b)) + b[8:]), "past the end"),
        ("absurd header length", raw_bytes(lambda b: struct.pack("<Q", 1 << 62) + b[8:]), "header length"),
        ("bad JSON", lambda d: write_st(d / "model.safetensors", None, data,
                                        header_text=json.dumps(header)[:-10] + " " * 10), "not valid JSON"),
        ("offsets out of range", set_field(q_proj, "data_offsets", [len(data) - 4, len(data) + 4092]), q_proj),
        ("overlap", set_field(q_proj, "data_offsets", [qb - 4, qe - 4]), "overlap"),
        ("unknown dtype", set_field(q_proj, "dtype", "Q4_K"), q_proj),
        ("shape mismatch", set_field(q_proj, "shape", [128, 65]), q_proj),
        ("integer weights", set_field(q_proj, "dtype", "I32"), q_proj),
        ("f64 weights", mutate_header(lambda h: (h[q_proj].__setitem__("dtype", "F64"),
                                                 h[q_proj].__setitem__("shape", [64, 64]))), q_proj),
        ("missing tensor", mutate_header(lambda h: h.pop(q_proj)), "blk.0.attn_q.weight"),
        ("unknown tensor", mutate_header(lambda h: h.__setitem__("model.layers.0.mystery.weight", h.pop(q_proj))),
         "model.layers.0.mystery.weight"),
        ("layer beyond the config", mutate_header(lambda h: h.__setitem__(
            "model.layers.9.self_attn.q_proj.weight", h.pop(q_proj))), "layer 9"),
        ("config disagrees with shapes", config(lambda c: c.__setitem__("hidden_size", 96)), embed),
        ("config missing a field", config(lambda c: c.pop("num_attention_heads")), "num_attention_heads"),
        ("config wrong type", config(lambda c: c.__setitem__("head_dim", "32")), "head_dim"),
        ("config not JSON", lambda d: (d / "config.json").write_text("{"), "config.json"),
        ("unsupported architecture", config(lambda c: c.__setitem__("architectures", ["LlamaForCausalLM"])),
         "LlamaForCausalLM"),
        ("no weights", lambda d: (d / "model.safetensors").unlink(), "model.safetensors"),
    ]

    failures = 0
    for name, damage, phrase in cases:
        d = work / name.replace(" ", "-")
        shutil.copytree(src, d)
        damage(d)
        out = work / (d.name + ".gguf")
        r = subprocess.run([args.binary, "convert", str(d), "-o", str(out), "--outtype", "q8_0"],
                           capture_output=True, text=True)
        lines = r.stderr.strip().splitlines()
        problems = []
        if r.returncode != 1:
            problems.append(f"exit status {r.returncode} (want 1)")
        if len(lines) != 1:
            problems.append(f"{len(lines)} stderr lines (want 1)")
        if phrase not in r.stderr:
            problems.append(f"error does not mention '{phrase}'")
        if out.exists() or Path(str(out) + ".tmp").exists():
            problems.append("an output file was left behind")
        if problems:
            failures += 1
            print(f"FAIL {name}: {'; '.join(problems)}\n     stderr: {r.stderr.strip()}")
        else:
            print(f"ok   {name}: {lines[0]}")

    # Flags and quantize inputs.
    good = work / "good-f16.gguf"
    subprocess.run([args.binary, "convert", str(src), "-o", str(good), "--outtype", "f16"], check=True)
    q8 = work / "good-q8_0.gguf"
    subprocess.run([args.binary, "quantize", str(good), str(q8), "q8_0"], check=True)
    corrupt = work / "corrupt.gguf"
    corrupt.write_bytes(good.read_bytes()[:1000])
    flag_cases = [
        ("bad --outtype", ["convert", str(src), "-o", str(work / "x.gguf"), "--outtype", "q5_k"], "q5_k"),
        ("missing -o", ["convert", str(src)], "outfile"),
        ("vocab-only without tokenizer", ["convert", str(src), "-o", str(work / "x.gguf"), "--vocab-only"],
         "tokenizer.json"),
        ("quantize to f16", ["quantize", str(good), str(work / "x.gguf"), "f16"], "f16"),
        ("quantize a corrupt file", ["quantize", str(corrupt), str(work / "x.gguf"), "q8_0"], "corrupt.gguf"),
        ("requantize without the flag", ["quantize", str(q8), str(work / "x.gguf"), "q4_0"], "--allow-requantize"),
        ("quantize a missing file", ["quantize", str(work / "nope.gguf"), str(work / "x.gguf"), "q8_0"], "nope.gguf"),
    ]
    for name, argv, phrase in flag_cases:
        r = subprocess.run([args.binary] + argv, capture_output=True, text=True)
        lines = r.stderr.strip().splitlines()
        ok = r.returncode == 1 and len(lines) == 1 and phrase in r.stderr and not (work / "x.gguf").exists()
        if not ok:
            failures += 1
            print(f"FAIL {name}: exit {r.returncode}, stderr: {r.stderr.strip()}")
        else:
            print(f"ok   {name}: {lines[0]}")
    print(f"{len(cases) + len(flag_cases)} cases, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
