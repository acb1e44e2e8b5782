// Internal contract between the matmul driver (matmul.cpp) and its per-ISA kernels
// (matmul-avx2.cpp, matmul-avx512.cpp, matmul-neon.cpp). Not for use outside src/kernels and
// tests/kernels.
//
// A level supplies three functions. For q8_0/q4_0 weights the driver first has every activation
// row quantized to q8_0 (ggml's reference rounding, bit-exact) into a scratch buffer laid out as
// the level likes (act_bytes/quantize_act), then calls dot_rows on chunks of output rows.
// Invariants every level keeps:
//   - y[r, o] is computed by one fixed sequence of operations that depends only on (o, r)'s data:
//     not on n_rows, on the position of r in the batch, on the chunking or on the thread. So a
//     token's logits are the same whether it is decoded alone or verified among drafts.
//   - integer block sums are exact; only their f32 accumulation order differs between levels.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/cpu/matmul.h"
#include "quant/quant.h"

namespace lf::cpu {

struct matmul_job {
    weight_view w;
    const float* x = nullptr;   // f32 [n_rows, n_in]: the activations (float weight types)
    const void* xq = nullptr;   // activations quantized by the level's quantize_act (q types)
    int64_t n_rows = 0;
    float* y = nullptr;         // f32 [n_rows, n_out]
};

struct matmul_kernels {
    // Bytes of scratch for n_rows quantized activation rows of n_in elements (n_in % 32 == 0).
    size_t (*act_bytes)(int64_t n_rows, int64_t n_in);
    // Quantizes activation rows [row0, row1) of x (f32 [n_rows, n_in]) into the scratch.
    void (*quantize_act)(const float* x, int64_t n_rows, int64_t n_in, int64_t row0, int64_t row1,
                         void* xq);
    // Reads quantized row r back as q8_0 blocks (tests compare it with quantize_row_q8_0_ref).
    void (*act_to_q8_0)(const void* xq, int64_t n_rows, int64_t n_in, int64_t r, block_q8_0* out);
    // y[r, o] for all rows r and output rows o in [o0, o1).
    void (*dot_rows)(const matmul_job& job, int64_t o0, int64_t o1);
};

// One weight row (wrow, the bytes of output row o) times activation rows r0 .. r0+R-1, into
// out[0 .. R). A level instantiates one per R so each can keep R rows in registers.
using rows_fn = void (*)(const matmul_job& job, const uint8_t* wrow, int64_t r0, float* out);

// The loop the SIMD levels share: output rows [o0, o1), activation rows in tiles that stay in
// L2 beside the task's weight rows, groups of up to max_rows rows per call of fns[R - 1].
void dot_rows_blocked(const matmul_job& job, int64_t o0, int64_t o1, const rows_fn* fns, int max_rows);

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
