#include "model/packed-weights.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "core/error.h"
#include "kernels/cpu/q4-x8.h"

namespace lf {

namespace {

std::atomic<int>& packing_switch() {
    // -1: not decided yet; then 0 or 1.
    static std::atomic<int> on{-1};
    return on;
}

}  // namespace

bool weight_packing_enabled() {
    int on = packing_switch().load();
    if (on < 0) {
        const char* env = std::getenv("LEAPFROG_REPACK");
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
                                 bool drop_source) {
    if (!weight_packing_enabled() || !q4_0_x8_packable(w)) return w;
    const size_t n = row_bytes(w.type, w.n_in) * static_cast<size_t>(w.n_out);
    const weight_view packed = pack_q4_0_x8(w, allocate(n));
    bytes_ += n;
    ++matrices_;
    if (drop_source) {
        const gguf_tensor* t = file.find_tensor(name);
        LF_CHECK(t && t->data == w.data);
        file.drop_tensor_pages(*t);
    }
    return packed;
}

}  // namespace lf
