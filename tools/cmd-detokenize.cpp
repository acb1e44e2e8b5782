// leapfrog detokenize -m MODEL.gguf (--tokens 1,2,3 | --batch FILE.json) [--special] [--json]
// Prints the text of token ids exactly (no newline added), or as a JSON string with --json (bytes
// that are not valid UTF-8 become U+FFFD there). --batch takes a JSON list of id lists and prints
// a JSON list of strings. Control tokens (<bos>, <|turn>, ...) are shown only with --special.
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "core/error.h"
#include "gguf/gguf.h"
#include "tokenizer/tokenizer.h"

namespace {

std::vector<int32_t> parse_ids(const std::string& s) {
    std::vector<int32_t> ids;
    std::string cur;
    auto flush = [&] {
        if (cur.empty()) return;
        size_t used = 0;
        long long v = 0;
        try {
            v = std::stoll(cur, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used != cur.size() || v < INT32_MIN || v > INT32_MAX) lf::fail("--tokens: '{}' is not a token id", cur);
        ids.push_back(static_cast<int32_t>(v));
        cur.clear();
    };
    for (char c : s) {
        if (c == ',' || c == ' ' || c == '[' || c == ']' || c == '\n' || c == '\t')
            flush();
        else
            cur += c;
    }
    flush();
    return ids;
}

std::string dump(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

}  // namespace

int lf::tools::cmd_detokenize(int argc, char** argv) {
    CLI::App app{"Print the text of token ids.", "leapfrog detokenize"};
    std::string model, tokens, batch;
    bool special = false, as_json = false;
    app.add_option("-m,--model", model, "GGUF file (only its tokenizer metadata is read)")->required();
    auto* t_opt = app.add_option("--tokens", tokens, "token ids: 1,2,3 or [1, 2, 3]");
    auto* b_opt = app.add_option("--batch", batch, "JSON file holding a list of id lists; prints a list of strings");
    app.add_flag("--special", special, "also print the text of control tokens such as <bos>");
    app.add_flag("--json", as_json, "print the text as a JSON string");
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        lf::fail("{}", e.what());
    }
    if ((t_opt->count() > 0) == (b_opt->count() > 0)) lf::fail("give exactly one of --tokens or --batch");

    lf::gguf_file f = lf::gguf_file::open(model);
    lf::tokenizer tok = lf::tokenizer::from_gguf(f);

    std::string out;
    if (b_opt->count()) {
        std::ifstream in(batch, std::ios::binary);
        if (!in) lf::fail("cannot open '{}'", batch);
        std::ostringstream ss;
        ss << in.rdbuf();
        nlohmann::json lists;
        try {
            lists = nlohmann::json::parse(ss.str());
        } catch (const nlohmann::json::exception& e) {
            lf::fail("--batch '{}': not valid JSON: {}", batch, e.what());
        }
        if (!lists.is_array()) lf::fail("--batch '{}': expected a JSON list of id lists", batch);
        nlohmann::json texts = nlohmann::json::array();
        for (size_t i = 0; i < lists.size(); ++i) {
            std::vector<int32_t> ids;
            try {
                ids = lists[i].get<std::vector<int32_t>>();
            } catch (const nlohmann::json::exception&) {
                lf::fail("--batch '{}': entry {} is not a list of token ids", batch, i);
            }
            texts.push_back(tok.decode(ids, special));
        }
        out = dump(texts) + "\n";
    } else {
        std::string text = tok.decode(parse_ids(tokens), special);
        out = as_json ? dump(nlohmann::json(text)) + "\n" : text;
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
}
