// Verification of drafted tokens against the target's rows (spec §5.4).
//
// Greedy: accept drafts while they equal the target's argmax; the first mismatch is replaced by
// the target's token; if all match, the last row gives a bonus token.
// Sampling: rejection sampling (Leviathan et al. 2023; Chen et al. 2023): accept draft d_i with
// probability min(1, p(d_i) / q(d_i)); on rejection draw from norm(max(0, p - q)); if all are
// accepted draw the bonus token from the last row's p. The emitted tokens are then distributed
// exactly as the target's own samples, whatever the draft distribution q.
#pragma once
#include <cstdint>
#include <vector>

#include "sampling/sampler.h"

namespace lf {

struct verify_result {
    std::vector<int32_t> tokens;  // accepted drafts followed by one target token
    int n_accepted = 0;           // drafts accepted (tokens.size() - 1)
};

// target_rows: f32 [k + 1, n_vocab], row i = logits after [last, d_1..d_i].
// draft_q: the distribution each draft was drawn from (unused when greedy; may be empty then).
// The sampler's chain is applied to each target row after the previous tokens are accepted.
verify_result verify_drafts(const float* target_rows, int64_t n_vocab, const std::vector<int32_t>& drafts,
                            const std::vector<token_dist>& draft_q, sampler& smp);

// One accept/reject decision and, on rejection, the recovered token (exposed for tests).
// Returns true and leaves *out untouched when accepted.
bool accept_or_recover(const token_dist& p, const token_dist& q, int32_t draft, sampler& smp, int32_t* out);

}  // namespace lf
