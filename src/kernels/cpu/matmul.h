// Matrix products of a weight matrix with a small batch of activation rows — the work of every
// projection in the model. The weight is read once for all rows of the batch, so a forward of
// 1+k verify tokens costs little more than one token.
#pragma once
#include <cstdint>

#include "core/dtype.h"
#include "core/thread-pool.h"

namespace lf {

// How a matrix's bytes are arranged. gguf: as in the file. q4_0_x8: q4_0 rows repacked at load
// time for the AVX2 kernels, in pairs of rows (q4-x8.h); q8_0_x8: q8_0 rows repacked for them,
// each row at its place (q8-x8.h). Packed layouts have the same size and give the same products
// to the bit; only the avx2 and scalar levels read them.
enum class weight_layout : uint8_t { gguf, q4_0_x8, q8_0_x8 };

// A weight matrix: n_out rows, each of n_in elements of `type` (GGUF ne = {n_in, n_out}). In the
// gguf and q8_0_x8 layouts row o starts at data + o * row_bytes(type, n_in); a q4_0_x8 pair of
// rows 2p, 2p + 1 fills the same bytes as in the gguf layout, interleaved.
struct weight_view {
    dtype type = dtype::f32;
    const void* data = nullptr;
    int64_t n_in = 0;
    int64_t n_out = 0;
    weight_layout layout = weight_layout::gguf;
};

// y[r, o] = sum_i W[o, i] * x[r, i] for r < n_rows.
//   x: f32 [n_rows, n_in] (row-major, row stride n_in)
//   y: f32 [n_rows, n_out] (row stride n_out)
// f32/f16/bf16 weights multiply f32 activations in f32. q8_0/q4_0 weights multiply activations
// quantized on the fly to q8_0 blocks (as ggml does), with exact integer block sums.
// Work is split over the pool by runs of output rows. No allocation per call after warm-up.
// y[r, :] depends only on x[r, :] and W: not on n_rows, on r's place in the batch or on the
// thread count, so a token verified among drafts gets exactly the logits it gets alone. SIMD
// levels differ from matmul_reference by f32 rounding only (for q8_0/q4_0 weights the integer
// block sums are exact; what differs is how the scaled block sums are added up).
void matmul(const weight_view& w, const float* x, int64_t n_rows, float* y, thread_pool& pool);

// Several products of the same activations (e.g. Q, K and V; gate and up) in one call: the
// activations are quantized once and all output rows share one parallel loop, so the pool wakes
// once. Each part's result is exactly what matmul() gives for it alone.
struct matmul_part {
    weight_view w;  // all parts have the same n_in
    float* y;       // f32 [n_rows, w.n_out]
};
constexpr int k_max_matmul_parts = 4;
void matmul_multi(const matmul_part* parts, int n_parts, const float* x, int64_t n_rows, thread_pool& pool);

// Selected output rows only, for one activation row: y[i] = sum_k W[ids[i], k] * x[k] for
// i < n_ids (ids must be in [0, w.n_out)). x: f32 [n_in], y: f32 [n_ids]. Each y[i] has exactly
// the bits matmul() gives for output row ids[i] (the masked draft head scores a few thousand
// tokens of a 262144-token vocabulary this way).
void matmul_rows(const weight_view& w, const int32_t* ids, int64_t n_ids, const float* x, float* y, thread_pool& pool);

// Single-threaded reference of the same product (scalar code only): the oracle for tests.
void matmul_reference(const weight_view& w, const float* x, int64_t n_rows, float* y);

// Row o of w in the GGUF layout: its bytes in w for the gguf layout, or the packed row unpacked
// into buf (row_bytes(w.type, w.n_in) bytes), which is returned.
const uint8_t* gguf_row(const weight_view& w, int64_t o, uint8_t* buf);

// Which SIMD level the kernels run with on this CPU: "avx512", "avx2", "neon" or "scalar".
const char* kernel_isa();

// SIMD levels. avx2 means AVX2+FMA+F16C; avx512 means F+BW+VL+DQ+VBMI with VNNI (a CPU with AVX-512
// but no VNNI runs avx2); neon means AArch64 with the dot-product extension.
// The level is the best this build and CPU support, lowered by the environment variable
// LEAPFROG_ISA=scalar|avx2|avx512|neon (read once; a level the CPU lacks is not used).
enum class cpu_isa { scalar, avx2, avx512, neon };
cpu_isa active_isa();
bool isa_supported(cpu_isa isa);
const char* isa_name(cpu_isa isa);

// matmul / matmul_multi with a given level (for tests and benchmarks); isa must be supported.
void matmul_isa(cpu_isa isa, const weight_view& w, const float* x, int64_t n_rows, float* y,
                thread_pool& pool);
void matmul_multi_isa(cpu_isa isa, const matmul_part* parts, int n_parts, const float* x, int64_t n_rows,
                      thread_pool& pool);

}  // namespace lf
