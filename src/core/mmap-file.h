// A read-only view of a whole file: the file mapped (the default), or its bytes read into
// private memory on 2 MiB pages (huge-buffer.h). Movable, not copyable; frees on destruction.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/huge-buffer.h"

namespace lf {

// How a model file's bytes reach memory.
enum class file_load {
    map,   // mapped from the page cache: starts at once, shares pages with other processes
    copy,  // read into huge-page memory at open: streams faster where file pages map 4 KiB at a time
};

class mmap_file {
public:
    mmap_file() = default;
    // Throws lf::error naming the path on failure.
    explicit mmap_file(const std::string& path, file_load how = file_load::map);
    ~mmap_file();
    mmap_file(mmap_file&& o) noexcept;
    mmap_file& operator=(mmap_file&& o) noexcept;
    mmap_file(const mmap_file&) = delete;
    mmap_file& operator=(const mmap_file&) = delete;

    const uint8_t* data() const { return data_; }
    size_t size() const { return size_; }

    // The whole pages within [p, p + n) leave this process's memory: the caller promises that
    // nobody reads those bytes through this file again (a model that packed a copy of them).
    // Mapped, they would come back from the page cache if read; copied, they would read as zeros.
    void drop_pages(const void* p, size_t n);

    // Copy mode only (nullptr when mapped): [p, p + n) made writable, for a caller that rewrites
    // bytes nobody else reads (a model packing its weights in place); call protect() after.
    uint8_t* writable(const void* p, size_t n);
    void protect(const void* p, size_t n);

private:
    void release();
    void check_within(const void* p, size_t n) const;  // [p, p + n) lies in the file
    const uint8_t* data_ = nullptr;
    size_t size_ = 0;
    huge_buffer copy_;  // holds the bytes in copy mode; empty when mapped
};

}  // namespace lf
