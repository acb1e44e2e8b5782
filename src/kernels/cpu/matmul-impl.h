// Internal contract between the matmul driver (matmul.cpp) and its per-ISA kernels
// (matmul-avx2.cpp, matmul-avx512.cpp, matmul-neon.cpp). Not for use outside src/kernels and
// tests/kernels.
//
// A level supplies four functions. For q8_0/q4_0 weights the driver first has every activation
// row quantized to q8_0 (ggml's reference rounding, bit-exact) into a scratch buffer laid out as
// the level likes for that weight type (act_bytes/quantize_act), then calls dot_rows on chunks
// of output rows.
// Invariants every level keeps:
//   - y[r, o] is computed by one fixed sequence of operations that depends only on (o, r)'s data:
//     not on n_rows, on the position of r in the batch, on the chunking or on the thread. So a
//     token's logits are the same whether it is decoded alone or verified among drafts.
//   - integer block sums are exact. The float work that follows is the level's own fixed
//     sequence (the scalar reference's, or vector lanes accumulated across blocks with FMA and
//     reduced once at the end), so levels differ from the reference by f32 rounding only.
#pragma once
#include <cstddef>
#include <cstdint>
#include <utility>

#include "kernels/cpu/matmul.h"
#include "quant/quant.h"

// Small loops over a tile's rows must be unrolled so each accumulator stays in a register.
#define LF_UNROLL _Pragma("GCC unroll 16")

