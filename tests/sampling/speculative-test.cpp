// The rejection sampler's output distribution equals the target's p for any draft q
// (chi-square at a fixed seed over 200k draws), and greedy verification is exact argmax matching.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "sampling/speculative.h"

using namespace lf;

namespace {

token_dist dense(std::vector<float> p) {
    token_dist d;
    for (size_t i = 0; i < p.size(); ++i)
        if (p[i] > 0) {
            d.ids.push_back(static_cast<int32_t>(i));
            d.p.push_back(p[i]);
        }
    return d;
}

// Chi-square statistic of observed counts against expected probabilities (cells with p = 0 must
// have no observations at all).
double chi_square(const std::vector<int>& counts, const std::vector<float>& p, int n) {
    double chi = 0;
    for (size_t i = 0; i < p.size(); ++i) {
        if (p[i] == 0) {
            EXPECT_EQ(counts[i], 0) << "token " << i << " has p = 0 but was emitted";
            continue;
        }
        double e = p[i] * n;
        chi += (counts[i] - e) * (counts[i] - e) / e;
    }
    return chi;
}

double run(const std::vector<float>& p, const std::vector<float>& q, uint64_t seed) {
    sampling_params sp;
    sp.temperature = 1.0f;
    sp.seed = seed;
    sampler smp(sp);
    std::mt19937_64 draft_rng(seed + 1);
    token_dist pd = dense(p), qd = dense(q);
    std::discrete_distribution<int> draw_q(q.begin(), q.end());
    const int n = 200000;
    std::vector<int> counts(p.size(), 0);
    for (int i = 0; i < n; ++i) {
        int32_t d = draw_q(draft_rng);
        int32_t out = d;
        accept_or_recover(pd, qd, d, smp, &out);
        counts[out]++;
    }
    return chi_square(counts, p, n);
}

// 99.9th percentile of chi-square with 7 degrees of freedom (8 cells).
constexpr double k_chi2_7dof_999 = 24.32;

const std::vector<float> k_p = {0.30f, 0.20f, 0.15f, 0.12f, 0.10f, 0.08f, 0.04f, 0.01f};

}  // namespace

TEST(rejection_sampler, q_equal_to_p) { EXPECT_LT(run(k_p, k_p, 1), k_chi2_7dof_999); }

TEST(rejection_sampler, q_far_from_p) {
    std::vector<float> q = {0.01f, 0.02f, 0.02f, 0.05f, 0.1f, 0.2f, 0.2f, 0.4f};
    EXPECT_LT(run(k_p, q, 2), k_chi2_7dof_999);
}

TEST(rejection_sampler, q_with_zero_mass_where_p_has_mass) {
    std::vector<float> q = {0.0f, 0.5f, 0.0f, 0.0f, 0.5f, 0.0f, 0.0f, 0.0f};
    EXPECT_LT(run(k_p, q, 3), k_chi2_7dof_999);
}

TEST(rejection_sampler, p_with_zero_mass_where_q_has_mass) {
    std::vector<float> p = {0.5f, 0.3f, 0.2f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
    std::vector<float> q = {0.1f, 0.1f, 0.1f, 0.2f, 0.2f, 0.1f, 0.1f, 0.1f};
    EXPECT_LT(run(p, q, 4), k_chi2_7dof_999);
}

TEST(rejection_sampler, detects_a_wrong_distribution) {
    // Sanity check of the statistic itself: counts drawn from q are far from p.
    std::mt19937_64 rng(5);
    std::vector<float> q = {0.01f, 0.02f, 0.02f, 0.05f, 0.1f, 0.2f, 0.2f, 0.4f};
    std::discrete_distribution<int> dq(q.begin(), q.end());
    std::vector<int> counts(8, 0);
    for (int i = 0; i < 200000; ++i) counts[dq(rng)]++;
    EXPECT_GT(chi_square(counts, k_p, 200000), 1000.0);
}

TEST(verify, greedy_accepts_matching_prefix_and_adds_target_token) {
    const int V = 5;
    // Row argmaxes: 3, 1, 4, 2
    std::vector<float> rows = {0, 0, 0, 9, 0, /**/ 0, 9, 0, 0, 0, /**/ 0, 0, 0, 0, 9, /**/ 0, 0, 9, 0, 0};
    sampler smp(sampling_params{});
    auto r = verify_drafts(rows.data(), V, {3, 1, 0}, {}, smp);
    EXPECT_EQ(r.n_accepted, 2);
    EXPECT_EQ(r.tokens, (std::vector<int32_t>{3, 1, 4}));
    auto all = verify_drafts(rows.data(), V, {3, 1, 4}, {}, smp);
    EXPECT_EQ(all.n_accepted, 3);
    EXPECT_EQ(all.tokens, (std::vector<int32_t>{3, 1, 4, 2}));
    auto none = verify_drafts(rows.data(), V, {0, 1, 4}, {}, smp);
    EXPECT_EQ(none.n_accepted, 0);
    EXPECT_EQ(none.tokens, (std::vector<int32_t>{3}));
}

TEST(sampler, chain_top_k_top_p_min_p) {
    std::vector<float> logits = {1.0f, 3.0f, 2.0f, 0.5f, -1.0f};
    sampling_params sp;
    sp.temperature = 1.0f;
    sp.top_k = 3;
    token_dist d = sampler(sp).distribution(logits.data(), 5);
    EXPECT_EQ(d.ids, (std::vector<int32_t>{1, 2, 0}));
    double z = std::exp(0.0) + std::exp(-1.0) + std::exp(-2.0);
    EXPECT_NEAR(d.p[0], 1.0 / z, 1e-6);
    sp.top_k = 0;
    sp.top_p = 0.7f;
    d = sampler(sp).distribution(logits.data(), 5);
    EXPECT_EQ(d.ids, (std::vector<int32_t>{1, 2}));
    sp.top_p = 1.0f;
    sp.min_p = 0.3f;
    d = sampler(sp).distribution(logits.data(), 5);
    EXPECT_EQ(d.ids, (std::vector<int32_t>{1, 2}));  // exp(-1) = 0.37 >= 0.3, exp(-2) < 0.3
    sp.min_p = 0;
    sp.logit_bias = {{4, 10.0f}};
    sp.temperature = 0;
    EXPECT_EQ(sampler(sp).sample(logits.data(), 5), 4);
}

TEST(sampler, seed_makes_draws_repeatable) {
    std::vector<float> logits = {1.0f, 1.1f, 0.9f, 1.05f};
    sampling_params sp;
    sp.temperature = 1.0f;
    sp.seed = 42;
    sampler a(sp), b(sp);
    for (int i = 0; i < 50; ++i) EXPECT_EQ(a.sample(logits.data(), 4), b.sample(logits.data(), 4));
}
