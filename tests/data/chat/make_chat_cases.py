#!/usr/bin/env python3
"""Renders the chat cases in this directory with the official Gemma 4 template and writes
chat_cases.json (input messages, options and the expected prompt string for each case).

The template is rendered the way transformers' apply_chat_template does it: an
ImmutableSandboxedEnvironment with trim_blocks and lstrip_blocks, the loopcontrols extension, a
`tojson` filter that keeps non-ASCII text, `raise_exception` and `strftime_now` globals, and the
tokenizer's special tokens (bos_token, eos_token, ...) passed as variables.

Usage: python3 make_chat_cases.py TEMPLATE.jinja [-o chat_cases.json]
"""
import argparse
import copy
import json
from datetime import datetime
from pathlib import Path

import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

SPECIAL_TOKENS = {"bos_token": "<bos>", "eos_token": "<eos>", "unk_token": "<unk>", "pad_token": "<pad>"}


def make_env():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(fmt):
        return datetime.now().strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the weather for a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name"},
                "unit": {"type": "string", "enum": ["C", "F"]},
            },
            "required": ["city"],
        },
    },
}

WEATHER_TOOL_SMALL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}

TIME_TOOL = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Current time in a time zone",
        "parameters": {"type": "object", "properties": {"tz": {"type": "string", "description": "IANA zone"}}},
    },
}

# Declarations that walk every branch of format_parameters / format_function_declaration.
COMPLEX_TOOL = {
    "type": "function",
    "function": {
        "name": "search_flights",
        "description": "Find flights. Uses \"quotes\" and unicode: café ✈",
        "parameters": {
            "type": "object",
            "properties": {
                "origin": {"type": "string", "description": "IATA code"},
                "passengers": {"type": "integer", "description": "How many", "nullable": True},
                "budget": {"type": "number"},
                "flexible": {"type": "boolean", "description": "Allow ±3 days"},
                "cabin": {"type": "string", "enum": ["economy", "business", "first"], "description": "Cabin"},
                "legs": {
                    "type": "array",
                    "description": "Flight legs",
                    "items": {
                        "type": "object",
                        "properties": {
                            "from": {"type": "string"},
                            "to": {"type": "string", "description": "Destination"},
                            "date": {"type": "string", "description": "YYYY-MM-DD"},
                        },
                        "required": ["from", "to"],
                    },
                },
                "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
                "codes": {"type": "array", "items": {"type": ["string", "null"], "minLength": 2, "maxItems": None}},
                "empty_items": {"type": "array", "items": {}},
                "filters": {
                    "type": "object",
                    "description": "Extra filters",
                    "properties": {
                        "max_stops": {"type": "integer", "description": "0 = direct"},
                        "airlines": {"type": "array", "items": {"type": "string"}},
                    },
                    "required": ["max_stops"],
                },
                "metadata": {"type": "object", "additionalProperties": True},
                "Zeta": {"type": "string"},
                "alpha": {"type": "STRING"},
                "description": {"type": "string", "description": "skipped: a standard key"},
                "no_type": {"description": "has no type"},
            },
            "required": ["origin", "legs"],
        },
        "response": {"type": "object", "description": "Matching flights"},
    },
}

NO_PARAMS_TOOL = {"type": "function", "function": {"name": "ping", "description": "Liveness check"}}

NO_TYPE_PARAMS_TOOL = {
    "type": "function",
    "function": {
        "name": "no_type",
        "description": "Parameters without a type",
        "parameters": {"properties": {"x": {"type": "integer"}}, "required": ["x"]},
    },
}

NULL_DESC_TOOL = {
    "type": "function",
    "function": {"name": "nulls", "description": None, "parameters": {"type": "object", "properties": {}}},
}

RESPONSE_STRING_TOOL = {
    "type": "function",
    "function": {
        "name": "echo",
        "description": "Echo",
        "parameters": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
        "response": {"type": "string", "description": "The same text"},
    },
}


