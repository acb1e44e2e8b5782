#!/usr/bin/env python3
"""Issue acceptance for the MTP head on the fixture pairs.

- `leapfrog draft` reproduces every fixture chain: identical draft_tokens; logits within
  1e-3·max(1, max|ref|) (centroid-masked head: on the selected entries, and every unselected
  entry is at most the selected minimum).
- `generate --mtp --temp 0` emits exactly the tokens of plain `generate --temp 0` for --draft-max
  1..6 and --draft-p-min 0 and 0.5, with prompts long enough that the sequence crosses the
  sliding window (8) several times.
- A head that does not fit its target is refused with a message naming both values."""
import json
import random

import numpy as np

from lf_testlib import PAIR_CASES, Runner, parse_args

args = parse_args(__doc__)
r = Runner(args)
for case in PAIR_CASES:
    d = r.data / "fixtures" / case
    c = json.loads((d / "case.json").read_text())
    target = r.convert(d / "hf", case)
    head = r.convert(d / "assistant_hf", case + "-assistant")
    for dr in c["drafts"]:
        L = dr["context_len"]
        out = r.work / f"{case}-draft-{L}.npy"
        p = r.run("draft", "-m", target, "--mtp", head, "--tokens", ",".join(map(str, c["tokens"][:L])), "-n", 4, "-o", out)
        got_tokens = json.loads(p.stdout)["draft_tokens"]
        out_copy = r.work / f"{case}-draft-{L}-no-mmap.npy"
        r.run("draft", "-m", target, "--mtp", head, "--tokens", ",".join(map(str, c["tokens"][:L])), "-n", 4, "-o", out_copy,
              "--no-mmap")
        r.check(np.array_equal(np.load(out_copy), np.load(out)), f"{case} L={L}: --no-mmap drafts the same bits")
        r.check(got_tokens == dr["draft_tokens"], f"{case} L={L}: draft tokens {got_tokens} == {dr['draft_tokens']}")
        ref = np.load(d / dr["logits_file"])
        got = np.load(out)
        tol = 1e-3 * max(1.0, float(np.abs(ref).max()))
        if case == "ple_kvshare":
            # Unselected entries hold min(selected) - 1 in the reference.
            sel = ref > ref.min(axis=1, keepdims=True)
            dmax = float(np.abs(ref - got)[sel].max())
            below = all(float(got[i][~sel[i]].max()) <= float(got[i][sel[i]].min()) for i in range(len(ref)))
            r.check(below, f"{case} L={L}: unselected entries <= selected minimum")
        else:
            dmax = float(np.abs(ref - got).max())
        r.check(dmax <= tol, f"{case} L={L}: draft logits max|Δ| {dmax:.2e} <= {tol:.2e}")

    rng = random.Random(7)
    vocab = c["config"]["vocab_size"]
    prompts = [c["prompt"], [2] + [rng.randrange(4, vocab) for _ in range(5)], [2] + [rng.randrange(4, vocab) for _ in range(30)]]
    for pi, prompt in enumerate(prompts):
        plain = r.generate(target, prompt, 40)["tokens"]
        for dmax_ in range(1, 7):
            for pmin in (0.0, 0.5):
                g = r.generate(target, prompt, 40, "--mtp", head, "--draft-max", dmax_, "--draft-p-min", pmin)
                r.check(g["tokens"] == plain,
                        f"{case} prompt {pi}: --mtp --draft-max {dmax_} --draft-p-min {pmin} equals plain greedy "
                        f"(drafted {g['n_drafted']}, accepted {g['n_accepted']})")

# Heads that do not fit their target.
dense_t = r.convert(r.data / "fixtures/dense/hf", "dense")
ple_t = r.convert(r.data / "fixtures/ple_kvshare/hf", "ple_kvshare")
dense_h = r.convert(r.data / "fixtures/dense/assistant_hf", "dense-assistant")
tiny_h = r.convert(r.weights_only(r.data / "tiny-gemma4/assistant", "tiny-assistant"), "tiny-assistant")
p = r.run("generate", "-m", ple_t, "--mtp", dense_h, "--tokens", "2,5,6", "-n", 4, check=False)
r.check(p.returncode != 0 and "does not fit" in p.stderr and "KV heads" in p.stderr, f"KV-head mismatch refused: {p.stderr.strip()}")
p = r.run("generate", "-m", dense_t, "--mtp", tiny_h, "--tokens", "2,5,6", "-n", 4, check=False)
r.check(p.returncode != 0 and "256" in p.stderr and "64" in p.stderr, f"hidden-size mismatch refused: {p.stderr.strip()}")
p = r.run("draft", "-m", dense_t, "--mtp", dense_t, "--tokens", "2,5,6", "-o", r.work / "x.npy", check=False)
r.check(p.returncode != 0 and "not an assistant" in p.stderr, f"a target given as head is refused: {p.stderr.strip()}")
r.finish()
