"""leapfrog serve under bad input and bad clients.

- Bad input: the requests in BAD_REQUESTS (malformed JSON, wrong types, out-of-range values,
  unsupported options, unknown model, prompts longer than a slot's context, oversized bodies,
  hostile HTTP) are each answered with a 4xx and an OpenAI-style error body; afterwards the
  server still answers a normal request exactly as before.
- A client that disconnects mid-stream, mid-generation (not streamed) or while queued frees its
  slot or queue place at once (seen in /slots and /metrics).
- More requests than slots + queue: 503 with Retry-After.
- /metrics adds up: the sums of the responses' timings equal the counters.
- --api-key guards every route but /health; the default bind address is 127.0.0.1.
- SIGTERM lets the request in flight finish, refuses new ones, and exits 0.
"""
import json
import signal
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))
from server_harness import Checks, Models, Server, harness_args  # noqa: E402

CHAT = "/v1/chat/completions"
COMP = "/v1/completions"
MAX_BODY = 65536
MSG = [{"role": "user", "content": "Tell me about the city."}]


def chat(**kw):
    return {"model": "tiny", "messages": MSG, "max_tokens": 8, "temperature": 0, **kw}


def comp(**kw):
    return {"model": "tiny", "prompt": "The man said", "max_tokens": 8, "temperature": 0, **kw}


# (what, method, path, body: dict → JSON, bytes → sent raw, None → no body)
BAD_REQUESTS = [
    ("truncated JSON", "POST", CHAT, b'{"model": "tiny", "messages": ['),
    ("empty body", "POST", CHAT, b""),
    ("JSON array instead of an object", "POST", CHAT, b"[1, 2, 3]"),
    ("JSON string instead of an object", "POST", CHAT, b'"hello"'),
    ("bytes that are not UTF-8", "POST", CHAT, b"\xff\xfe\x00garbage\x80"),
    ("invalid UTF-8 inside a JSON string", "POST", CHAT,
     b'{"messages": [{"role": "user", "content": "caf\xc3"}]}'),
    ("20000-deep nested arrays", "POST", CHAT, b"[" * 20000 + b"]" * 20000),
    ("tool parameters nested 8000 objects deep", "POST", CHAT,
     b'{"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function", "function": '
     b'{"name": "f", "parameters": ' + b'{"a":' * 8000 + b"1" + b"}" * 8000 + b"}}]}"),
    ("messages missing", "POST", CHAT, {"model": "tiny"}),
    ("messages not an array", "POST", CHAT, chat(messages="hi")),
    ("messages empty", "POST", CHAT, chat(messages=[])),
    ("message not an object", "POST", CHAT, chat(messages=["hi"])),
    ("message without role", "POST", CHAT, chat(messages=[{"content": "hi"}])),
    ("unknown role", "POST", CHAT, chat(messages=[{"role": "wizard", "content": "hi"}])),
    ("content is a number", "POST", CHAT, chat(messages=[{"role": "user", "content": 42}])),
    ("image content part", "POST", CHAT,
     chat(messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}])),
    ("temperature is a string", "POST", CHAT, chat(temperature="hot")),
    ("temperature negative", "POST", CHAT, chat(temperature=-1)),
    ("top_p above 1", "POST", CHAT, chat(top_p=1.5)),
    ("top_k not an integer", "POST", CHAT, chat(top_k=2.5)),
    ("max_tokens negative", "POST", CHAT, chat(max_tokens=-3)),
    ("max_tokens a string", "POST", CHAT, chat(max_tokens="10")),
    ("max_tokens 1e400 (infinite)", "POST", CHAT, b'{"messages": [{"role": "user", "content": "x"}], "max_tokens": 1e400}'),
    ("seed a float", "POST", CHAT, chat(seed=1.5)),
    ("presence_penalty out of range", "POST", CHAT, chat(presence_penalty=10)),
    ("stop a number", "POST", CHAT, chat(stop=5)),
    ("17 stop strings", "POST", CHAT, chat(stop=[f"s{i}" for i in range(17)])),
    ("logit_bias key not a token id", "POST", CHAT, chat(logit_bias={"abc": 1})),
    ("logit_bias token outside the vocabulary", "POST", CHAT, chat(logit_bias={"99999999": 1})),
    ("n = 3", "POST", CHAT, chat(n=3)),
    ("logprobs requested", "POST", CHAT, chat(logprobs=True)),
    ("stream not a boolean", "POST", CHAT, chat(stream="yes")),
    ("stream_options without stream", "POST", CHAT, chat(stream_options={"include_usage": True})),
    ("response_format json_schema", "POST", CHAT, chat(response_format={"type": "json_schema"})),
    ("ignore_eos a string", "POST", CHAT, chat(ignore_eos="true")),
    ("unknown model", "POST", CHAT, chat(model="gpt-17")),
    ("model not a string", "POST", CHAT, chat(model=["tiny"])),
    ("speculative.draft_max 1000", "POST", CHAT, chat(speculative={"draft_max": 1000})),
    ("speculative unknown field", "POST", CHAT, chat(speculative={"turbo": True})),
    ("speculative not an object", "POST", CHAT, chat(speculative=True)),
    ("tools not an array", "POST", CHAT, chat(tools={"type": "function"})),
    ("tool without a function name", "POST", CHAT, chat(tools=[{"type": "function", "function": {}}])),
    ("tool_choice 'required'", "POST", CHAT, chat(tools=[], tool_choice="required")),
    ("chat prompt longer than a slot's context", "POST", CHAT,
     chat(messages=[{"role": "user", "content": "the city " * 400}])),
    ("completions: prompt missing", "POST", COMP, {"model": "tiny"}),
    ("completions: prompt is an object", "POST", COMP, comp(prompt={"text": "hi"})),
    ("completions: two prompts", "POST", COMP, comp(prompt=["one", "two"])),
    ("completions: token id outside the vocabulary", "POST", COMP, comp(prompt=[2, 999999])),
    ("completions: negative token id", "POST", COMP, comp(prompt=[2, -5])),
    ("completions: token prompt longer than a slot's context", "POST", COMP, comp(prompt=[2] + [300] * 600)),
    ("completions: echo", "POST", COMP, comp(echo=True)),
    ("completions: best_of 3", "POST", COMP, comp(best_of=3)),
    ("tokenize: content missing", "POST", "/tokenize", {"text": "hi"}),
    ("detokenize: token out of range", "POST", "/detokenize", {"tokens": [1, 10 ** 9]}),
    ("detokenize: tokens not an array", "POST", "/detokenize", {"tokens": "1,2"}),
    ("apply-template: messages missing", "POST", "/apply-template", {"tools": []}),
    ("body over the size limit", "POST", CHAT,
     json.dumps(chat(messages=[{"role": "user", "content": "x" * (MAX_BODY + 10)}])).encode()),
    ("unknown route", "POST", "/v1/engines/davinci/completions", comp()),
    ("GET on a POST route", "GET", CHAT, None),
]


