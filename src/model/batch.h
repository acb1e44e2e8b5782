// A forward batch: rows of (token, position, slot). The model knows nothing of requests or
// speculation; it evaluates rows and returns logits (and optionally final-norm hidden states)
// for the rows that ask for them.
#pragma once
#include <cstdint>
#include <vector>

namespace lf {

struct batch_row {
    int32_t token = 0;
    int32_t pos = 0;
    int32_t slot = 0;
    bool output = false;  // return logits (and hidden) for this row
};

// Rules: a slot's rows appear in increasing, consecutive positions and the first of them is at
// most the slot's cached length (earlier cached positions at or beyond it are discarded).
struct forward_output {
    std::vector<int32_t> rows;   // batch row index of each output, in batch order
    std::vector<float> logits;   // f32 [n_out, n_vocab]
    std::vector<float> hidden;   // f32 [n_out, n_embd], final-norm output (when requested)
};

}  // namespace lf
