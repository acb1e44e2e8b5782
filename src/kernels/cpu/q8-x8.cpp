#include "kernels/cpu/q8-x8.h"

#include "core/error.h"
#include "kernels/cpu/x8-group.h"

namespace lf {

bool q8_0_x8_packable(const weight_view& w) { return x8::packable(w, dtype::q8_0); }

weight_view q8_0_x8_view(const weight_view& w, const uint8_t* out) {
    return x8::packed_view(w, out, dtype::q8_0, weight_layout::q8_0_x8);
}

void pack_q8_0_x8_rows(const weight_view& w, uint8_t* out, int64_t o0, int64_t o1) {
    q8_0_x8_view(w, out);  // checks that w can be packed
    LF_CHECK(o0 >= 0 && o0 <= o1 && o1 <= w.n_out);
    const size_t rb = row_bytes(dtype::q8_0, w.n_in);
    const int64_t ng = w.n_in / k_q8_0_x8_group_elems;
    for (int64_t o = o0; o < o1; ++o) {
        const auto* in = reinterpret_cast<const block_q8_0*>(static_cast<const uint8_t*>(w.data) + o * rb);
        for (int64_t g = 0; g < ng; ++g)
            x8::pack_group<block_q8_0, k_q8_0_x8_scales_at>(in + 8 * g, out + o * rb + g * k_q8_0_x8_group_bytes);
    }
}

weight_view pack_q8_0_x8(const weight_view& w, uint8_t* out) {
    const weight_view packed = q8_0_x8_view(w, out);
    pack_q8_0_x8_rows(w, out, 0, w.n_out);
    return packed;
}

void unpack_q8_0_x8_row(const weight_view& w, int64_t o, block_q8_0* out) {
    LF_CHECK(w.layout == weight_layout::q8_0_x8 && o >= 0 && o < w.n_out);
    const uint8_t* row = static_cast<const uint8_t*>(w.data) + o * row_bytes(dtype::q8_0, w.n_in);
    const int64_t ng = w.n_in / k_q8_0_x8_group_elems;
    for (int64_t g = 0; g < ng; ++g)
        x8::unpack_group<block_q8_0, k_q8_0_x8_scales_at>(row + g * k_q8_0_x8_group_bytes, out + 8 * g);
}

}  // namespace lf
