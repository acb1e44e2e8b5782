#!/usr/bin/env python3
"""leapfrog synth: files with the converter's keys, names, types and shapes (checked against
`leapfrog convert` of the tiny trained pair, whose configs synth reads the same way), plans for
every published config, and shrunk E2B, 12B and 26B-A4B models that the regular loader runs
(logits, and generation with their MTP heads)."""
import json
import sys
from pathlib import Path

import numpy as np
from gguf import GGUFReader

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lf_testlib import Runner, parse_args  # noqa: E402


def describe(path):
    r = GGUFReader(str(path))
    keys = [(k, f.types[0].name) for k, f in r.fields.items() if not k.startswith("GGUF.")]
    tensors = {t.name: (t.tensor_type.name, [int(x) for x in t.shape]) for t in r.tensors}
    return r, keys, tensors


def main():
    args = parse_args(__doc__)
    t = Runner(args)
    work = Path(args.work)
    configs = t.data / "configs"

    # 1. Same keys and tensors as a converted file of the same config.
    for role in ("target", "assistant"):
        hf = t.data / "tiny-gemma4" / role
        conv = t.convert(hf, f"tiny-{role}", "q8_0")
        syn = work / f"synth-tiny-{role}.gguf"
        t.run("synth", hf / "config.json", "-o", syn, "--type", "q8_0", "--seed", "3")
        _, ck, ct = describe(conv)
        r, sk, st = describe(syn)
        # The stand-in tokenizer carries no chat template (leapfrog renders Gemma 4 chat itself).
        ck_cmp = [k for k in ck if k[0] != "tokenizer.chat_template"]
        t.check(sk == ck_cmp, f"{role}: synth metadata keys and types equal convert's, in order"
                + ("" if sk == ck_cmp else f" (synth-only {set(sk) - set(ck_cmp)}, convert-only {set(ck_cmp) - set(sk)})"))
        t.check(st == ct, f"{role}: synth tensor names, types and shapes equal convert's"
                + ("" if st == ct else f" (diff {set(st.items()) ^ set(ct.items())})"))
        n_vocab = len(r.fields["tokenizer.ggml.tokens"].data)
        t.check(n_vocab == ct["token_embd.weight"][1][1], f"{role}: vocabulary has one token per embedding row")

    # 2. Every published config plans (names, types, bytes) without writing.
    for cfg in sorted(configs.glob("*.json")):
        p = t.run("synth", cfg, "-o", work / "unused.gguf", "--dry-run")
        plan = json.loads(p.stdout)
        arch = "gemma4-assistant" if "assistant" in cfg.name else "gemma4"
        t.check(plan["architecture"] == arch and plan["n_tensors"] > 10 and plan["tensor_bytes"] > 1e7,
                f"{cfg.name}: plan {plan['architecture']}, {plan['n_tensors']} tensors, {plan['tensor_bytes'] / 1e9:.2f} GB")
        t.check(not (work / "unused.gguf").exists(), f"{cfg.name}: --dry-run writes nothing")

    # llama.cpp's loader rejects the centroid head; --no-centroids leaves it out.
    for flag, want in (([], True), (["--no-centroids"], False)):
        p = t.run("synth", configs / "gemma-4-e2b-assistant.json", "-o", work / "unused.gguf", "--dry-run", *flag)
        names = {x["name"] for x in json.loads(p.stdout)["tensors"]}
        has = {"masked_embd_centroids.weight", "masked_embd_ordering"} <= names
        t.check(has == want, f"E2B assistant {' '.join(flag) or '(default)'}: centroid head {'present' if has else 'absent'}")

    # 3. Shrunk models through the regular loader.
    def synth(cfg, name, *extra):
        out = work / f"{name}.gguf"
        t.run("synth", configs / cfg, "-o", out, "--type", "q4_0", *extra)
        return out

    e2b = synth("gemma-4-e2b.json", "e2b-l2", "--layers", "2", "--vocab", "4096")
    e2b_head = synth("gemma-4-e2b-assistant.json", "e2b-head", "--vocab", "4096")
    g12 = synth("gemma-4-12b.json", "12b-l2", "--layers", "2", "--vocab", "2048")
    g12_head = synth("gemma-4-12b-assistant.json", "12b-head", "--vocab", "2048")
    moe = synth("gemma-4-26b-a4b.json", "26b-l1", "--layers", "1", "--vocab", "2048")
    for model, n_vocab in ((e2b, 4096), (g12, 2048), (moe, 2048)):
        npy = work / f"{model.stem}.npy"
        t.run("logits", "-m", model, "--tokens", "2,300,301,302,303", "-o", npy)
        a = np.load(npy)
        t.check(a.shape == (5, n_vocab) and bool(np.isfinite(a).all()) and float(a.std()) > 0.1,
                f"{model.stem}: logits {a.shape}, finite, spread {float(a.std()):.2f}")
        # q4_0 matrices packed for the AVX2 kernels at load (the default there) or kept as the file
        # has them: the same bits, mapped or read into memory.
        for flags in (["--no-repack"], ["--no-repack", "--no-mmap"], ["--no-mmap"]):
            npy2 = work / f"{model.stem}-{'-'.join(f.strip('-') for f in flags)}.npy"
            t.run("logits", "-m", model, "--tokens", "2,300,301,302,303", "-o", npy2, *flags)
            t.check(np.array_equal(np.load(npy2), a), f"{model.stem} {' '.join(flags)}: the same logits bits")
    e2b_head_nc = synth("gemma-4-e2b-assistant.json", "e2b-head-nc", "--vocab", "4096", "--no-centroids")
    for model, head in ((e2b, e2b_head), (e2b, e2b_head_nc), (g12, g12_head)):
        p = t.run("generate", "-m", model, "--mtp", head, "-p", "the river carried small stones", "-n", "12",
                  "--ignore-eos", "--json", "-t", "2")
        g = json.loads(p.stdout)
        t.check(len(g["tokens"]) == 12 and g["n_drafted"] > 0,
                f"{model.stem} + {head.stem}: text prompt tokenized, 12 tokens, {g['n_drafted']} drafted")
    # bench --local reports what was packed: everything packable on the avx2 level, nothing with
    # --no-repack or on another level.
    small = ["--n-prompt", "8", "--n-gen", "4", "--depth", "8", "--repeats", "1", "--step-repeats", "1",
             "--bandwidth-mib", "64", "-t", "2", "--json"]
    packed = json.loads(t.run("bench", "--local", "-m", e2b, "--mtp", e2b_head, *small).stdout)
    kept = json.loads(t.run("bench", "--local", "-m", e2b, "--mtp", e2b_head, "--no-repack", *small).stdout)
    t.check(kept["packed_bytes"] == 0, f"--no-repack packs nothing: {kept['packed_bytes']}")
    env_off = json.loads(t.run("bench", "--local", "-m", e2b, *small, env={"LEAPFROG_REPACK": "0"}).stdout)
    t.check(env_off["packed_bytes"] == 0, f"LEAPFROG_REPACK=0 packs nothing: {env_off['packed_bytes']}")
    p = t.run("bench", "--local", "-m", e2b, *small, env={"LEAPFROG_REPACK": "maybe"})
    t.check("ignoring LEAPFROG_REPACK=maybe" in p.stderr, "an unknown LEAPFROG_REPACK value is reported")
    t.check((json.loads(p.stdout)["packed_bytes"] > 0) == (packed["isa"] == "avx2"),
            "an unknown LEAPFROG_REPACK value leaves packing as it is by default")
    if packed["isa"] == "avx2":
        t.check(packed["packed_bytes"] > 10e6, f"avx2: q4_0 matrices packed at load: {packed['packed_bytes']:.0f} bytes")
    else:
        t.check(packed["packed_bytes"] == 0, f"{packed['isa']}: nothing packed")
    # A head of another model size is refused with the reason.
    p = t.run("generate", "-m", g12, "--mtp", e2b_head, "--tokens", "2,3", "-n", "2", check=False)
    t.check(p.returncode != 0 and "does not fit" in p.stderr, "a head of another size is refused clearly")

    # 4. Bad input: one clear line, non-zero exit.
    for argv, what in (([configs / "nope.json", "-o", work / "x.gguf"], "missing config"),
                       ([configs / "gemma-4-e2b.json", "-o", work / "x.gguf", "--type", "q9_9"], "unknown type"),
                       ([configs / "gemma-4-e2b.json", "-o", work / "x.gguf", "--layers", "99"], "too many layers")):
        p = t.run("synth", *argv, check=False)
        lines = p.stderr.strip().splitlines()
        t.check(p.returncode != 0 and len(lines) == 1 and "error" in lines[0], f"{what}: {lines[-1] if lines else ''}")
    for f in (e2b, e2b_head, e2b_head_nc, g12, g12_head, moe):  # about 1 GB together
        f.unlink()
    t.finish()


if __name__ == "__main__":
    main()
