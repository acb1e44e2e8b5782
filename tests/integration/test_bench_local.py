#!/usr/bin/env python3
"""leapfrog bench --local on the demo pair: the JSON object has every contract key, the
bandwidth bound is the measured read bandwidth over the bytes a decode step reads (recomputed
here from the file with the PyPI gguf reader), and the table and errors behave. Timings are only
checked for being positive and finite."""
import json
import math
import sys
from pathlib import Path

from gguf import GGUFReader

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lf_testlib import Runner, parse_args  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SMALL = ["--n-prompt", "64", "--n-gen", "16", "--depth", "64", "--repeats", "2", "--step-repeats", "3",
         "--bandwidth-mib", "64", "-t", "2"]


def close(a, b, rel=1e-9):
    return abs(a - b) <= rel * max(1.0, abs(a), abs(b))


def main():
    args = parse_args(__doc__)
    t = Runner(args)
    target = ROOT / "models" / "tiny-gemma4-target-q8_0.gguf"
    head = ROOT / "models" / "tiny-gemma4-assistant-q8_0.gguf"
    if not target.exists():
        target = t.convert(t.data / "tiny-gemma4" / "target", "tiny-target", "q8_0")
        head = t.convert(t.data / "tiny-gemma4" / "assistant", "tiny-assistant", "q8_0")

    p = t.run("bench", "--local", "-m", target, "--mtp", head, "--json", *SMALL)
    j = json.loads(p.stdout)
    for k in ("prefill_tok_s", "decode_tok_s", "forward_ms", "draft_step_ms", "bandwidth_bound_tok_s", "read_gb_s",
              "bytes_per_token", "fraction_of_bound"):
        t.check(k in j, f"key {k}")
    t.check(sorted(j["forward_ms"]) == ["1", "2", "4", "8"], f"forward_ms for 1, 2, 4, 8 tokens: {j['forward_ms']}")
    values = [j["prefill_tok_s"], j["decode_tok_s"], j["draft_step_ms"], j["read_gb_s"], *j["forward_ms"].values()]
    t.check(all(math.isfinite(v) and v > 0 for v in values), "every timing positive and finite")
    t.check(close(j["bandwidth_bound_tok_s"], j["read_gb_s"] * 1e9 / j["bytes_per_token"]),
            "bound = read bandwidth / bytes per token")
    t.check(close(j["fraction_of_bound"], j["decode_tok_s"] / j["bandwidth_bound_tok_s"]), "fraction = decode / bound")
    probes = j["read_gb_s_before_after"]
    t.check(len(probes) == 2 and all(v > 0 for v in probes) and close(j["read_gb_s"], max(probes)),
            f"the bound uses the higher of the probes before the run and after the decode: {probes}")
    t.check(close(j["draft_to_target_ratio"], j["draft_step_ms"] / j["forward_ms"]["1"]), "draft/target ratio")

    # The tiny target has no per-layer table and no KV-shared layers: one step reads every tensor
    # once, plus the looked-up embedding row.
    r = GGUFReader(str(target))
    emb = next(x for x in r.tensors if x.name == "token_embd.weight")
    want = sum(int(x.n_bytes) for x in r.tensors) + int(emb.n_bytes) / int(emb.shape[1])
    t.check(close(j["bytes_per_token"], want), f"bytes per token {j['bytes_per_token']:.0f} = file's tensors {want:.0f}")

    p = t.run("bench", "--local", "-m", target, "--json", "--no-mmap", *SMALL)
    j2 = json.loads(p.stdout)
    t.check("draft_step_ms" not in j2, "no head: no draft step")
    t.check(j["weights"] == "mapped" and "--no-mmap" in j2["weights"], f"load mode reported: {j['weights']}, {j2['weights']}")
    p = t.run("bench", "--local", "-m", target, "--mtp", head, *SMALL)
    for row in ("prefill pp64", "decode tg16", "bandwidth bound", "forward 8 tok", "draft step"):
        t.check(row in p.stdout, f"table row '{row}'")

    # forward_cost_ratio: the median of per-round ratios, so 1 token is exactly 1.
    t.check(j["forward_cost_ratio"]["1"] == 1.0 and all(v > 0 for v in j["forward_cost_ratio"].values()),
            f"forward cost ratios {j['forward_cost_ratio']}")

    # The bandwidth probe alone: no model, a positive figure, the best pass at least the median.
    p = t.run("bench", "--local", "--bandwidth-only", "--json", "--bandwidth-mib", "64", "-t", "2")
    b = json.loads(p.stdout)
    t.check(b["read_gb_s"] > 0 and b["read_gb_s"] >= b["median_gb_s"] and b["threads"] == 2,
            f"bandwidth probe: {b}")
    p = t.run("bench", "--bandwidth-only", check=False)
    t.check(p.returncode != 0 and "--local" in p.stderr, "--bandwidth-only without --local: clear error")

    p = t.run("bench", "--local", check=False)
    t.check(p.returncode != 0 and "-m" in p.stderr, "--local without -m: clear error")
    p = t.run("bench", "--local", "-m", t.work / "missing.gguf", check=False)
    lines = p.stderr.strip().splitlines()
    t.check(p.returncode != 0 and "missing.gguf" in lines[-1], f"missing model named: {lines[-1] if lines else ''}")
    t.finish()


if __name__ == "__main__":
    main()
