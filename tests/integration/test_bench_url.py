#!/usr/bin/env python3
"""leapfrog bench --url against a live leapfrog serve (the demo pair): every reported figure is
present and consistent with the others and with what the server itself counted — aggregate =
total tokens / wall time, the requests fit inside the measured wall time, acceptance = accepted /
drafted = the server's /metrics delta, prompts have the asked-for length and EOS is ignored.
Also: a server without a head reports no acceptance, chat mode, --report tables, the plot, and a
clear error for an unreachable server. No timing is asserted beyond these relations."""
import json
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lf_testlib import Runner, parse_args  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
LISTEN_MARK = "listening on http://"
RUN_FIELDS = ["label", "concurrency", "requests", "errors", "wall_s", "total_prompt_tokens", "total_completion_tokens",
              "aggregate_tok_s", "single_stream_decode_tok_s", "mean_ttft_ms", "median_ttft_ms", "mean_prefill_tok_s",
              "acceptance", "draft_n", "draft_n_accepted", "acceptance_source", "request_detail"]
REQ_FIELDS = ["index", "ok", "ttft_ms", "total_ms", "prompt_tokens", "completion_tokens", "prefill_tok_s",
              "decode_tok_s", "finish_reason"]


class Server:
    def __init__(self, binary, *argv):
        self.proc = subprocess.Popen([binary, "serve", "--port", "0", "-t", "2", *map(str, argv)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.log = []
        deadline = time.time() + 120
        self.url = None
        while self.url is None:
            line = self.proc.stderr.readline()
            if not line or time.time() > deadline:
                raise RuntimeError("server did not start: " + "".join(self.log))
            self.log.append(line)
            if LISTEN_MARK in line:
                self.url = "http://" + line.split(LISTEN_MARK, 1)[1].split()[0]
        threading.Thread(target=lambda: [self.log.append(x) for x in self.proc.stderr], daemon=True).start()

    def spec_counters(self):
        with urllib.request.urlopen(self.url + "/metrics", timeout=10) as r:
            text = r.read().decode()
        vals = {}
        for line in text.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            name, value = line.split("{")[0].split()[0], line.split()[-1]
            vals[name] = vals.get(name, 0.0) + float(value)
        return vals.get("leapfrog:spec_decode_num_draft_tokens_total", 0.0), \
            vals.get("leapfrog:spec_decode_num_accepted_tokens_total", 0.0)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def close(a, b, rel=1e-6):
    return abs(a - b) <= rel * max(1.0, abs(a), abs(b))


def check_run(t, run, prompt_tokens, max_tokens, where):
    t.check(all(k in run for k in RUN_FIELDS), f"{where}: every run field present")
    detail = run["request_detail"]
    t.check(len(detail) == run["requests"] and run["errors"] == 0, f"{where}: {run['requests']} requests, no errors")
    t.check(all(all(k in q for k in REQ_FIELDS) for q in detail), f"{where}: every request field present")
    ok = [q for q in detail if q["ok"]]
    t.check(all(q["completion_tokens"] == max_tokens for q in ok),
            f"{where}: every request generated max_tokens={max_tokens} (EOS ignored): "
            f"{sorted({q['completion_tokens'] for q in ok})}")
    t.check(all(q["prompt_tokens"] == prompt_tokens for q in ok),
            f"{where}: every prompt has {prompt_tokens} tokens: {sorted({q['prompt_tokens'] for q in ok})}")
    t.check(all(0 < q["ttft_ms"] <= q["total_ms"] for q in ok), f"{where}: 0 < TTFT <= request time")
    t.check(all(q["decode_tok_s"] > 0 and q["prefill_tok_s"] > 0 for q in ok), f"{where}: decode and prefill rates > 0")
    t.check(all(close(q["prefill_tok_s"], q["prompt_tokens"] * 1000 / q["ttft_ms"]) for q in ok),
            f"{where}: prefill tok/s = prompt tokens / TTFT")
    # A stream cannot decode faster than its whole request took, start to end.
    t.check(all(q["decode_tok_s"] >= (q["completion_tokens"] - 1) * 1000 / q["total_ms"] * (1 - 1e-9) for q in ok),
            f"{where}: per-stream decode rate >= tokens / request time")
    total = sum(q["completion_tokens"] for q in ok)
    t.check(run["total_completion_tokens"] == total, f"{where}: total tokens = sum over requests ({total})")
    t.check(run["total_prompt_tokens"] == sum(q["prompt_tokens"] for q in ok), f"{where}: total prompt tokens")
    t.check(close(run["aggregate_tok_s"], total / run["wall_s"]),
            f"{where}: aggregate {run['aggregate_tok_s']:.1f} tok/s = {total} tokens / {run['wall_s']:.3f} s")
    longest = max(q["total_ms"] for q in ok) / 1000
    t.check(run["wall_s"] >= longest * (1 - 1e-6), f"{where}: wall time {run['wall_s']:.3f} s >= longest request {longest:.3f} s")
    busy = sum(q["total_ms"] for q in ok) / 1000
    t.check(busy <= run["concurrency"] * run["wall_s"] * (1 + 1e-6),
            f"{where}: request time {busy:.3f} s fits {run['concurrency']} streams x wall time")
    rates = [q["decode_tok_s"] for q in ok]
    t.check(close(run["single_stream_decode_tok_s"], sum(rates) / len(rates)), f"{where}: single-stream = mean of streams")
    ttfts = [q["ttft_ms"] for q in ok]
    t.check(close(run["mean_ttft_ms"], sum(ttfts) / len(ttfts)), f"{where}: mean TTFT")


def main():
    args = parse_args(__doc__)
    t = Runner(args)
    work = Path(args.work)
    target = ROOT / "models" / "tiny-gemma4-target-q8_0.gguf"
    head = ROOT / "models" / "tiny-gemma4-assistant-q8_0.gguf"
    if not target.exists():  # a checkout without the committed models: convert them
        target = t.convert(t.data / "tiny-gemma4" / "target", "tiny-target", "q8_0")
        head = t.convert(t.data / "tiny-gemma4" / "assistant", "tiny-assistant", "q8_0")

    P, G = 80, 48
    srv = Server(args.binary, "-m", target, "--mtp", head, "-np", "2", "-c", "2048")
    try:
        before = srv.spec_counters()
        out_json, out_png = work / "mtp.json", work / "mtp.png"
        t0 = time.time()
        p = t.run("bench", "--url", srv.url, "-C", "1,2", "-R", "3", "-P", P, "-G", G, "--warmup", "0",
                  "--label", "mtp np2", "--json-out", out_json, "--plot", out_png)
        elapsed = time.time() - t0
        after = srv.spec_counters()
        doc = json.loads(out_json.read_text())
        runs = doc["runs"]
        t.check([r["concurrency"] for r in runs] == [1, 2] and [r["label"] for r in runs] == ["mtp np2 c=1", "mtp np2 c=2"],
                "one run per concurrency, labelled")
        for r in runs:
            check_run(t, r, P, G, r["label"])
            d = sum(q["draft_n"] for q in r["request_detail"])
            a = sum(q["draft_n_accepted"] for q in r["request_detail"])
            t.check(r["acceptance_source"] == "timings" and r["draft_n"] == d and r["draft_n_accepted"] == a and d > 0,
                    f"{r['label']}: drafts {a}/{d} summed from the responses' timings")
            t.check(r["acceptance"] is not None and close(r["acceptance"], a / d), f"{r['label']}: acceptance = {a}/{d}")
        t.check(sum(r["wall_s"] for r in runs) <= elapsed, "the runs' wall times fit inside the command's own run time")
        d_all = sum(r["draft_n"] for r in runs)
        a_all = sum(r["draft_n_accepted"] for r in runs)
        t.check((after[0] - before[0], after[1] - before[1]) == (d_all, a_all),
                f"the server's /metrics counted the same drafts: {after[1] - before[1]:.0f}/{after[0] - before[0]:.0f}"
                f" vs {a_all}/{d_all}")
        table = p.stdout
        for row in ("aggregate tok/s", "single-stream decode tok/s", "acceptance", "wall time (s)", "mtp np2 c=1",
                    "mtp np2 c=2", f"{runs[1]['aggregate_tok_s']:.1f}", f"{runs[0]['wall_s']:.2f}"):
            t.check(row in table, f"table shows '{row}'")
        png = out_png.read_bytes()
        t.check(png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000, f"plot written ({len(png)} bytes)")
        # Chat mode: the same counts through /v1/chat/completions.
        p = t.run("bench", "--url", srv.url + "/v1", "--chat", "-P", 40, "-G", 16, "--json", "-q")
        chat = json.loads(p.stdout)["runs"][0]
        t.check(chat["errors"] == 0 and all(q["completion_tokens"] == 16 for q in chat["request_detail"]),
                "chat mode: 16 tokens per request (base URL given with /v1)")
    finally:
        srv.stop()

    srv = Server(args.binary, "-m", target, "-np", "1", "-c", "2048")
    try:
        out_plain = work / "plain.json"
        t.run("bench", "--url", srv.url, "-P", P, "-G", 24, "--label", "plain np1", "--json-out", out_plain, "-q")
        plain = json.loads(out_plain.read_text())["runs"][0]
        check_run(t, plain, P, 24, "plain np1")
        t.check(plain["acceptance"] is None and plain["draft_n"] == 0, "no head: no acceptance reported")
    finally:
        srv.stop()

    p = t.run("bench", "--report", out_json, out_plain, "--plot", work / "report.png")
    for col in ("mtp np2 c=1", "mtp np2 c=2", "plain np1"):
        t.check(col in p.stdout, f"--report table has column '{col}'")
    t.check(p.stdout.count("\n") >= 6 and "| acceptance" in p.stdout and " - |" in p.stdout,
            "--report rows include acceptance, '-' where none")
    t.check((work / "report.png").read_bytes()[:4] == b"\x89PNG", "--report plot written")

    p = t.run("bench", "--url", "http://127.0.0.1:1", "-q", check=False)
    lines = p.stderr.strip().splitlines()
    t.check(p.returncode != 0 and len(lines) == 1 and "cannot reach" in lines[0],
            f"unreachable server: one clear line ({lines[-1] if lines else ''})")
    p = t.run("bench", check=False)
    t.check(p.returncode != 0 and "--url" in p.stderr, "no mode given: says what to give")
    t.finish()


if __name__ == "__main__":
    main()
