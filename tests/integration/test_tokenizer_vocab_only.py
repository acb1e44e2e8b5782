#!/usr/bin/env python3
"""Tokenizer end to end through the binary: `leapfrog convert --vocab-only` on a directory holding
only tokenizer.json + tokenizer_config.json, then `leapfrog tokenize` / `detokenize` on the GGUF.

For the real Gemma 3 tokenizer and the tiny Gemma 4 tokenizer:
  - every gold string tokenizes (--no-bos) to exactly the gold ids and detokenizes back; strings
    whose gold ids contain special tokens need --special (without it, special-token text stays
    plain text, which is also checked);
  - a differential test against the PyPI `tokenizers` package on 2000 fresh random strings (mixed
    scripts, emoji, whitespace runs, control characters, long words, special-token-looking text),
    with and without --special (HF default encode / encode_special_tokens=True);
  - the Gemma 4 chat prompts of tests/data/chat tokenize like HF does with --special.
Exit code 0 = pass.
"""
import argparse
import gzip
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

from tokenizers import Tokenizer

FAILURES = []


def check(cond, msg):
    if not cond:
        FAILURES.append(msg)
        print("FAIL:", msg, file=sys.stderr)


def run(binary, *args, stdin=None):
    r = subprocess.run([binary, *args], capture_output=True, input=stdin)
    if r.returncode != 0:
        raise RuntimeError(f"leapfrog {' '.join(map(str, args))} failed ({r.returncode}): "
                           f"{r.stderr.decode(errors='replace').strip()}")
    return r.stdout


def tokenize_batch(binary, gguf, work, texts, special):
    path = work / "batch-texts.json"
    path.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
    args = ["tokenize", "-m", str(gguf), "--batch", str(path), "--no-bos"] + (["--special"] if special else [])
    return json.loads(run(binary, *args))


def detokenize_batch(binary, gguf, work, id_lists, special):
    path = work / "batch-ids.json"
    path.write_text(json.dumps(id_lists))
    args = ["detokenize", "-m", str(gguf), "--batch", str(path)] + (["--special"] if special else [])
    return json.loads(run(binary, *args))


def hf_ids(tok, texts, encode_special_tokens):
    tok.encode_special_tokens = encode_special_tokens
    out = [e.ids for e in tok.encode_batch(texts, add_special_tokens=False)]
    tok.encode_special_tokens = False
    return out


def as_decoded(text):
    return text.replace("\u2581", " ")  # the decoder maps every '▁' to a space, as HF's does


def convert(binary, hf_dir, out):
    try:
        run(binary, "convert", "--vocab-only", str(hf_dir), "-o", str(out))
    except RuntimeError as e:
        raise SystemExit(f"FAIL: could not make a vocab-only GGUF from {hf_dir}: {e}")


def check_vocab(binary, name, hf_dir, gold, hf_tok, work, random_strings, seed):
    gguf = work / f"{name}.gguf"
    convert(binary, hf_dir, gguf)
    print(f"{name}: converted {hf_dir} -> {gguf} ({gguf.stat().st_size} bytes)")

    # Gold strings, one process per string exactly as a user would call it.
    plain_equal = hf_ids(hf_tok, [e["text"] for e in gold], True)
    for e, ns in zip(gold, plain_equal):
        text, want = e["text"], e["ids"]
        needs_special = ns != want
        args = ["tokenize", "-m", str(gguf), "--no-bos"] + (["--special"] if needs_special else [])
        if "\x00" in text:  # NUL cannot travel in argv
            p = work / "gold-text.txt"
            p.write_bytes(text.encode("utf-8"))
            got = json.loads(run(binary, *args, "-f", str(p)))
        else:
            got = json.loads(run(binary, *args, "-p", text))
        check(got == want, f"{name} gold {text!r}: tokenize gave {got}, want {want}")
        if needs_special:
            plain = json.loads(run(binary, "tokenize", "-m", str(gguf), "--no-bos", "-p", text))
            check(plain == ns, f"{name} gold {text!r} without --special: {plain}, want HF's {ns}")
        back = run(binary, "detokenize", "-m", str(gguf), "--tokens", ",".join(map(str, want)), "--special", "--json")
        check(json.loads(back) == e["decoded"], f"{name} gold {text!r}: detokenize gave {back!r}")
    # BOS is added by default.
    got = json.loads(run(binary, "tokenize", "-m", str(gguf), "-p", "Hello world"))
    check(got[0] == 2 and got[1:] == hf_tok.encode("Hello world", add_special_tokens=False).ids,
          f"{name}: BOS not prepended: {got}")

    # Differential against HF on fresh random strings.
    texts = random_strings(seed, 2000)
    for special in (True, False):
        want = hf_ids(hf_tok, texts, encode_special_tokens=not special)
        got = tokenize_batch(binary, gguf, work, texts, special)
        bad = [i for i in range(len(texts)) if got[i] != want[i]]
        for i in bad[:5]:
            check(False, f"{name} random (--special={special}) {texts[i]!r}: {got[i]} != HF {want[i]}")
        check(not bad, f"{name}: {len(bad)} of {len(texts)} random strings differ from HF (--special={special})")
        back = detokenize_batch(binary, gguf, work, got, special)
        bad_back = [i for i in range(len(texts)) if back[i] != as_decoded(texts[i])]
        check(not bad_back, f"{name}: {len(bad_back)} random strings do not detokenize back (--special={special})")
        print(f"{name}: {len(texts) - len(bad)}/{len(texts)} random strings equal to HF (--special={special})")
    return gguf


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    data, work = Path(args.data), Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)

    spec = importlib.util.spec_from_file_location("rs", data / "tokenizer-gemma3" / "make_random_strings.py")
    rs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rs)

    # Gemma 3: the directory holds tokenizer.json.gz; the converter reads tokenizer.json.
    g3 = work / "gemma3-hf"
    g3.mkdir()
    with gzip.open(data / "tokenizer-gemma3" / "tokenizer.json.gz", "rb") as f, open(g3 / "tokenizer.json", "wb") as g:
        shutil.copyfileobj(f, g)
    shutil.copy(data / "tokenizer-gemma3" / "tokenizer_config.json", g3)
    gold3 = json.loads((data / "tokenizer-gemma3" / "gold.json").read_text(encoding="utf-8"))
    check_vocab(args.binary, "gemma3", g3, gold3, Tokenizer.from_file(str(g3 / "tokenizer.json")), work,
                rs.random_strings, 20261)

    # Tiny Gemma 4.
    tiny = work / "tiny-hf"
    tiny.mkdir()
    for n in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(data / "tokenizer-tiny" / n, tiny)
    gold_tiny = json.loads((data / "tokenizer-tiny" / "tiny_tokenizer_gold.json").read_text(encoding="utf-8"))
    hf_tiny = Tokenizer.from_file(str(tiny / "tokenizer.json"))
    gguf = check_vocab(args.binary, "tiny", tiny, gold_tiny, hf_tiny, work, rs.random_strings, 20262)

    # The chat prompts tokenize as HF tokenizes them.
    cases = json.loads((data / "chat" / "chat_cases.json").read_text(encoding="utf-8"))
    prompts = [c["expected"] for c in cases]
    got = tokenize_batch(args.binary, gguf, work, prompts, True)
    want = hf_ids(hf_tiny, prompts, False)
    for c, g, w in zip(cases, got, want):
        check(g == w, f"chat prompt {c['name']}: ids differ from HF")
    print(f"tiny: {len(prompts)} chat prompts tokenized")

    if FAILURES:
        print(f"{len(FAILURES)} failure(s)", file=sys.stderr)
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
