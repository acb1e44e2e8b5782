#include "sampling/speculative.h"

#include <algorithm>
#include <unordered_map>

namespace lf {

bool accept_or_recover(const token_dist& p, const token_dist& q, int32_t draft, sampler& smp, int32_t* out) {
    const double pd = p.prob_of(draft), qd = q.prob_of(draft);
    // q(d) > 0 always holds for a token drawn from q; guard anyway so a degenerate q only accepts
    // tokens the target can produce.
    if (qd <= 0.0 ? pd > 0.0 : smp.uniform() < std::min(1.0, pd / qd)) return true;
    // Residual distribution norm(max(0, p - q)) over p's support (outside it p - q <= 0).
    std::unordered_map<int32_t, float> qmap;
    for (size_t i = 0; i < q.ids.size(); ++i) qmap[q.ids[i]] = q.p[i];
    token_dist r;
    double sum = 0;
    for (size_t i = 0; i < p.ids.size(); ++i) {
        auto it = qmap.find(p.ids[i]);
        double v = p.p[i] - (it == qmap.end() ? 0.0f : it->second);
        if (v > 0) {
            r.ids.push_back(p.ids[i]);
            r.p.push_back(static_cast<float>(v));
            sum += v;
        }
    }
    if (r.ids.empty()) {  // p == q up to rounding: any draw from p is exact
        *out = smp.draw(p);
        return false;
    }
    for (auto& x : r.p) x = static_cast<float>(x / sum);
    *out = smp.draw(r);
    return false;
}

verify_result verify_drafts(const float* target_rows, int64_t n_vocab, const std::vector<int32_t>& drafts,
                            const std::vector<token_dist>& draft_q, sampler& smp) {
    verify_result res;
    const size_t k = drafts.size();
    for (size_t i = 0; i <= k; ++i) {
        token_dist p = smp.distribution(target_rows + i * n_vocab, n_vocab);
        if (i == k) {  // all drafts accepted: bonus token from the last row
            int32_t t = smp.draw(p);
            smp.accept(t);
            res.tokens.push_back(t);
            break;
        }
        const int32_t d = drafts[i];
        if (smp.params().greedy()) {
            int32_t t = p.ids[0];
            smp.accept(t);
            res.tokens.push_back(t);
            if (t != d) break;
            ++res.n_accepted;
            continue;
        }
        int32_t recovered = -1;
        if (accept_or_recover(p, draft_q[i], d, smp, &recovered)) {
            smp.accept(d);
            res.tokens.push_back(d);
            ++res.n_accepted;
        } else {
            smp.accept(recovered);
            res.tokens.push_back(recovered);
            break;
        }
    }
    return res;
}

}  // namespace lf
