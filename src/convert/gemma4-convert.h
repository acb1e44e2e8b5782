// Hugging Face Gemma 4 checkpoint → GGUF, written the way upstream llama.cpp writes it: the
// `gemma4` architecture for targets (Gemma4ForCausalLM, and the text model of
// Gemma4ForConditionalGeneration / Gemma4UnifiedForConditionalGeneration, whose vision and audio
// weights are skipped) and `gemma4-assistant` for MTP drafters. Metadata keys, tensor names,
// shapes and the F32-vs-quantized policy follow gemma4-spec.md §4.2–4.4.
//
// HF stores matrices [out, in] row-major, which is GGUF `ne` {in, out} with the same bytes, so
// every tensor (3-D expert stacks included) is its HF shape reversed; nothing is transposed.
// Every tensor that is written is checked against the shape the config implies before any byte
// is written, and so are the tensors the architecture requires.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "convert/hf-config.h"
#include "core/dtype.h"
#include "gguf/gguf-writer.h"

namespace lf {

class safetensors_model;

struct convert_options {
    dtype outtype = dtype::f16;
    bool vocab_only = false;   // metadata and tokenizer only, no tensors (needs tokenizer.json)
    std::string name;          // general.name; empty: from the directory name
    int n_threads = 0;         // 0: all CPUs
    // Assistants with use_ordered_embeddings: leave out the centroid head (masked_embd_*) and
    // its keys, as llama.cpp's converter does (its loader rejects files that carry them); the
    // head then scores the whole vocabulary with its dense LM head.
    bool no_centroids = false;
};

struct planned_tensor {
    std::string name;           // GGUF name
    dtype type = dtype::f32;
    std::vector<int64_t> ne;    // GGUF order
    std::string source;         // HF tensor name, or "" when generated (rope_freqs)
};

// Everything needed to write the file; `writer` reads from `model` while writing.
struct conversion {
    hf_model_config config;
    std::shared_ptr<safetensors_model> model;
    std::vector<planned_tensor> tensors;
    std::vector<std::string> skipped;    // HF tensors deliberately left out (towers, lm_head)
    gguf_writer writer;
};

// The GGUF architecture string: "gemma4" or "gemma4-assistant".
std::string gguf_arch(const hf_model_config& cfg);

// Writes general.* and the {arch}.* hyperparameters (no tokenizer keys), in llama.cpp's order.
// `size_label` is omitted when empty (vocab-only files carry none).
void write_gemma4_metadata(gguf_writer& w, const hf_model_config& cfg, dtype outtype, const std::string& name,
                           const std::string& size_label);

// The values of rope_freqs.weight: head_dim_full/2 factors, 1 for the rotated fraction, 1e30
// (≈ no rotation) for the rest.
std::vector<float> gemma4_rope_freqs(const gemma4_text_config& c);

// llama.cpp's size label ("8.2M", "8x1.2B") from the planned tensors.
std::string size_label_of(const std::vector<planned_tensor>& tensors);

// Title-cases a directory name as llama.cpp derives general.name ("tiny-gemma4" → "Tiny Gemma4").
std::string name_from_dir(const std::string& dir);

// Reads config.json, the safetensors and (when present) tokenizer.json of `hf_dir`, validates
// them and prepares the writer. Throws lf::error naming the problem.
conversion plan_conversion(const std::string& hf_dir, const convert_options& opt);

// plan_conversion + write. `progress(i, n, tensor)` is called before each tensor.
void convert_hf_to_gguf(const std::string& hf_dir, const std::string& out_path, const convert_options& opt,
                        const std::function<void(size_t, size_t, const planned_tensor&)>& progress = {});

}  // namespace lf
