// Typed access to a GGUF's tensors with shape checks. A tensor that is missing or has the wrong
// shape is refused with a message naming it, expected and found.
#pragma once
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "kernels/cpu/matmul.h"

namespace lf {

class weight_loader {
public:
    explicit weight_loader(const gguf_file& f) : f_(f) {}

    // A matrix with GGUF ne = {n_in, n_out} (n_out rows of n_in), any supported type.
    weight_view matrix(const std::string& name, int64_t n_in, int64_t n_out) const;
    // A stack of n_mat matrices, ne = {n_in, n_out, n_mat}; returns the view of matrix 0 (the
    // rest follow at a stride of n_out rows).
    weight_view matrix3(const std::string& name, int64_t n_in, int64_t n_out, int64_t n_mat) const;
    // A vector of n floats (any float type, converted to f32).
    std::vector<float> vec(const std::string& name, int64_t n) const;

    bool has(const std::string& name) const { return f_.find_tensor(name) != nullptr; }
    const gguf_tensor& get(const std::string& name) const;

private:
    void check_shape(const gguf_tensor& t, const std::vector<int64_t>& want) const;
    const gguf_file& f_;
};

// Dequantizes row `row` of a matrix into out (f32 [n_in]).
void dequantize_matrix_row(const weight_view& w, int64_t row, float* out);

}  // namespace lf
