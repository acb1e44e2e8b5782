#!/usr/bin/env python3
"""`leapfrog convert` on every fixture checkpoint, checked with the PyPI `gguf` package.

For each fixture's hf/ and assistant_hf/ and each --outtype (f32, f16, bf16, q8_0, q4_0) this
converts the checkpoint and reads the result with gguf.GGUFReader. Expectations are derived here,
independently of the C++ code, from config.json and the safetensors (gemma4-spec.md §4.2-4.4 and
docs/gguf-example.md):
  - metadata: exactly the expected keys (tokenizer keys aside), with llama.cpp's value types;
  - tensors: exactly the expected GGUF names, shapes = HF shapes reversed, the type policy;
  - data: every tensor's bytes equal gguf.quants.quantize(HF weights, type) (the ecosystem's
    reference quantizer), rope_freqs equals llama.cpp's generated values.
The towers of the conditional-generation checkpoint must not appear.

Usage: test_convert_fixtures.py --binary BUILD/leapfrog --data tests/data --work WORKDIR
"""
import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import GGUFReader, GGUFValueType as VT
from gguf import quants
from safetensors.numpy import load_file

OUTTYPES = {"f32": T.F32, "f16": T.F16, "bf16": T.BF16, "q8_0": T.Q8_0, "q4_0": T.Q4_0}
FILE_TYPE = {"f32": 0, "f16": 1, "q4_0": 2, "q8_0": 7, "bf16": 32}

LAYER_NAMES = {
    "input_layernorm.weight": "attn_norm.weight",
    "self_attn.q_proj.weight": "attn_q.weight",
    "self_attn.k_proj.weight": "attn_k.weight",
    "self_attn.v_proj.weight": "attn_v.weight",
    "self_attn.o_proj.weight": "attn_output.weight",
    "self_attn.q_norm.weight": "attn_q_norm.weight",
    "self_attn.k_norm.weight": "attn_k_norm.weight",
    "post_attention_layernorm.weight": "post_attention_norm.weight",
    "pre_feedforward_layernorm.weight": "ffn_norm.weight",
    "post_feedforward_layernorm.weight": "post_ffw_norm.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight",
    "mlp.up_proj.weight": "ffn_up.weight",
    "mlp.down_proj.weight": "ffn_down.weight",
    "layer_scalar": "layer_output_scale.weight",
    "per_layer_input_gate.weight": "inp_gate.weight",
    "per_layer_projection.weight": "proj.weight",
    "post_per_layer_input_norm.weight": "post_norm.weight",
    "router.proj.weight": "ffn_gate_inp.weight",
    "router.scale": "ffn_gate_inp.scale",
    "router.per_expert_scale": "ffn_down_exps.scale",
    "pre_feedforward_layernorm_2.weight": "pre_ffw_norm_2.weight",
    "post_feedforward_layernorm_1.weight": "post_ffw_norm_1.weight",
    "post_feedforward_layernorm_2.weight": "post_ffw_norm_2.weight",
    "experts.gate_up_proj": "ffn_gate_up_exps.weight",
    "experts.down_proj": "ffn_down_exps.weight",
}
MODEL_NAMES = {
    "embed_tokens.weight": "token_embd.weight",
    "embed_tokens_per_layer.weight": "per_layer_token_embd.weight",
    "per_layer_model_projection.weight": "per_layer_model_proj.weight",
    "per_layer_projection_norm.weight": "per_layer_proj_norm.weight",
    "norm.weight": "output_norm.weight",
}
ASSISTANT_NAMES = {
    "pre_projection.weight": "nextn.pre_projection.weight",
    "post_projection.weight": "nextn.post_projection.weight",
    "masked_embedding.centroids.weight": "masked_embd_centroids.weight",
    "masked_embedding.token_ordering": "masked_embd_ordering",
}


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


# ---------------------------------------------------------------------------------------------
# Expectations derived from config.json (spec §1.1, §3.1, §4.2)

