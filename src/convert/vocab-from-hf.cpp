// Tokenizer metadata for converted GGUFs; see vocab-from-hf.h.
#include "convert/vocab-from-hf.h"

#include "gguf/gguf-writer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab-hf.h"

namespace lf {

void write_vocab_metadata(const std::string& hf_dir, gguf_writer& w) {
    vocab v = vocab_from_hf_dir(hf_dir);
    // Building the tokenizer checks what the file will be loaded with (every merge names tokens of
    // the vocabulary), so a broken tokenizer fails here rather than at serving time.
    tokenizer check(v);
    (void)check;
    write_vocab_gguf(v, w);
}

}  // namespace lf
