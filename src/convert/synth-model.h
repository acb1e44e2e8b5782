// Random-weight Gemma 4 models at published shapes (`leapfrog synth`), for speed work without
// downloads. The file is what `leapfrog convert` would write for a checkpoint of that config:
// the same metadata (write_gemma4_metadata), tensor names, shapes and type policy
// (convert_type), plus a stand-in tokenizer (synth-vocab.h) so llama.cpp and `leapfrog serve`
// load it too.
//
// Values are seeded and deterministic (independent of the thread count): matrices are normal
// with std 1/sqrt(n_in) (the PLE token table 1/sqrt(P), so its rows scaled by sqrt(P) have unit
// RMS as the embeddings do), norm weights 1 + N(0, 0.02²), layer scalars, router and expert
// scales near 1, rope_freqs as the converter writes it, and the assistant's token ordering a
// random permutation of the vocabulary. Tensors are generated one at a time while the file is
// written, so a multi-GB model needs only its largest tensor in memory.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "convert/gemma4-convert.h"
#include "convert/hf-config.h"
#include "core/dtype.h"

namespace lf {

struct synth_options {
    dtype type = dtype::q4_0;  // the file type, as --outtype of convert
    uint64_t seed = 0;
    int64_t n_layers = 0;      // 0: as configured; otherwise keep this many layers (the last ones)
    int64_t n_vocab = 0;       // 0: as configured; otherwise this vocabulary size
    std::string name;          // general.name; empty: from the config's file name
    // Assistants with use_ordered_embeddings: write the centroid head (masked_embd_*), as
    // `leapfrog convert` does. llama.cpp's converter drops it and its loader rejects files that
    // carry it, so false gives a head llama.cpp loads (it then scores the whole vocabulary).
    bool centroids = true;
    int n_threads = 0;         // 0: all CPUs
};

// Applies --layers / --vocab to a config.json object. Keeping the last N layer types keeps the
// last layer full-attention; KV-shared layers are scaled down with the layer count and reduced
// until every shared layer has an earlier non-shared layer of its type to read (assistants stay
// all-shared). Throws lf::error on a count out of range.
nlohmann::json shrink_config(const nlohmann::json& config, int64_t n_layers, int64_t n_vocab);

struct synth_plan {
    hf_model_config config;
    std::vector<planned_tensor> tensors;  // names, types and shapes in file order
    gguf_writer writer;                   // metadata set, tensors attached (generated on write)
};

// Parses and shrinks the config, plans every tensor and sets the metadata. `config_name` is the
// config's file name (for general.name).
synth_plan plan_synth(const nlohmann::json& config, const std::string& config_name, const synth_options& opt);

// Reads CONFIG.json and writes the model. `progress(i, n, tensor)` is called before each tensor.
void synth_model(const std::string& config_path, const std::string& out_path, const synth_options& opt,
                 const std::function<void(size_t, size_t, const planned_tensor&)>& progress = {});

}  // namespace lf
