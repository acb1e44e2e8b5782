// leapfrog chat-template [-m MODEL.gguf] --messages FILE.json [--tools FILE.json]
//                        [--no-generation-prompt] [--thinking] [--json]
// Prints the prompt the Gemma 4 chat format makes of an OpenAI-style message list, exactly (no
// newline added), or as a JSON string with --json. The messages file holds either the list itself
// or a request body with "messages" (and possibly "tools"). Tool-call arguments given as JSON text,
// as OpenAI clients send them, are rendered as the objects they spell. The BOS text comes from the
// model's vocabulary (default "<bos>").
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "core/error.h"
#include "gguf/gguf.h"
#include "tokenizer/chat-template.h"
#include "tokenizer/tokenizer.h"

namespace {

nlohmann::json read_json(const std::string& path, const char* flag) {
    std::ifstream in(path, std::ios::binary);
    if (!in) lf::fail("{} '{}': cannot open", flag, path);
    std::ostringstream ss;
    ss << in.rdbuf();
    try {
        return nlohmann::json::parse(ss.str());
    } catch (const nlohmann::json::exception& e) {
        lf::fail("{} '{}': not valid JSON: {}", flag, path, e.what());
    }
}

}  // namespace

int lf::tools::cmd_chat_template(int argc, char** argv) {
    CLI::App app{"Render messages in the Gemma 4 chat format.", "leapfrog chat-template"};
    std::string model, messages_path, tools_path;
    bool no_gen = false, thinking = false, as_json = false;
    app.add_option("-m,--model", model, "GGUF file (only its tokenizer metadata is read)");
    app.add_option("--messages", messages_path, "JSON file: a list of messages, or an object with \"messages\"")
        ->required();
    app.add_option("--tools", tools_path, "JSON file: a list of tool declarations");
    app.add_flag("--no-generation-prompt", no_gen, "do not open a model turn at the end");
    app.add_flag("--thinking", thinking, "enable thinking (<|think|> in the system turn)");
    app.add_flag("--json", as_json, "print the prompt as a JSON string");
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        lf::fail("{}", e.what());
    }

    lf::chat_template_options opt;
    opt.add_generation_prompt = !no_gen;
    opt.enable_thinking = thinking;
    if (!model.empty()) {
        lf::gguf_file f = lf::gguf_file::open(model);
        lf::vocab v = lf::vocab_from_gguf(f);
        if (v.bos_id >= 0) opt.bos_token = v.tokens[v.bos_id];
        if (!v.chat_template.empty() && !lf::is_gemma4_chat_template(v.chat_template))
            std::fprintf(stderr, "warning: %s carries a chat template that is not Gemma 4's; rendering Gemma 4's\n",
                         model.c_str());
    }

    nlohmann::json body = read_json(messages_path, "--messages");
    nlohmann::json messages = body, tools = nullptr;
    if (body.is_object()) {
        if (!body.contains("messages")) lf::fail("--messages '{}': the object has no \"messages\"", messages_path);
        messages = body["messages"];
        if (body.contains("tools")) tools = body["tools"];
    }
    if (!tools_path.empty()) tools = read_json(tools_path, "--tools");

    std::string prompt = lf::render_gemma4_chat(lf::normalize_openai_messages(messages), tools, opt);
    std::string out = as_json ? nlohmann::json(prompt).dump() + "\n" : prompt;
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
}