def text_params(cfg):
    assistant = cfg["architectures"][0] in ("Gemma4AssistantForCausalLM", "Gemma4UnifiedAssistantForCausalLM")
    tc = cfg.get("text_config") or cfg
    L = tc["num_hidden_layers"]
    types = tc.get("layer_types") or ["sliding_attention" if (i + 1) % 6 else "full_attention" for i in range(L)]
    swa = [t == "sliding_attention" for t in types]
    swa[-1] = False
    n_kv = tc["num_key_value_heads"]
    head_dim = [tc["head_dim"] if s else tc.get("global_head_dim") or tc["head_dim"] for s in swa]
    kv = [n_kv] * L
    per_layer = False
    if tc.get("attention_k_eq_v") and tc.get("num_global_key_value_heads") is not None:
        kv = [n_kv if s else tc["num_global_key_value_heads"] for s in swa]
        per_layer = True
    for k, v in (tc.get("per_layer_config") or {}).items():
        if "head_dim" in v:
            head_dim[int(k)] = v["head_dim"]
        if "num_key_value_heads" in v:
            kv[int(k)] = v["num_key_value_heads"]
            per_layer = True
    shared = L if assistant else tc.get("num_kv_shared_layers") or 0
    ff = [tc["intermediate_size"] * (2 if tc.get("use_double_wide_mlp") and il >= L - shared else 1) for il in range(L)]
    d_swa = [d for d, s in zip(head_dim, swa) if s][0]
    d_full = [d for d, s in zip(head_dim, swa) if not s][0]
    rp = tc.get("rope_parameters") or {}
    return dict(tc=tc, assistant=assistant, L=L, swa=swa, head_dim=head_dim, kv=kv, kv_per_layer=per_layer,
                shared=shared, ff=ff, d_swa=d_swa, d_full=d_full,
                partial_full=rp.get("full_attention", {}).get("partial_rotary_factor", 0.25),
                theta_full=rp.get("full_attention", {}).get("rope_theta", 1e6),
                theta_swa=rp.get("sliding_attention", {}).get("rope_theta", 1e4))


def expected_metadata(cfg, outtype):
    p = text_params(cfg)
    tc = p["tc"]
    A = "gemma4-assistant" if p["assistant"] else "gemma4"
    m = {
        "general.architecture": ("str", A),
        "general.type": ("str", "model"),
        "general.name": ("str", None),
        "general.size_label": ("str", None),
        f"{A}.block_count": ("u32", p["L"]),
        f"{A}.context_length": ("u32", tc["max_position_embeddings"]),
        f"{A}.embedding_length": ("u32", tc["hidden_size"]),
        f"{A}.feed_forward_length": ("i32[]", p["ff"]) if tc.get("use_double_wide_mlp") else ("u32", tc["intermediate_size"]),
        f"{A}.attention.head_count": ("u32", tc["num_attention_heads"]),
        f"{A}.attention.head_count_kv": ("i32[]", p["kv"]) if p["kv_per_layer"] else ("u32", p["kv"][0]),
        f"{A}.rope.freq_base": ("f32", p["theta_full"]),
        f"{A}.rope.freq_base_swa": ("f32", p["theta_swa"]),
        f"{A}.attention.layer_norm_rms_epsilon": ("f32", tc.get("rms_norm_eps", 1e-6)),
        f"{A}.attention.key_length": ("u32", p["d_full"]),
        f"{A}.attention.value_length": ("u32", p["d_full"]),
        "general.file_type": ("u32", FILE_TYPE[outtype]),
        f"{A}.attention.sliding_window": ("u32", tc["sliding_window"]),
        f"{A}.attention.shared_kv_layers": ("u32", p["shared"]),
        f"{A}.embedding_length_per_layer_input": ("u32", tc.get("hidden_size_per_layer_input") or 0),
        f"{A}.attention.sliding_window_pattern": ("bool[]", p["swa"]),
        f"{A}.attention.key_length_swa": ("u32", p["d_swa"]),
        f"{A}.attention.value_length_swa": ("u32", p["d_swa"]),
        f"{A}.rope.dimension_count": ("u32", p["d_full"]),
        f"{A}.rope.dimension_count_swa": ("u32", p["d_swa"]),
        "general.quantization_version": ("u32", 2),
    }
    if tc.get("final_logit_softcapping"):
        m[f"{A}.final_logit_softcapping"] = ("f32", tc["final_logit_softcapping"])
    if tc.get("enable_moe_block"):
        m[f"{A}.expert_count"] = ("u32", tc["num_experts"])
        m[f"{A}.expert_used_count"] = ("u32", tc["top_k_experts"])
        m[f"{A}.expert_feed_forward_length"] = ("u32", tc["moe_intermediate_size"])
    if p["assistant"]:
        m[f"{A}.embedding_length_out"] = ("u32", cfg["backbone_hidden_size"])
        m[f"{A}.nextn_predict_layers"] = ("u32", p["L"])
        if cfg.get("use_ordered_embeddings"):
            m[f"{A}.masked_embedding.centroid_count"] = ("u32", cfg["num_centroids"])
            m[f"{A}.masked_embedding.top_k"] = ("u32", cfg["centroid_intermediate_top_k"])
    return m


