// The pieces of the HTTP workload runner that need no server: SSE framing under every split of
// the byte stream, Prometheus parsing and the spec-decode counters of each server family, prompt
// filler, the JSON round trip of a run and the table layout.
#include <gtest/gtest.h>

#include <string>
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
