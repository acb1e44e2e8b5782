// libFuzzer entry point for the GGUF reader: any input must load or throw lf::error.
// Build with clang: cmake -DCMAKE_CXX_COMPILER=clang++ ... && cmake --build . --target fuzz_gguf_reader
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "gguf/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        lf::gguf_file f = lf::gguf_file::from_memory(data, size);
        // Touch every tensor's data so out-of-range pointers are caught by ASan.
        volatile uint8_t sink = 0;
        for (const auto& t : f.tensors)
            if (t.n_bytes) sink ^= t.data[0] ^ t.data[t.n_bytes - 1];
        (void)sink;
    } catch (const lf::error&) {
    }
    return 0;
}
