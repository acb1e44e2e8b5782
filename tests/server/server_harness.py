"""Helpers for the server integration tests (tests/integration/test_server_*.py): model files,
a `leapfrog serve` process on a kernel-chosen loopback port, and small HTTP helpers.

The scripted model: a copy of the tiny trained target whose greedy output depends only on the
last token, following a table `succ` (token -> next token). Attention outputs and all but one
MLP are zeroed; layer 0's MLP is a lookup (one hidden unit per scripted token) that writes the
successor's direction into the residual stream, and the tied embedding turns that into the
largest logit. This makes a model that "calls a tool" on cue, so the tool-call path can be
tested end to end with the real tokenizer and chat format. The scripted head is the tiny
assistant rewired the same way (its input projection keeps only the token embedding), so it
drafts exactly the chain and one verify step emits several tokens at once.
"""
import http.client
import json
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

LISTEN_MARK = "listening on http://"


# ----------------------------------------------------------------------------------------------
# Model files


class Models:
    """Converts checkpoints once per work directory."""

    def __init__(self, binary, data, work):
        self.bin = binary
        self.data = Path(data)
        self.work = Path(work)
        self.work.mkdir(parents=True, exist_ok=True)

    def convert(self, hf_dir, name, outtype="f32"):
        out = self.work / f"{name}-{outtype}.gguf"
        if not out.exists():
            p = subprocess.run([self.bin, "convert", str(hf_dir), "-o", str(out), "--outtype", outtype],
                               capture_output=True, text=True)
            if p.returncode != 0:
                raise RuntimeError(f"convert {hf_dir} failed: {p.stderr.strip()}")
        return out

    def fixture_pair(self, case):
        d = self.data / "fixtures" / case
        return self.convert(d / "hf", case), self.convert(d / "assistant_hf", case + "-head")

    def fixture_case(self, case):
        return json.loads((self.data / "fixtures" / case / "case.json").read_text())

    def tiny_pair(self, outtype="q8_0"):
        d = self.data / "tiny-gemma4"
        return self.convert(d / "target", "tiny", outtype), self.convert(d / "assistant", "tiny-head", outtype)

    def scripted(self, succ, name="scripted"):
        """The tiny target rewired so that greedy decoding follows succ (token id -> token id)."""
        out_dir = self.work / f"{name}-hf"
        if not (out_dir / "model.safetensors").exists():
            write_scripted_checkpoint(self.data / "tiny-gemma4" / "target", out_dir, succ)
        return self.convert(out_dir, name, "f32")

    def scripted_head(self, succ, name="scripted-head"):
        """The tiny assistant rewired to draft succ(t) after t: every draft of the scripted target's
        chain is accepted, so one verify step emits several tokens."""
        out_dir = self.work / f"{name}-hf"
        if not (out_dir / "model.safetensors").exists():
            write_scripted_head(self.data / "tiny-gemma4" / "assistant", out_dir, succ)
        return self.convert(out_dir, name, "f32")


def scripted_dims(succ):
    """Residual-stream dimension of each scripted token (shared by target and head)."""
    tokens = sorted(set(succ) | set(succ.values()))
    return {t: i for i, t in enumerate(tokens)}


def lookup_mlp(w, prefix, succ, dim):
    """Makes the MLP at `prefix` map direction dim[t] to direction dim[succ[t]]."""
    gate = w[prefix + "mlp.gate_proj.weight"]  # f32 [n_ff, n_embd]
    up = w[prefix + "mlp.up_proj.weight"]      # f32 [n_ff, n_embd]
    down = w[prefix + "mlp.down_proj.weight"]  # f32 [n_embd, n_ff]
    gate[:] = 0.0
    up[:] = 0.0
    down[:] = 0.0
    for j, (t, s) in enumerate(sorted(succ.items())):
        gate[j, dim[t]] = 1.0
        up[j, dim[t]] = 1.0
        down[dim[s], j] = 1.0


def silence_layers(w, post_ffw_scale):
    """Attention and MLP outputs of every layer to zero; norms to one."""
    n_layers = 1 + max(int(k.split(".")[2]) for k in w if k.startswith("model.layers."))
    for il in range(n_layers):
        p = f"model.layers.{il}."
        w[p + "self_attn.o_proj.weight"][:] = 0.0
        w[p + "layer_scalar"][:] = 1.0
        w[p + "mlp.down_proj.weight"][:] = 0.0
        for norm in ("input_layernorm", "pre_feedforward_layernorm", "post_attention_layernorm"):
            w[p + norm + ".weight"][:] = 1.0
        w[p + "post_feedforward_layernorm.weight"][:] = post_ffw_scale


def one_hot_embedding(E, dim, seed):
    """Scripted tokens get one-hot rows; all others small random rows orthogonal to them."""
    rng = np.random.default_rng(seed)
    out = rng.normal(0, 0.02, size=E.shape).astype(np.float32)
    out[:, : len(dim)] = 0.0
    for t, i in dim.items():
        out[t] = 0.0
        out[t, i] = 1.0
    return out


def write_scripted_head(src, dst, succ):
    from safetensors.numpy import load_file, save_file
    dst = Path(dst)
    dst.mkdir(parents=True, exist_ok=True)
    for f in Path(src).iterdir():
        if f.name != "model.safetensors":
            shutil.copy(f, dst / f.name)
    w = load_file(str(Path(src) / "model.safetensors"))
    dim = scripted_dims(succ)
    # Draft input = W_pre · [E_target[t]·sqrt(B), g]: keep the token part, drop the target hidden.
    pre = w["pre_projection.weight"]  # f32 [d, 2B]
    pre[:] = 0.0
    for i in range(len(dim)):
        pre[i, i] = 1.0
    w["model.embed_tokens.weight"] = one_hot_embedding(w["model.embed_tokens.weight"], dim, 1)
    silence_layers(w, 10.0)
    lookup_mlp(w, "model.layers.0.", succ, dim)
    w["model.norm.weight"][:] = 1.0
    save_file(w, str(dst / "model.safetensors"))


