#!/usr/bin/env python3
"""`leapfrog quantize IN OUT q8_0|q4_0` against llama-quantize's per-tensor policy, read back with the
PyPI `gguf` package.

For fixture checkpoints converted to f32, f16 and bf16, quantizing must
  - keep every metadata key and value except general.file_type (7 for q8_0, 2 for q4_0);
  - keep the tensor list, order and shapes;
  - quantize exactly the tensors llama-quantize quantizes (>= 2-D, name ending in "weight", not
    *_norm.weight, ffn_gate_inp.weight, per_layer_model_proj), token_embd to q8_0 in q4_0 files,
    rows that are not a multiple of 32 to f16; their bytes equal
    gguf.quants.quantize(source values); every other tensor is copied byte for byte;
  - from an f16 source, give the same tensor types as `convert --outtype` of the same type.
Requantizing a q8_0 file to q4_0 works with --allow-requantize, and quantizing a file that is
already in the target type copies every tensor unchanged.

Usage: test_convert_quantize.py --binary BUILD/leapfrog --data tests/data --work WORKDIR
"""
import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import GGUFReader
from gguf import quants

TARGET = {"q8_0": T.Q8_0, "q4_0": T.Q4_0}
FILE_TYPE = {"q8_0": 7, "q4_0": 2}
FIXTURES = ["dense/hf", "moe/hf", "ple_kvshare/hf", "conditional_e2b_like/hf", "ple_kvshare/assistant_hf"]


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def n_dims(shape):
    n = len(shape)
    while n > 1 and shape[n - 1] == 1:
        n -= 1
    return n


def policy(name, shape, src_type, target):
    quantizable = (n_dims(shape) >= 2 and name.endswith("weight") and not name.endswith("_norm.weight")
                   and "ffn_gate_inp.weight" not in name and "per_layer_model_proj" not in name)
    if not quantizable:
        return src_type
    t = TARGET[target]
    if target == "q4_0" and name == "token_embd.weight":
        t = T.Q8_0
    if shape[0] % 32:
        t = T.F16
    return t


def metadata(reader):
    out = {}
    for name, f in reader.fields.items():
        if name.startswith("GGUF."):
            continue
        v = f.contents()
        out[name] = (tuple(f.types), v)
    return out


def run(binary, *argv):
    r = subprocess.run([binary, *argv], capture_output=True, text=True)
    check(r.returncode == 0, f"leapfrog {' '.join(argv)} failed: {r.stderr.strip()}")


def values(t):
    return quants.dequantize(np.asarray(t.data), t.tensor_type).reshape(-1).astype(np.float32)


def check_quantized(src_path, out_path, target, label):
    src, out = GGUFReader(str(src_path)), GGUFReader(str(out_path))
    ms, mo = metadata(src), metadata(out)
    check(set(ms) == set(mo), f"{label}: metadata keys changed: {sorted(set(ms) ^ set(mo))}")
    for k in ms:
        if k == "general.file_type":
            check(mo[k][1] == FILE_TYPE[target], f"{label}: general.file_type = {mo[k][1]}")
        else:
            check(ms[k] == mo[k], f"{label}: {k} changed from {ms[k]} to {mo[k]}")
    check([t.name for t in src.tensors] == [t.name for t in out.tensors], f"{label}: tensor list or order changed")
    types = {}
    for ts, to in zip(src.tensors, out.tensors):
        shape = [int(x) for x in ts.shape]
        check([int(x) for x in to.shape] == shape, f"{label}: {ts.name} shape changed")
        want = policy(ts.name, shape, ts.tensor_type, target)
        check(to.tensor_type == want, f"{label}: {ts.name} is {to.tensor_type.name}, expected {want.name}")
        types[ts.name] = to.tensor_type
        if want == ts.tensor_type:
            check(np.asarray(ts.data).tobytes() == np.asarray(to.data).tobytes(), f"{label}: {ts.name} not copied exactly")
        else:
            ref = quants.quantize(values(ts).reshape(list(reversed(shape))), want)
            mine = np.asarray(to.data)
            if mine.tobytes() != np.ascontiguousarray(ref).tobytes():
                # gguf.quants and ggml disagree only on the sign of an all-zero q4_0 block's scale.
                check(np.array_equal(values(to), quants.dequantize(ref, want).reshape(-1)),
                      f"{label}: {ts.name} differs from gguf.quants.quantize({want.name})")
    return types


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    data, work = Path(args.data), Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    b = args.binary

    failures = checked = 0
    for fx in FIXTURES:
        hf = data / "fixtures" / fx
        tag = fx.replace("/", "-")
        for src_type in ("f32", "f16", "bf16"):
            src = work / f"{tag}-{src_type}.gguf"
            run(b, "convert", str(hf), "-o", str(src), "--outtype", src_type)
            for target in TARGET:
                label = f"{fx} {src_type} -> {target}"
                out = work / f"{tag}-{src_type}-{target}.gguf"
                try:
                    run(b, "quantize", str(src), str(out), target, "-t", "2")
                    types = check_quantized(src, out, target, label)
                    if src_type == "f16":
                        direct = work / f"{tag}-direct-{target}.gguf"
                        run(b, "convert", str(hf), "-o", str(direct), "--outtype", target)
                        dtypes = {t.name: t.tensor_type for t in GGUFReader(str(direct)).tensors}
                        check(dtypes == types, f"{label}: types differ from convert --outtype {target}: "
                              f"{sorted(n for n in types if types[n] != dtypes.get(n))}")
                    checked += 1
                    print(f"ok   {label}")
                except Failure as e:
                    failures += 1
                    print(f"FAIL {e}")

    # Already-quantized inputs.
    try:
        src = work / "dense-hf-f16-q8_0.gguf"
        again = work / "again.gguf"
        run(b, "quantize", str(src), str(again), "q8_0")
        a, c = GGUFReader(str(src)), GGUFReader(str(again))
        for x, y in zip(a.tensors, c.tensors):
            check(x.tensor_type == y.tensor_type and np.asarray(x.data).tobytes() == np.asarray(y.data).tobytes(),
                  f"q8_0 -> q8_0 changed {x.name}")
        req = work / "requant.gguf"
        run(b, "quantize", str(src), str(req), "q4_0", "--allow-requantize")
        r = GGUFReader(str(req))
        for t in r.tensors:
            shape = [int(v) for v in t.shape]
            src_t = next(s for s in a.tensors if s.name == t.name)
            check(t.tensor_type == policy(t.name, shape, src_t.tensor_type, "q4_0"),
                  f"requantized {t.name} is {t.tensor_type.name}")
        check(r.fields["general.file_type"].contents() == 2, "requantized general.file_type is not 2")
        checked += 1
        print("ok   already-quantized inputs")
    except Failure as e:
        failures += 1
        print(f"FAIL {e}")

    print(f"{checked} checks passed, {failures} failed")
    return 1 if failures or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
