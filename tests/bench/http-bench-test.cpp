// The pieces of the HTTP workload runner that need no server: SSE framing under every split of
// the byte stream, Prometheus parsing and the spec-decode counters of each server family, prompt
// filler, the JSON round trip of a run and the table layout.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bench/http-bench.h"
#include "core/error.h"

using namespace lf;

namespace {

std::vector<std::string> events_of(const std::vector<std::string>& pieces) {
    sse_parser p;
    std::vector<std::string> out;
    for (const auto& s : pieces) p.feed(s, [&](const std::string& d) { out.push_back(d); });
    return out;
}

}  // namespace

TEST(SseParser, EventsSurviveEverySplitPoint) {
    const std::string stream =
        "data: {\"a\":1}\n\n: keep-alive comment\n\ndata: {\"b\":2}\r\n\r\nevent: x\ndata: line1\ndata: line2\n\ndata: [DONE]\n\n";
    const std::vector<std::string> want = {"{\"a\":1}", "{\"b\":2}", "line1\nline2", "[DONE]"};
    EXPECT_EQ(events_of({stream}), want);
    for (size_t cut = 0; cut <= stream.size(); ++cut)
        EXPECT_EQ(events_of({stream.substr(0, cut), stream.substr(cut)}), want) << "split at " << cut;
    std::vector<std::string> bytes;
    for (char c : stream) bytes.push_back(std::string(1, c));
    EXPECT_EQ(events_of(bytes), want);
}

TEST(SseParser, IncompleteEventIsHeldBack) {
    sse_parser p;
    std::vector<std::string> out;
    p.feed("data: {\"x\":", [&](const std::string& d) { out.push_back(d); });
    EXPECT_TRUE(out.empty());
    p.feed("1}\n\n", [&](const std::string& d) { out.push_back(d); });
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0], "{\"x\":1}");
}

TEST(Prometheus, SumsSamplesAcrossLabelsAndSkipsComments) {
    const std::string text =
        "# HELP vllm:spec_decode_num_draft_tokens_total Drafts.\n"
        "# TYPE vllm:spec_decode_num_draft_tokens_total counter\n"
        "vllm:spec_decode_num_draft_tokens_total{model_name=\"a\"} 120\n"
        "vllm:spec_decode_num_draft_tokens_total{model_name=\"b\"} 30\n"
        "vllm:spec_decode_num_accepted_tokens_total{model_name=\"a\",x=\"}\"} 75.0\n"
        "vllm:spec_decode_num_accepted_tokens_total{model_name=\"b\"} 5e0\n"
        "plain_metric 3\n"
        "bad_line_without_value\n";
    auto m = parse_prometheus(text);
    EXPECT_DOUBLE_EQ(m["vllm:spec_decode_num_draft_tokens_total"], 150);
    EXPECT_DOUBLE_EQ(m["plain_metric"], 3);
    EXPECT_EQ(m.count("bad_line_without_value"), 0u);
    auto c = find_spec_counters(m);
    ASSERT_TRUE(c.has_value());
    EXPECT_DOUBLE_EQ(c->draft_tokens, 150);
    // The label value holding '}' ends the label set at the first brace: that sample is skipped
    // rather than misread, and the other one still counts.
    EXPECT_DOUBLE_EQ(c->accepted_tokens, 5);
}

TEST(Prometheus, CountersOfEachServerFamily) {
    for (const char* prefix : {"leapfrog:", "llamacpp:", "vllm:"}) {
        std::string text = std::string(prefix) + "spec_decode_num_draft_tokens_total 10\n" + prefix +
                           "spec_decode_num_accepted_tokens_total 4\n";
        auto c = find_spec_counters(parse_prometheus(text));
        ASSERT_TRUE(c.has_value()) << prefix;
        EXPECT_DOUBLE_EQ(c->draft_tokens, 10);
        EXPECT_DOUBLE_EQ(c->accepted_tokens, 4);
    }
    EXPECT_FALSE(find_spec_counters(parse_prometheus("llamacpp:tokens_predicted_total 5\n")).has_value());
}

