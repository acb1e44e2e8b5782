// Token sampling: a chain of logit transforms (bias, penalties, temperature, top-k, top-p,
// min-p) that turns a row of logits into a probability distribution, and a seeded draw from it.
// Temperature 0 means greedy (argmax, ties to the lowest id).
#pragma once
#include <cstdint>
#include <random>
#include <unordered_map>
#include <utility>
#include <vector>

namespace lf {

struct sampling_params {
    float temperature = 0.0f;  // 0 = greedy
    int top_k = 0;             // 0 = off
    float top_p = 1.0f;        // 1 = off
    float min_p = 0.0f;        // 0 = off
    uint64_t seed = 0;
    float presence_penalty = 0.0f;
    float frequency_penalty = 0.0f;
    std::vector<std::pair<int32_t, float>> logit_bias;  // token -> added logit

    bool greedy() const { return temperature <= 0.0f; }
};

// A sparse distribution: candidate tokens with probabilities summing to 1.
struct token_dist {
    std::vector<int32_t> ids;
    std::vector<float> p;
    float prob_of(int32_t id) const;
};

class sampler {
public:
    explicit sampler(sampling_params params);

    const sampling_params& params() const { return params_; }

    // The distribution the chain gives for this row (greedy: all mass on the argmax).
    // `history` counts of generated tokens feed the presence/frequency penalties.
    token_dist distribution(const float* logits, int64_t n_vocab) const;
    // Draws from a distribution with this sampler's generator.
    int32_t draw(const token_dist& d);
    // distribution + draw.
    int32_t sample(const float* logits, int64_t n_vocab) { return draw(distribution(logits, n_vocab)); }
    // A uniform number in [0, 1) from this sampler's generator.
    double uniform();
    // Records an emitted token (for penalties).
    void accept(int32_t token) { ++counts_[token]; }

private:
    sampling_params params_;
    std::mt19937_64 rng_;
    std::unordered_map<int32_t, int> counts_;
};

// Greedy argmax of a row (lowest id wins ties).
int32_t argmax(const float* logits, int64_t n);

}  // namespace lf
