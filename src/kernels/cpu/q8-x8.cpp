#include "kernels/cpu/q8-x8.h"

#include <cstring>

#include "core/error.h"

namespace lf {

namespace {

// Where block b's qs bytes 4t..4t+3 and its scale sit in a packed group (q8-x8.h).
constexpr size_t qs_offset(int b, int t) { return 32 * t + 4 * b; }
constexpr size_t scale_offset(int b) { return 256 + 2 * b; }

}  // namespace

bool q8_0_x8_packable(const weight_view& w) {
    return w.type == dtype::q8_0 && w.layout == weight_layout::gguf && w.n_in > 0 &&
           w.n_in % k_q8_0_x8_group_elems == 0;
}

weight_view q8_0_x8_view(const weight_view& w, const uint8_t* out) {
    if (!q8_0_x8_packable(w))
        fail("cannot pack a {} matrix of {} x {} in the {} layout for avx2: it takes q8_0 rows of a multiple of 256 "
             "elements in the GGUF layout",
             traits(w.type).name, w.n_out, w.n_in, w.layout == weight_layout::gguf ? "GGUF" : "packed");
    weight_view packed = w;
    packed.data = out;
    packed.layout = weight_layout::q8_0_x8;
    return packed;
}

void pack_q8_0_x8_rows(const weight_view& w, uint8_t* out, int64_t o0, int64_t o1) {
    q8_0_x8_view(w, out);  // checks that w can be packed
    LF_CHECK(o0 >= 0 && o0 <= o1 && o1 <= w.n_out);
    const size_t rb = row_bytes(dtype::q8_0, w.n_in);
    const int64_t ng = w.n_in / k_q8_0_x8_group_elems;
    for (int64_t o = o0; o < o1; ++o) {
        const auto* in = reinterpret_cast<const block_q8_0*>(static_cast<const uint8_t*>(w.data) + o * rb);
        for (int64_t g = 0; g < ng; ++g) {
            uint8_t* grp = out + o * rb + g * k_q8_0_x8_group_bytes;
            for (int b = 0; b < 8; ++b) {
                const block_q8_0& blk = in[8 * g + b];
                for (int t = 0; t < 8; ++t) std::memcpy(grp + qs_offset(b, t), blk.qs + 4 * t, 4);
                std::memcpy(grp + scale_offset(b), &blk.d, 2);
            }
        }
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
    for (int64_t g = 0; g < ng; ++g) {
        const uint8_t* grp = row + g * k_q8_0_x8_group_bytes;
        for (int b = 0; b < 8; ++b) {
            block_q8_0& blk = out[8 * g + b];
            for (int t = 0; t < 8; ++t) std::memcpy(blk.qs + 4 * t, grp + qs_offset(b, t), 4);
            std::memcpy(&blk.d, grp + scale_offset(b), 2);
        }
    }
}

}  // namespace lf
