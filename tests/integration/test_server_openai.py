"""leapfrog serve with the official `openai` Python client: model list, chat and text completions
(streamed and not, with usage), stop sequences, per-request speculative settings, errors mapped to
the client's exception types, and a tool-call round trip.

The tool calls come from a scripted copy of the tiny model (see tests/server/server_harness.py)
whose greedy output is a get_weather call after the generation prompt and a fixed sentence after
the tool's response, so the whole path — Gemma 4 chat format in, tool_calls out, tool result back
in — runs with the real tokenizer and the real chat format.
"""
import json
import sys
from pathlib import Path

import openai
from openai import OpenAI

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))
from server_harness import Checks, Models, Server, harness_args  # noqa: E402

API_KEY = "sk-leapfrog-test"
TOOLS = [{
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}]

# Tiny-vocabulary ids (tests/data/tiny-gemma4): <channel|> 8, <|tool_call> 11, <tool_call|> 12,
# <|tool_response> 13, <tool_response|> 14, <turn|> 5; byte tokens are 16 + byte. Distinct ids
# spell "call:get_weather{city:Paris}" (the second 'c' and ':' as byte tokens) so that the next
# token depends on the last one only.
TOOL_CALL_CHAIN = [8, 11, 340, 591, 299, 1005, 336, 838, 1061, 364, 16 + ord("c"), 577, 16 + ord(":"), 321, 444, 425,
                   366, 12, 13]
ANSWER_CHAIN = [14, 1444, 483, 2668, 2319, 441, 3962, 287, 5]  # "It is sunny in Paris." <turn|>
ANSWER = "It is sunny in Paris."


def successor_table():
    succ = {}
    for chain in (TOOL_CALL_CHAIN, ANSWER_CHAIN):
        for a, b in zip(chain, chain[1:]):
            succ[a] = b
    return succ


def collect_chat_stream(stream):
    content, calls, finish, usage, role = "", {}, None, None, None
    for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        for ch in chunk.choices:
            d = ch.delta
            role = d.role or role
            content += d.content or ""
            for tc in d.tool_calls or []:
                slot = calls.setdefault(tc.index, {"id": None, "name": "", "arguments": ""})
                slot["id"] = tc.id or slot["id"]
                if tc.function:
                    slot["name"] += tc.function.name or ""
                    slot["arguments"] += tc.function.arguments or ""
            finish = ch.finish_reason or finish
    return role, content, [calls[i] for i in sorted(calls)], finish, usage


