#!/usr/bin/env python3
"""Loading refuses bad model files with one clear line and a non-zero exit, never a crash:
truncated and corrupted GGUFs, a missing tensor, a mis-shaped tensor (the message names the
tensor, expected and found shapes), a missing metadata key, a wrong architecture, and a head
given where a target belongs."""
import shutil

import numpy as np
from gguf import GGUFReader, GGUFValueType, GGUFWriter

from lf_testlib import Runner, parse_args

args = parse_args(__doc__)
r = Runner(args)
good = r.convert(r.data / "fixtures/dense/hf", "dense")
head = r.convert(r.data / "fixtures/dense/assistant_hf", "dense-assistant")
data = good.read_bytes()


def rewrite(dst, drop_tensor=None, reshape=None, drop_key=None, arch=None):
    """Copies the good file through PyPI gguf, optionally dropping or reshaping one tensor or key."""
    src = GGUFReader(str(good))
    w = GGUFWriter(str(dst), arch or src.fields["general.architecture"].contents())
    for k, f in src.fields.items():
        if k.startswith("GGUF.") or k == "general.architecture" or k == drop_key:
            continue
        sub = f.types[-1] if f.types[0] == GGUFValueType.ARRAY else None
        w.add_key_value(k, f.contents(), f.types[0], sub)
    for t in src.tensors:
        if t.name == drop_tensor:
            continue
        a = np.asarray(t.data, dtype=np.float32).reshape([int(x) for x in reversed(t.shape)])
        if t.name == reshape:
            a = a[..., :-32] if a.ndim == 2 else a[:-1]
        w.add_tensor(t.name, np.ascontiguousarray(a))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def expect_error(path, *needles, cmd=("logits",)):
    out = r.work / "out.npy"
    p = r.run(*cmd, "-m", path, "--tokens", "2,5,6", "-o", out, check=False)
    lines = [l for l in p.stderr.strip().splitlines() if l]
    crashed = p.returncode < 0 or p.returncode >= 128
    ok = p.returncode != 0 and not crashed and len(lines) == 1 and all(n in p.stderr for n in needles)
    r.check(ok, f"{path.name}: exit {p.returncode}, error: {p.stderr.strip()[:200]}")


cases = r.work / "cases"
cases.mkdir(exist_ok=True)
for n in (0, 3, 100, len(data) // 2, len(data) - 7):
    f = cases / f"truncated-{n}.gguf"
    f.write_bytes(data[:n])
    expect_error(f, "error")
f = cases / "bad-magic.gguf"
f.write_bytes(b"GGUX" + data[4:])
expect_error(f, "magic")
f = cases / "missing-tensor.gguf"
rewrite(f, drop_tensor="blk.3.attn_q.weight")
expect_error(f, "blk.3.attn_q.weight", "missing")
f = cases / "misshaped-tensor.gguf"
rewrite(f, reshape="blk.1.ffn_up.weight")
expect_error(f, "blk.1.ffn_up.weight", "shape", "expected")
f = cases / "missing-key.gguf"
rewrite(f, drop_key="gemma4.attention.sliding_window")
expect_error(f, "gemma4.attention.sliding_window")
f = cases / "wrong-arch.gguf"
rewrite(f, arch="llama")
expect_error(f, "llama")
expect_error(head, "gemma4-assistant")
f = cases / "not-a-file"
f.mkdir(exist_ok=True)
expect_error(f, "not a regular file")
expect_error(cases / "does-not-exist.gguf", "cannot open")
r.finish()