TEST(Filler, DeterministicAndDistinctFromTheFirstWord) {
    EXPECT_EQ(filler_text(7, 50), filler_text(7, 50));
    EXPECT_EQ(filler_text(7, 10), filler_text(7, 50).substr(0, filler_text(7, 10).size()));
    int same_first = 0;
    for (uint64_t s = 0; s < 64; ++s) {
        std::string a = filler_text(s, 3), b = filler_text(s + 1, 3);
        if (a.substr(0, a.find(' ')) == b.substr(0, b.find(' '))) ++same_first;
        // Distinct prompts: never equal as a whole.
        EXPECT_NE(filler_text(s, 40), filler_text(s + 1, 40));
    }
    EXPECT_LT(same_first, 8);  // 64 words to choose from: a shared first word is rare
    size_t words = 1;
    for (char c : filler_text(3, 25)) words += c == ' ';
    EXPECT_EQ(words, 25u);
}

TEST(RunRecord, JsonRoundTripAndTable) {
    run_record r;
    r.label = "mtp np2";
    r.concurrency = 2;
    r.requests = 4;
    r.wall_s = 2.5;
    r.total_prompt_tokens = 400;
    r.total_completion_tokens = 500;
    r.aggregate_tok_s = 200;
    r.single_stream_decode_tok_s = 110.5;
    r.mean_ttft_ms = 30;
    r.acceptance = 0.625;
    r.draft_n = 160;
    r.draft_n_accepted = 100;
    r.acceptance_source = "timings";
    run_record back = run_from_json(to_json(r));
    EXPECT_EQ(back.label, r.label);
    EXPECT_EQ(back.concurrency, 2);
    EXPECT_DOUBLE_EQ(back.aggregate_tok_s, 200);
    EXPECT_DOUBLE_EQ(*back.acceptance, 0.625);
    EXPECT_EQ(back.draft_n_accepted, 100);

    run_record plain = r;
    plain.label = "plain np2";
    plain.acceptance.reset();
    std::string t = format_runs_table({plain, r});
    for (const char* row : {"aggregate tok/s", "single-stream decode tok/s", "acceptance", "wall time (s)", "plain np2",
                            "mtp np2", "0.625 (100/160)", "200.0", "110.5", "2.50"})
        EXPECT_NE(t.find(row), std::string::npos) << row << "\n" << t;
    // The four rows of the seed's layout come first, in order.
    EXPECT_LT(t.find("aggregate tok/s"), t.find("single-stream decode"));
    EXPECT_LT(t.find("single-stream decode"), t.find("| acceptance"));
    EXPECT_LT(t.find("| acceptance"), t.find("wall time"));

    nlohmann::json bad = to_json(r);
    bad.erase("wall_s");
    try {
        run_from_json(bad);
        FAIL() << "missing wall_s accepted";
    } catch (const lf::error& e) {
        EXPECT_NE(std::string(e.what()).find("wall_s"), std::string::npos);
    }
}

TEST(HttpBench, RejectsBadOptionsBeforeConnecting) {
    http_bench_options o;
    o.url = "http://127.0.0.1:1";
    o.concurrency = {0};
    EXPECT_THROW(run_http_bench(o), lf::error);
    o.concurrency = {1};
    o.max_tokens = 0;
    EXPECT_THROW(run_http_bench(o), lf::error);
}

TEST(HttpBench, UnreachableServerIsAClearError) {
    http_bench_options o;
    o.url = "http://127.0.0.1:1";  // nothing listens on port 1
    try {
        run_http_bench(o);
        FAIL() << "no error for an unreachable server";
    } catch (const lf::error& e) {
        EXPECT_NE(std::string(e.what()).find("cannot reach"), std::string::npos) << e.what();
    }
}

