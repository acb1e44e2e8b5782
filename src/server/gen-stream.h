// One generation as the HTTP side sees it: the bridge between the engine thread, which emits
// tokens, and the HTTP thread that answers the client.
//
// The engine thread (on_tokens / on_done) turns tokens into text — streaming detokenizer, then
// stop sequences — and appends the text and ids here; it never blocks on the client. The HTTP
// thread waits for news with a timeout (so it can watch its connection meanwhile) and takes what
// has accumulated. When a stop string appears or the client is gone, on_tokens answers false and
// the engine ends the request at once, freeing its slot.
//
// Lifetime: the callbacks hold a shared_ptr, so the stream outlives whichever side ends first.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "server/stop-matcher.h"
#include "tokenizer/detokenizer.h"
#include "tokenizer/tokenizer.h"

namespace lf::server {

class gen_stream : public std::enable_shared_from_this<gen_stream> {
public:
    // tok may be null (a model without tokenizer metadata): then only token ids flow.
    gen_stream(const tokenizer* tok, std::vector<std::string> stop);

    // Installs on_tokens / on_done on the request.
    void attach(gen_request& r);

    struct news {
        std::string text;             // text made final since the last take
        std::vector<int32_t> tokens;  // ids emitted since the last take (up to a stop string)
        bool done = false;            // the request has ended; result() is valid
    };
    // HTTP thread: waits up to `timeout` for text, ids or the end, and takes them.
    news wait(std::chrono::milliseconds timeout);
    // Blocks until the request has ended.
    void wait_done();

    // The client is gone: the engine stops the request at its next emission.
    void abandon() { abandoned_.store(true); }
    bool abandoned() const { return abandoned_.load(); }

    // Valid once wait() reported done.
    const gen_result& result() const { return result_; }
    // "stop" (end of generation or a stop string), "length", or "cancelled".
    std::string finish_reason() const;

private:
    bool on_tokens(const std::vector<int32_t>& ids);  // engine thread
    void on_done(const gen_result& r);                // engine thread

    const tokenizer* tok_;
    std::optional<stream_detokenizer> detok_;  // engine thread only
    stop_matcher stop_;                        // engine thread only
    std::atomic<bool> abandoned_{false};

    mutable std::mutex m_;
    std::condition_variable cv_;
    std::string text_;              // guarded by m_
    std::vector<int32_t> tokens_;   // guarded by m_
    bool done_ = false;             // guarded by m_
    bool stop_hit_ = false;         // guarded by m_
    gen_result result_;             // written once before done_
};

}  // namespace lf::server