def test_tiny(c, models, binary):
    target, head = models.tiny_pair("q8_0")
    with Server(binary, target, "--api-key", API_KEY, "-a", "tiny", mtp=head, np_slots=2, ctx=2048, threads=1) as srv:
        client = OpenAI(base_url=srv.base + "/v1", api_key=API_KEY, max_retries=0, timeout=120)

        ids = [m.id for m in client.models.list().data]
        c.check(ids == ["tiny"], f"models.list gives the alias ({ids})")

        messages = [{"role": "user", "content": "Tell me about the city and the people in it."}]
        r = client.chat.completions.create(model="tiny", messages=messages, max_tokens=24, temperature=0)
        full_chat = r.choices[0].message.content
        c.check(isinstance(full_chat, str) and len(full_chat) > 0, "chat: content is text")
        c.check(r.choices[0].finish_reason in ("stop", "length"), f"chat: finish_reason {r.choices[0].finish_reason}")
        c.check(r.usage.completion_tokens <= 24 and r.usage.prompt_tokens > 5 and
                r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens, "chat: usage adds up")
        timings = (r.model_extra or {}).get("timings", {})
        c.check(timings.get("predicted_n") == r.usage.completion_tokens and "draft_n_accepted" in timings,
                "chat: llama.cpp timings ride along")

        role, content, _, finish, usage = collect_chat_stream(client.chat.completions.create(
            model="tiny", messages=messages, max_tokens=24, temperature=0, stream=True,
            stream_options={"include_usage": True}))
        c.check(role == "assistant", "chat stream: first delta carries the role")
        c.check(content == full_chat, "chat stream: deltas add up to the non-streamed content")
        c.check(finish == r.choices[0].finish_reason, "chat stream: same finish_reason")
        c.check(usage is not None and usage.completion_tokens == r.usage.completion_tokens,
                "chat stream: usage chunk with include_usage")

        prompt = "The man said that"
        t = client.completions.create(model="tiny", prompt=prompt, max_tokens=30, temperature=0)
        full_text = t.choices[0].text
        c.check(len(full_text) > 10, "completions: text")
        streamed = "".join(ch.choices[0].text for ch in client.completions.create(
            model="tiny", prompt=prompt, max_tokens=30, temperature=0, stream=True) if ch.choices)
        c.check(streamed == full_text, "completions stream: chunks add up to the non-streamed text")

        # Stop sequences: cut where the stop string first occurs, never include it.
        words = [w for w in full_text.split(" ") if len(w) >= 3]
        stop_word = " " + words[len(words) // 2]
        want = full_text[:full_text.index(stop_word)]
        s = client.completions.create(model="tiny", prompt=prompt, max_tokens=30, temperature=0, stop=stop_word)
        c.check(s.choices[0].text == want and s.choices[0].finish_reason == "stop",
                f"stop string {stop_word!r}: text cut before it, finish_reason stop")
        s2 = "".join(ch.choices[0].text for ch in client.completions.create(
            model="tiny", prompt=prompt, max_tokens=30, temperature=0, stop=["zzzz", stop_word], stream=True)
            if ch.choices)
        c.check(s2 == want, "stop list while streaming: same cut, nothing of the stop string leaked")
        chat_words = [w for w in full_chat.split(" ") if len(w) >= 3]
        chat_stop = chat_words[len(chat_words) // 2]
        cs = client.chat.completions.create(model="tiny", messages=messages, max_tokens=24, temperature=0,
                                            stop=[chat_stop])
        c.check(cs.choices[0].message.content == full_chat[:full_chat.index(chat_stop)] and
                cs.choices[0].finish_reason == "stop", f"chat stop {chat_stop!r}")

        # Per-request speculation: same greedy text, no drafts when switched off.
        off = client.completions.create(model="tiny", prompt=prompt, max_tokens=30, temperature=0,
                                        extra_body={"speculative": {"enabled": False}})
        c.check(off.choices[0].text == full_text and off.model_extra["timings"]["draft_n"] == 0,
                "speculative.enabled=false: same text, nothing drafted")
        one = client.completions.create(model="tiny", prompt=prompt, max_tokens=30, temperature=0,
                                        extra_body={"speculative": {"draft_max": 1}})
        tm = one.model_extra["timings"]
        c.check(one.choices[0].text == full_text and 0 < tm["draft_n"] <= tm["predicted_n"],
                "speculative.draft_max=1: same text, at most one draft per token")

        # Seeded sampling is reproducible.
        a = client.completions.create(model="tiny", prompt=prompt, max_tokens=20, temperature=0.9, top_p=0.95,
                                      seed=7)
        b = client.completions.create(model="tiny", prompt=prompt, max_tokens=20, temperature=0.9, top_p=0.95,
                                      seed=7)
        c.check(a.choices[0].text == b.choices[0].text, "temperature 0.9 with a seed: reproducible")

        # Errors surface as the client's exception types.
        for exc, kwargs, what in [
            (openai.BadRequestError, {"temperature": 5}, "temperature out of range → BadRequestError"),
            (openai.NotFoundError, {"model": "no-such-model"}, "unknown model → NotFoundError"),
        ]:
            try:
                client.chat.completions.create(**{"model": "tiny", "messages": messages, "max_tokens": 4, **kwargs})
                c.check(False, what)
            except exc as e:
                c.check(isinstance(e.body, dict) and "message" in e.body, what)
        bad_key = OpenAI(base_url=srv.base + "/v1", api_key="wrong", max_retries=0)
        try:
            bad_key.models.list()
            c.check(False, "wrong API key → AuthenticationError")
        except openai.AuthenticationError:
            c.check(True, "wrong API key → AuthenticationError")
        c.check(srv.stop() == 0, "tiny server exits 0")


def test_tools(c, models, binary):
    scripted = models.scripted(successor_table())
    head = models.scripted_head(successor_table())
    with Server(binary, scripted, "-a", "scripted", "--draft-max", 4, mtp=head, np_slots=2, ctx=2048,
                threads=1) as srv:
        client = OpenAI(base_url=srv.base + "/v1", api_key="unused", max_retries=0, timeout=120)
        messages = [{"role": "user", "content": "What is the weather in Paris?"}]
        r = client.chat.completions.create(model="scripted", messages=messages, tools=TOOLS, temperature=0)
        msg = r.choices[0].message
        c.check(r.choices[0].finish_reason == "tool_calls", f"tool call: finish_reason {r.choices[0].finish_reason}")
        calls = msg.tool_calls or []
        c.check(len(calls) == 1 and calls[0].type == "function" and calls[0].function.name == "get_weather",
                "tool call: one get_weather call")
        c.check(bool(calls) and json.loads(calls[0].function.arguments) == {"city": "Paris"},
                "tool call: arguments are the JSON object {'city': 'Paris'}")
        c.check(not msg.content, "tool call: no content text beside the call")

        role, content, scalls, finish, _ = collect_chat_stream(client.chat.completions.create(
            model="scripted", messages=messages, tools=TOOLS, temperature=0, stream=True))
        c.check(finish == "tool_calls" and len(scalls) == 1 and scalls[0]["name"] == "get_weather" and
                json.loads(scalls[0]["arguments"]) == {"city": "Paris"} and scalls[0]["id"],
                "tool call streamed: one complete call delta with id, name and arguments")
        c.check(content == "", "tool call streamed: no content deltas")

        # With the scripted head every draft is accepted: verify steps emit up to 5 tokens at once,
        # and the markers of the call fall inside such multi-token steps.
        st, events, done = srv.stream("/v1/chat/completions", {
            "model": "scripted", "messages": messages, "tools": TOOLS, "temperature": 0, "stream": True,
            "return_tokens": True})
        steps = [len(e["choices"][0].get("token_ids", [])) for e in events if e["choices"]]
        calls_in_stream = [tc for e in events if e["choices"] for tc in e["choices"][0]["delta"].get("tool_calls", [])]
        timings = events[-1]["timings"] if events else {}
        c.check(st == 200 and done and timings.get("draft_n_accepted", 0) >= 10 and max(steps, default=0) >= 3,
                f"speculative steps emit several tokens at once (largest step {max(steps, default=0)}, "
                f"{timings.get('draft_n_accepted')} drafts accepted)")
        c.check(len(calls_in_stream) == 1 and json.loads(calls_in_stream[0]["function"]["arguments"]) ==
                {"city": "Paris"}, "... and the tool call still arrives as one whole delta")

        # Round trip: the call and its result go back; the model answers from them.
        call = calls[0]
        messages2 = messages + [
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": call.id, "type": "function",
                 "function": {"name": call.function.name, "arguments": call.function.arguments}}]},
            {"role": "tool", "tool_call_id": call.id, "content": json.dumps({"temperature_c": 18, "sky": "sunny"})},
        ]
        r2 = client.chat.completions.create(model="scripted", messages=messages2, tools=TOOLS, temperature=0)
        c.check(r2.choices[0].message.content == ANSWER and r2.choices[0].finish_reason == "stop",
                f"tool round trip: answer {r2.choices[0].message.content!r} after the tool result")
        st, _, tmpl = srv.post("/apply-template", {"messages": messages2, "tools": TOOLS})
        prompt = tmpl.get("prompt", "") if st == 200 else ""
        c.check("<|tool_call>call:get_weather{city:" in prompt and "<|tool_response>response:get_weather{" in prompt,
                "tool round trip: the call and the result are in the Gemma 4 prompt")
        _, s_content, _, s_finish, _ = collect_chat_stream(client.chat.completions.create(
            model="scripted", messages=messages2, tools=TOOLS, temperature=0, stream=True))
        c.check(s_content == ANSWER and s_finish == "stop", "tool round trip streamed")
        none = client.chat.completions.create(model="scripted", messages=messages, tools=TOOLS, tool_choice="none",
                                              temperature=0, max_tokens=30)
        c.check(none.choices[0].finish_reason is not None, "tool_choice 'none' is accepted")
        c.check(srv.stop() == 0, "scripted server exits 0")


def main():
    args = harness_args(__doc__)
    models = Models(args.binary, args.data, args.work)
    c = Checks()
    test_tiny(c, models, args.binary)
    test_tools(c, models, args.binary)
    c.finish()


if __name__ == "__main__":
    main()
