// q4_0 and q8_0 matrices repacked at load time for the AVX2 kernels (kernels/cpu/q4-x8.h,
// q8-x8.h), as llama.cpp repacks weights for its CPU kernels. On the AVX2 level a packed product
// takes about a third fewer instructions per group, and a few activation rows stream their
// weights faster (BENCHMARKS.md). The products have the same bits either way.
//
// From a mapped file, the packed copies go to anonymous memory on 2 MiB pages that this object
// owns, and the file's pages under each packed tensor are given back, so memory use stays about
// the same. A file read into memory (--no-mmap) is packed in place. Other tensors stay as they
// are. `--no-repack` (LEAPFROG_REPACK=0) keeps every weight as the file has it.
#pragma once
#include <cstddef>
#include <vector>

#include "core/huge-buffer.h"
#include "core/thread-pool.h"
#include "gguf/gguf.h"
#include "kernels/cpu/matmul.h"

namespace lf {

// Whether models loaded from now on pack their matrices: when the active kernel level is
// avx2 (the one level that reads the packed layout), unless LEAPFROG_REPACK=0 in the
// environment or set_weight_packing(false) was called.
bool weight_packing_enabled();
void set_weight_packing(bool on);

class packed_weights {
public:
    packed_weights() = default;
    packed_weights(packed_weights&&) = default;
    packed_weights& operator=(packed_weights&&) = default;

    // The matrix `name` of `file` (w, its view) packed, when packing is enabled and w can be
    // packed (q4_0 or q8_0, n_in a multiple of 256); otherwise w. own_file: nobody else reads the
    // file, so a copy in memory may be packed in place, and a mapped file's pages under the
    // tensor may be given back. The work is spread over pool.
    weight_view pack(const gguf_file& file, const std::string& name, const weight_view& w, bool own_file,
                     thread_pool& pool);

    size_t bytes() const { return bytes_; }   // bytes of packed matrices (in place or not)
    int matrices() const { return matrices_; }

private:
    uint8_t* allocate(size_t n);
    std::vector<huge_buffer> chunks_;
    size_t chunk_used_ = 0;
    size_t bytes_ = 0;
    int matrices_ = 0;
};

}  // namespace lf
