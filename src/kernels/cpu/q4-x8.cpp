#include "kernels/cpu/q4-x8.h"

#include <cstring>

#include "core/error.h"

namespace lf {

namespace {

// Where block b's qs bytes 4k..4k+3 and its scale sit in a packed group (q4-x8.h).
constexpr size_t qs_offset(int b, int k) { return 32 * k + 4 * b; }
constexpr size_t scale_offset(int b) { return 128 + 2 * b; }

}  // namespace

bool q4_0_x8_packable(const weight_view& w) {
    return w.type == dtype::q4_0 && w.layout == weight_layout::gguf && w.n_in > 0 &&
           w.n_in % k_q4_0_x8_group_elems == 0;
}

q4_0_x8_row q4_0_x8_row_at(const weight_view& w, int64_t o) {
    const size_t rb = row_bytes(dtype::q4_0, w.n_in);
    const auto* base = static_cast<const uint8_t*>(w.data);
    const bool paired = (o | 1) < w.n_out;
    if (!paired) return {base + static_cast<size_t>(o) * rb, k_q4_0_x8_group_bytes};
    return {base + static_cast<size_t>(o & ~int64_t{1}) * rb + (o & 1) * k_q4_0_x8_group_bytes,
            2 * k_q4_0_x8_group_bytes};
}

weight_view q4_0_x8_view(const weight_view& w, const uint8_t* out) {
    if (!q4_0_x8_packable(w))
        fail("cannot pack a {} matrix of {} x {} in the {} layout for avx2: it takes q4_0 rows of a multiple of 256 "
             "elements in the GGUF layout",
             traits(w.type).name, w.n_out, w.n_in, w.layout == weight_layout::gguf ? "GGUF" : "packed");
    weight_view packed = w;
    packed.data = out;
    packed.layout = weight_layout::q4_0_x8;
    return packed;
}

void pack_q4_0_x8_rows(const weight_view& w, uint8_t* out, int64_t o0, int64_t o1) {
    const weight_view packed = q4_0_x8_view(w, out);
    LF_CHECK(o0 >= 0 && o0 % 2 == 0 && o0 <= o1 && o1 <= w.n_out);
    const size_t rb = row_bytes(dtype::q4_0, w.n_in);
    const int64_t ng = w.n_in / k_q4_0_x8_group_elems;
    for (int64_t o = o0; o < o1; ++o) {
        const auto* in = reinterpret_cast<const block_q4_0*>(static_cast<const uint8_t*>(w.data) + o * rb);
        const q4_0_x8_row row = q4_0_x8_row_at(packed, o);
        for (int64_t g = 0; g < ng; ++g) {
            uint8_t* grp = const_cast<uint8_t*>(row.first) + g * row.stride;  // row.first points into out
            for (int b = 0; b < 8; ++b) {
                const block_q4_0& blk = in[8 * g + b];
                for (int k = 0; k < 4; ++k) std::memcpy(grp + qs_offset(b, k), blk.qs + 4 * k, 4);
                std::memcpy(grp + scale_offset(b), &blk.d, 2);
            }
        }
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
    for (int64_t g = 0; g < ng; ++g) {
        const uint8_t* grp = row.first + g * row.stride;
        for (int b = 0; b < 8; ++b) {
            block_q4_0& blk = out[8 * g + b];
            for (int k = 0; k < 4; ++k) std::memcpy(blk.qs + 4 * k, grp + qs_offset(b, k), 4);
            std::memcpy(&blk.d, grp + scale_offset(b), 2);
        }
    }
}

}  // namespace lf
