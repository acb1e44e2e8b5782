#include "core/huge-buffer.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "core/error.h"

namespace lf {

namespace {
constexpr size_t k_huge_page = size_t{2} << 20;
}

huge_buffer::huge_buffer(size_t bytes) {
    if (bytes == 0) return;
    // Rounded up to whole huge pages, plus one so that the start can move to a 2 MiB boundary
    // (the kernel aligns only some mappings).
    size_ = bytes;
    map_bytes_ = (bytes + k_huge_page - 1) / k_huge_page * k_huge_page + k_huge_page;
    void* p = ::mmap(nullptr, map_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) fail("cannot allocate {} MiB: {}", bytes >> 20, std::strerror(errno));
    map_ = p;
    data_ = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(p) + k_huge_page - 1) & ~(k_huge_page - 1));
    // Only a hint: kernels without transparent huge pages refuse it, and the memory still works.
#ifdef MADV_HUGEPAGE
    ::madvise(data_, size_, MADV_HUGEPAGE);
#endif
}

huge_buffer::~huge_buffer() { release(); }

void huge_buffer::release() {
    if (map_) ::munmap(map_, map_bytes_);
    map_ = nullptr;
    map_bytes_ = 0;
    data_ = nullptr;
    size_ = 0;
}

huge_buffer::huge_buffer(huge_buffer&& o) noexcept
    : map_(std::exchange(o.map_, nullptr)),
      map_bytes_(std::exchange(o.map_bytes_, 0)),
      data_(std::exchange(o.data_, nullptr)),
      size_(std::exchange(o.size_, 0)) {}

huge_buffer& huge_buffer::operator=(huge_buffer&& o) noexcept {
    if (this != &o) {
        release();
        map_ = std::exchange(o.map_, nullptr);
        map_bytes_ = std::exchange(o.map_bytes_, 0);
        data_ = std::exchange(o.data_, nullptr);
        size_ = std::exchange(o.size_, 0);
    }
    return *this;
}

void huge_buffer::make_read_only() {
    if (map_ && ::mprotect(map_, map_bytes_, PROT_READ) != 0) fail("cannot make a buffer read-only: {}", std::strerror(errno));
}

}  // namespace lf
