#!/usr/bin/env python3
"""Issue acceptance on the small trained pair (tests/data/tiny-gemma4) converted to f32 GGUF:
over the 20 prompts of eval_greedy.json with 128 greedy tokens each, at least 18 of 20
continuations equal greedy_continuation_ids with and without MTP, and acceptance (accepted /
drafted) is within ±0.02 of the exact-semantics figures in that file at draft-max 1, 2 and 3."""
import json

from lf_testlib import Runner, parse_args

args = parse_args(__doc__)
r = Runner(args)
ev = json.loads((r.data / "tiny-gemma4/eval_greedy.json").read_text())
target = r.convert(r.weights_only(r.data / "tiny-gemma4/target", "tiny-target"), "tiny-target")
head = r.convert(r.weights_only(r.data / "tiny-gemma4/assistant", "tiny-assistant"), "tiny-assistant")
for k in (0, 1, 2, 3):
    extra = ["--mtp", head, "--draft-max", k] if k else []
    match = drafted = accepted = 0
    for case in ev["cases"]:
        g = r.generate(target, case["prompt_ids"], 128, *extra)
        match += g["tokens"] == case["greedy_continuation_ids"]
        drafted += g["n_drafted"]
        accepted += g["n_accepted"]
    r.check(match >= 18, f"draft-max {k}: {match}/20 continuations equal the reference")
    if k:
        ideal = ev["acceptance_ideal"][str(k)]["acceptance"]
        rate = accepted / max(1, drafted)
        r.check(abs(rate - ideal) <= 0.02, f"draft-max {k}: acceptance {accepted}/{drafted} = {rate:.4f} within 0.02 of {ideal}")
r.finish()