def field_value(f):
    t = f.types
    if t[0] == VT.ARRAY:
        tag = {VT.INT32: "i32[]", VT.BOOL: "bool[]", VT.UINT32: "u32[]", VT.STRING: "str[]"}.get(t[1], "?[]")
        return tag, list(f.contents())
    tag = {VT.UINT32: "u32", VT.FLOAT32: "f32", VT.STRING: "str", VT.BOOL: "bool", VT.INT32: "i32"}.get(t[0], "?")
    return tag, f.contents()


def check_metadata(reader, cfg, outtype, label):
    want = expected_metadata(cfg, outtype)
    got = {name: field_value(f) for name, f in reader.fields.items()
           if not name.startswith("GGUF.") and not name.startswith("tokenizer.")}
    check(set(got) == set(want), f"{label}: keys differ: missing {sorted(set(want) - set(got))}, "
                                 f"extra {sorted(set(got) - set(want))}")
    for k, (tag, value) in want.items():
        gtag, gvalue = got[k]
        check(gtag == tag, f"{label}: {k} has type {gtag}, expected {tag}")
        if value is None:
            continue
        if tag == "f32":
            check(np.float32(gvalue) == np.float32(value), f"{label}: {k} = {gvalue}, expected {value}")
        elif tag == "bool[]":
            check([bool(x) for x in gvalue] == value, f"{label}: {k} = {gvalue}, expected {value}")
        else:
            check(gvalue == value, f"{label}: {k} = {gvalue}, expected {value}")


# ---------------------------------------------------------------------------------------------
# Expected tensors (spec §4.3, §4.4)

def map_name(hf, cfg):
    arch = cfg["architectures"][0]
    multimodal = arch in ("Gemma4ForConditionalGeneration", "Gemma4UnifiedForConditionalGeneration")
    prefix = "model.language_model." if multimodal else "model."
    if hf == "lm_head.weight":
        return None
    if hf in ASSISTANT_NAMES:
        if hf.startswith("masked_embedding.") and not cfg.get("use_ordered_embeddings"):
            return None
        return ASSISTANT_NAMES[hf]
    if not hf.startswith(prefix):
        check(multimodal, f"unexpected tensor {hf}")
        return None
    rest = hf[len(prefix):]
    if rest in MODEL_NAMES:
        return MODEL_NAMES[rest]
    parts = rest.split(".", 2)
    check(parts[0] == "layers" and parts[2] in LAYER_NAMES, f"unexpected tensor {hf}")
    return f"blk.{parts[1]}.{LAYER_NAMES[parts[2]]}"


def expected_type(name, ne, outtype):
    t = OUTTYPES[outtype]
    if len(ne) <= 1 or name.endswith("_norm.weight") or not name.endswith(".weight") or "ffn_gate_inp.weight" in name:
        return T.F32
    if outtype in ("f32", "f16", "bf16"):
        return t
    if "per_layer_model_proj" in name:
        return T.F16  # never quantized
    if outtype == "q4_0" and name == "token_embd.weight":
        t = T.Q8_0  # the tied output head: llama-quantize would use q6_k
    if ne[0] % 32:
        t = T.F16
    return t


def rope_freqs(p):
    n_rot = int(p["d_full"] * p["partial_full"] / 2)
    half = p["d_full"] // 2
    return np.array([1.0] * n_rot + [1e30] * (half - n_rot), dtype=np.float32)


