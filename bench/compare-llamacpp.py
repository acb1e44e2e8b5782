#!/usr/bin/env python3
"""Side-by-side CPU benchmark of leapfrog and llama.cpp on the same GGUF, same threads.

Rounds alternate the two engines back to back (ours, then llama.cpp), so slow drifts in machine
load hit both alike; every figure is the median over rounds. Measured for each engine:

  prefill tok/s        ours: `leapfrog bench --local` ppN; llama.cpp: `llama-bench -p N -n 0`
  decode tok/s         ours: tgN after the prompt;         llama.cpp: `llama-bench -p 0 -n N -d P`
  forward of n tokens  at context depth D, n = 1, 2, 4, 8 (ms; the cost of verifying n-1 drafts)
                       ours: forward_ms;                   llama.cpp: `llama-bench -p n -d D`, n / t/s
  draft step (ms)      ours only (an MTP head given with --head)

With --no-mmap both engines read the model into memory instead of mapping it (leapfrog
`--no-mmap`, llama-bench `-mmp 0`).

and each engine's decode as a fraction of the memory-bandwidth bound (bytes read per token / read
bandwidth), per round, against the higher of the two bandwidth probes that frame its run.

On a machine shared with other work, load changes faster than one round takes, so decode is
also measured in many short pairs (--decode-pairs: `leapfrog generate` of G tokens after an
8-token prompt, then `llama-bench -p 0 -n G`, back to back): reported are each engine's median
and best and the median of the per-pair ratios. A virtual machine's memory bandwidth can also
move between levels as other tenants of the host come and go, so each pair is framed by two
bandwidth probes (`leapfrog bench --local --bandwidth-only`) and pairs are also summarised per
level (--bandwidth-split).

    bench/compare-llamacpp.py --leapfrog build/leapfrog --llama-bench LLAMA/bin/llama-bench \\
        --model e2b-q4_0.gguf [--head e2b-head-q4_0.gguf] -t 2 --rounds 3 -o result.json

Prints a Markdown table and writes the raw runs and medians as JSON.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def run_json(cmd, timeout):
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        sys.exit(f"command failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-2000:]}")
    out = p.stdout.strip()
    # llama-bench -o json prints one JSON array; leapfrog --json one object.
    return json.loads(out), time.time() - t0


def loadavg():
    return os.getloadavg()[0]


def ours(args):
    cmd = [args.leapfrog, "bench", "--local", "-m", args.model, "-t", str(args.threads), "--n-prompt",
           str(args.n_prompt), "--n-gen", str(args.n_gen), "--depth", str(args.depth), "--repeats", "1",
           "--step-repeats", str(args.step_repeats), "--json", "-q"]
    if args.head:
        cmd += ["--mtp", args.head]
    if args.no_mmap:
        cmd += ["--no-mmap"]
    r, secs = run_json(cmd, args.timeout)
    return {
        "prefill_tok_s": r["prefill_tok_s"],
        "decode_tok_s": r["decode_tok_s"],
        "forward_ms": {int(k): v for k, v in r["forward_ms"].items()},
        # Sizes take turns within the run; this is the median of per-round ratios to 1 token.
        "forward_ratio": {int(k): v for k, v in r.get("forward_cost_ratio", {}).items()},
        "draft_step_ms": r.get("draft_step_ms"),
        "read_gb_s": r["read_gb_s"],
        "bytes_per_token": r["bytes_per_token"],
        "isa": r.get("isa"),
        "seconds": secs,
    }


def llama(args):
    base = [args.llama_bench, "-m", args.model, "-t", str(args.threads), "-o", "json"] + llama_mmap(args)
    res = {}
    runs, s1 = run_json(base + ["-p", str(args.n_prompt), "-n", "0", "-r", "1"], args.timeout)
    res["prefill_tok_s"] = runs[0]["avg_ts"]
    # At the depth our decode runs at (after the prompt).
    runs, s2 = run_json(base + ["-p", "0", "-n", str(args.n_gen), "-d", str(args.n_prompt), "-r", "1"], args.timeout)
    res["decode_tok_s"] = runs[0]["avg_ts"]
    sizes = ",".join(str(n) for n in args.forward_sizes)
    runs, s3 = run_json(base + ["-p", sizes, "-n", "0", "-d", str(args.depth), "-r", str(args.step_repeats)],
                        args.timeout)
    res["forward_ms"] = {int(r["n_prompt"]): 1000.0 * r["n_prompt"] / r["avg_ts"] for r in runs}
    res["seconds"] = s1 + s2 + s3
    return res


def llama_mmap(args):
    return ["-mmp", "0"] if args.no_mmap else []


def generate_tok_s(args):
    prompt = ",".join(str(2 + i) for i in range(8))
    cmd = [args.leapfrog, "generate", "-m", args.model, "--tokens", prompt, "-n", str(args.decode_tokens + 1),
           "-t", str(args.threads), "--json"] + (["--no-mmap"] if args.no_mmap else [])
    r, _ = run_json(cmd, args.timeout)
    return r["gen_tok_s"]


def read_gb_s(args):
    """The machine's streaming read bandwidth right now (leapfrog's probe, same threads)."""
    r, _ = run_json([args.leapfrog, "bench", "--local", "--bandwidth-only", "--json", "-t", str(args.threads),
                     "--bandwidth-mib", "512"], args.timeout)
    return r["read_gb_s"]


def llama_decode_tok_s(args):
    runs, _ = run_json([args.llama_bench, "-m", args.model, "-t", str(args.threads), "-o", "json", "-p", "0", "-n",
                        str(args.decode_tokens), "-r", "1"] + llama_mmap(args), args.timeout)
    return runs[0]["avg_ts"]


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def summarize(runs, bw, bytes_per_token):
    s = {
        "prefill_tok_s": median([r["prefill_tok_s"] for r in runs]),
        "decode_tok_s": median([r["decode_tok_s"] for r in runs]),
        "forward_ms": {n: median([r["forward_ms"].get(n) for r in runs]) for n in runs[0]["forward_ms"]},
    }
    if runs[0].get("forward_ratio"):
        s["forward_ratio"] = {n: median([r["forward_ratio"].get(n) for r in runs]) for n in runs[0]["forward_ratio"]}
    if runs[0].get("draft_step_ms") is not None:
        s["draft_step_ms"] = median([r["draft_step_ms"] for r in runs])
    # Per round, against the higher of the probes that frame that engine's run: the level can move
    # during a run, and the median decode over the median probe would mix levels.
    s["fraction_of_bound"] = median([r["decode_tok_s"] * bytes_per_token / (max(r["probes_gb_s"]) * 1e9)
                                     for r in runs])
    return s


def fmt(v, digits=1):
    return "n/a" if v is None else f"{v:.{digits}f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--leapfrog", required=True)
    ap.add_argument("--llama-bench", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--head", default="")
    ap.add_argument("-t", "--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--n-prompt", type=int, default=512)
    ap.add_argument("--n-gen", type=int, default=64)
    ap.add_argument("--depth", type=int, default=512)
    ap.add_argument("--step-repeats", type=int, default=5)
    ap.add_argument("--forward-sizes", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2, 4, 8])
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--skip-llama", action="store_true", help="measure leapfrog only")
    ap.add_argument("--decode-pairs", type=int, default=8, help="short back-to-back decode pairs (0: none)")
    ap.add_argument("--decode-tokens", type=int, default=32)
    ap.add_argument("--bandwidth-split", type=float, default=65.0,
                    help="GB/s separating the machine's slow and fast bandwidth levels in the pair summary "
                         "(the development VM's probe reads 48-52 or 84-86 GB/s)")
    ap.add_argument("--no-mmap", action="store_true",
                    help="both engines read the model into memory (leapfrog --no-mmap, llama-bench -mmp 0)")
    ap.add_argument("-o", "--out", default="")
    args = ap.parse_args()

    rounds = []
    for i in range(args.rounds):
        rnd = {"load_before": loadavg()}
        rnd["leapfrog"] = ours(args)
        between = read_gb_s(args)
        rnd["leapfrog"]["probes_gb_s"] = [rnd["leapfrog"]["read_gb_s"], between]
        if not args.skip_llama:
            rnd["llama.cpp"] = llama(args)
            rnd["llama.cpp"]["probes_gb_s"] = [between, read_gb_s(args)]
        rnd["load_after"] = loadavg()
        rounds.append(rnd)
        print(f"round {i + 1}/{args.rounds}: leapfrog decode {rnd['leapfrog']['decode_tok_s']:.2f} tok/s"
              + ("" if args.skip_llama else f", llama.cpp decode {rnd['llama.cpp']['decode_tok_s']:.2f} tok/s")
              + f" (read bandwidth {rnd['leapfrog']['read_gb_s']:.1f} GB/s,"
              f" load {rnd['load_before']:.1f} -> {rnd['load_after']:.1f})", file=sys.stderr)

    pairs = []
    if not args.skip_llama:
        for i in range(args.decode_pairs):
            bw0 = read_gb_s(args)
            a = generate_tok_s(args)
            b = llama_decode_tok_s(args)
            bw1 = read_gb_s(args)
            pairs.append({"leapfrog": a, "llama.cpp": b, "load": loadavg(), "read_gb_s": [bw0, bw1]})
            print(f"decode pair {i + 1}/{args.decode_pairs}: leapfrog {a:.2f}, llama.cpp {b:.2f} tok/s "
                  f"(read bandwidth {bw0:.1f} -> {bw1:.1f} GB/s, load {pairs[-1]['load']:.1f})", file=sys.stderr)

    bw = median([r["leapfrog"]["read_gb_s"] for r in rounds])
    bpt = rounds[0]["leapfrog"]["bytes_per_token"]
    engines = ["leapfrog"] + ([] if args.skip_llama else ["llama.cpp"])
    summary = {e: summarize([r[e] for r in rounds], bw, bpt) for e in engines}
    result = {
        "model": args.model, "head": args.head, "threads": args.threads, "rounds": args.rounds,
        "weights": "read into memory (--no-mmap / -mmp 0)" if args.no_mmap else "mapped",
        "n_prompt": args.n_prompt, "n_gen": args.n_gen, "depth": args.depth,
        "read_gb_s": bw, "bytes_per_token": bpt, "bandwidth_bound_tok_s": bw * 1e9 / bpt,
        "isa": rounds[0]["leapfrog"]["isa"], "summary": summary, "runs": rounds,
        "load_avg": [r["load_before"] for r in rounds] + [rounds[-1]["load_after"]],
        "decode_pairs": pairs,
    }

    lines = [f"| {os.path.basename(args.model)}, {args.threads} threads{', --no-mmap' if args.no_mmap else ''} | "
             + " | ".join(engines)
             + (" | leapfrog / llama.cpp |" if len(engines) == 2 else " |"),
             "|---|" + "---|" * (len(engines) + (1 if len(engines) == 2 else 0))]

    def row(name, key, digits=1, inverse=False, sub=None):
        vals = []
        for e in engines:
            v = summary[e].get(key) if sub is None else summary[e][key].get(sub)
            vals.append(v)
        cells = [fmt(v, digits) for v in vals]
        if len(engines) == 2:
            ratio = None
            if vals[0] is not None and vals[1] is not None and vals[0] > 0 and vals[1] > 0:
                ratio = vals[1] / vals[0] if inverse else vals[0] / vals[1]
            cells.append(fmt(ratio, 2) + "x" if ratio is not None else "n/a")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")

    row(f"prefill pp{args.n_prompt} (tok/s)", "prefill_tok_s")
    row(f"decode tg{args.n_gen} (tok/s)", "decode_tok_s", 2)
    row("decode / bandwidth bound (per round, higher probe)", "fraction_of_bound", 2)
    one = {e: summary[e]["forward_ms"].get(1) for e in engines}
    for n in args.forward_sizes:
        row(f"forward {n} tok @ d{args.depth} (ms)", "forward_ms", 1, inverse=True, sub=n)
    for e in engines:
        if one[e] and "forward_ratio" not in summary[e]:
            summary[e]["forward_ratio"] = {n: v / one[e] for n, v in summary[e]["forward_ms"].items() if v}
    lines.append("| forward n / forward 1 | " + " | ".join(
        ", ".join(f"{n}: {summary[e]['forward_ratio'][n]:.2f}" for n in args.forward_sizes)
        if "forward_ratio" in summary[e] else "n/a" for e in engines) + (" | |" if len(engines) == 2 else " |"))
    if args.head:
        lines.append(f"| draft step @ d{args.depth} (ms) | {fmt(summary['leapfrog'].get('draft_step_ms'), 2)}"
                     + (" | n/a | |" if len(engines) == 2 else " |"))
    if pairs:
        ours_d = [p["leapfrog"] for p in pairs]
        theirs_d = [p["llama.cpp"] for p in pairs]
        ratios = [p["leapfrog"] / p["llama.cpp"] for p in pairs if p["llama.cpp"] > 0]
        result["decode_pairs_summary"] = {
            "leapfrog_median": median(ours_d), "leapfrog_best": max(ours_d),
            "llama.cpp_median": median(theirs_d), "llama.cpp_best": max(theirs_d),
            "median_ratio": median(ratios), "best_ratio": max(ours_d) / max(theirs_d)}
        ps = result["decode_pairs_summary"]
        lines.append(f"| decode tg{args.decode_tokens}, {len(pairs)} pairs: median (tok/s) | {ps['leapfrog_median']:.2f} | "
                     f"{ps['llama.cpp_median']:.2f} | {ps['median_ratio']:.2f}x (median of pair ratios) |")
        lines.append(f"| decode tg{args.decode_tokens}, {len(pairs)} pairs: best (tok/s) | {ps['leapfrog_best']:.2f} | "
                     f"{ps['llama.cpp_best']:.2f} | {ps['best_ratio']:.2f}x |")
        # The machine's bandwidth moves between levels within minutes; pairs whose probes before
        # and after agree on a side of the split are summarised per level.
        for name, keep in (("below", lambda p: max(p["read_gb_s"]) < args.bandwidth_split),
                           ("above", lambda p: min(p["read_gb_s"]) >= args.bandwidth_split)):
            sel = [p for p in pairs if keep(p)]
            if not sel:
                continue
            ro = median([p["leapfrog"] for p in sel])
            rl = median([p["llama.cpp"] for p in sel])
            rr = median([p["leapfrog"] / p["llama.cpp"] for p in sel if p["llama.cpp"] > 0])
            result["decode_pairs_summary"][f"{name}_{args.bandwidth_split:g}_gb_s"] = {
                "pairs": len(sel), "leapfrog_median": ro, "llama.cpp_median": rl, "median_ratio": rr}
            lines.append(f"| ... {len(sel)} pairs with read bandwidth {name} {args.bandwidth_split:g} GB/s | "
                         f"{ro:.2f} | {rl:.2f} | {rr:.2f}x |")
    lines.append(f"\nread bandwidth {bw:.1f} GB/s, {bpt / 1e6:.0f} MB read per token, bound "
                 f"{result['bandwidth_bound_tok_s']:.1f} tok/s; load average "
                 + " ".join(f"{x:.1f}" for x in result["load_avg"]))
    table = "\n".join(lines)
    result["table"] = table
    print(table)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
