// Speculative rounds with forced drafts — every draft rejected, every draft accepted, and a mix —
// emit exactly the plain greedy tokens and leave the KV cache equal to the cache of plain
// decoding (bit for bit, for every position the cache still holds).
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include <unistd.h>

#include "engine/engine.h"

using namespace lf;

namespace {

// One directory per process: CTest runs the test cases as concurrent processes. It is removed
// when the test program ends.
std::string model_dir() { return std::string(::testing::TempDir()) + "/lf-engine-test-" + std::to_string(::getpid()); }

struct remove_model_dir {
    ~remove_model_dir() {
        std::error_code ec;
        std::filesystem::remove_all(model_dir(), ec);
    }
} remove_model_dir_at_exit;

std::string model_path(const std::string& name, const std::string& hf) {
    const std::string dir = model_dir();
    std::filesystem::create_directories(dir);
    std::string out = dir + "/" + name + ".gguf";
    if (!std::filesystem::exists(out)) {
        std::string cmd = std::string(LF_BINARY) + " convert " + LF_TEST_DATA + "/" + hf + " -o " + out + " --outtype f32";
        EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    }
    return out;
}

const std::vector<int32_t> k_prompt = {2, 37, 389, 554, 680, 787, 195, 156, 590, 39, 419, 545};
constexpr int k_n_gen = 40;  // crosses the fixture's sliding window (8) several times

struct run_result {
    std::vector<int32_t> tokens;
    gen_stats stats;
};

run_result run(engine& eng, std::function<std::vector<int32_t>(const std::vector<int32_t>&)> force = {}) {
    gen_request req;
    req.prompt = k_prompt;
    req.max_tokens = k_n_gen;
    req.ignore_eos = true;
    req.spec.draft_max = 3;
    req.force_drafts = std::move(force);
    run_result res;
    req.on_done = [&](const gen_result& r) {
        res.tokens = r.tokens;
        res.stats = r.stats;
    };
    eng.submit(std::move(req));
    eng.run_until_idle();
    return res;
}

// Compares the cached K/V rows of both engines for every position both hold: all positions of
// full layers, the last window + 1 positions of sliding layers.
void expect_same_cache(const kv_cache& a, const kv_cache& b, int n_pos) {
    for (int il = 0; il < a.n_layers(); ++il) {
        const auto& s = a.layer(il);
        size_t n = (size_t)s.n_head_kv * s.head_dim;
        int lo = s.sliding ? std::max(0, n_pos - a.window() - 1) : 0;
        for (int p = lo; p < n_pos; ++p) {
            ASSERT_EQ(std::memcmp(a.k_row(il, 0, p), b.k_row(il, 0, p), n * sizeof(float)), 0) << "K layer " << il << " pos " << p;
            ASSERT_EQ(std::memcmp(a.v_row(il, 0, p), b.v_row(il, 0, p), n * sizeof(float)), 0) << "V layer " << il << " pos " << p;
        }
    }
}

class kv_rollback : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        target_ = new gemma4_model(model_path("dense", "fixtures/dense/hf"));
        engine_params ep;
        ep.n_ctx = 256;
        ep.n_threads = 2;
        plain_ = new engine(*target_, nullptr, ep);
        reference_ = run(*plain_);
        ASSERT_EQ(reference_.tokens.size(), (size_t)k_n_gen);
    }
    static void TearDownTestSuite() {
        delete plain_;
        delete target_;
    }
    // The cache holds the prompt and every generated token but the last (not yet evaluated).
    static int committed() { return static_cast<int>(k_prompt.size()) + k_n_gen - 1; }

    static gemma4_model* target_;
    static engine* plain_;
    static run_result reference_;
};
gemma4_model* kv_rollback::target_ = nullptr;
engine* kv_rollback::plain_ = nullptr;
run_result kv_rollback::reference_;

TEST_F(kv_rollback, every_draft_rejected) {
    engine_params ep;
    ep.n_ctx = 256;
    ep.n_threads = 2;
    engine spec(*target_, nullptr, ep);
    const int V = static_cast<int>(target_->hparams().n_vocab);
    auto wrong = [&](const std::vector<int32_t>& gen) {
        // The true next tokens are reference_[g..]; drafting anything else is rejected at once.
        size_t g = gen.size();
        std::vector<int32_t> d;
        for (size_t i = 0; i < 3; ++i) d.push_back((reference_.tokens[std::min(g + i, reference_.tokens.size() - 1)] + 1) % V);
        return d;
    };
    run_result r = run(spec, wrong);
    EXPECT_EQ(r.tokens, reference_.tokens);
    EXPECT_GT(r.stats.n_drafted, 0);
    EXPECT_EQ(r.stats.n_accepted, 0);
    expect_same_cache(plain_->kv(), spec.kv(), committed());
}

TEST_F(kv_rollback, every_draft_accepted) {
    engine_params ep;
    ep.n_ctx = 256;
    ep.n_threads = 2;
    engine spec(*target_, nullptr, ep);
    auto right = [&](const std::vector<int32_t>& gen) {
        std::vector<int32_t> d;
        for (size_t i = gen.size(); i < reference_.tokens.size() && d.size() < 3; ++i) d.push_back(reference_.tokens[i]);
        return d;
    };
    run_result r = run(spec, right);
    EXPECT_EQ(r.tokens, reference_.tokens);
    EXPECT_GT(r.stats.n_drafted, 0);
    EXPECT_EQ(r.stats.n_accepted, r.stats.n_drafted);
    expect_same_cache(plain_->kv(), spec.kv(), committed());
}

TEST_F(kv_rollback, mixed_rounds_and_real_head) {
    engine_params ep;
    ep.n_ctx = 256;
    ep.n_threads = 2;
    gemma4_assistant head(model_path("dense-assistant", "fixtures/dense/assistant_hf"), *target_);
    engine spec(*target_, &head, ep);
    run_result r = run(spec);
    EXPECT_EQ(r.tokens, reference_.tokens);
    EXPECT_GT(r.stats.n_drafted, 0);
    expect_same_cache(plain_->kv(), spec.kv(), committed());
    // Half right, half wrong: the first draft of each round is right, the second wrong.
    engine mixed(*target_, nullptr, ep);
    const int V = static_cast<int>(target_->hparams().n_vocab);
    run_result m = run(mixed, [&](const std::vector<int32_t>& gen) {
        size_t g = gen.size();
        if (g + 1 >= reference_.tokens.size()) return std::vector<int32_t>{};
        return std::vector<int32_t>{reference_.tokens[g], (reference_.tokens[g + 1] + 1) % V, 5};
    });
    EXPECT_EQ(m.tokens, reference_.tokens);
    EXPECT_GT(m.stats.n_rounds, 0);
    EXPECT_EQ(m.stats.n_accepted, m.stats.n_rounds);  // exactly the first draft of every round
    expect_same_cache(plain_->kv(), mixed.kv(), committed());
}

}  // namespace