def check_tensors(reader, hf_dir, cfg, outtype, label):
    weights = load_file(str(hf_dir / "model.safetensors"))
    p = text_params(cfg)
    want = {"rope_freqs.weight": (rope_freqs(p), T.F32)}
    for hf, arr in weights.items():
        g = map_name(hf, cfg)
        if g is None:
            continue
        arr = np.asarray(arr, dtype=np.float32)
        if arr.ndim == 0:
            arr = arr.reshape(1)
        ne = list(reversed(arr.shape))
        want[g] = (arr, expected_type(g, ne, outtype))
    got = {t.name: t for t in reader.tensors}
    check(set(got) == set(want), f"{label}: tensors differ: missing {sorted(set(want) - set(got))}, "
                                 f"extra {sorted(set(got) - set(want))}")
    check(reader.tensors[0].name == "rope_freqs.weight", f"{label}: rope_freqs.weight is not the first tensor")
    for name, (arr, qtype) in want.items():
        t = got[name]
        ne = [int(x) for x in t.shape]
        check(ne == list(reversed(arr.shape)), f"{label}: {name} has shape {ne}, expected {list(reversed(arr.shape))}")
        check(t.tensor_type == qtype, f"{label}: {name} is {t.tensor_type.name}, expected {qtype.name}")
        ref = quants.quantize(arr, qtype)
        mine = np.asarray(t.data)
        if mine.tobytes() != np.ascontiguousarray(ref).tobytes():
            # gguf.quants writes +0.0 as the scale of an all-zero q4_0 block where ggml writes -0.0;
            # accept exactly equal values in that case.
            same = np.array_equal(quants.dequantize(mine, qtype).reshape(-1), quants.dequantize(ref, qtype).reshape(-1))
            check(same, f"{label}: {name} data differs from gguf.quants.quantize({qtype.name})")
    # Towers and their embedders never reach the GGUF.
    for name in got:
        check("tower" not in name and "embed_vision" not in name and "embed_audio" not in name,
              f"{label}: {name} should have been skipped")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    data, work = Path(args.data), Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)

    dirs = sorted(d for d in (data / "fixtures").glob("*/*") if (d / "config.json").exists())
    check(len(dirs) >= 7, f"expected the fixture checkpoints under {data}/fixtures, found {dirs}")
    failures = 0
    n_checked = 0
    for d in dirs:
        cfg = json.loads((d / "config.json").read_text())
        for outtype in OUTTYPES:
            label = f"{d.parent.name}/{d.name} {outtype}"
            out = work / f"{d.parent.name}-{d.name}-{outtype}.gguf"
            r = subprocess.run([args.binary, "convert", str(d), "-o", str(out), "--outtype", outtype, "-t", "2"],
                               capture_output=True, text=True)
            try:
                check(r.returncode == 0, f"{label}: convert failed ({r.returncode}): {r.stderr.strip()}")
                check(not Path(str(out) + ".tmp").exists(), f"{label}: temporary file left behind")
                reader = GGUFReader(str(out))
                check_metadata(reader, cfg, outtype, label)
                check_tensors(reader, d, cfg, outtype, label)
                n_checked += 1
                print(f"ok   {label}: {len(reader.tensors)} tensors")
            except Failure as e:
                failures += 1
                print(f"FAIL {e}")
            out.unlink(missing_ok=True)
    # --no-centroids: an assistant with the centroid head converts as if it had none (what
    # llama.cpp's converter writes), and the file still drives speculative decoding.
    for d in dirs:
        cfg = json.loads((d / "config.json").read_text())
        if not cfg.get("use_ordered_embeddings"):
            continue
        label = f"{d.parent.name}/{d.name} f32 --no-centroids"
        out = work / f"{d.parent.name}-{d.name}-nocentroids.gguf"
        target = work / f"{d.parent.name}-target.gguf"
        try:
            r = subprocess.run([args.binary, "convert", str(d), "-o", str(out), "--outtype", "f32", "--no-centroids"],
                               capture_output=True, text=True)
            check(r.returncode == 0, f"{label}: convert failed ({r.returncode}): {r.stderr.strip()}")
            reader = GGUFReader(str(out))
            plain = dict(cfg, use_ordered_embeddings=False)
            check_metadata(reader, plain, "f32", label)
            check_tensors(reader, d, plain, "f32", label)
            check(not any("masked_embd" in t.name for t in reader.tensors), f"{label}: centroid tensors left out")
            check(not any("masked_embedding" in f for f in reader.fields), f"{label}: centroid keys left out")
            r = subprocess.run([args.binary, "convert", str(d.parent / "hf"), "-o", str(target), "--outtype", "f32"],
                               capture_output=True, text=True)
            check(r.returncode == 0, f"{label}: target convert failed: {r.stderr.strip()}")
            r = subprocess.run([args.binary, "generate", "-m", str(target), "--mtp", str(out), "--tokens", "2,10,20",
                                "-n", "8", "--json"], capture_output=True, text=True)
            check(r.returncode == 0, f"{label}: generate with the head failed: {r.stderr.strip()}")
            check(json.loads(r.stdout)["n_drafted"] > 0, f"{label}: the head drafted")
            n_checked += 1
            print(f"ok   {label}")
        except Failure as e:
            failures += 1
            print(f"FAIL {e}")
    print(f"{n_checked} conversions checked, {failures} failed")
    return 1 if failures or n_checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
