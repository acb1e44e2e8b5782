"""A 60-second soak of `leapfrog serve -np 8 --mtp` built with AddressSanitizer.

Builds its own `leapfrog` with -DLEAPFROG_ASAN=ON (only that target, in the work directory; later
runs rebuild incrementally), starts it with the tiny trained pair, and lets 10 clients send a mix
of requests for 60 seconds (LEAPFROG_SOAK_SECONDS overrides): chat and text completions, streamed
and not, random sampling parameters, stop strings, per-request speculative settings, clients that
vanish mid-stream, malformed requests, and monitoring calls. Every well-formed request must be
answered 200 with a complete response, every bad one 4xx; afterwards the server must go idle,
exit 0 on SIGTERM, and its log must hold no AddressSanitizer or LeakSanitizer report.
LEAPFROG_ASAN_BUILD names an existing ASan build directory to reuse.
"""
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))
from server_harness import Checks, Models, Server, harness_args  # noqa: E402

SRC = Path(__file__).resolve().parents[2]
N_CLIENTS = 10
WORDS = "the man said that city state house year people time way day world government school life".split()


def build_asan(work):
    build = Path(os.environ.get("LEAPFROG_ASAN_BUILD", Path(work) / "build-asan"))
    jobs = str(os.cpu_count() or 2)
    # -O1 -g1: half the compile time of -O2 -g on CI's two cores, still line numbers in reports.
    cfg = subprocess.run(["cmake", "-S", str(SRC), "-B", str(build), "-DCMAKE_BUILD_TYPE=Soak",
                          "-DCMAKE_CXX_FLAGS_SOAK=-O1 -g1", "-DCMAKE_C_FLAGS_SOAK=-O1 -g1", "-DLEAPFROG_ASAN=ON"],
                         capture_output=True, text=True)
    if cfg.returncode != 0:
        raise RuntimeError("cmake configure (ASan) failed:\n" + cfg.stdout + cfg.stderr)
    t0 = time.time()
    b = subprocess.run(["cmake", "--build", str(build), "--target", "leapfrog", "-j", jobs],
                       capture_output=True, text=True)
    if b.returncode != 0:
        raise RuntimeError("ASan build failed:\n" + b.stdout[-4000:] + b.stderr[-4000:])
    print(f"ASan build: {time.time() - t0:.0f} s", flush=True)
    return build / "leapfrog"


def sampling(rng):
    p = {"temperature": rng.choice([0, 0, 0.7, 1.0, 1.5])}
    if rng.random() < 0.5:
        p.update(top_k=rng.choice([0, 1, 5, 40]), top_p=rng.choice([1.0, 0.9, 0.5]), min_p=rng.choice([0, 0.05]))
    if rng.random() < 0.3:
        p.update(presence_penalty=rng.uniform(-1, 1), frequency_penalty=rng.uniform(-1, 1))
    if rng.random() < 0.2:
        p["logit_bias"] = {str(rng.randrange(8192)): rng.uniform(-100, 100) for _ in range(3)}
    if rng.random() < 0.5:
        p["seed"] = rng.randrange(1 << 31)
    if rng.random() < 0.3:
        p["speculative"] = rng.choice([{"enabled": False}, {"draft_max": rng.randrange(0, 7)},
                                       {"draft_p_min": rng.choice([0.0, 0.3, 0.9])},
                                       {"draft_max": 5, "draft_min": 2}])
    if rng.random() < 0.2:
        p["stop"] = rng.sample(WORDS, 2)
    return p


def text(rng, lo, hi):
    return " ".join(rng.choice(WORDS) for _ in range(rng.randrange(lo, hi)))


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}
        self.errors = []

    def add(self, kind, ok, detail=""):
        with self.lock:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            if not ok:
                self.errors.append(f"{kind}: {detail}"[:300])


def vanish_mid_stream(port, body):
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    data = json.dumps(body).encode()
    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
              f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
    got = b""
    while got.count(b"data: ") < 2:
        chunk = s.recv(4096)
        if not chunk:
            break
        got += chunk
    s.close()
    return got.startswith(b"HTTP/1.1 200")


