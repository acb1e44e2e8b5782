// Packing q4_0 and q8_0 matrices for the AVX2 kernels at load time (model/packed-weights.h)
// changes no result: a target and its assistant loaded with and without packing give the same
// logits, hidden states and drafts to the bit, whether the files are mapped or read into memory
// (where the pages under packed tensors are given back).
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "../gguf/gguf-test-util.h"
#include "convert/synth-model.h"
#include "core/thread-pool.h"
#include "kernels/cpu/matmul.h"
#include "model/gemma4-assistant.h"
#include "model/gemma4.h"
#include "kernels/cpu/q4-x8.h"
#include "kernels/cpu/q8-x8.h"
#include "model/packed-weights.h"
#include "model/weights.h"

#include "../kernels/random-matrix.h"

namespace {

using namespace lf;

const std::string k_configs = std::string(LF_TEST_DATA) + "/configs/";

struct run_result {
    forward_output out;     // the target's six rows
    draft_output draft;     // one draft step after them
    size_t packed_bytes = 0;
    int packed_matrices = 0;
};

run_result run(const std::string& target_path, const std::string& head_path, file_load how, thread_pool& pool) {
    gemma4_model target(target_path, how);
    gemma4_assistant head(head_path, target, how);
    kv_cache kv = target.make_cache(1, 64, 8);
    std::vector<batch_row> batch;
    for (int i = 0; i < 6; ++i) batch.push_back({(i * 373 + 11) % 4096, i, 0, true});
    run_result r;
    target.forward(batch, kv, r.out, true, pool);
    const int64_t H = target.hparams().n_embd;
    const std::vector<draft_row> rows = {{7, 6, 0, r.out.hidden.data() + 5 * H}};
    head.step(rows, kv, r.draft, pool);
    r.packed_bytes = target.packed().bytes() + head.packed().bytes();
    r.packed_matrices = target.packed().matrices() + head.packed().matrices();
    return r;
}

// q4_0 and q8_0 matrices with rows of whole groups (256 elements), other than the tables the
// models look rows up in; the target's tied embedding (its LM head) is packed too.
int packable_matrices(const std::string& path, bool is_target) {
    const gguf_file f = gguf_file::open(path);
    int n = 0;
    for (const gguf_tensor& t : f.tensors) {
        const bool lookup_only = t.name == "per_layer_token_embd.weight" || (t.name == "token_embd.weight" && !is_target);
        n += (t.type == dtype::q4_0 || t.type == dtype::q8_0) && t.ne.size() == 2 && t.ne[0] % 256 == 0 && !lookup_only;
    }
    return n;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST(PackedWeights, SameBitsWithAndWithoutPacking) {
    // E2B shapes (every q4_0 matrix has n_in a multiple of 256), three layers, 4096 tokens.
    test::temp_file target("packed-target.gguf"), head("packed-head.gguf");
    synth_options opt;
    opt.type = dtype::q4_0;
    opt.n_vocab = 4096;  // a multiple of the head's 2048 centroids
    opt.seed = 5;
    synth_model(k_configs + "gemma-4-e2b-assistant.json", head.path, opt);
    opt.n_layers = 3;
    synth_model(k_configs + "gemma-4-e2b.json", target.path, opt);
    thread_pool pool(2);

    set_weight_packing(false);
    const run_result plain = run(target.path, head.path, file_load::map, pool);
    EXPECT_EQ(plain.packed_matrices, 0);
    set_weight_packing(true);
    for (file_load how : {file_load::map, file_load::copy}) {
        const run_result packed = run(target.path, head.path, how, pool);
        const char* mode = how == file_load::map ? "mapped" : "copied";
        if (active_isa() == cpu_isa::avx2) {
            // Every q4_0 and q8_0 matrix of both files but the lookup tables.
            EXPECT_EQ(packed.packed_matrices, packable_matrices(target.path, true) + packable_matrices(head.path, false))
                << mode;
            EXPECT_GT(packed.packed_bytes, size_t{10} << 20) << mode;
        } else {
            EXPECT_EQ(packed.packed_matrices, 0) << "only the avx2 level reads packed weights";
        }
        EXPECT_EQ(packed.out.rows, plain.out.rows) << mode;
        EXPECT_TRUE(same_bits(packed.out.logits, plain.out.logits)) << mode;
        EXPECT_TRUE(same_bits(packed.out.hidden, plain.out.hidden)) << mode;
        EXPECT_TRUE(same_bits(packed.draft.logits, plain.draft.logits)) << mode;
        EXPECT_TRUE(same_bits(packed.draft.h_next, plain.draft.h_next)) << mode;
    }
}

// The tied embedding is packed with the LM head: a packed row looked up dequantizes as the GGUF
// row does, for both packed layouts.
TEST(PackedWeights, LookupsMatchTheGgufRow) {
    std::mt19937 rng(22);
    const int64_t n_in = 1536, n_out = 7;
    for (dtype type : {dtype::q8_0, dtype::q4_0}) {
        const std::vector<uint8_t> plain = test::random_matrix(type, n_in, n_out, 2.0f, rng);
        std::vector<uint8_t> packed(plain.size());
        const weight_view wg{type, plain.data(), n_in, n_out};
        const weight_view wp = type == dtype::q8_0 ? pack_q8_0_x8(wg, packed.data()) : pack_q4_0_x8(wg, packed.data());
        std::vector<float> a(n_in), b(n_in);
        for (int64_t o = 0; o < n_out; ++o) {
            dequantize_matrix_row(wg, o, a.data());
            dequantize_matrix_row(wp, o, b.data());
            EXPECT_TRUE(same_bits(a, b)) << traits(type).name << " row " << o;
        }
    }
}

}  // namespace
