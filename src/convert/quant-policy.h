// Which tensors get which type, as llama.cpp's converter (convert_hf_to_gguf) and quantizer
// (llama-quantize) decide it, restricted to the types leapfrog has. Names are GGUF tensor names,
// shapes GGUF `ne` (ne[0] = row length).
//
// Converter: 1-D tensors, `*_norm.weight`, names not ending in `.weight` and `ffn_gate_inp.weight`
// stay F32; everything else takes --outtype. Quantizer: only tensors of two or more dimensions
// whose name ends in "weight" are quantized, never `*_norm.weight`, `ffn_gate_inp.weight` or
// `per_layer_model_proj`. A row length that is not a multiple of the block size falls back to F16
// (llama.cpp's fallback for q4_0/q8_0). Because Gemma 4 ties its output to `token_embd`,
// llama-quantize treats `token_embd` as the output tensor and gives it q6_k in q4_0 files; leapfrog
// has no q6_k, so it uses q8_0 there (llama.cpp's choice when q6_k does not fit).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace lf {

// general.file_type for a whole-file type (llama.cpp's LlamaFileType: ALL_F32 0, MOSTLY_F16 1,
// MOSTLY_Q4_0 2, MOSTLY_Q8_0 7, MOSTLY_BF16 32).
uint32_t file_type_of(dtype file_type);

// The type `leapfrog convert --outtype outtype` writes for a tensor.
dtype convert_type(const std::string& name, const std::vector<int64_t>& ne, dtype outtype);

// Whether `leapfrog quantize` quantizes the tensor at all (otherwise it is copied unchanged).
bool is_quantizable(const std::string& name, size_t n_dims);

// The type a quantizable tensor gets when the file is quantized to `target` (q8_0 or q4_0).
dtype quantized_type(const std::string& name, int64_t ne0, dtype target);

}  // namespace lf