namespace lf::cpu {

#if defined(__x86_64__)
// An empty asm that claims to change the vector register v (any width). The compiler can then
// neither reuse values it computed from v earlier nor regroup the sums v takes part in, and
// cannot fold a load of v into each of its uses. Without it GCC regroups a tile's running sums
// into trees, keeps values it could recompute, and loads a value shared by several products once
// per product, and the registers spill or the loads are not shared (q4_pair_pass, score_keys).
template <typename V>
inline __attribute__((always_inline)) void opaque(V& v) {
    asm("" : "+v"(v));
}
#endif

struct matmul_job {
    weight_view w;
    const float* x = nullptr;   // f32 [n_rows, n_in]: the activations (float weight types)
    const void* xq = nullptr;   // activations quantized by the level's quantize_act (q types)
    int64_t n_rows = 0;
    float* y = nullptr;         // f32 [n_rows, n_out]
};

struct matmul_kernels {
    // Bytes of scratch for n_rows quantized activation rows of n_in elements (n_in % 32 == 0),
    // to be multiplied by weights of type wtype (q8_0 or q4_0).
    size_t (*act_bytes)(dtype wtype, int64_t n_rows, int64_t n_in);
    // Quantizes activation rows [row0, row1) of x (f32 [n_rows, n_in]) into the scratch.
    void (*quantize_act)(dtype wtype, const float* x, int64_t n_rows, int64_t n_in, int64_t row0, int64_t row1,
                         void* xq);
    // Reads quantized row r back as q8_0 blocks (tests compare it with quantize_row_q8_0_ref).
    void (*act_to_q8_0)(dtype wtype, const void* xq, int64_t n_rows, int64_t n_in, int64_t r, block_q8_0* out);
    // y[r, o] for all rows r and output rows o in [o0, o1).
    void (*dot_rows)(const matmul_job& job, int64_t o0, int64_t o1);
};

// Quantized activations as the NEON level reads them: ggml's q8_0 values and scales, stored
// block-major so the rows of a tile sit at fixed distances from one pointer (cheap addressing)
// and a block's four-byte groups can be broadcast straight from memory.
// Block ib of row r is entry e = ib * n_rows + r.
struct q8_act {
    int8_t* qs;    // int8 [n_in / 32, n_rows, 32]: q8_0 values
    int32_t* sum;  // i32 [n_in / 32, n_rows]: sum of each block's values (for unsigned-weight tricks)
    float* d;      // f32 [n_in / 32, n_rows]: each block's scale, rounded to f16 as ggml stores it
};

inline size_t align64(size_t n) { return (n + 63) & ~size_t{63}; }

inline size_t q8_act_bytes(dtype, int64_t n_rows, int64_t n_in) {
    const size_t nb = static_cast<size_t>(n_rows * (n_in / 32));
    return align64(static_cast<size_t>(n_rows * n_in)) + align64(nb * 4) + nb * 4;
}

inline q8_act q8_act_at(const void* xq, int64_t n_rows, int64_t n_in) {
    auto* base = static_cast<uint8_t*>(const_cast<void*>(xq));
    const size_t nb = static_cast<size_t>(n_rows * (n_in / 32));
    const size_t qs_bytes = align64(static_cast<size_t>(n_rows * n_in));
    return {reinterpret_cast<int8_t*>(base), reinterpret_cast<int32_t*>(base + qs_bytes),
            reinterpret_cast<float*>(base + qs_bytes + align64(nb * 4))};
}

void q8_act_to_q8_0(dtype wtype, const void* xq, int64_t n_rows, int64_t n_in, int64_t r, block_q8_0* out);

// Quantized activations for kernels that put one block per 32-bit lane (AVX-512: L = 16 lanes,
// AVX2: L = 8): each row is a run of groups of L blocks, everything a group needs in one record,
// transposed so that register t holds every block's values 4t..4t+3.
// Unsigned-by-signed byte products (dpbusd, maddubs) need unsigned weights: q4_0 nibbles are
// used as they are (0..15, standing for q - 8), and on AVX-512 q8_0 weights as w + 128. The
// excess, c times the block's activation sum (c: the level's choice per weight type), is
// removed by starting each lane's integer sum at `bias`.
template <int L>
struct alignas(64) q8_lanes {
    int8_t x[8][4 * L];  // int8: x[t] lane_of_block(b) = values 4t..4t+3 of block L*g+b (zeros past the row's end)
    int32_t bias[L];     // i32: lane_of_block(b) = -c * (sum of block L*g+b's values)
    float d[L];          // f32: lane_of_block(b) = block L*g+b's scale (f16-rounded; 0 past the row's end)
};
using q8_group = q8_lanes<16>;
static_assert(sizeof(q8_group) == 640);
static_assert(sizeof(q8_lanes<8>) == 320);

template <int L>
inline int64_t q8_lanes_per_row(int64_t n_in) { return (n_in / 32 + L - 1) / L; }
template <int L>
inline size_t q8_lanes_bytes(dtype, int64_t n_rows, int64_t n_in) {
    return static_cast<size_t>(n_rows * q8_lanes_per_row<L>(n_in)) * sizeof(q8_lanes<L>);
}
inline int64_t q8_groups_per_row(int64_t n_in) { return q8_lanes_per_row<16>(n_in); }

// Activation rows the quantized kernels keep in cache while a task's weights stream by: a batch
// of at most this many rows reads each weight once (the driver sizes its tasks on that).
constexpr int64_t k_act_rows = 32;

// Quantized tiles prefetch the weight rows this far ahead of the rows they read: about 7 KiB of
// q4_0 at n_in = 1536, a few hundred nanoseconds of streaming, enough to cover DRAM latency
// when four activation rows slow down how fast each group is consumed.
constexpr int64_t k_prefetch_rows = 8;

// Requests the Bytes at p again k_prefetch_rows weight rows (of rb bytes) ahead: a tile calls it
// for each group it is about to read, which keeps the stream ahead of the loads even when several
// activation rows make each group slow to consume.
template <size_t Bytes>
inline void prefetch_rows_ahead(const uint8_t* p, size_t rb) {
    LF_UNROLL
    for (size_t off = 0; off < Bytes; off += 64) __builtin_prefetch(p + k_prefetch_rows * rb + off, 0, 3);
}

// The lane of a group that holds block b: the AVX-512 kernels load blocks 4m..4m+3 into one
// register and transpose, which leaves block 4m+i in lane 4i+m; AVX2 keeps block order.
template <int L>
constexpr int lane_of_block(int b) { return L == 16 ? 4 * (b % 4) + b / 4 : b; }

// Reads row r back as q8_0 blocks; a bias that is not -excess times the block sum, or padding
// that is not zero, marks the row with a NaN scale so tests see it.
template <int L>
void q8_lanes_to_q8_0(int excess, const void* xq, int64_t n_rows, int64_t n_in, int64_t r, block_q8_0* out);

// For a tile of n_tile output rows of which only n_valid exist (the end of the matrix): a
// per-thread copy of the n_valid rows (row_bytes apart) followed by copies of the last one, so
// tile kernels can always address n_tile rows. Rare; the buffer only ever grows.
const uint8_t* padded_rows(const uint8_t* rows, size_t row_bytes, int n_valid, int n_tile);

// A register tile: W consecutive weight rows (the first at wrow, then every wrow_bytes) times
// activation rows r0 .. r0+R-1, into out[j * R + k] for weight row j and activation row k.
// A level instantiates one per (W, R) so the W*R accumulators live in registers: each weight
// load serves R rows and each activation load serves W outputs.
using tile_fn = void (*)(const matmul_job& job, const uint8_t* wrow, size_t wrow_bytes, int64_t r0, float* out);

struct tile_table {
    int max_r = 1;                   // activation rows per tile, at most 8
    int w_for_r[9] = {};             // weight rows per tile for a group of r activation rows
    tile_fn fn[4][8] = {};           // fn[w - 1][r - 1], set for every w <= w_for_r[r]
};

// Builds a table from K::max_r, K::w_for_r[9] and K::run<W, R>, instantiating only the (W, R)
// pairs the table uses.
template <typename K, int W, int R>
constexpr tile_fn tile_or_null() {
    if constexpr (R <= K::max_r && W <= K::w_for_r[R]) return &K::template run<W, R>;
    else return nullptr;
}
template <typename K, int W, int... R0>
constexpr void fill_tiles(tile_table& t, std::integer_sequence<int, R0...>) {
    ((t.fn[W - 1][R0] = tile_or_null<K, W, R0 + 1>()), ...);
}
template <typename K>
constexpr tile_table make_tile_table() {
    tile_table t;
    t.max_r = K::max_r;
    for (int r = 0; r <= 8; ++r) t.w_for_r[r] = K::w_for_r[r];
    fill_tiles<K, 1>(t, std::make_integer_sequence<int, 8>{});
    fill_tiles<K, 2>(t, std::make_integer_sequence<int, 8>{});
    fill_tiles<K, 3>(t, std::make_integer_sequence<int, 8>{});
    fill_tiles<K, 4>(t, std::make_integer_sequence<int, 8>{});
    return t;
}

// The loop the SIMD levels share: output rows [o0, o1) in steps of 4, activation rows in tiles
// that stay in L2 beside the task's weight rows, register tiles from the table.
void dot_rows_tiled(const matmul_job& job, int64_t o0, int64_t o1, const tile_table& tiles);

// The level for a LEAPFROG_ISA value: the named level when supported, else the best one below
// it, else the best; null or empty means the best. *understood (if given) is false for a value
// that names no level.
cpu_isa resolve_isa(const char* requested, bool* understood);

// The kernels of a level, or nullptr when this build or CPU lacks it.
const matmul_kernels* kernels_for(cpu_isa isa);

// Per-file tables (defined only where the file is compiled for the target architecture).
extern const matmul_kernels k_scalar_kernels;
#if defined(__x86_64__)
extern const matmul_kernels k_avx2_kernels;
extern const matmul_kernels k_avx512_kernels;
#endif
#if defined(__aarch64__)
extern const matmul_kernels k_neon_kernels;
#endif

}  // namespace lf::cpu
