#include "sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace lf {

float token_dist::prob_of(int32_t id) const {
    for (size_t i = 0; i < ids.size(); ++i)
        if (ids[i] == id) return p[i];
    return 0.0f;
}

int32_t argmax(const float* logits, int64_t n) {
    int64_t best = 0;
    for (int64_t i = 1; i < n; ++i)
        if (logits[i] > logits[best]) best = i;
    return static_cast<int32_t>(best);
}

sampler::sampler(sampling_params params) : params_(std::move(params)), rng_(params_.seed) {}

double sampler::uniform() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }

token_dist sampler::distribution(const float* logits_in, int64_t n_vocab) const {
    const bool needs_edit = !params_.logit_bias.empty() ||
                            ((params_.presence_penalty != 0 || params_.frequency_penalty != 0) && !counts_.empty());
    std::vector<float> edited;
    const float* logits = logits_in;
    if (needs_edit) {
        edited.assign(logits_in, logits_in + n_vocab);
        for (auto [id, bias] : params_.logit_bias)
            if (id >= 0 && id < n_vocab) edited[id] += bias;
        for (auto [id, count] : counts_)
            if (id >= 0 && id < n_vocab)
                edited[id] -= params_.presence_penalty + params_.frequency_penalty * static_cast<float>(count);
        logits = edited.data();
    }
    token_dist d;
    if (params_.greedy()) {
        d.ids = {argmax(logits, n_vocab)};
        d.p = {1.0f};
        return d;
    }
    // Candidates sorted by logit; top-k first so the rest works on a short list.
    std::vector<int32_t> idx;
    idx.reserve(n_vocab);
    for (int64_t i = 0; i < n_vocab; ++i)
        if (std::isfinite(logits[i])) idx.push_back(static_cast<int32_t>(i));
    if (idx.empty()) idx.push_back(argmax(logits, n_vocab));
    size_t k = idx.size();
    if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < k) k = params_.top_k;
    auto cmp = [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
    std::partial_sort(idx.begin(), idx.begin() + static_cast<long>(k), idx.end(), cmp);
    idx.resize(k);
    std::vector<double> p(k);
    const double inv_t = 1.0 / params_.temperature;
    const double mx = logits[idx[0]];
    double sum = 0;
    for (size_t i = 0; i < k; ++i) sum += (p[i] = std::exp((logits[idx[i]] - mx) * inv_t));
    for (auto& x : p) x /= sum;
    size_t keep = k;
    if (params_.min_p > 0) {
        double floor = params_.min_p * p[0];
        keep = 1;
        while (keep < k && p[keep] >= floor) ++keep;
    }
    if (params_.top_p < 1.0f) {
        double cum = 0;
        size_t n = 0;
        while (n < keep) {
            cum += p[n++];
            if (cum >= params_.top_p) break;
        }
        keep = std::max<size_t>(1, n);
    }
    double kept = std::accumulate(p.begin(), p.begin() + static_cast<long>(keep), 0.0);
    d.ids.assign(idx.begin(), idx.begin() + static_cast<long>(keep));
    d.p.resize(keep);
    for (size_t i = 0; i < keep; ++i) d.p[i] = static_cast<float>(p[i] / kept);
    return d;
}

int32_t sampler::draw(const token_dist& d) {
    if (d.ids.size() == 1) return d.ids[0];
    double u = uniform(), cum = 0;
    for (size_t i = 0; i < d.ids.size(); ++i) {
        cum += d.p[i];
        if (u < cum) return d.ids[i];
    }
    return d.ids.back();
}

}  // namespace lf
