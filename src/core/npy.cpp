#include "core/npy.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/error.h"

namespace lf {

void write_npy_f32(const std::string& path, const float* data, const std::vector<int64_t>& shape) {
    std::string dims;
    int64_t n = 1;
    for (int64_t d : shape) {
        dims += std::to_string(d) + ", ";
        n *= d;
    }
    if (shape.size() > 1) dims.resize(dims.size() - 2);
    std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
    // Magic (6) + version (2) + header length (2) + header, padded with spaces to a multiple of 64
    // and ending in a newline.
    size_t total = 10 + header.size() + 1;
    header.append((64 - total % 64) % 64, ' ');
    header.push_back('\n');
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) fail("cannot create '{}': {}", path, std::strerror(errno));
    const char magic[] = "\x93NUMPY\x01\x00";
    uint16_t hlen = static_cast<uint16_t>(header.size());
    bool ok = std::fwrite(magic, 1, 8, f) == 8 && std::fwrite(&hlen, 2, 1, f) == 1 &&
              std::fwrite(header.data(), 1, header.size(), f) == header.size() &&
              (n == 0 || std::fwrite(data, sizeof(float), (size_t)n, f) == (size_t)n);
    ok = (std::fclose(f) == 0) && ok;
    if (!ok) fail("writing '{}' failed", path);
}

}  // namespace lf