def raw_exchange(port, data, timeout=10):
    """Sends raw bytes, returns the status code of the reply (0 if the server closed silently)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        reply = b""
        try:
            while b"\r\n" not in reply:
                chunk = s.recv(4096)
                if not chunk:
                    break
                reply += chunk
        except socket.timeout:
            return -1
    if not reply.startswith(b"HTTP/1."):
        return 0
    return int(reply.split(b" ", 2)[1])


RAW_REQUESTS = [
    ("garbage request line", b"GARBAGE\r\n\r\n"),
    ("bad chunked encoding", b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n"),
    ("chunked body far over the limit (bodies must declare their length)",
     b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
     (b"4000\r\n" + b"x" * 0x4000 + b"\r\n") * 8),
    ("negative Content-Length", b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n"),
    ("Content-Length far over the limit", b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999999\r\n\r\n"),
    ("body shorter than its Content-Length (slow client; --timeout 3)",
     b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"prompt\""),
]


def test_bad_input(c, models, binary):
    target, _ = models.tiny_pair("q8_0")
    with Server(binary, target, "-a", "tiny", "--max-body", MAX_BODY, "--timeout", 3, np_slots=2, ctx=512,
                threads=1) as srv:
        st, _, before = srv.post(COMP, comp(max_tokens=12))
        c.check(st == 200, "normal request before the attack")
        n_4xx = 0
        for what, method, path, body in BAD_REQUESTS:
            if isinstance(body, bytes):
                st, _, r = srv.request(method, path, raw=body, headers={"Content-Type": "application/json"})
            else:
                st, _, r = srv.request(method, path, body=body)
            ok = 400 <= st < 500 and isinstance(r, dict) and isinstance(r.get("error"), dict) and \
                isinstance(r["error"].get("message"), str) and "type" in r["error"]
            n_4xx += ok
            c.check(ok, f"bad input: {what} → {st} {json.dumps(r)[:160] if isinstance(r, dict) else r[:80]!r}")
        for what, data in RAW_REQUESTS:
            st = raw_exchange(srv.port, data)
            c.check(400 <= st < 500 or st == 0, f"hostile HTTP: {what} → {st or 'connection closed'}")
        c.check(n_4xx >= 30, f"at least 30 kinds of bad request answered 4xx ({n_4xx})")
        c.check(srv.proc.poll() is None, "the server is still running")
        st, _, after = srv.post(COMP, comp(max_tokens=12))
        c.check(st == 200 and after["choices"][0]["text"] == before["choices"][0]["text"],
                "a normal request after the attack is served exactly as before")
        st, _, h = srv.get("/health")
        c.check(st == 200 and h == {"status": "ok"}, "/health still ok")
        c.check(srv.stop() == 0, "server exits 0 after the attack")


def open_stream(port, body):
    """Starts a streaming request on a raw socket; returns the socket after the first event."""
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    data = json.dumps(body).encode()
    s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
              f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
    buf = b""
    while b"data: " not in buf:
        chunk = s.recv(4096)
        if not chunk:
            break
        buf += chunk
    return s, buf


def wait_for(pred, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return False


def test_disconnects(c, models, binary):
    target, head = models.tiny_pair("q8_0")
    long_body = {"prompt": "The man said", "max_tokens": 4000, "temperature": 0, "ignore_eos": True}
    with Server(binary, target, mtp=head, np_slots=1, ctx=4096, threads=1) as srv:
        # 1. Streamed: read the first event, then vanish.
        s, first = open_stream(srv.port, {**long_body, "stream": True})
        c.check(b"data: " in first, "stream started")
        c.check(srv.slots()[0]["is_processing"], "the slot is busy while streaming")
        s.close()
        t0 = time.time()
        freed = wait_for(lambda: not srv.slots()[0]["is_processing"], 5)
        m = srv.metrics()
        c.check(freed, f"disconnect mid-stream frees the slot ({time.time() - t0:.2f} s)")
        c.check(m["leapfrog:generation_tokens_total"] < 4000,
                f"... long before max_tokens ({m['leapfrog:generation_tokens_total']:.0f} tokens generated)")

        # 2. Not streamed: the client gives up while the answer is being generated.
        before = srv.metrics()["leapfrog:generation_tokens_total"]
        s = socket.create_connection(("127.0.0.1", srv.port))
        data = json.dumps(long_body).encode()
        s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
                  f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
        c.check(wait_for(lambda: srv.slots()[0]["is_processing"], 5), "non-streamed request running")
        s.close()
        freed = wait_for(lambda: not srv.slots()[0]["is_processing"], 5)
        gen = srv.metrics()["leapfrog:generation_tokens_total"] - before
        c.check(freed and gen < 4000, f"disconnect of a non-streamed request frees the slot ({gen:.0f} tokens)")

        # 3. Queued: one request holds the slot, a second waits and gives up.
        holder, _ = open_stream(srv.port, {**long_body, "stream": True})
        q = socket.create_connection(("127.0.0.1", srv.port))
        data = json.dumps({**long_body, "max_tokens": 5}).encode()
        q.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
                  f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
        c.check(wait_for(lambda: srv.metrics()["leapfrog:num_requests_waiting"] == 1, 5), "second request queued")
        q.close()
        c.check(wait_for(lambda: srv.metrics()["leapfrog:num_requests_waiting"] == 0, 5),
                "disconnect while queued leaves the queue")
        c.check(srv.slots()[0]["is_processing"], "the holder still runs")
        holder.close()
        c.check(wait_for(lambda: not srv.slots()[0]["is_processing"], 5), "holder's slot freed too")
        m = srv.metrics()
        c.check(m.get('leapfrog:request_finish_total{reason="cancelled"}', 0) == 4,
                "four requests counted as cancelled")
        st, _, r = srv.post(COMP, {"prompt": "The man said", "max_tokens": 5, "temperature": 0})
        c.check(st == 200 and r["usage"]["completion_tokens"] == 5, "the server serves normally afterwards")
        c.check(srv.stop() == 0, "server exits 0")


def test_queue_overflow(c, models, binary):
    target, _ = models.tiny_pair("q8_0")
    long_body = {"prompt": "The man said", "max_tokens": 3000, "temperature": 0, "ignore_eos": True, "stream": True}
    with Server(binary, target, "--max-queue", 1, np_slots=1, ctx=4096, threads=1) as srv:
        holder, _ = open_stream(srv.port, long_body)
        waiter = socket.create_connection(("127.0.0.1", srv.port))
        data = json.dumps(long_body).encode()
        waiter.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
                       f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
        c.check(wait_for(lambda: srv.metrics()["leapfrog:num_requests_waiting"] == 1, 5), "queue holds one request")
        st, hdrs, r = srv.post(COMP, {"prompt": "hi", "max_tokens": 2})
        c.check(st == 503 and hdrs.get("retry-after") == "1", f"full queue → 503 with Retry-After ({st})")
        c.check(isinstance(r, dict) and r.get("error", {}).get("code") == "queue_full", "... and an OpenAI error body")
        st, _, r = srv.stream(COMP, {"prompt": "hi", "max_tokens": 2, "stream": True})
        c.check(st == 503, "a streaming request is refused the same way, before any event")
        m = srv.metrics()
        c.check(m.get('leapfrog:requests_rejected_total{reason="queue_full"}') == 2, "rejections counted")
        st, _, _ = srv.get("/health")
        c.check(st == 200, "/health answers while full")
        holder.close()
        waiter.close()
        c.check(wait_for(lambda: not srv.slots()[0]["is_processing"] and
                         srv.metrics()["leapfrog:num_requests_waiting"] == 0, 10), "all freed")
        c.check(srv.stop() == 0, "server exits 0")


def test_metrics_add_up(c, models, binary):
    target, head = models.tiny_pair("q8_0")
    with Server(binary, target, "-a", "tiny", mtp=head, np_slots=3, ctx=3072, threads=1) as srv:
        def one(i):
            kinds = [(COMP, {"prompt": f"The {w} said", "max_tokens": 20 + i}) for w in ("man", "woman", "boy")] + \
                    [(CHAT, {"messages": [{"role": "user", "content": f"Question number {i}?"}], "max_tokens": 25})]
            path, body = kinds[i % len(kinds)]
            body = {**body, "temperature": 0}
            if i % 3 == 0:
                st, events, done = srv.stream(path, {**body, "stream": True})
                assert st == 200 and done
                return events[-1]["timings"]
            st, _, r = srv.post(path, body)
            assert st == 200, r
            return r["timings"]
        with ThreadPoolExecutor(6) as ex:
            timings = list(ex.map(one, range(12)))
        m = srv.metrics()
        sums = {k: sum(t[k] for t in timings) for k in ("draft_n", "draft_n_accepted", "predicted_n", "prompt_n")}
        c.check(sums["draft_n_accepted"] > 0, f"drafts were accepted ({sums['draft_n_accepted']})")
        c.check(sums["draft_n_accepted"] == m["leapfrog:spec_decode_num_accepted_tokens_total"],
                f"sum of timings.draft_n_accepted {sums['draft_n_accepted']} == spec_decode_num_accepted_tokens_total")
        c.check(sums["draft_n"] == m["leapfrog:spec_decode_num_draft_tokens_total"],
                "sum of timings.draft_n == spec_decode_num_draft_tokens_total")
        per_pos = sum(v for k, v in m.items() if k.startswith("leapfrog:spec_decode_num_accepted_tokens_per_pos_total"))
        c.check(per_pos == sums["draft_n_accepted"], "accepted tokens per position add up to the total")
        c.check(sums["predicted_n"] == m["leapfrog:generation_tokens_total"],
                "sum of timings.predicted_n == generation_tokens_total")
        c.check(sums["prompt_n"] == m["leapfrog:prompt_tokens_total"], "sum of timings.prompt_n == prompt_tokens_total")
        c.check(m["leapfrog:requests_finished_total"] == 12, "12 requests finished")
        c.check(m["leapfrog:num_requests_running"] == 0 and m["leapfrog:kv_cache_usage_perc"] == 0,
                "nothing running, KV cache empty")
        c.check(srv.stop() == 0, "server exits 0")


def test_api_key_and_bind(c, models, binary):
    target, _ = models.tiny_pair("q8_0")
    key = "s3cret"
    with Server(binary, target, "--api-key", key, "-a", "tiny", np_slots=1, ctx=1024, threads=1) as srv:
        routes = [("GET", "/v1/models", None), ("GET", "/metrics", None), ("GET", "/slots", None),
                  ("POST", CHAT, chat()), ("POST", COMP, comp()), ("POST", "/tokenize", {"content": "hi"}),
                  ("POST", "/detokenize", {"tokens": [5]}), ("POST", "/apply-template", {"messages": MSG}),
                  ("GET", "/no/such/route", None)]
        for method, path, body in routes:
            st, _, r = srv.request(method, path, body=body)
            st2, _, _ = srv.request(method, path, body=body, headers={"Authorization": "Bearer wrong"})
            st3, _, _ = srv.request(method, path, body=body, headers={"Authorization": f"Bearer {key}"})
            c.check(st == 401 and st2 == 401 and isinstance(r, dict) and r["error"]["code"] == "invalid_api_key" and
                    st3 != 401, f"--api-key guards {method} {path} ({st}, {st2}, {st3})")
        st, _, _ = srv.get("/health")
        c.check(st == 200, "/health needs no key")
        # The listening socket is bound to 127.0.0.1 (0100007F in /proc/net/tcp).
        local = None
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            f = line.split()
            addr, port = f[1].split(":")
            if int(port, 16) == srv.port and f[3] == "0A":  # 0A = LISTEN
                local = addr
        c.check(local == "0100007F", f"listens on 127.0.0.1 by default ({local})")
        c.check(srv.stop() == 0, "server exits 0")


def test_sigterm_drain(c, models, binary):
    target, head = models.tiny_pair("q8_0")
    srv = Server(binary, target, mtp=head, np_slots=2, ctx=4096, threads=1)
    result = {}

    def long_request():
        result["stream"] = srv.stream(COMP, {"prompt": "The man said", "max_tokens": 1500, "temperature": 0,
                                             "ignore_eos": True, "stream": True})

    t = threading.Thread(target=long_request)
    t.start()
    c.check(wait_for(lambda: any(s["n_decoded"] > 0 for s in srv.slots()), 10), "request generating")
    srv.proc.send_signal(signal.SIGTERM)
    c.check(wait_for(lambda: "shutting down" in srv.log(), 5), "SIGTERM acknowledged")
    st, _, r = srv.post(COMP, {"prompt": "hi", "max_tokens": 2})
    c.check(st == 503, f"new requests are refused while draining ({st})")
    t.join(120)
    st, events, done = result.get("stream", (0, [], False))
    text_events = [e for e in events if e.get("choices")]
    c.check(st == 200 and done and text_events[-1]["choices"][0]["finish_reason"] == "length" and
            text_events[-1]["timings"]["predicted_n"] == 1500, "the request in flight finished in full")
    try:
        code = srv.proc.wait(30)
    except Exception:
        code = None
    srv.stop()
    c.check(code == 0, f"exit status 0 after draining ({code})")


def test_flags(c, models, binary):
    """llama.cpp spellings are accepted; bad flags and unusable settings fail with one clear line."""
    import subprocess
    target, head = models.tiny_pair("q8_0")
    srv = Server(binary, target, "-md", head, "--spec-draft-n-max", 5, "--spec-draft-n-min", 1, "--spec-draft-p-min",
                 0.1, "--alias", "a1", "--alias", "a2", np_slots=3, ctx=3000, threads=1)
    st, _, r = srv.get("/v1/models")
    meta = r["data"][0]["meta"] if st == 200 else {}
    c.check(meta.get("mtp") is True and meta.get("draft_max") == 5 and meta.get("n_slots") == 3 and
            meta.get("n_ctx_slot") == 1000 and r["data"][0]["id"] == "a1",
            f"-md, -np, --spec-draft-n-max, --alias: {meta}")
    st, _, _ = srv.post(COMP, {"model": "a2", "prompt": "hi", "max_tokens": 2})
    c.check(st == 200, "a second --alias names the model too")
    c.check(srv.stop() == 0, "server exits 0")
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    for what, argv in [
        ("port in use", ["-m", target, "--port", port]),
        ("missing model file", ["-m", "/nonexistent/model.gguf"]),
        ("context too small for the slots", ["-m", target, "-np", 64, "-c", 512]),
        ("-np 0", ["-m", target, "-np", 0]),
        ("--draft-min above --draft-max", ["-m", target, "--draft-max", 2, "--draft-min", 3]),
        ("head that does not fit the target", ["-m", target, "--mtp", models.fixture_pair("dense")[1]]),
        ("unknown flag", ["-m", target, "--frobnicate"]),
    ]:
        p = subprocess.run([binary, "serve", *map(str, argv)], capture_output=True, text=True, timeout=60)
        lines = [l for l in p.stderr.splitlines() if l.strip()]
        c.check(p.returncode != 0 and len(lines) >= 1 and "error" in lines[-1].lower(),
                f"bad flags: {what} → exit {p.returncode}: {lines[-1] if lines else ''}")
    busy.close()


def main():
    args = harness_args(__doc__)
    models = Models(args.binary, args.data, args.work)
    c = Checks()
    test_bad_input(c, models, args.binary)
    test_disconnects(c, models, args.binary)
    test_queue_overflow(c, models, args.binary)
    test_metrics_add_up(c, models, args.binary)
    test_api_key_and_bind(c, models, args.binary)
    test_sigterm_drain(c, models, args.binary)
    test_flags(c, models, args.binary)
    c.finish()


if __name__ == "__main__":
    main()
