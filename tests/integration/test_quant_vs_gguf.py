#!/usr/bin/env python3
"""Differential test: leapfrog's quantizers against gguf.quants on rows made fresh at test time.

Design: the C++ side is the small test-only tool `quant_dump` (tests/quant/tools/quant-dump.cpp),
built next to the leapfrog binary. This script writes random float32 rows (a new seed each run,
printed so a failure can be replayed with --seed), runs `quant_dump quantize` for q8_0, q4_0, f16
and bf16, and requires the bytes to equal gguf.quants.quantize exactly; then it feeds gguf's
bytes to `quant_dump dequantize` and requires bit-equal floats to gguf.quants.dequantize.
The golden files in tests/data/quant cover hand-picked edge cases; this covers volume.

One known difference is corrected for: ggml's quantize_row_q4_0_ref starts its signed maximum at
+0.0, so an all-zero block gets d = 0/-8 = -0.0 (0x8000); gguf.quants takes the block's first
element instead and writes +0.0 when that element is -0.0. leapfrog follows ggml.

Usage: test_quant_vs_gguf.py --binary BUILD/leapfrog --data tests/data --work WORKDIR [--seed S]
"""
import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import quants

TYPES = {"q8_0": T.Q8_0, "q4_0": T.Q4_0, "f16": T.F16, "bf16": T.BF16}


def make_rows(rng: np.random.Generator, n_rows: int, n: int) -> np.ndarray:
    rows = []
    for i in range(n_rows):
        scale = np.float32(10.0 ** rng.uniform(-6, 6))
        kind = i % 5
        if kind == 0:
            r = rng.standard_normal(n)
        elif kind == 1:
            r = rng.uniform(-1, 1, n)
        elif kind == 2:
            r = rng.standard_t(1.5, n)  # heavy tails
        elif kind == 3:
            r = np.round(rng.uniform(-127, 127, n)) / 2  # many exact .5 ties
        else:
            r = rng.standard_normal(n) * (rng.uniform(0, 1, n) < 0.1)  # sparse, zero blocks
        rows.append((r * scale).astype(np.float32))
    return np.stack(rows)


def ggml_q4_0(rows: np.ndarray) -> np.ndarray:
    """gguf.quants Q4_0 with ggml's sign of d for all-zero blocks (see the header)."""
    q = quants.quantize(rows, T.Q4_0).view(np.uint8).reshape(-1, 18).copy()
    zero = (rows.reshape(-1, 32) == 0).all(axis=1)
    q[zero, 0], q[zero, 1] = 0x00, 0x80
    return q


def run_tool(tool: Path, *args: str) -> None:
    res = subprocess.run([str(tool), *args], capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"FAIL: quant_dump {' '.join(args)} exited {res.returncode}: {res.stderr.strip()}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()

    tool = Path(args.binary).resolve().parent / "quant_dump"
    if not tool.exists():
        print(f"FAIL: {tool} not built (cmake --build BUILD --target quant_dump)")
        return 1
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    seed = args.seed if args.seed is not None else int(time.time_ns() % 2**31)
    print(f"seed {seed}")
    rng = np.random.default_rng(seed)

    n = 32 * 24
    rows = make_rows(rng, 400, n)
    assert np.isfinite(rows).all()
    src = work / "rows.f32"
    rows.tofile(src)

    failures = 0
    for name, qtype in TYPES.items():
        with np.errstate(over="ignore"):
            want = ggml_q4_0(rows) if qtype == T.Q4_0 else quants.quantize(rows, qtype)
            want = want.view(np.uint8).reshape(rows.shape[0], -1)
        out = work / f"rows.{name}"
        run_tool(tool, "quantize", name, str(n), str(src), str(out))
        got = np.fromfile(out, dtype=np.uint8).reshape(want.shape)
        bad = np.nonzero((got != want).any(axis=1))[0]
        if bad.size:
            r = bad[0]
            col = int(np.nonzero(got[r] != want[r])[0][0])
            print(f"FAIL {name} quantize: {bad.size} rows differ; row {r} byte {col}: "
                  f"got {got[r, col]} want {want[r, col]}")
            failures += 1
        else:
            print(f"ok   {name} quantize: {rows.shape[0]} rows x {n} bit-identical")

        # Dequantize gguf's bytes both ways; compare float bits.
        with np.errstate(invalid="ignore"):  # inf scales times zero quants
            want_back = quants.dequantize(want, qtype).astype(np.float32).reshape(rows.shape)
        want_file = work / f"rows.{name}.gguf"
        want.tofile(want_file)
        back = work / f"rows.{name}.f32"
        run_tool(tool, "dequantize", name, str(n), str(want_file), str(back))
        got_back = np.fromfile(back, dtype=np.float32).reshape(rows.shape)
        if not np.array_equal(got_back.view(np.uint32), want_back.view(np.uint32)):
            idx = np.argwhere(got_back.view(np.uint32) != want_back.view(np.uint32))[0]
            print(f"FAIL {name} dequantize at {tuple(idx)}: got {got_back[tuple(idx)]} want {want_back[tuple(idx)]}")
            failures += 1
        else:
            print(f"ok   {name} dequantize bit-identical")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
