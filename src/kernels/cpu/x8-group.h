// One group of eight blocks moved between the GGUF layout and a packed layout of the AVX2 kernels
// (q4-x8.h, q8-x8.h). In a packed group, register t (32 bytes at 32t) holds in its dword b the
// bytes 4t..4t+3 of block b's qs, and the f16 scale of block b sits at ScalesAt + 2b.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "core/error.h"
#include "kernels/cpu/matmul.h"

namespace lf::x8 {

constexpr int64_t k_group_elems = 256;  // 8 blocks of 32

// Whether w can be packed: `type` in the GGUF layout with rows of whole groups.
inline bool packable(const weight_view& w, dtype type) {
    return w.type == type && w.layout == weight_layout::gguf && w.n_in > 0 && w.n_in % k_group_elems == 0;
}

// The view of w packed at out in `layout` (throws lf::error when w cannot be packed as `type`).
inline weight_view packed_view(const weight_view& w, const uint8_t* out, dtype type, weight_layout layout) {
    if (!packable(w, type))
        fail("cannot pack a {} matrix of {} x {} in the {} layout for avx2: it takes {} rows of a multiple of 256 "
             "elements in the GGUF layout",
             traits(w.type).name, w.n_out, w.n_in, w.layout == weight_layout::gguf ? "GGUF" : "packed", traits(type).name);
    weight_view packed = w;
    packed.data = out;
    packed.layout = layout;
    return packed;
}

// Where block b's qs bytes 4t..4t+3 sit in a packed group.
constexpr size_t qs_offset(int b, int t) { return 32 * t + 4 * b; }

template <typename Block, size_t ScalesAt>
void pack_group(const Block* blocks, uint8_t* grp) {
    constexpr int words = sizeof(Block::qs) / 4;
    for (int b = 0; b < 8; ++b) {
        for (int t = 0; t < words; ++t) std::memcpy(grp + qs_offset(b, t), blocks[b].qs + 4 * t, 4);
        std::memcpy(grp + ScalesAt + 2 * b, &blocks[b].d, 2);
    }
}

template <typename Block, size_t ScalesAt>
void unpack_group(const uint8_t* grp, Block* blocks) {
    constexpr int words = sizeof(Block::qs) / 4;
    for (int b = 0; b < 8; ++b) {
        for (int t = 0; t < words; ++t) std::memcpy(blocks[b].qs + 4 * t, grp + qs_offset(b, t), 4);
        std::memcpy(&blocks[b].d, grp + ScalesAt + 2 * b, 2);
    }
}

}  // namespace lf::x8
