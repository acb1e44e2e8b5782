// The bandwidth bound's inputs: which weight bytes a decode step reads (lookup tables one row,
// KV-shared layers without K/V, experts by usage) and the streaming-read measurement itself.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "bench/local-bench.h"
#include "bench/mem-bandwidth.h"
#include "core/error.h"
#include "core/thread-pool.h"
#include "gguf/gguf-writer.h"

using namespace lf;

namespace {

gguf_writer::tensor_source zeros(size_t n_bytes) {
    return [n_bytes](std::vector<uint8_t>& out) { out.assign(n_bytes, 0); };
}

}  // namespace

TEST(DecodeReadBytes, CountsWhatOneTokenTouches) {
    gguf_writer w;
    w.set_str("general.architecture", "gemma4");
    auto add = [&](const std::string& name, std::vector<int64_t> ne) {
        size_t n = 4;
        for (int64_t d : ne) n *= static_cast<size_t>(d);
        w.add_tensor(name, dtype::f32, ne, zeros(n));
    };
    add("token_embd.weight", {32, 64});             // LM head (all) + one looked-up row
    add("per_layer_token_embd.weight", {64, 100});  // one row
    add("blk.0.attn_norm.weight", {32});
    add("blk.0.attn_k.weight", {32, 16});           // layer 0 owns KV
    add("blk.1.attn_k.weight", {32, 16});           // layer 1 shares KV: never read
    add("blk.1.attn_v.weight", {32, 16});
    add("blk.1.attn_k_norm.weight", {16});
    add("blk.1.attn_q.weight", {32, 32});
    add("blk.1.ffn_gate_up_exps.weight", {32, 16, 8});  // 2 of 8 experts per token
    const std::string path = (std::filesystem::temp_directory_path() / ("lf-bench-read-bytes-" + std::to_string(getpid()) + ".gguf")).string();
    w.write(path);
    gguf_file f = gguf_file::open(path);
    gemma4_hparams hp;
    hp.n_layer = 2;
    hp.n_shared_kv_layers = 1;
    hp.n_expert = 8;
    hp.n_expert_used = 2;
    const double want = 4.0 * (32 * 64 + 32)  // token_embd + one row
                        + 4.0 * 64            // one PLE row
                        + 4.0 * 32            // attn_norm
                        + 4.0 * 32 * 16       // layer 0 attn_k
                        + 4.0 * 32 * 32       // layer 1 attn_q
                        + 4.0 * 32 * 16 * 8 * 2 / 8;
    EXPECT_DOUBLE_EQ(decode_read_bytes(f, hp), want);
    std::filesystem::remove(path);
}

TEST(MemBandwidth, MeasuresAPositiveRateOverWholeChunks) {
    thread_pool pool(2);
    bandwidth_result r = measure_read_bandwidth((size_t{64} << 20) + 12345, 2, pool);
    EXPECT_EQ(r.buffer_bytes, size_t{64} << 20);  // rounded down to whole 4 MiB chunks
    EXPECT_EQ(r.passes, 2);
    EXPECT_TRUE(std::isfinite(r.read_gb_s));
    EXPECT_GT(r.read_gb_s, 0);
    EXPECT_GE(r.read_gb_s, r.median_gb_s);  // best pass vs median pass
    EXPECT_THROW(measure_read_bandwidth(size_t{8} << 20, 0, pool), lf::error);
}

TEST(LocalBench, JsonCarriesTheContractKeys) {
    local_bench_result r;
    r.prefill_tok_s = 1000;
    r.decode_tok_s = 50;
    r.forward_ms = {{1, 20}, {2, 22}, {4, 25}, {8, 40}};
    r.forward_ratio = {{1, 1.0}, {2, 1.1}, {4, 1.25}, {8, 2.0}};  // medians of per-round ratios
    r.read_gb_s = 10;
    r.bytes_per_token = 1e8;
    r.bandwidth_bound_tok_s = 100;
    nlohmann::json j = r.to_json();
    for (const char* k : {"prefill_tok_s", "decode_tok_s", "forward_ms", "bandwidth_bound_tok_s", "read_gb_s",
                          "bytes_per_token", "fraction_of_bound"})
        EXPECT_TRUE(j.contains(k)) << k;
    EXPECT_FALSE(j.contains("draft_step_ms"));  // only with a head
    for (const char* n : {"1", "2", "4", "8"}) EXPECT_TRUE(j["forward_ms"].contains(n)) << n;
    EXPECT_DOUBLE_EQ(j["fraction_of_bound"].get<double>(), 0.5);
    EXPECT_DOUBLE_EQ(j["forward_cost_ratio"]["8"].get<double>(), 2.0);
    r.draft_step_ms = 5;
    j = r.to_json();
    EXPECT_DOUBLE_EQ(j["draft_step_ms"].get<double>(), 5);
    EXPECT_DOUBLE_EQ(j["draft_to_target_ratio"].get<double>(), 0.25);
    std::string table = format_local_bench(r);
    EXPECT_NE(table.find("bandwidth bound"), std::string::npos);
    EXPECT_NE(table.find("draft step"), std::string::npos);
}
