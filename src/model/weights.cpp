#include "model/weights.h"

#include <fmt/ranges.h>

#include "core/error.h"
#include "quant/quant.h"

namespace lf {

const gguf_tensor& weight_loader::get(const std::string& name) const {
    const gguf_tensor* t = f_.find_tensor(name);
    if (!t) fail("missing tensor '{}'", name);
    return *t;
}

void weight_loader::check_shape(const gguf_tensor& t, const std::vector<int64_t>& want) const {
    // Trailing dimensions of 1 are equivalent ({64} == {64, 1}).
    auto trim = [](std::vector<int64_t> v) {
        while (v.size() > 1 && v.back() == 1) v.pop_back();
        return v;
    };
    if (trim(t.ne) != trim(want))
        fail("tensor '{}' has shape [{}], expected [{}]", t.name, fmt::join(t.ne, ", "), fmt::join(want, ", "));
}

weight_view weight_loader::matrix(const std::string& name, int64_t n_in, int64_t n_out) const {
    const gguf_tensor& t = get(name);
    check_shape(t, {n_in, n_out});
    return {t.type, t.data, n_in, n_out};
}

weight_view weight_loader::matrix3(const std::string& name, int64_t n_in, int64_t n_out, int64_t n_mat) const {
    const gguf_tensor& t = get(name);
    check_shape(t, {n_in, n_out, n_mat});
    return {t.type, t.data, n_in, n_out};
}

std::vector<float> weight_loader::vec(const std::string& name, int64_t n) const {
    const gguf_tensor& t = get(name);
    check_shape(t, {n});
    if (t.type != dtype::f32 && t.type != dtype::f16 && t.type != dtype::bf16)
        fail("tensor '{}' must be a float type, found {}", name, traits(t.type).name);
    std::vector<float> out(n);
    dequantize_row(t.type, t.data, out.data(), n);
    return out;
}

void dequantize_matrix_row(const weight_view& w, int64_t row, float* out) {
    thread_local std::vector<uint8_t> unpacked;  // a packed row back in the GGUF layout
    unpacked.resize(row_bytes(w.type, w.n_in));
    dequantize_row(w.type, gguf_row(w, row, unpacked.data()), out, w.n_in);
}

}  // namespace lf
