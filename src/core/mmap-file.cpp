#include "core/mmap-file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "core/error.h"

namespace lf {

namespace {

// The whole file into buf; throws on a read error or a file that shrank meanwhile.
void read_all(int fd, const std::string& path, uint8_t* buf, size_t size) {
    size_t done = 0;
    while (done < size) {
        const size_t want = std::min<size_t>(size - done, size_t{1} << 30);
        const ssize_t got = ::pread(fd, buf + done, want, static_cast<off_t>(done));
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) fail("cannot read '{}': {}", path, std::strerror(errno));
        if (got == 0) fail("'{}' ended after {} of {} bytes while it was read", path, done, size);
        done += static_cast<size_t>(got);
    }
}

}  // namespace

mmap_file::mmap_file(const std::string& path, file_load how) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail("cannot open '{}': {}", path, std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        fail("'{}' is not a regular file", path);
    }
    size_ = static_cast<size_t>(st.st_size);
    try {
        if (size_ > 0 && how == file_load::copy) {
            copy_ = huge_buffer(size_);
            read_all(fd, path, copy_.data(), size_);
            copy_.make_read_only();
            data_ = copy_.data();
        } else if (size_ > 0) {
            void* p = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd, 0);
            if (p == MAP_FAILED) fail("cannot map '{}': {}", path, std::strerror(errno));
            data_ = static_cast<const uint8_t*>(p);
        }
    } catch (...) {
        ::close(fd);
        throw;
    }
    ::close(fd);
}

void mmap_file::check_within(const void* p, size_t n) const {
    const auto* b = static_cast<const uint8_t*>(p);
    LF_CHECK(b >= data_ && n <= size_ && static_cast<size_t>(b - data_) <= size_ - n);
}

void mmap_file::drop_pages(const void* p, size_t n) {
    check_within(p, n);
    const auto* b = static_cast<const uint8_t*>(p);
    const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    const uintptr_t first = (reinterpret_cast<uintptr_t>(b) + page - 1) & ~(page - 1);
    const uintptr_t last = (reinterpret_cast<uintptr_t>(b) + n) & ~(page - 1);
    // Only a hint: memory that stays is still correct, so a failure is not an error.
    if (last > first) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

namespace {

// The whole pages that [p, p + n) touches.
std::pair<uintptr_t, size_t> page_span(const void* p, size_t n) {
    const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    const uintptr_t first = reinterpret_cast<uintptr_t>(p) & ~(page - 1);
    const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + n + page - 1) & ~(page - 1);
    return {first, end - first};
}

}  // namespace

uint8_t* mmap_file::writable(const void* p, size_t n) {
    check_within(p, n);
    if (!copy_.data()) return nullptr;
    const auto [first, bytes] = page_span(p, n);
    if (::mprotect(reinterpret_cast<void*>(first), bytes, PROT_READ | PROT_WRITE) != 0)
        fail("cannot make {} bytes of a model copy writable: {}", n, std::strerror(errno));
    return const_cast<uint8_t*>(static_cast<const uint8_t*>(p));
}

void mmap_file::protect(const void* p, size_t n) {
    check_within(p, n);
    if (!copy_.data()) return;
    const auto [first, bytes] = page_span(p, n);
    if (::mprotect(reinterpret_cast<void*>(first), bytes, PROT_READ) != 0)
        fail("cannot make {} bytes of a model copy read-only: {}", n, std::strerror(errno));
}

mmap_file::~mmap_file() { release(); }

void mmap_file::release() {
    if (data_ && !copy_.data()) ::munmap(const_cast<uint8_t*>(data_), size_);
    copy_ = huge_buffer();
    data_ = nullptr;
    size_ = 0;
}

mmap_file::mmap_file(mmap_file&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)), copy_(std::move(o.copy_)) {}

mmap_file& mmap_file::operator=(mmap_file&& o) noexcept {
    if (this != &o) {
        release();
        data_ = std::exchange(o.data_, nullptr);
        size_ = std::exchange(o.size_, 0);
        copy_ = std::move(o.copy_);
    }
    return *this;
}

}  // namespace lf
