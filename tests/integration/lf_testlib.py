"""Shared helpers for the integration tests: argument parsing, running the binary, converting
fixtures once per work directory, and the fixture tolerance rule."""
import argparse
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np


def parse_args(doc):
    ap = argparse.ArgumentParser(description=doc)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    Path(a.work).mkdir(parents=True, exist_ok=True)
    return a


class Runner:
    def __init__(self, args):
        self.bin = args.binary
        self.data = Path(args.data)
        self.work = Path(args.work)
        self.failures = []

    def run(self, *argv, check=True, env=None):
        """Runs leapfrog; env: variables added to this process's environment."""
        full_env = {**os.environ, **env} if env else None
        p = subprocess.run([self.bin, *map(str, argv)], capture_output=True, text=True, env=full_env)
        if check and p.returncode != 0:
            raise RuntimeError(f"leapfrog {' '.join(map(str, argv))} failed ({p.returncode}): {p.stderr.strip()}")
        return p

    def convert(self, hf_dir, name, outtype="f32"):
        out = self.work / f"{name}-{outtype}.gguf"
        if not out.exists():
            self.run("convert", hf_dir, "-o", out, "--outtype", outtype)
        return out

    def weights_only(self, hf_dir, name):
        """A copy of a checkpoint without its tokenizer files (for tests about the weights)."""
        out = self.work / f"{name}-weights"
        out.mkdir(exist_ok=True)
        for f in ("config.json", "model.safetensors"):
            if not (out / f).exists():
                shutil.copy(Path(hf_dir) / f, out / f)
        return out

    def generate(self, model, tokens, n, *extra):
        p = self.run("generate", "-m", model, "--tokens", ",".join(map(str, tokens)), "-n", n, "--temp", "0",
                     "--json", "--ignore-eos", "-t", "2", *extra)
        return json.loads(p.stdout)

    def check(self, cond, what):
        print(("ok    " if cond else "FAIL  ") + what, flush=True)
        if not cond:
            self.failures.append(what)

    def finish(self):
        if self.failures:
            print(f"{len(self.failures)} check(s) failed:")
            for f in self.failures:
                print("  " + f)
            raise SystemExit(1)
        print("all checks passed")


def within_fixture_tolerance(ref, got):
    """max|Δ| ≤ 1e-3·max(1, max|ref|) (fixtures/README.md)."""
    d = float(np.abs(ref - got).max())
    tol = 1e-3 * max(1.0, float(np.abs(ref).max()))
    return d <= tol, d, tol


FIXTURE_CASES = ["dense", "ple_kvshare", "moe", "conditional_e2b_like"]
PAIR_CASES = ["dense", "ple_kvshare", "moe"]


def dequantize_gguf(src, dst):
    """Rewrites a GGUF with every tensor dequantized to f32 (PyPI gguf), keeping all metadata."""
    from gguf import GGUFReader, GGUFValueType, GGUFWriter, quants
    r = GGUFReader(str(src))
    w = GGUFWriter(str(dst), r.fields["general.architecture"].contents())
    for k, f in r.fields.items():
        if k.startswith("GGUF.") or k == "general.architecture":
            continue
        sub = f.types[-1] if f.types[0] == GGUFValueType.ARRAY else None
        w.add_key_value(k, f.contents(), f.types[0], sub)
    for t in r.tensors:
        a = quants.dequantize(t.data, t.tensor_type).astype(np.float32)
        w.add_tensor(t.name, a.reshape([int(x) for x in reversed(t.shape)]))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
