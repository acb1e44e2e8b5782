// q4_0 matrices repacked for the AVX2 kernels (weight_layout::q4_0_x8). Those kernels put one
// block per 32-bit lane, eight blocks (a group, 256 elements) per register. From GGUF's 18-byte
// blocks that takes eight unaligned loads, a 4x4 dword transpose and a shuffle of the scales for
// every group of every weight row, whatever the number of activation rows. Packed once at load
// time, a group is four 32-byte loads and one 16-byte load.
//
// A packed group is 144 bytes, as many as its eight blocks:
//   bytes [0, 128)    nibbles: 32 bytes per register k = 0..3, whose dword b holds bytes
//                     4k..4k+3 of block b's qs (low nibbles: elements 4k..4k+3, high: 16 + 4k..)
//   bytes [128, 144)  scales: the f16 d of block b at 128 + 2b
// Rows are stored in pairs (2p, 2p + 1) at the pair's place in the matrix, 2p * row_bytes, with
// their groups interleaved: row 2p's group g at 288 g, row 2p + 1's at 288 g + 144. A pair tile
// then reads its two rows in one ascending sweep. With an odd number of rows the last row stands
// alone at its place, its groups one after the other. The matrix has the size of the GGUF one.
// The kernels read the values they read from the GGUF layout, in the same lanes, so products
// have the same bits in both layouts.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/cpu/matmul.h"
#include "quant/quant.h"

namespace lf {

constexpr int64_t k_q4_0_x8_group_elems = 256;  // 8 blocks of 32
constexpr size_t k_q4_0_x8_group_bytes = 144;   // 128 bytes of nibbles, 16 of scales
constexpr size_t k_q4_0_x8_scales_at = 128;     // where a group's scales start

// Whether a matrix can be packed: q4_0 in the GGUF layout with n_in a multiple of 256.
bool q4_0_x8_packable(const weight_view& w);

// Row o of a packed matrix: group g starts at first + g * stride.
struct q4_0_x8_row {
    const uint8_t* first;
    size_t stride;
};
q4_0_x8_row q4_0_x8_row_at(const weight_view& w, int64_t o);

// Packs w (q4_0_x8_packable) into out (w's size, row_bytes(q4_0, n_in) * n_out bytes) and
// returns the view of the packed copy. pack_q4_0_x8_rows packs rows [o0, o1) only (o0 even),
// so that several threads can share a matrix.
weight_view pack_q4_0_x8(const weight_view& w, uint8_t* out);
void pack_q4_0_x8_rows(const weight_view& w, uint8_t* out, int64_t o0, int64_t o1);
// The view of w packed at out (throws lf::error when w cannot be packed).
weight_view q4_0_x8_view(const weight_view& w, const uint8_t* out);

// Row o of a packed matrix back in the GGUF layout (out: n_in / 32 blocks).
void unpack_q4_0_x8_row(const weight_view& w, int64_t o, block_q4_0* out);

}  // namespace lf
