// leapfrog tokenize -m MODEL.gguf (-p TEXT | -f FILE | --batch FILE.json) [--no-bos] [--special]
// Prints the token ids as a JSON array (one array per input string with --batch). Only the
// tokenizer metadata of the GGUF is read. Without --special, text that looks like a special token
// ("<|turn>", "<bos>") is tokenized as plain text, as user input must be.
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

std::string read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) lf::fail("cannot open '{}'", path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

int lf::tools::cmd_tokenize(int argc, char** argv) {
    CLI::App app{"Print the token ids of a text as JSON.", "leapfrog tokenize"};
    std::string model, prompt, file, batch;
    bool no_bos = false, special = false;
    app.add_option("-m,--model", model, "GGUF file (only its tokenizer metadata is read)")->required();
    auto* p_opt = app.add_option("-p,--prompt", prompt, "text to tokenize");
    auto* f_opt = app.add_option("-f,--file", file, "read the text from a file (bytes as they are)");
    auto* b_opt = app.add_option("--batch", batch, "JSON file holding a list of strings; prints a list of id lists");
    app.add_flag("--no-bos", no_bos, "do not prepend the BOS token");
    app.add_flag("--special", special, "match special-token text such as <|turn> (chat templates)");
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        lf::fail("{}", e.what());
    }
    int n_inputs = (p_opt->count() > 0) + (f_opt->count() > 0) + (b_opt->count() > 0);
    if (n_inputs != 1) lf::fail("give exactly one of -p TEXT, -f FILE or --batch FILE.json");

    lf::gguf_file f = lf::gguf_file::open(model);
    lf::tokenizer tok = lf::tokenizer::from_gguf(f);

    nlohmann::json out;
    if (b_opt->count()) {
        nlohmann::json texts;
        try {
            texts = nlohmann::json::parse(read_all(batch));
        } catch (const nlohmann::json::exception& e) {
            lf::fail("--batch '{}': not valid JSON: {}", batch, e.what());
        }
        if (!texts.is_array()) lf::fail("--batch '{}': expected a JSON list of strings", batch);
        out = nlohmann::json::array();
        for (size_t i = 0; i < texts.size(); ++i) {
            if (!texts[i].is_string()) lf::fail("--batch '{}': entry {} is not a string", batch, i);
            out.push_back(tok.tokenize(texts[i].get<std::string>(), !no_bos, special));
        }
    } else {
        std::string text = f_opt->count() ? read_all(file) : prompt;
        out = tok.tokenize(text, !no_bos, special);
    }
    std::string s = out.dump() + "\n";
    std::fwrite(s.data(), 1, s.size(), stdout);
    return 0;
}
