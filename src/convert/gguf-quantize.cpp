// GGUF → GGUF requantization. Sources are read through the reader's map; each output tensor is
// produced row by row (rows spread over threads) while the writer streams the file.
#include "convert/gguf-quantize.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>

#include "convert/quant-policy.h"
#include "core/error.h"
#include "core/thread-pool.h"
#include "gguf/gguf-writer.h"
#include "gguf/gguf.h"
#include "quant/quant.h"

namespace lf {

namespace {

bool is_float(dtype t) { return t == dtype::f32 || t == dtype::f16 || t == dtype::bf16; }

// ggml_n_dims: trailing dimensions of 1 do not count.
size_t effective_dims(const std::vector<int64_t>& ne) {
    size_t n = ne.size();
    while (n > 1 && ne[n - 1] == 1) --n;
    return std::max<size_t>(n, 1);
}

void requantize_rows(const gguf_tensor& t, dtype to, thread_pool& pool, std::vector<uint8_t>& out) {
    const int64_t row = t.ne.empty() ? 1 : t.ne[0];
    const int64_t rows = t.n_rows();
    const size_t in_rb = row_bytes(t.type, row), out_rb = row_bytes(to, row);
    out.resize(out_rb * static_cast<size_t>(rows));
    const int64_t rows_per_task = std::max<int64_t>(1, (1 << 16) / std::max<int64_t>(row, 1));
    const int64_t n_tasks = (rows + rows_per_task - 1) / rows_per_task;
    std::vector<std::vector<float>> scratch(static_cast<size_t>(pool.size()), std::vector<float>(static_cast<size_t>(row)));
    pool.parallel_for(n_tasks, [&](int64_t task, int thread) {
        float* buf = scratch[static_cast<size_t>(thread)].data();  // f32 [row]
        int64_t r1 = std::min(rows, (task + 1) * rows_per_task);
        for (int64_t r = task * rows_per_task; r < r1; ++r) {
            dequantize_row(t.type, t.data + in_rb * static_cast<size_t>(r), buf, row);
            quantize_row(to, buf, out.data() + out_rb * static_cast<size_t>(r), row);
        }
    });
}

}  // namespace

void quantize_gguf(const std::string& in_path, const std::string& out_path, dtype target, const quantize_options& opt,
                   const std::function<void(size_t, size_t, const quantize_step&)>& progress) {
    if (target != dtype::q8_0 && target != dtype::q4_0)
        fail("quantize: target type must be q8_0 or q4_0, not {}", traits(target).name);
    gguf_file f = gguf_file::open(in_path);
    auto pool = std::make_shared<thread_pool>(opt.n_threads > 0 ? opt.n_threads : default_thread_count());

    gguf_writer w;
    w.alignment = f.alignment;
    w.kv = f.kv;
    w.set_u32("general.file_type", file_type_of(target));
    w.set_u32("general.quantization_version", 2);

    std::vector<quantize_step> steps;
    for (const gguf_tensor& t : f.tensors) {
        quantize_step s{t.name, t.type, t.type, t.ne};
        if (is_quantizable(t.name, effective_dims(t.ne))) s.to = quantized_type(t.name, t.ne.empty() ? 1 : t.ne[0], target);
        if (s.to == s.from) {
            w.add_tensor_bytes(t.name, t.type, t.ne, t.data, t.n_bytes);
        } else {
            if (!is_float(t.type) && !opt.allow_requantize)
                fail("tensor '{}' is already {}; quantizing it to {} needs --allow-requantize (or convert from f32/f16/bf16)",
                     t.name, traits(t.type).name, traits(s.to).name);
            const gguf_tensor* src = &t;
            dtype to = s.to;
            w.add_tensor(t.name, s.to, t.ne, [src, to, pool](std::vector<uint8_t>& out) { requantize_rows(*src, to, *pool, out); });
        }
        steps.push_back(std::move(s));
    }
    std::map<std::string, const quantize_step*> by_name;
    for (const auto& s : steps) by_name[s.name] = &s;
    try {
        w.write(out_path, [&](size_t i, size_t n, const std::string& name) {
            if (progress) progress(i, n, *by_name.at(name));
        });
    } catch (...) {
        std::error_code ec;
        std::filesystem::remove(out_path + ".tmp", ec);
        throw;
    }
}

}  // namespace lf