// A stand-in for a server like vLLM: no /tokenize, no usage and no timings in the stream, spec
// counters only in /metrics. The runner must count tokens from the stream and take acceptance from
// the counters' difference.
TEST(HttpBench, FallsBackToStreamCountsAndMetrics) {
    httplib::Server svr;
    std::mutex mu;
    std::vector<nlohmann::json> bodies;
    std::atomic<int> completions{0};
    svr.Get("/v1/models", [](const httplib::Request&, httplib::Response& res) {
        res.set_content(R"({"data":[{"id":"fake-model"}]})", "application/json");
    });
    svr.Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
        const int n = completions.load();
        res.set_content("# TYPE vllm:spec_decode_num_draft_tokens_total counter\n"
                        "vllm:spec_decode_num_draft_tokens_total{model_name=\"fake-model\"} " + std::to_string(10 * n) +
                            "\nvllm:spec_decode_num_accepted_tokens_total{model_name=\"fake-model\"} " +
                            std::to_string(4 * n) + "\n",
                        "text/plain");
    });
    svr.Post("/v1/completions", [&](const httplib::Request& req, httplib::Response& res) {
        nlohmann::json body = nlohmann::json::parse(req.body);
        const int n = body.value("max_tokens", 1);
        {
            std::lock_guard<std::mutex> lock(mu);
            bodies.push_back(body);
        }
        res.set_chunked_content_provider("text/event-stream", [n, &completions](size_t, httplib::DataSink& sink) {
            for (int i = 0; i < n; ++i) {
                std::string ev = "data: {\"choices\":[{\"index\":0,\"text\":\"w\",\"finish_reason\":null}]}\n\n";
                sink.write(ev.data(), ev.size());
            }
            std::string last = "data: {\"choices\":[{\"index\":0,\"text\":\"\",\"finish_reason\":\"length\"}]}\n\ndata: [DONE]\n\n";
            sink.write(last.data(), last.size());
            ++completions;
            sink.done();
            return true;
        });
    });
    const int port = svr.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port, 0);
    std::thread th([&] { svr.listen_after_bind(); });
    while (!svr.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));

    http_bench_options o;
    o.url = "http://127.0.0.1:" + std::to_string(port) + "/v1/";
    o.concurrency = {1, 3};
    o.requests = 4;
    o.prompt_tokens = 40;
    o.max_tokens = 7;
    o.warmup = 1;
    std::vector<run_record> runs = run_http_bench(o);
    svr.stop();
    th.join();

    ASSERT_EQ(runs.size(), 2u);
    for (const run_record& r : runs) {
        EXPECT_EQ(r.errors, 0);
        EXPECT_EQ(r.requests, 4);
        EXPECT_EQ(r.total_completion_tokens, 4 * 7);  // counted from the stream
        EXPECT_EQ(r.acceptance_source, "metrics");
        EXPECT_EQ(r.draft_n, 40);                     // 4 requests x 10
        EXPECT_EQ(r.draft_n_accepted, 16);
        ASSERT_TRUE(r.acceptance.has_value());
        EXPECT_DOUBLE_EQ(*r.acceptance, 0.4);
        EXPECT_NEAR(r.aggregate_tok_s, r.total_completion_tokens / r.wall_s, 1e-9 * r.aggregate_tok_s);
        for (const auto& q : r.detail) {
            EXPECT_TRUE(q.ok) << q.error;
            EXPECT_LE(q.ttft_ms, q.total_ms);
        }
    }
    EXPECT_EQ(runs[1].label, "c=3");
    ASSERT_EQ(bodies.size(), 9u);  // warm-up + 2 runs x 4
    for (size_t i = 1; i < bodies.size(); ++i) {
        const auto& b = bodies[i];
        EXPECT_EQ(b["model"], "fake-model");
        EXPECT_EQ(b["max_tokens"], 7);
        EXPECT_EQ(b["stream"], true);
        EXPECT_EQ(b["ignore_eos"], true);
        // No /tokenize: about four characters per token.
        const std::string prompt = b["prompt"];
        EXPECT_GT(prompt.size(), 40u * 2);
        EXPECT_LT(prompt.size(), 40u * 8);
    }
    std::set<std::string> prompts;
    for (size_t i = 1; i < bodies.size(); ++i) prompts.insert(bodies[i]["prompt"].get<std::string>());
    EXPECT_EQ(prompts.size(), 8u);  // every request has its own prompt
}
