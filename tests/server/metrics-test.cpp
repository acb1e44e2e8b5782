// Prometheus text: every sample line is "name{labels} value", names carry the leapfrog: prefix
// and vLLM's speculative names, values match the counters given.
#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "server/metrics.h"

namespace lf::server {
namespace {

std::map<std::string, double> parse(const std::string& text) {
    std::map<std::string, double> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        size_t sp = line.rfind(' ');
        EXPECT_NE(sp, std::string::npos) << line;
        out[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
    }
    return out;
}

TEST(metrics, names_and_values) {
    server_metrics m;
    m.count_request("/v1/completions", 200);
    m.count_request("/v1/completions", 200);
    m.count_request("/v1/completions", 400);
    m.count_finish("stop");
    m.count_rejected("queue_full");
    engine_gauges g;
    g.n_running = 2;
    g.n_waiting = 5;
    g.n_slots = 4;
    g.kv_used_positions = 100;
    g.kv_total_positions = 400;
    g.counters.prompt_tokens = 77;
    g.counters.generated_tokens = 88;
    g.counters.spec_num_drafts = 10;
    g.counters.spec_num_draft_tokens = 30;
    g.counters.spec_num_accepted_tokens = 17;
    g.counters.spec_accepted_per_pos = {9, 6, 2};
    auto v = parse(render_prometheus(m.get(), g));
    EXPECT_EQ(v["leapfrog:num_requests_running"], 2);
    EXPECT_EQ(v["leapfrog:num_requests_waiting"], 5);
    EXPECT_EQ(v["leapfrog:prompt_tokens_total"], 77);
    EXPECT_EQ(v["leapfrog:generation_tokens_total"], 88);
    EXPECT_EQ(v["leapfrog:tokens_predicted_total"], 88);
    EXPECT_DOUBLE_EQ(v["leapfrog:kv_cache_usage_perc"], 0.25);
    EXPECT_EQ(v["leapfrog:kv_cache_tokens"], 100);
    EXPECT_EQ(v["leapfrog:spec_decode_num_drafts_total"], 10);
    EXPECT_EQ(v["leapfrog:spec_decode_num_draft_tokens_total"], 30);
    EXPECT_EQ(v["leapfrog:spec_decode_num_accepted_tokens_total"], 17);
    EXPECT_EQ(v["leapfrog:spec_decode_num_accepted_tokens_per_pos_total{position=\"0\"}"], 9);
    EXPECT_EQ(v["leapfrog:spec_decode_num_accepted_tokens_per_pos_total{position=\"2\"}"], 2);
    EXPECT_EQ(v["leapfrog:http_requests_total{route=\"/v1/completions\",status=\"200\"}"], 2);
    EXPECT_EQ(v["leapfrog:http_requests_total{route=\"/v1/completions\",status=\"400\"}"], 1);
    EXPECT_EQ(v["leapfrog:request_finish_total{reason=\"stop\"}"], 1);
    EXPECT_EQ(v["leapfrog:requests_rejected_total{reason=\"queue_full\"}"], 1);
}

TEST(metrics, every_family_has_help_and_type) {
    engine_gauges g;
    g.counters.spec_accepted_per_pos = {1};
    std::string text = render_prometheus(server_metrics().get(), g);
    std::istringstream in(text);
    std::string line, last_type;
    while (std::getline(in, line)) {
        if (line.rfind("# TYPE ", 0) == 0) {
            last_type = line.substr(7, line.find(' ', 7) - 7);
            EXPECT_TRUE(line.find(" counter") != std::string::npos || line.find(" gauge") != std::string::npos) << line;
        } else if (!line.empty() && line[0] != '#') {
            std::string name = line.substr(0, line.find_first_of("{ "));
            EXPECT_EQ(name, last_type) << "sample without its TYPE line: " << line;
        }
    }
}

}  // namespace
}  // namespace lf::server
