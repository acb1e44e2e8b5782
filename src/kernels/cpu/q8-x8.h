// q8_0 matrices repacked for the AVX2 kernels (weight_layout::q8_0_x8), as q4-x8.h does for
// q4_0. From GGUF's 34-byte blocks the kernels' one-block-per-lane registers take sixteen
// unaligned 16-byte loads, two 4x4 dword transposes and eight scalar loads of scales for every
// group of every weight row; at several activation rows those instructions, not the memory, bound
// the product (BENCHMARKS.md). Packed once at load time, a group is eight 32-byte loads and one
// 16-byte load.
//
// A packed group is 272 bytes, as many as its eight blocks:
//   bytes [0, 256)    quants: 32 bytes per register t = 0..7, whose dword b holds bytes
//                     4t..4t+3 of block b's qs (elements 4t..4t+3)
//   bytes [256, 272)  scales: the f16 d of block b at 256 + 2b
// Each row keeps its place in the matrix, o * row_bytes, with its groups one after the other, so
// the matrix has the size of the GGUF one and a row is found as in the GGUF layout. The kernels
// read the values they read from the GGUF layout, in the same lanes, so products have the same
// bits in both layouts.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/cpu/matmul.h"
#include "quant/quant.h"

namespace lf {

constexpr int64_t k_q8_0_x8_group_elems = 256;  // 8 blocks of 32
constexpr size_t k_q8_0_x8_group_bytes = 272;   // 256 bytes of quants, 16 of scales
constexpr size_t k_q8_0_x8_scales_at = 256;     // where a group's scales start

// Whether a matrix can be packed: q8_0 in the GGUF layout with n_in a multiple of 256.
bool q8_0_x8_packable(const weight_view& w);

// Packs w (q8_0_x8_packable) into out (w's size, row_bytes(q8_0, n_in) * n_out bytes) and
// returns the view of the packed copy. pack_q8_0_x8_rows packs rows [o0, o1) only, so that
// several threads can share a matrix.
weight_view pack_q8_0_x8(const weight_view& w, uint8_t* out);
void pack_q8_0_x8_rows(const weight_view& w, uint8_t* out, int64_t o0, int64_t o1);
// The view of w packed at out (throws lf::error when w cannot be packed).
weight_view q8_0_x8_view(const weight_view& w, const uint8_t* out);

// Row o of a packed matrix back in the GGUF layout (out: n_in / 32 blocks).
void unpack_q8_0_x8_row(const weight_view& w, int64_t o, block_q8_0* out);

}  // namespace lf
