// A read-only memory map of a whole file. Movable, not copyable; unmaps on destruction.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace lf {

class mmap_file {
public:
    mmap_file() = default;
    // Maps the file read-only; throws lf::error naming the path on failure.
    explicit mmap_file(const std::string& path);
    ~mmap_file();
    mmap_file(mmap_file&& o) noexcept;
    mmap_file& operator=(mmap_file&& o) noexcept;
    mmap_file(const mmap_file&) = delete;
    mmap_file& operator=(const mmap_file&) = delete;

    const uint8_t* data() const { return data_; }
    size_t size() const { return size_; }

private:
    const uint8_t* data_ = nullptr;
    size_t size_ = 0;
};

}  // namespace lf
