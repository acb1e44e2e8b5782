// matmul driver and the scalar reference kernels.
// The driver picks a SIMD level once (CPU features, lowered by LEAPFROG_ISA), quantizes the
// activation rows once per call (and weight type) into a per-calling-thread scratch buffer that
// only ever grows (no allocation per call after warm-up), and splits the output rows of every
// product of the call into one loop of tasks over the pool. The scalar kernels are the oracle: matmul_reference runs them on one thread, and
// the "scalar" level runs exactly the same code threaded, so both give identical bits. SIMD
// levels keep the integer block sums exact and differ by f32 rounding only (see matmul-impl.h).
#include "kernels/cpu/matmul.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "kernels/cpu/matmul-impl.h"
#include "kernels/cpu/q4-x8.h"
#include "kernels/cpu/q8-x8.h"
#include "quant/quant.h"

#if defined(__aarch64__) && defined(__linux__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

namespace lf {
namespace cpu {
namespace {

// ---- scalar reference -------------------------------------------------------------------------

// Sequential f32 sums, as the plainest statement of the product.
float dot_f32(const float* w, const float* x, int64_t n) {
    float sum = 0.0f;
    for (int64_t i = 0; i < n; ++i) sum += w[i] * x[i];
    return sum;
}

float dot_f16(const uint16_t* w, const float* x, int64_t n) {
    float sum = 0.0f;
    for (int64_t i = 0; i < n; ++i) sum += fp16_to_fp32(w[i]) * x[i];
    return sum;
}

float dot_bf16(const uint16_t* w, const float* x, int64_t n) {
    float sum = 0.0f;
    for (int64_t i = 0; i < n; ++i) sum += bf16_to_fp32(w[i]) * x[i];
    return sum;
}

// ggml's vec_dot_q8_0_q8_0 / vec_dot_q4_0_q8_0 (generic): an exact integer sum per block, scaled
// by both block scales and summed in f32.
float dot_q8_0(const block_q8_0* w, const block_q8_0* x, int64_t nb) {
    float sum = 0.0f;
    for (int64_t ib = 0; ib < nb; ++ib) {
        int sumi = 0;
        for (int j = 0; j < qk8_0; ++j) sumi += static_cast<int>(w[ib].qs[j]) * x[ib].qs[j];
        sum += static_cast<float>(sumi) * fp16_to_fp32(w[ib].d) * fp16_to_fp32(x[ib].d);
    }
    return sum;
}

float dot_q4_0(const block_q4_0* w, const block_q8_0* x, int64_t nb) {
    float sum = 0.0f;
    for (int64_t ib = 0; ib < nb; ++ib) {
        int sumi0 = 0, sumi1 = 0;
        for (int j = 0; j < qk4_0 / 2; ++j) {
            const int v0 = (w[ib].qs[j] & 0x0f) - 8;
            const int v1 = (w[ib].qs[j] >> 4) - 8;
            sumi0 += v0 * x[ib].qs[j];
            sumi1 += v1 * x[ib].qs[j + qk4_0 / 2];
        }
        sum += static_cast<float>(sumi0 + sumi1) * fp16_to_fp32(w[ib].d) * fp16_to_fp32(x[ib].d);
    }
    return sum;
}

// Scalar activation layout: block_q8_0 [n_rows, n_in / 32], exactly ggml's.
size_t scalar_act_bytes(dtype, int64_t n_rows, int64_t n_in) {
    return static_cast<size_t>(n_rows) * static_cast<size_t>(n_in / qk8_0) * sizeof(block_q8_0);
}

void scalar_quantize_act(dtype, const float* x, int64_t n_rows, int64_t n_in, int64_t row0, int64_t row1,
                         void* xq) {
    auto* out = static_cast<block_q8_0*>(xq);
    for (int64_t r = row0; r < row1; ++r) quantize_row_q8_0_ref(x + r * n_in, out + r * (n_in / qk8_0), n_in);
}

void scalar_act_to_q8_0(dtype, const void* xq, int64_t n_rows, int64_t n_in, int64_t r, block_q8_0* out) {
    const auto* in = static_cast<const block_q8_0*>(xq);
    std::memcpy(out, in + r * (n_in / qk8_0), static_cast<size_t>(n_in / qk8_0) * sizeof(block_q8_0));
}

// Row o of the weights times activation row r; wrow is row o in the GGUF layout.
float scalar_dot(const matmul_job& job, const uint8_t* wrow, int64_t r) {
    const weight_view& w = job.w;
    const float* xr = job.x + r * w.n_in;
    const int64_t nb = w.n_in / qk8_0;
    switch (w.type) {
        case dtype::f32: return dot_f32(reinterpret_cast<const float*>(wrow), xr, w.n_in);
        case dtype::f16: return dot_f16(reinterpret_cast<const uint16_t*>(wrow), xr, w.n_in);
        case dtype::bf16: return dot_bf16(reinterpret_cast<const uint16_t*>(wrow), xr, w.n_in);
        case dtype::q8_0:
            return dot_q8_0(reinterpret_cast<const block_q8_0*>(wrow), static_cast<const block_q8_0*>(job.xq) + r * nb, nb);
        case dtype::q4_0:
            return dot_q4_0(reinterpret_cast<const block_q4_0*>(wrow), static_cast<const block_q8_0*>(job.xq) + r * nb, nb);
    }
    abort_at(__FILE__, __LINE__, "matmul: unknown weight type");
}

void scalar_dot_rows(const matmul_job& job, int64_t o0, int64_t o1) {
    const weight_view& w = job.w;
    const size_t rb = row_bytes(w.type, w.n_in);
    thread_local std::vector<uint8_t> unpacked;  // a packed row back in the GGUF layout
    unpacked.resize(rb);
    for (int64_t o = o0; o < o1; ++o) {
        const uint8_t* wrow = gguf_row(w, o, unpacked.data());
        for (int64_t r = 0; r < job.n_rows; ++r) job.y[r * w.n_out + o] = scalar_dot(job, wrow, r);
    }
}

// ---- level selection --------------------------------------------------------------------------

bool cpu_has(cpu_isa isa) {
    switch (isa) {
        case cpu_isa::scalar: return true;
#if defined(__x86_64__)
        case cpu_isa::avx2:
            return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                   __builtin_cpu_supports("f16c");
        case cpu_isa::avx512:
            return cpu_has(cpu_isa::avx2) && __builtin_cpu_supports("avx512f") &&
                   __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
                   __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vnni") &&
                   __builtin_cpu_supports("avx512vbmi");
#endif
#if defined(__aarch64__) && defined(__linux__)
        case cpu_isa::neon: return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#endif
        default: return false;
    }
}

cpu_isa best_isa() {
    for (cpu_isa isa : {cpu_isa::avx512, cpu_isa::avx2, cpu_isa::neon})
        if (isa_supported(isa)) return isa;
    return cpu_isa::scalar;
}

cpu_isa choose_isa() {
    const char* env = std::getenv("LEAPFROG_ISA");
    bool understood = true;
    const cpu_isa isa = resolve_isa(env, &understood);
    if (!understood)
        std::fprintf(stderr, "leapfrog: ignoring LEAPFROG_ISA=%s (expected scalar, avx2, avx512 or neon)\n", env);
    return isa;
}

// ---- scratch ----------------------------------------------------------------------------------

// Quantized activations of the calling thread's current matmul. Grows to the largest call seen,
// 64-byte aligned so SIMD loads of whole blocks never split more cache lines than needed.
struct act_scratch {
    std::unique_ptr<uint8_t[]> storage;
    size_t capacity = 0;
    void* data(size_t bytes) {
        if (bytes + 64 > capacity) {
            capacity = std::max(bytes + 64, capacity + capacity / 2);
            storage.reset(new uint8_t[capacity]);
        }
        auto p = reinterpret_cast<uintptr_t>(storage.get());
        return reinterpret_cast<void*>((p + 63) & ~uintptr_t{63});
    }
};

void check_shapes(const weight_view& w, const float* x, int64_t n_rows, const float* y) {
    LF_CHECK(w.n_in > 0 && w.n_out > 0 && n_rows >= 0);
    LF_CHECK(w.data != nullptr && (n_rows == 0 || (x != nullptr && y != nullptr)));
    LF_CHECK(w.n_in % traits(w.type).block_elems == 0);
    LF_CHECK(w.layout == weight_layout::gguf ||
             (w.layout == weight_layout::q4_0_x8 && w.type == dtype::q4_0 && w.n_in % k_q4_0_x8_group_elems == 0) ||
             (w.layout == weight_layout::q8_0_x8 && w.type == dtype::q8_0 && w.n_in % k_q8_0_x8_group_elems == 0));
    // Tile kernels address 16 rows with 32-bit offsets.
    LF_CHECK(row_bytes(w.type, w.n_in) < (size_t{1} << 27));
}

// Packed rows are read by the avx2 kernels and, unpacked again, by the scalar ones.
void check_layout(const weight_view& w, cpu_isa isa) {
    if (w.layout != weight_layout::gguf && isa != cpu_isa::avx2 && isa != cpu_isa::scalar)
        fail("matmul: {} weights packed for avx2 cannot run on the {} level", traits(w.type).name, isa_name(isa));
}

bool is_block_type(dtype t) { return t == dtype::q8_0 || t == dtype::q4_0; }

// parallel_for through a reference: the std::function then holds one pointer instead of a heap
// copy of the closure, so dispatching work allocates nothing.
template <typename F>
void run_parallel(thread_pool& pool, int64_t n_tasks, const F& fn) {
    pool.parallel_for(n_tasks, std::cref(fn));
}

}  // namespace

void dot_rows_tiled(const matmul_job& job, int64_t o0, int64_t o1, const tile_table& tiles) {
    const weight_view& w = job.w;
    const size_t wrow_bytes = row_bytes(w.type, w.n_in);
    // 16 f32 activation rows per tile: 256 KiB at n_in = 4096, next to at most 64 weight rows.
    const int64_t tile_rows = 16;
    constexpr int64_t o_step = 4;
    float out[4 * 8];
    for (int64_t t0 = 0; t0 < job.n_rows; t0 += tile_rows) {
        const int64_t t1 = std::min(job.n_rows, t0 + tile_rows);
        for (int64_t o = o0; o < o1; o += o_step) {
            const int64_t o_end = std::min(o1, o + o_step);
            for (int64_t r = t0; r < t1;) {
                const int n_r = static_cast<int>(std::min<int64_t>(tiles.max_r, t1 - r));
                for (int64_t oo = o; oo < o_end;) {
                    const int n_w = static_cast<int>(std::min<int64_t>(tiles.w_for_r[n_r], o_end - oo));
                    const auto* wrow = static_cast<const uint8_t*>(w.data) + static_cast<size_t>(oo) * wrow_bytes;
                    tiles.fn[n_w - 1][n_r - 1](job, wrow, wrow_bytes, r, out);
                    for (int j = 0; j < n_w; ++j)
                        for (int k = 0; k < n_r; ++k) job.y[(r + k) * w.n_out + oo + j] = out[j * n_r + k];
                    oo += n_w;
                }
                r += n_r;
            }
        }
    }
}

void q8_act_to_q8_0(dtype, const void* xq, int64_t n_rows, int64_t n_in, int64_t r, block_q8_0* out) {
    const q8_act a = q8_act_at(xq, n_rows, n_in);
    for (int64_t ib = 0; ib < n_in / qk8_0; ++ib) {
        const int64_t e = ib * n_rows + r;
        out[ib].d = fp32_to_fp16(a.d[e]);
        int sum = 0;
        for (int j = 0; j < qk8_0; ++j) sum += out[ib].qs[j] = a.qs[e * qk8_0 + j];
        // A wrong block sum would break the unsigned-weight correction: refuse to hide it.
        if (sum != a.sum[e]) out[ib].d = 0x7e00;
    }
}

template <int L>
void q8_lanes_to_q8_0(int excess, const void* xq, int64_t n_rows, int64_t n_in, int64_t r, block_q8_0* out) {
    const int64_t nb = n_in / qk8_0, ng = q8_lanes_per_row<L>(n_in);
    const auto* row = static_cast<const q8_lanes<L>*>(xq) + r * ng;
    bool padding_ok = true;
    for (int64_t g = 0; g < ng; ++g) {
        const q8_lanes<L>& grp = row[g];
        for (int b = 0; b < L; ++b) {
            const int lane = lane_of_block<L>(b);
            int sum = 0;
            int8_t qs[qk8_0];
            for (int t = 0; t < 8; ++t)
                for (int j = 0; j < 4; ++j) sum += qs[4 * t + j] = grp.x[t][4 * lane + j];
            const int64_t ib = L * g + b;
            if (ib >= nb) {
                // Padding blocks must add nothing.
                padding_ok = padding_ok && sum == 0 && grp.d[lane] == 0.0f && grp.bias[lane] == 0;
                for (int j = 0; j < qk8_0; ++j) padding_ok = padding_ok && qs[j] == 0;
                continue;
            }
            out[ib].d = fp32_to_fp16(grp.d[lane]);
            std::memcpy(out[ib].qs, qs, qk8_0);
            // A wrong bias would corrupt the products: refuse to hide it.
            if (grp.bias[lane] != -excess * sum) out[ib].d = 0x7e00;
        }
    }
    if (!padding_ok) out[0].d = 0x7e00;
}
template void q8_lanes_to_q8_0<8>(int, const void*, int64_t, int64_t, int64_t, block_q8_0*);
template void q8_lanes_to_q8_0<16>(int, const void*, int64_t, int64_t, int64_t, block_q8_0*);

const uint8_t* padded_rows(const uint8_t* rows, size_t row_bytes, int n_valid, int n_tile) {
    thread_local std::vector<uint8_t> buffer;
    if (buffer.size() < row_bytes * n_tile) buffer.resize(row_bytes * n_tile);
    for (int j = 0; j < n_tile; ++j)
        std::memcpy(buffer.data() + j * row_bytes, rows + std::min(j, n_valid - 1) * row_bytes, row_bytes);
    return buffer.data();
}

const matmul_kernels k_scalar_kernels = {scalar_act_bytes, scalar_quantize_act, scalar_act_to_q8_0,
                                         scalar_dot_rows};

cpu_isa resolve_isa(const char* requested, bool* understood) {
    if (understood) *understood = true;
    const cpu_isa best = best_isa();
    if (!requested || !*requested) return best;
    const std::string_view want(requested);
    for (cpu_isa isa : {cpu_isa::scalar, cpu_isa::avx2, cpu_isa::avx512, cpu_isa::neon}) {
        if (want != isa_name(isa)) continue;
        if (isa_supported(isa)) return isa;
        // More than the CPU has: the best level below it on the x86 ladder, else the best.
        if (isa == cpu_isa::avx512 && isa_supported(cpu_isa::avx2)) return cpu_isa::avx2;
        return best;
    }
    if (understood) *understood = false;
    return best;
}

const matmul_kernels* kernels_for(cpu_isa isa) {
    if (!isa_supported(isa)) return nullptr;
    switch (isa) {
        case cpu_isa::scalar: return &k_scalar_kernels;
#if defined(__x86_64__)
        case cpu_isa::avx2: return &k_avx2_kernels;
        case cpu_isa::avx512: return &k_avx512_kernels;
#endif
#if defined(__aarch64__)
        case cpu_isa::neon: return &k_neon_kernels;
#endif
        default: return nullptr;
    }
}

}  // namespace cpu

bool isa_supported(cpu_isa isa) {
    static const bool supported[4] = {cpu::cpu_has(cpu_isa::scalar), cpu::cpu_has(cpu_isa::avx2),
                                      cpu::cpu_has(cpu_isa::avx512), cpu::cpu_has(cpu_isa::neon)};
    return supported[static_cast<int>(isa)];
}

const char* isa_name(cpu_isa isa) {
    switch (isa) {
        case cpu_isa::scalar: return "scalar";
        case cpu_isa::avx2: return "avx2";
        case cpu_isa::avx512: return "avx512";
        case cpu_isa::neon: return "neon";
    }
    return "unknown";
}

cpu_isa active_isa() {
    static const cpu_isa isa = cpu::choose_isa();
    return isa;
}

const char* kernel_isa() { return isa_name(active_isa()); }

// Below this much weight traffic (per four activation rows) a product runs on one thread.
constexpr int64_t k_min_parallel_bytes = 192 * 1024;

void matmul_multi_isa(cpu_isa isa, const matmul_part* parts, int n_parts, const float* x, int64_t n_rows,
                      thread_pool& pool) {
    LF_CHECK(n_parts >= 1 && n_parts <= k_max_matmul_parts);
    for (int i = 0; i < n_parts; ++i) {
        cpu::check_shapes(parts[i].w, x, n_rows, parts[i].y);
        LF_CHECK(parts[i].w.n_in == parts[0].w.n_in);
    }
    if (n_rows == 0) return;
    const cpu::matmul_kernels* k = cpu::kernels_for(isa);
    LF_CHECK(k != nullptr);
    for (int i = 0; i < n_parts; ++i) cpu::check_layout(parts[i].w, isa);
    const int64_t n_in = parts[0].w.n_in;

    // Activations quantized once per weight type (q8_0 and q4_0 layouts may differ).
    thread_local cpu::act_scratch scratch[2];
    void* xq_of[2] = {nullptr, nullptr};
    const dtype block_types[2] = {dtype::q4_0, dtype::q8_0};
    for (int t = 0; t < 2; ++t) {
        bool used = false;
        for (int i = 0; i < n_parts; ++i) used = used || parts[i].w.type == block_types[t];
        if (!used) continue;
        void* xq = scratch[t].data(k->act_bytes(block_types[t], n_rows, n_in));
        // Quantizing costs about one pass over x; worth spreading only when x is large.
        const int64_t n_groups = std::min<int64_t>(n_rows, pool.size());
        if (n_groups > 1 && n_rows * n_in >= (int64_t{1} << 16)) {
            cpu::run_parallel(pool, n_groups, [&](int64_t g, int) {
                const int64_t r0 = n_rows * g / n_groups, r1 = n_rows * (g + 1) / n_groups;
                k->quantize_act(block_types[t], x, n_rows, n_in, r0, r1, xq);
            });
        } else {
            k->quantize_act(block_types[t], x, n_rows, n_in, 0, n_rows, xq);
        }
        xq_of[t] = xq;
    }

    // Tasks of whole 4-row tiles. A small batch reads each weight once, so its tasks are long
    // (half a thread's share, up to 4 MiB): every task start costs a ramp of the memory stream,
    // and decode measured 2-19% faster with these than with 256 KiB tasks (most when the
    // machine had bandwidth to spare). A larger batch goes over a task's weights once per 32
    // activation rows, so its tasks are about 1/8 of a thread's share (32-256 KiB) and stay in
    // L2 meanwhile. Both leave enough tasks that uneven progress evens out. Tasks of all parts
    // form one parallel loop.
    cpu::matmul_job jobs[k_max_matmul_parts];
    int64_t per_task[k_max_matmul_parts], first_task[k_max_matmul_parts + 1];
    first_task[0] = 0;
    int64_t work_bytes = 0;
    for (int i = 0; i < n_parts; ++i) {
        const weight_view& w = parts[i].w;
        cpu::matmul_job& job = jobs[i];
        job.w = w;
        job.x = x;
        job.n_rows = n_rows;
        job.y = parts[i].y;
        if (cpu::is_block_type(w.type)) job.xq = xq_of[w.type == dtype::q4_0 ? 0 : 1];
        const int64_t rb = static_cast<int64_t>(row_bytes(w.type, w.n_in));
        const int64_t bytes = rb * w.n_out;
        const int64_t target = n_rows <= cpu::k_act_rows
                                   ? std::clamp<int64_t>(bytes / (2 * pool.size()), 32 << 10, 4 << 20)
                                   : std::clamp<int64_t>(bytes / (8 * pool.size()), 32 << 10, 256 << 10);
        per_task[i] = std::max<int64_t>(4, (target / rb + 3) & ~int64_t{3});
        first_task[i + 1] = first_task[i] + (w.n_out + per_task[i] - 1) / per_task[i];
        work_bytes += bytes * std::max<int64_t>(1, n_rows / 4);
    }
    auto task = [&](int64_t t, int) {
        int i = 0;
        while (t >= first_task[i + 1]) ++i;
        const int64_t o0 = (t - first_task[i]) * per_task[i];
        k->dot_rows(jobs[i], o0, std::min(jobs[i].w.n_out, o0 + per_task[i]));
    };
    // A small product finishes sooner on the calling thread than the pool takes to wake up.
    if (work_bytes < k_min_parallel_bytes) {
        for (int64_t t = 0; t < first_task[n_parts]; ++t) task(t, 0);
        return;
    }
    cpu::run_parallel(pool, first_task[n_parts], task);
}

void matmul_isa(cpu_isa isa, const weight_view& w, const float* x, int64_t n_rows, float* y,
                thread_pool& pool) {
    const matmul_part part{w, y};
    matmul_multi_isa(isa, &part, 1, x, n_rows, pool);
}

void matmul(const weight_view& w, const float* x, int64_t n_rows, float* y, thread_pool& pool) {
    matmul_isa(active_isa(), w, x, n_rows, y, pool);
}

void matmul_multi(const matmul_part* parts, int n_parts, const float* x, int64_t n_rows, thread_pool& pool) {
    matmul_multi_isa(active_isa(), parts, n_parts, x, n_rows, pool);
}

void matmul_rows(const weight_view& w, const int32_t* ids, int64_t n_ids, const float* x, float* y, thread_pool& pool) {
    cpu::check_shapes(w, x, 1, y);
    if (n_ids <= 0) return;
    const cpu::matmul_kernels* k = cpu::kernels_for(active_isa());
    LF_CHECK(k != nullptr);
    // One-row views below assume row o at data + o * row_bytes, which packed pairs break.
    if (w.layout != weight_layout::gguf) fail("matmul_rows: the weights must be in the GGUF layout");
    cpu::matmul_job job;
    job.w = w;
    job.x = x;
    job.n_rows = 1;
    if (cpu::is_block_type(w.type)) {
        thread_local cpu::act_scratch scratch;
        void* xq = scratch.data(k->act_bytes(w.type, 1, w.n_in));
        k->quantize_act(w.type, x, 1, w.n_in, 0, 1, xq);
        job.xq = xq;
    }
    const size_t rb = row_bytes(w.type, w.n_in);
    constexpr int64_t per_task = 64;
    cpu::run_parallel(pool, (n_ids + per_task - 1) / per_task, [&](int64_t t, int) {
        // A one-row view per selected row: the kernels see the same row and activations as in
        // matmul(), so the result is the same.
        cpu::matmul_job one = job;
        one.w.n_out = 1;
        for (int64_t i = t * per_task; i < std::min(n_ids, (t + 1) * per_task); ++i) {
            LF_CHECK(ids[i] >= 0 && ids[i] < w.n_out);
            one.w.data = static_cast<const uint8_t*>(w.data) + static_cast<size_t>(ids[i]) * rb;
            one.y = y + i;
            k->dot_rows(one, 0, 1);
        }
    });
}

void matmul_reference(const weight_view& w, const float* x, int64_t n_rows, float* y) {
    cpu::check_shapes(w, x, n_rows, y);
    cpu::matmul_job job;
    job.w = w;
    job.x = x;
    job.n_rows = n_rows;
    job.y = y;
    std::vector<block_q8_0> xq;
    if (cpu::is_block_type(w.type)) {
        xq.resize(static_cast<size_t>(n_rows) * static_cast<size_t>(w.n_in / qk8_0));
        cpu::scalar_quantize_act(w.type, x, n_rows, w.n_in, 0, n_rows, xq.data());
        job.xq = xq.data();
    }
    cpu::scalar_dot_rows(job, 0, w.n_out);
}

const uint8_t* gguf_row(const weight_view& w, int64_t o, uint8_t* buf) {
    switch (w.layout) {
        case weight_layout::gguf:
            return static_cast<const uint8_t*>(w.data) + static_cast<size_t>(o) * row_bytes(w.type, w.n_in);
        case weight_layout::q4_0_x8: unpack_q4_0_x8_row(w, o, reinterpret_cast<block_q4_0*>(buf)); break;
        case weight_layout::q8_0_x8: unpack_q8_0_x8_row(w, o, reinterpret_cast<block_q8_0*>(buf)); break;
    }
    return buf;
}

}  // namespace lf
