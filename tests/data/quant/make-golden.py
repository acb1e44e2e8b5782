#!/usr/bin/env python3
"""Writes the golden quantization files that tests/quant checks leapfrog against.

The reference is gguf-py's gguf.quants (a bit-exact reimplementation of ggml's round-to-nearest
quantizers). Run from anywhere; files land next to this script:

  rows.f32.bin   float32 [n_rows, 128]  inputs: random rows and edge cases (4 blocks per row)
  rows.q8_0.bin  q8_0 blocks of rows.f32.bin      (34 bytes per 32 values)
  rows.q4_0.bin  q4_0 blocks of rows.f32.bin      (18 bytes per 32 values)
  rows.f16.bin   IEEE half of rows.f32.bin
  rows.bf16.bin  bfloat16 of rows.f32.bin
  floats.f32.bin float32 [n]  bit patterns across the whole range (incl. inf, NaN, subnormals)
  floats.f16.bin half of floats.f32.bin (NaN positions are compared only for NaN-ness)
  floats.bf16.bin bfloat16 of floats.f32.bin (NaN handling included)

Regenerate with: python3 tests/data/quant/make-golden.py   (deterministic; seed fixed)
"""
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import quants

N_IN = 128  # 4 blocks per row
OUT = Path(__file__).resolve().parent


def edge_rows(rng: np.random.Generator) -> list[np.ndarray]:
    rows = []
    rows.append(np.zeros(N_IN, np.float32))                                   # all zeros
    r = np.zeros(N_IN, np.float32)
    r[:32] = -0.0                                                             # all -0.0 block
    r[32:64:2] = -0.0
    r[64:] = rng.standard_normal(64)
    rows.append(r)
    rows.append(np.full(N_IN, -3.25, np.float32))                             # constant negative
    # q8_0 ties: amax 127 gives d = 1, so x*id keeps .5 fractions exactly (half away from zero).
    b = np.arange(-126.5, 127.0, 1.0, dtype=np.float32)
    t = np.concatenate([b[i:i + 31] for i in range(0, 124, 31)])[:124].reshape(4, 31)
    rows.append(np.concatenate([np.concatenate([[127.0], r]) for r in t]).astype(np.float32))
    rows.append(-rows[-1])
    # q8_0 ties at scale 2 (amax 254: id = 0.5, odd integers land on .5).
    r = np.concatenate([np.concatenate([[254.0], np.arange(-61, 63, 2)[k * 31:(k + 1) * 31]])
                        for k in range(2)] * 2).astype(np.float32)
    rows.append(r)
    # q4_0 ties: signed max -8 gives d = 1, id = 1; x + 8.5 is exact; 7.5 -> 16 clamps to 15.
    q4 = np.concatenate([[-8.0], np.arange(-7.5, 8.0, 0.5)[:31]]).astype(np.float32)
    rows.append(np.tile(q4, 4))
    rows.append(np.tile(-q4, 4))                                             # positive max 8
    q4b = np.concatenate([[-16.0], np.arange(-15.0, 16.0, 1.0)[:31]]).astype(np.float32)
    rows.append(np.tile(q4b, 4))                                             # scale 2, odd ties
    # Negative maxima and +/- ties in magnitude (the first one wins).
    r = rng.uniform(-1, 1, N_IN).astype(np.float32)
    r[5], r[40], r[70], r[100] = -2.0, -3.0, -1.5, -9.0
    rows.append(r)
    r = rng.uniform(-1, 1, N_IN).astype(np.float32)
    r[3], r[9] = 4.0, -4.0          # block 0: +4 first
    r[33], r[34] = -4.0, 4.0        # block 1: -4 first
    r[64], r[95] = -0.0, 0.0
    rows.append(r)
    # Tiny scales (normal f32 d and 1/d, half scale underflows to 0 or a subnormal).
    for s in (1e-30, 1e-35, 1e-6, 6e-5, 1e-7):
        rows.append((rng.standard_normal(N_IN) * s).astype(np.float32))
    # Large values: half scale near its max, overflowing to inf, and f32 extremes.
    for s in (1e3, 3e4, 6.5e4 * 8, 1e6, 1e20, 1e37):
        rows.append((rng.standard_normal(N_IN) * s).astype(np.float32))
    big = np.finfo(np.float32).max
    r = rng.uniform(-1, 1, N_IN).astype(np.float32) * np.float32(1e30)
    r[0], r[32], r[64], r[96] = big, -big, big, -big
    rows.append(r)
    # Sparse rows: one value per block, the rest zero or subnormal.
    r = np.zeros(N_IN, np.float32)
    r[[7, 39, 71, 103]] = [0.1, -0.2, 1e-20, -5e10]
    rows.append(r)
    r = np.full(N_IN, np.float32(1e-41))
    r[[0, 50, 80, 127]] = [1.0, -1.0, 2.0, -0.5]
    rows.append(r)
    # Values that sit exactly on half-scale boundaries of f16 rounding for d.
    r = rng.uniform(-1, 1, N_IN).astype(np.float32)
    r[0], r[32], r[64], r[96] = 127 * 65504.0, -127 * 65520.0, 127 * 2.0**-24, 127 * 3 * 2.0**-25
    rows.append(r)
    return rows