def write_scripted_checkpoint(src, dst, succ):
    from safetensors.numpy import load_file, save_file
    dst = Path(dst)
    dst.mkdir(parents=True, exist_ok=True)
    for f in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        shutil.copy(Path(src) / f, dst / f)
    w = load_file(str(Path(src) / "model.safetensors"))
    dim = scripted_dims(succ)
    if len(dim) > w["model.embed_tokens.weight"].shape[1]:
        raise ValueError("too many scripted tokens for the embedding width")
    w["model.embed_tokens.weight"] = one_hot_embedding(w["model.embed_tokens.weight"], dim, 0)
    silence_layers(w, 10.0)
    # Layer 0's MLP: hidden unit j fires only for scripted token j and writes its successor.
    lookup_mlp(w, "model.layers.0.", succ, dim)
    w["model.norm.weight"][:] = 1.0
    save_file(w, str(dst / "model.safetensors"))


# ----------------------------------------------------------------------------------------------
# The server process


class Server:
    """`leapfrog serve` on 127.0.0.1 with a port the kernel picks (read back from its log)."""

    def __init__(self, binary, model, *extra, mtp=None, np_slots=1, ctx=2048, threads=2, log=None, env=None,
                 start_timeout=120):
        self.argv = [str(binary), "serve", "-m", str(model), "--port", "0", "-np", str(np_slots), "-c", str(ctx),
                     "-t", str(threads), *map(str, extra)]
        if mtp:
            self.argv += ["--mtp", str(mtp)]
        self.log_lines = []
        self.log_path = log
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                     env=env)
        self.port = None
        deadline = time.time() + start_timeout
        while self.port is None:
            line = self.proc.stderr.readline()
            if not line:
                raise RuntimeError(f"server exited before listening: {' '.join(self.argv)}\n" + "".join(self.log_lines))
            self.log_lines.append(line)
            if LISTEN_MARK in line:
                hostport = line.split(LISTEN_MARK, 1)[1].split()[0]
                self.host, port = hostport.rsplit(":", 1)
                self.port = int(port)
            if time.time() > deadline:
                raise RuntimeError("server did not start in time")
        self._drain = threading.Thread(target=self._read_log, daemon=True)
        self._drain.start()

    def _read_log(self):
        for line in self.proc.stderr:
            self.log_lines.append(line)

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def log(self):
        return "".join(self.log_lines)

    def stop(self, sig=signal.SIGTERM, timeout=60):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._drain.join(timeout=5)
        if self.log_path:
            Path(self.log_path).write_text(self.log())
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # HTTP helpers -------------------------------------------------------------------------

    def request(self, method, path, body=None, headers=None, timeout=300, raw=None):
        """Returns (status, headers dict (lower-case keys), parsed JSON or text)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        text = r.read().decode("utf-8", errors="replace")
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        conn.close()
        try:
            return r.status, hdrs, json.loads(text)
        except ValueError:
            return r.status, hdrs, text

    def post(self, path, body, **kw):
        return self.request("POST", path, body=body, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def stream(self, path, body, headers=None, timeout=300):
        """POSTs a streaming request; returns (status, list of parsed events, saw_done)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = {"Content-Type": "application/json", **(headers or {})}
        conn.request("POST", path, body=json.dumps(body).encode(), headers=h)
        r = conn.getresponse()
        if r.status != 200:
            text = r.read().decode()
            conn.close()
            return r.status, [json.loads(text)], False
        events, done, buf = [], False, b""
        while True:
            chunk = r.read1(65536) if hasattr(r, "read1") else r.read(1)
            if not chunk:
                break
            buf += chunk
            while b"\n\n" in buf:
                ev, buf = buf.split(b"\n\n", 1)
                line = ev.decode()
                assert line.startswith("data: "), f"bad SSE event {line!r}"
                payload = line[len("data: "):]
                if payload == "[DONE]":
                    done = True
                else:
                    events.append(json.loads(payload))
        conn.close()
        return r.status, events, done

    def metrics(self, headers=None):
        st, _, text = self.get("/metrics", headers=headers)
        assert st == 200, text
        out = {}
        for line in text.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
        return out

    def slots(self, headers=None):
        st, _, body = self.get("/slots", headers=headers)
        assert st == 200, body
        return body

    def wait_idle(self, timeout=60, headers=None):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if not any(s["is_processing"] for s in self.slots(headers)):
                return True
            time.sleep(0.05)
        return False


# ----------------------------------------------------------------------------------------------
# Checks


class Checks:
    def __init__(self):
        self.failures = []
        self.n = 0

    def check(self, cond, what):
        self.n += 1
        print(("ok    " if cond else "FAIL  ") + what, flush=True)
        if not cond:
            self.failures.append(what)
        return cond

    def finish(self):
        passed = self.n - len(self.failures)
        if self.failures:
            print(f"{len(self.failures)} check(s) failed:")
            for f in self.failures:
                print("  " + f)
        print(f"{passed} passed, {len(self.failures)} failed", flush=True)
        sys.exit(1 if self.failures else 0)


def harness_args(doc):
    import argparse
    ap = argparse.ArgumentParser(description=doc)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    Path(a.work).mkdir(parents=True, exist_ok=True)
    return a
