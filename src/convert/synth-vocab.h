// A small stand-in Gemma 4 tokenizer for random-weight models: the real special tokens at their
// real ids (<pad> 0, <eos> 1, <bos> 2, <unk> 3, then the turn/channel/tool markers), the 256
// <0xXX> byte-fallback tokens, printable ASCII with U+2581 for the space, a few hundred BPE merges
// (▁ + letter, letter + letter) and numbered placeholder pieces up to the model's vocabulary size.
// It gives llama.cpp and leapfrog a valid `gemma4` BPE vocabulary so the files load and text
// prompts tokenize (about one token per character or two); the pieces carry no meaning.
//
// Invariants: exactly n_vocab unique tokens; every merge's two halves and their concatenation
// are tokens; the vocabulary passes vocab::validate().
#pragma once
#include <cstdint>

#include "tokenizer/vocab.h"

namespace lf {

// The smallest vocabulary synth_vocab accepts (specials, bytes and single characters).
int64_t synth_vocab_min_size();

// Throws lf::error when n_vocab is below synth_vocab_min_size() or above int32 range.
vocab synth_vocab(int64_t n_vocab);

}  // namespace lf
