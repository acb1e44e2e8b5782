#include "kernels/cpu/q4-x8.h"

#include "core/error.h"
#include "kernels/cpu/x8-group.h"

namespace lf {

bool q4_0_x8_packable(const weight_view& w) { return x8::packable(w, dtype::q4_0); }

q4_0_x8_row q4_0_x8_row_at(const weight_view& w, int64_t o) {
    const size_t rb = row_bytes(dtype::q4_0, w.n_in);
    const auto* base = static_cast<const uint8_t*>(w.data);
    const bool paired = (o | 1) < w.n_out;
    if (!paired) return {base + static_cast<size_t>(o) * rb, k_q4_0_x8_group_bytes};
    return {base + static_cast<size_t>(o & ~int64_t{1}) * rb + (o & 1) * k_q4_0_x8_group_bytes,
            2 * k_q4_0_x8_group_bytes};
}

weight_view q4_0_x8_view(const weight_view& w, const uint8_t* out) {
    return x8::packed_view(w, out, dtype::q4_0, weight_layout::q4_0_x8);
}

void pack_q4_0_x8_rows(const weight_view& w, uint8_t* out, int64_t o0, int64_t o1) {
    const weight_view packed = q4_0_x8_view(w, out);
    LF_CHECK(o0 >= 0 && o0 % 2 == 0 && o0 <= o1 && o1 <= w.n_out);
    const size_t rb = row_bytes(dtype::q4_0, w.n_in);
    const int64_t ng = w.n_in / k_q4_0_x8_group_elems;
    for (int64_t o = o0; o < o1; ++o) {
        const auto* in = reinterpret_cast<const block_q4_0*>(static_cast<const uint8_t*>(w.data) + o * rb);
        const q4_0_x8_row row = q4_0_x8_row_at(packed, o);
        uint8_t* const first = const_cast<uint8_t*>(row.first);  // row.first points into out
        for (int64_t g = 0; g < ng; ++g) x8::pack_group<block_q4_0, k_q4_0_x8_scales_at>(in + 8 * g, first + g * row.stride);
    }
}

weight_view pack_q4_0_x8(const weight_view& w, uint8_t* out) {
    const weight_view packed = q4_0_x8_view(w, out);
    pack_q4_0_x8_rows(w, out, 0, w.n_out);
    return packed;
}

void unpack_q4_0_x8_row(const weight_view& w, int64_t o, block_q4_0* out) {
    LF_CHECK(w.layout == weight_layout::q4_0_x8 && o >= 0 && o < w.n_out);
    const q4_0_x8_row row = q4_0_x8_row_at(w, o);
    const int64_t ng = w.n_in / k_q4_0_x8_group_elems;
    for (int64_t g = 0; g < ng; ++g) 
        x8::unpack_group<block_q4_0, k_q4_0_x8_scales_at>(row.first + g * row.stride, out + 8 * g);
}

}  // namespace lf
