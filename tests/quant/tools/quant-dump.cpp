// quant_dump: a test-only tool that runs leapfrog's reference conversions over raw float32 rows,
// so tests/integration/test_quant_vs_gguf.py can diff them against gguf.quants at test time.
//   quant_dump quantize   TYPE N_PER_ROW IN.f32 OUT.bin   (f32 rows -> TYPE rows)
//   quant_dump dequantize TYPE N_PER_ROW IN.bin OUT.f32   (TYPE rows -> f32 rows)
// Files are raw little-endian arrays without headers; IN must hold whole rows.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "quant/quant.h"

namespace {

int usage(const char* why) {
    std::fprintf(stderr, "quant_dump: %s\nusage: quant_dump quantize|dequantize TYPE N_PER_ROW IN OUT\n", why);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 6) return usage("expected 5 arguments");
    const std::string mode = argv[1];
    const auto type = lf::dtype_from_name(argv[2]);
    if (!type) return usage("unknown TYPE");
    const long long n = std::atoll(argv[3]);
    if (n <= 0 || n % lf::traits(*type).block_elems != 0) return usage("N_PER_ROW must be a positive multiple of the block size");
    std::ifstream in(argv[4], std::ios::binary);
    if (!in) return usage("cannot open IN");
    const std::vector<char> data(std::istreambuf_iterator<char>(in), {});

    const size_t f32_row = static_cast<size_t>(n) * 4;
    const size_t q_row = lf::row_bytes(*type, n);
    std::vector<char> out;
    if (mode == "quantize") {
        if (data.size() % f32_row) return usage("IN is not a whole number of f32 rows");
        const size_t n_rows = data.size() / f32_row;
        std::vector<float> row(n);
        out.resize(n_rows * q_row);
        for (size_t r = 0; r < n_rows; ++r) {
            std::copy_n(data.data() + r * f32_row, f32_row, reinterpret_cast<char*>(row.data()));
            lf::quantize_row(*type, row.data(), out.data() + r * q_row, n);
        }
    } else if (mode == "dequantize") {
        if (data.size() % q_row) return usage("IN is not a whole number of rows of TYPE");
        const size_t n_rows = data.size() / q_row;
        std::vector<char> row(q_row);
        out.resize(n_rows * f32_row);
        for (size_t r = 0; r < n_rows; ++r) {
            std::copy_n(data.data() + r * q_row, q_row, row.data());
            lf::dequantize_row(*type, row.data(), reinterpret_cast<float*>(out.data() + r * f32_row), n);
        }
    } else {
        return usage("mode must be quantize or dequantize");
    }
    std::ofstream f(argv[5], std::ios::binary);
    f.write(out.data(), static_cast<std::streamsize>(out.size()));
    if (!f) return usage("cannot write OUT");
    return 0;
}