def call(name, arguments, id=None):
    tc = {"type": "function", "function": {"name": name, "arguments": arguments}}
    if id is not None:
        tc["id"] = id
    return tc


CASES = [
    # The nine conversations rendered by transformers into tiny_tokenizer_gold.json.
    dict(name="single_user", messages=[{"role": "user", "content": "Hello there!"}]),
    dict(name="system_user", messages=[{"role": "system", "content": "You are terse."},
                                       {"role": "user", "content": "Name a prime."}]),
    dict(name="multi_turn", messages=[{"role": "user", "content": "Hi"},
                                      {"role": "assistant", "content": "Hello! How can I help?"},
                                      {"role": "user", "content": "Tell me a joke."}]),
    dict(name="no_generation_prompt", add_generation_prompt=False,
         messages=[{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "A."}]),
    dict(name="thinking_on", enable_thinking=True, messages=[{"role": "user", "content": "Think first."}]),
    dict(name="padded_user", messages=[{"role": "user", "content": "  padded text \n"}]),
    dict(name="tools_declared", tools=[WEATHER_TOOL],
         messages=[{"role": "user", "content": "What is the weather in Paris?"}]),
    dict(name="tool_call_then_result", tools=[WEATHER_TOOL_SMALL],
         messages=[{"role": "user", "content": "Weather in Paris?"},
                   {"role": "assistant", "content": None,
                    "tool_calls": [call("get_weather", {"city": "Paris"}, "call_1")]},
                   {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp\": 21, \"sky\": \"clear\"}"}]),
    dict(name="unicode", messages=[{"role": "user", "content": "日本語で答えて 🙂"}]),

    # Further edges of the template.
    dict(name="thinking_off_explicit", enable_thinking=False, messages=[{"role": "user", "content": "No thinking."}]),
    dict(name="thinking_with_system", enable_thinking=True,
         messages=[{"role": "system", "content": "Be careful."}, {"role": "user", "content": "2+2?"}]),
    dict(name="thinking_with_tools", enable_thinking=True, tools=[WEATHER_TOOL, TIME_TOOL],
         messages=[{"role": "system", "content": "Use tools."}, {"role": "user", "content": "Time in Oslo?"}]),
    dict(name="developer_role", messages=[{"role": "developer", "content": "Dev rules."},
                                          {"role": "user", "content": "ok"}]),
    dict(name="empty_system", messages=[{"role": "system", "content": ""}, {"role": "user", "content": "x"}]),
    dict(name="system_only", messages=[{"role": "system", "content": "Only a system turn."}]),
    dict(name="unicode_mixed", messages=[
        {"role": "system", "content": "Ünïcödé ✓ — réponds en français"},
        {"role": "user", "content": "Привет! 👩‍👩‍👧‍👦 مرحبا 𝔘𝔫𝔦"},
        {"role": "assistant", "content": "Bonjour ! 🇫🇷"},
        {"role": "user", "content": "\u3000全角スペース\u3000"}]),
    dict(name="whitespace_trim", messages=[
        {"role": "user", "content": "\t\n  leading and trailing \u00a0\n"},
        {"role": "assistant", "content": "\n\n  answer with spaces  \n"},
        {"role": "user", "content": "next"}]),
    dict(name="content_parts", messages=[
        {"role": "user", "content": [{"type": "text", "text": " first part "},
                                     {"type": "text", "text": "second part"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "<|channel>thought\nhidden<channel|>visible"}]},
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What is this?"}]}]),
    dict(name="audio_video_parts", messages=[
        {"role": "user", "content": [{"type": "audio"}, {"type": "video"}, {"type": "text", "text": "describe"}]}]),
    dict(name="reasoning_stripped", messages=[
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "reasoning_content": "simple arithmetic", "content": "4"},
        {"role": "user", "content": "And 3+3?"}]),
    dict(name="thinking_in_content_stripped", messages=[
        {"role": "user", "content": "Q1"},
        {"role": "assistant", "content": "<|channel>thought\nlet me think<channel|>The answer.  "},
        {"role": "user", "content": "Q2"}]),
    dict(name="multiple_tool_calls", tools=[WEATHER_TOOL, TIME_TOOL], messages=[
        {"role": "user", "content": "Weather and time in Oslo?"},
        {"role": "assistant", "tool_calls": [call("get_weather", {"city": "Oslo", "unit": "C"}, "c1"),
                                             call("get_time", {"tz": "Europe/Oslo"}, "c2")]},
        {"role": "tool", "tool_call_id": "c1", "content": "-3 C, snow"},
        {"role": "tool", "tool_call_id": "c2", "content": "14:05"},
        {"role": "assistant", "content": "It is -3 C and snowing; the time is 14:05."},
        {"role": "user", "content": "Thanks"}]),
    dict(name="tool_call_then_answer", tools=[WEATHER_TOOL_SMALL], add_generation_prompt=False, messages=[
        {"role": "user", "content": "Weather in Rome?"},
        {"role": "assistant", "content": "", "tool_calls": [call("get_weather", {"city": "Rome"}, "r1")]},
        {"role": "tool", "tool_call_id": "r1", "content": "sunny"},
        {"role": "assistant", "content": "Sunny in Rome."}]),
    dict(name="tool_call_with_content", tools=[WEATHER_TOOL_SMALL], messages=[
        {"role": "user", "content": "Weather in Rome?"},
        {"role": "assistant", "content": "Let me check.", "tool_calls": [call("get_weather", {"city": "Rome"}, "r1")]},
        {"role": "tool", "tool_call_id": "r1", "content": "sunny"}]),
    dict(name="tool_call_pending", tools=[WEATHER_TOOL_SMALL], messages=[
        {"role": "user", "content": "Weather in Rome?"},
        {"role": "assistant", "tool_calls": [call("get_weather", {"city": "Rome"})]}]),
    dict(name="nested_arguments", tools=[COMPLEX_TOOL], messages=[
        {"role": "user", "content": "Book it"},
        {"role": "assistant", "tool_calls": [call("search_flights", {
            "origin": "OSL",
            "passengers": 2,
            "budget": 1234.5,
            "ratio": 0.1,
            "tiny": 1e-05,
            "huge": 1e16,
            "whole": 3.0,
            "negative": -42,
            "flexible": True,
            "direct": False,
            "note": None,
            "legs": [{"from": "OSL", "to": "CDG", "date": "2026-01-02"}, {"from": "CDG", "to": "OSL"}],
            "matrix": [[1, 2], [3, [4, {"deep": "yes"}]], []],
            "filters": {"max_stops": 0, "airlines": ["SK", "AF"], "Case": "B", "case": "a"},
            "empty": {},
            "quote": "she said \"hi\" <|\"|> and {braces}, commas",
            "Zeta": "z",
            "alpha": "a"}, "f1")]},
        {"role": "tool", "tool_call_id": "f1", "content": "[{\"id\": \"SK1\", \"price\": 99.9}]"}]),
    dict(name="tool_result_parts", tools=[WEATHER_TOOL_SMALL], messages=[
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "tool_calls": [call("get_weather", {"city": "Paris"}, "w1")]},
        {"role": "tool", "tool_call_id": "w1", "content": [{"type": "text", "text": "21 C"},
                                                           {"type": "image"},
                                                           {"type": "text", "text": ", clear"}]}]),
    dict(name="tool_result_number_and_list", tools=[WEATHER_TOOL_SMALL, TIME_TOOL], messages=[
        {"role": "user", "content": "Both?"},
        {"role": "assistant", "tool_calls": [call("get_weather", {"city": "Paris"}, "a"),
                                             call("get_time", {"tz": "UTC"}, "b")]},
        {"role": "tool", "tool_call_id": "a", "content": 21},
        {"role": "tool", "tool_call_id": "b", "content": None}]),
    dict(name="tool_name_from_message", tools=[WEATHER_TOOL_SMALL], messages=[
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "tool_calls": [call("get_weather", {"city": "Paris"}, "id-x")]},
        {"role": "tool", "tool_call_id": "other", "name": "renamed", "content": "ok"}]),
    dict(name="reasoning_with_tool_calls", tools=[WEATHER_TOOL_SMALL], enable_thinking=True, messages=[
        {"role": "user", "content": "Weather in Bergen?"},
        {"role": "assistant", "reasoning_content": "I should call the weather tool.",
         "tool_calls": [call("get_weather", {"city": "Bergen"}, "b1")]},
        {"role": "tool", "tool_call_id": "b1", "content": "rain"}]),
    dict(name="reasoning_before_last_user_dropped", tools=[WEATHER_TOOL_SMALL], messages=[
        {"role": "user", "content": "Weather in Bergen?"},
        {"role": "assistant", "reasoning": "old thoughts",
         "tool_calls": [call("get_weather", {"city": "Bergen"}, "b1")]},
        {"role": "tool", "tool_call_id": "b1", "content": "rain"},
        {"role": "assistant", "content": "Rainy."},
        {"role": "user", "content": "And tomorrow?"}]),
    dict(name="assistant_continuation", messages=[
        {"role": "user", "content": "Go on"},
        {"role": "assistant", "content": "Part one."},
        {"role": "assistant", "content": "Part two."}]),
    dict(name="string_arguments_raw", tools=[WEATHER_TOOL_SMALL], messages=[
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "tool_calls": [call("get_weather", "city:<|\"|>Oslo<|\"|>", "s1")]},
        {"role": "tool", "tool_call_id": "s1", "content": "cold"}]),
    dict(name="legacy_tool_responses", messages=[
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "tool_calls": [call("get_weather", {"city": "Oslo"})],
         "tool_responses": [{"name": "get_weather", "response": {"temp": -3, "sky": "snow", "wind": {"kmh": 5.5}}},
                            {"name": "get_time", "response": "14:05"}]},
        {"role": "user", "content": "Thanks"}]),
    dict(name="complex_declarations", tools=[COMPLEX_TOOL, NO_PARAMS_TOOL, NO_TYPE_PARAMS_TOOL, NULL_DESC_TOOL,
                                             RESPONSE_STRING_TOOL],
         messages=[{"role": "user", "content": "Which tools?"}]),
    dict(name="tools_without_system_no_prompt", tools=[TIME_TOOL], add_generation_prompt=False,
         messages=[{"role": "user", "content": "time?"}]),
    dict(name="user_text_with_markers", messages=[
        {"role": "user", "content": "Literal <|turn> and <|tool_call>call:x{}<tool_call|> text"}]),
]


def render(env, template, case):
    kwargs = dict(SPECIAL_TOKENS)
    if "enable_thinking" in case:
        kwargs["enable_thinking"] = case["enable_thinking"]
    return env.from_string(template).render(
        messages=copy.deepcopy(case["messages"]),
        tools=copy.deepcopy(case.get("tools")),
        documents=None,
        add_generation_prompt=case.get("add_generation_prompt", True),
        **kwargs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("template")
    ap.add_argument("-o", "--out", default=str(Path(__file__).with_name("chat_cases.json")))
    args = ap.parse_args()
    template = Path(args.template).read_text(encoding="utf-8")
    env = make_env()
    out = []
    for case in CASES:
        entry = {
            "name": case["name"],
            "messages": case["messages"],
            "tools": case.get("tools"),
            "add_generation_prompt": case.get("add_generation_prompt", True),
            "enable_thinking": case.get("enable_thinking", False),
            "expected": render(env, template, case),
        }
        out.append(entry)
    Path(args.out).write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(out)} cases to {args.out}")


if __name__ == "__main__":
    main()
