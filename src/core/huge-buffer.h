// Private anonymous memory on 2 MiB pages where the kernel gives them. Streaming a few GB of
// weights through 4 KiB pages costs one TLB entry per 4 KiB: on the 2-core EPYC VM of
// BENCHMARKS.md one core reads 34 GB/s that way and 39 GB/s from 2 MiB pages, and four
// activation rows lose more (22 against 27 GB/s). Linux backs the buffer with transparent huge
// pages when /sys/kernel/mm/transparent_hugepage/enabled is "always" or "madvise"; elsewhere it
// is ordinary memory, which is still correct.
#pragma once
#include <cstddef>
#include <cstdint>

namespace lf {

class huge_buffer {
public:
    huge_buffer() = default;
    // At least `bytes` zeroed bytes, starting at a 2 MiB boundary; throws lf::error when the
    // memory cannot be had.
    explicit huge_buffer(size_t bytes);
    ~huge_buffer();
    huge_buffer(huge_buffer&& o) noexcept;
    huge_buffer& operator=(huge_buffer&& o) noexcept;
    huge_buffer(const huge_buffer&) = delete;
    huge_buffer& operator=(const huge_buffer&) = delete;

    uint8_t* data() const { return data_; }
    size_t size() const { return size_; }
    // From here on any write is a fault (for buffers that hold a file's bytes).
    void make_read_only();

private:
    void release();
    void* map_ = nullptr;  // the whole mapping, including the bytes skipped to reach 2 MiB
    size_t map_bytes_ = 0;
    uint8_t* data_ = nullptr;
    size_t size_ = 0;
};

}  // namespace lf
