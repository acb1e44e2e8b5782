#include "model/packed-weights.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/thread-pool.h"
#include "kernels/cpu/q4-x8.h"
#include "kernels/cpu/q8-x8.h"

namespace lf {

namespace {

std::atomic<int>& packing_switch() {
    // -1: not decided yet; then 0 or 1.
    static std::atomic<int> on{-1};
    return on;
}

// The first row of part t of n_parts of n_rows rows, at a pair boundary.
int64_t rows_part(int64_t n_rows, int64_t t, int64_t n_parts) {
    return t >= n_parts ? n_rows : std::min(n_rows, n_rows * t / n_parts / 2 * 2);
}

// Rows [o0, o1) of w (o0 even) packed into out at their places, in w's packed layout.
void pack_rows_of(const weight_view& w, uint8_t* out, int64_t o0, int64_t o1) {
    if (w.type == dtype::q4_0) pack_q4_0_x8_rows(w, out, o0, o1);
    else pack_q8_0_x8_rows(w, out, o0, o1);
}

}  // namespace

bool weight_packing_enabled() {
    int on = packing_switch().load();
    if (on < 0) {
        const char* env = std::getenv("LEAPFROG_REPACK");
        const bool understood = !env || !*env || std::strcmp(env, "0") == 0 || std::strcmp(env, "1") == 0;
        if (!understood) std::fprintf(stderr, "leapfrog: ignoring LEAPFROG_REPACK=%s (expected 0 or 1)\n", env);
        on = !(env && std::strcmp(env, "0") == 0);
        packing_switch().store(on);
    }
    return on == 1 && active_isa() == cpu_isa::avx2;
}

void set_weight_packing(bool on) { packing_switch().store(on ? 1 : 0); }

uint8_t* packed_weights::allocate(size_t n) {
    // Chunks of 64 MiB, or one matrix when larger: few mappings, little left unused.
    constexpr size_t k_chunk = size_t{64} << 20, k_align = 64;
    if (chunks_.empty() || chunk_used_ + n > chunks_.back().size()) {
        chunks_.emplace_back(std::max(k_chunk, n));
        chunk_used_ = 0;
    }
    uint8_t* p = chunks_.back().data() + chunk_used_;
    chunk_used_ += (n + k_align - 1) / k_align * k_align;
    return p;
}

weight_view packed_weights::pack(const gguf_file& file, const std::string& name, const weight_view& w,
                                 bool own_file, thread_pool& pool) {
    if (!weight_packing_enabled() || !(q4_0_x8_packable(w) || q8_0_x8_packable(w))) return w;
    const gguf_tensor* t = file.find_tensor(name);
    LF_CHECK(t && t->data == w.data);
    const size_t rb = row_bytes(w.type, w.n_in), n = rb * static_cast<size_t>(w.n_out);
    // A copy of the file that only this model reads is packed where it lies: a pair of rows
    // keeps its place, so a two-row buffer is all it takes, and no memory is added. A mapped
    // tensor goes to new memory, and the file's pages under it are given back.
    uint8_t* const in_place = own_file ? file.writable_tensor(*t) : nullptr;
    uint8_t* const out = in_place ? in_place : allocate(n);
    auto pack_rows = [&](int64_t o0, int64_t o1) {
        if (!in_place) return pack_rows_of(w, out, o0, o1);
        std::vector<uint8_t> pair(2 * rb);
        for (int64_t o = o0; o < o1; o += 2) {
            const int64_t n_rows = std::min<int64_t>(2, w.n_out - o);
            std::memcpy(pair.data(), out + o * rb, n_rows * rb);
            pack_rows_of({w.type, pair.data(), w.n_in, n_rows}, out + o * rb, 0, n_rows);
        }
    };
    // Tasks of about 1 MiB over the pool: new memory is mostly the first touch of its pages,
    // which the kernel serves faster in parallel (on the 2-vCPU VM of BENCHMARKS.md 2.7 s per GB
    // of 2 MiB pages from one thread, 1.5 s from two).
    const int64_t n_tasks = std::clamp<int64_t>(static_cast<int64_t>(n >> 20), 1, w.n_out / 2 + 1);
    pool.parallel_for(n_tasks, [&](int64_t task, int) {
        pack_rows(rows_part(w.n_out, task, n_tasks), rows_part(w.n_out, task + 1, n_tasks));
    });
    if (in_place) file.protect_tensor(*t);
    else if (own_file) file.drop_tensor_pages(*t);
    bytes_ += n;
    ++matrices_;
    return w.type == dtype::q4_0 ? q4_0_x8_view(w, out) : q8_0_x8_view(w, out);
}

}  // namespace lf