def client(i, srv, deadline, tally):
    rng = random.Random(1000 + i)
    while time.time() < deadline:
        r = rng.random()
        try:
            if r < 0.30:
                body = {"messages": [{"role": "user", "content": text(rng, 1, 40)}],
                        "max_tokens": rng.randrange(1, 48), **sampling(rng)}
                st, _, resp = srv.post("/v1/chat/completions", body, timeout=600)
                ok = st == 200 and isinstance(resp.get("choices"), list) and "usage" in resp and "timings" in resp
                tally.add("chat", ok, f"{st} {str(resp)[:200]}")
            elif r < 0.55:
                body = {"messages": [{"role": "user", "content": text(rng, 1, 60)}],
                        "max_tokens": rng.randrange(1, 48), "stream": True,
                        "stream_options": {"include_usage": rng.random() < 0.5}, **sampling(rng)}
                st, events, done = srv.stream("/v1/chat/completions", body, timeout=600)
                ok = st == 200 and done and any(e["choices"] and e["choices"][0]["finish_reason"] for e in events)
                tally.add("chat stream", ok, f"{st} {str(events[-1:])[:200]}")
            elif r < 0.75:
                prompt = [2] + [rng.randrange(4, 8192) for _ in range(rng.randrange(1, 120))]
                body = {"prompt": prompt if rng.random() < 0.5 else text(rng, 1, 80),
                        "max_tokens": rng.randrange(0, 64), "stream": rng.random() < 0.5, **sampling(rng)}
                if body["stream"]:
                    st, events, done = srv.stream("/v1/completions", body, timeout=600)
                    ok = st == 200 and done
                else:
                    st, _, resp = srv.post("/v1/completions", body, timeout=600)
                    ok = st == 200 and "choices" in resp
                    events = resp
                tally.add("completions", ok, f"{st} {str(events)[:200]}")
            elif r < 0.85:
                body = {"messages": [{"role": "user", "content": text(rng, 5, 30)}], "max_tokens": 200,
                        "ignore_eos": True, "stream": True, **sampling(rng)}
                tally.add("vanish mid-stream", vanish_mid_stream(srv.port, body))
            elif r < 0.93:
                bad = rng.choice([b"{", b"[]", json.dumps({"messages": "x"}).encode(),
                                  json.dumps({"messages": [{"role": "user", "content": "x"}], "top_p": 7}).encode(),
                                  json.dumps({"prompt": [2, 10 ** 7]}).encode()])
                path = rng.choice(["/v1/chat/completions", "/v1/completions"])
                st, _, resp = srv.request("POST", path, raw=bad, headers={"Content-Type": "application/json"})
                tally.add("bad request", 400 <= st < 500 and "error" in resp, f"{st} {resp}")
            else:
                path = rng.choice(["/metrics", "/slots", "/health", "/v1/models"])
                st, _, _ = srv.get(path)
                tally.add("monitoring", st == 200, f"{path} {st}")
        except Exception as e:  # a transport failure is a finding, not a crash of the test
            tally.add("exception", False, repr(e))


def main():
    args = harness_args(__doc__)
    c = Checks()
    seconds = float(os.environ.get("LEAPFROG_SOAK_SECONDS", "60"))
    asan_bin = build_asan(args.work)
    models = Models(args.binary, args.data, args.work)
    target, head = models.tiny_pair("q8_0")
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:detect_stack_use_after_return=0")
    log = Path(args.work) / "asan-server.log"
    srv = Server(asan_bin, target, mtp=head, np_slots=8, ctx=8 * 512, threads=2, env=env, log=log, start_timeout=300)
    tally = Tally()
    deadline = time.time() + seconds
    threads = [threading.Thread(target=client, args=(i, srv, deadline, tally)) for i in range(N_CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = sum(tally.counts.values())
    print(f"soak: {total} requests in {seconds:.0f} s: {tally.counts}", flush=True)
    for e in tally.errors[:20]:
        print("  " + e)
    c.check(total >= 50, f"the soak ran ({total} requests)")
    c.check(not tally.errors, f"every request answered as expected ({len(tally.errors)} not)")
    c.check(srv.wait_idle(60), "all slots idle after the soak")
    m = srv.metrics()
    c.check(m["leapfrog:num_requests_waiting"] == 0 and m["leapfrog:kv_cache_usage_perc"] == 0,
            "queue empty and KV cache released")
    c.check(m["leapfrog:spec_decode_num_accepted_tokens_total"] > 0, "speculation ran during the soak")
    code = srv.stop(timeout=120)
    text_log = srv.log()
    c.check(code == 0, f"exit status 0 after SIGTERM ({code})")
    c.check("AddressSanitizer" not in text_log, "no AddressSanitizer report")
    c.check("LeakSanitizer" not in text_log, "no LeakSanitizer report")
    c.check("runtime error" not in text_log, "no runtime error report")
    if code != 0 or "Sanitizer" in text_log:
        print(text_log[-6000:])
    c.finish()


if __name__ == "__main__":
    main()
