// Requantizes a GGUF file to q8_0 or q4_0 the way llama-quantize decides per tensor (see
// quant-policy.h): quantizable tensors are converted from their f32/f16/bf16 data, everything
// else is copied byte for byte, all metadata is kept and general.file_type is updated.
#pragma once
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace lf {

struct quantize_options {
    bool allow_requantize = false;  // convert already-quantized tensors through f32 (lossy twice)
    int n_threads = 0;              // 0: all CPUs
};

struct quantize_step {
    std::string name;
    dtype from = dtype::f32;
    dtype to = dtype::f32;
    std::vector<int64_t> ne;
};

// Throws lf::error on bad input (unreadable file, unsupported target, quantized sources without
// allow_requantize). `progress(i, n, step)` is called before each tensor is written.
void quantize_gguf(const std::string& in_path, const std::string& out_path, dtype target, const quantize_options& opt,
                   const std::function<void(size_t, size_t, const quantize_step&)>& progress = {});

}  // namespace lf