def ggml_q4_0(rows: np.ndarray) -> np.ndarray:
    """gguf.quants Q4_0, except that an all-zero block gets d = -0.0 as in ggml.

    ggml's quantize_row_q4_0_ref starts its signed maximum at +0.0, so d = 0/-8 = -0.0 (0x8000)
    for any all-zero block; gguf.quants uses the block's first element, which may be -0.0.
    """
    q = quants.quantize(rows, T.Q4_0).view(np.uint8).reshape(-1, 18).copy()
    zero = (rows.reshape(-1, 32) == 0).all(axis=1)
    q[zero, 0], q[zero, 1] = 0x00, 0x80
    return q


def random_rows(rng: np.random.Generator, n: int) -> list[np.ndarray]:
    rows = []
    for i in range(n):
        scale = 10.0 ** rng.uniform(-4, 4)
        kind = i % 4
        if kind == 0:
            r = rng.standard_normal(N_IN) * scale
        elif kind == 1:
            r = rng.uniform(-scale, scale, N_IN)
        elif kind == 2:   # heavy tails, like real activations
            r = rng.standard_t(2, N_IN) * scale
        else:             # quantized-looking values: many exact ties after scaling
            r = np.round(rng.uniform(-8, 8, N_IN) * 2) / 2 * scale
        rows.append(r.astype(np.float32))
    return rows


def float_patterns(rng: np.random.Generator) -> np.ndarray:
    specials = np.array([0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000,
                         0x7f800001, 0x7fbfffff, 0x00000001, 0x807fffff, 0x00800000, 0x3f800000,
                         0x477fe000, 0x477fefff, 0x477ff000, 0x477ff001, 0x33000000, 0x33000001,
                         0x33800000, 0x387fc000, 0x387fe000, 0x38800000, 0x3f801000, 0x3f803000,
                         0x3f800fff, 0x3f808000, 0x3f818000, 0x7f7fffff, 0xff7fffff], np.uint32)
    # Halfway points between neighbouring halves across the whole half range (ties to even).
    h = np.arange(0, 0x7c00, 7, dtype=np.uint16).view(np.float16).astype(np.float32)
    h_next = (np.arange(0, 0x7c00, 7, dtype=np.uint16) + 1).view(np.float16).astype(np.float32)
    mids = ((h.astype(np.float64) + h_next.astype(np.float64)) / 2).astype(np.float32)
    rand = rng.integers(0, 2**32, 4096, dtype=np.uint64).astype(np.uint32)
    out = np.concatenate([specials, mids.view(np.uint32), (-mids).view(np.uint32), rand])
    return out.view(np.float32)


def main() -> None:
    rng = np.random.default_rng(20240531)
    rows = np.stack(edge_rows(rng) + random_rows(rng, 64)).astype(np.float32)
    assert rows.shape[1] == N_IN and np.isfinite(rows).all()
    rows.tofile(OUT / "rows.f32.bin")
    with np.errstate(over="ignore"):  # scales past 65504 become inf halves, as in ggml
        quants.quantize(rows, T.Q8_0).tofile(OUT / "rows.q8_0.bin")
        ggml_q4_0(rows).tofile(OUT / "rows.q4_0.bin")
        quants.quantize(rows, T.F16).tofile(OUT / "rows.f16.bin")
    quants.quantize(rows, T.BF16).tofile(OUT / "rows.bf16.bin")

    floats = float_patterns(rng)
    floats.tofile(OUT / "floats.f32.bin")
    with np.errstate(over="ignore", invalid="ignore"):
        floats.astype(np.float16).tofile(OUT / "floats.f16.bin")
    quants.quantize(floats, T.BF16).tofile(OUT / "floats.bf16.bin")
    print(f"{rows.shape[0]} rows, {floats.size} float patterns -> {OUT}")


if __name__ == "__main__":
    main()
