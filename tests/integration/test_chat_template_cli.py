#!/usr/bin/env python3
"""`leapfrog chat-template` renders every case of tests/data/chat/chat_cases.json (made with the
official Gemma 4 template in transformers' Jinja environment) to the identical string, from
message/tool files or from an OpenAI request body, and rejects malformed input with one line on
stderr. Exit code 0 = pass.
"""
import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

FAILURES = []


def check(cond, msg):
    if not cond:
        FAILURES.append(msg)
        print("FAIL:", msg, file=sys.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    data, work = Path(args.data), Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)

    cases = json.loads((data / "chat" / "chat_cases.json").read_text(encoding="utf-8"))
    for c in cases:
        msg_path = work / f"{c['name']}-messages.json"
        msg_path.write_text(json.dumps(c["messages"], ensure_ascii=False), encoding="utf-8")
        cmd = [args.binary, "chat-template", "--messages", str(msg_path)]
        if c["tools"] is not None:
            tools_path = work / f"{c['name']}-tools.json"
            tools_path.write_text(json.dumps(c["tools"], ensure_ascii=False), encoding="utf-8")
            cmd += ["--tools", str(tools_path)]
        if not c["add_generation_prompt"]:
            cmd.append("--no-generation-prompt")
        if c["enable_thinking"]:
            cmd.append("--thinking")
        r = subprocess.run(cmd, capture_output=True)
        check(r.returncode == 0, f"{c['name']}: exit {r.returncode}: {r.stderr.decode(errors='replace')}")
        got = r.stdout.decode("utf-8")
        check(got == c["expected"], f"{c['name']}: rendered {got!r}\n  expected {c['expected']!r}")
        # --json gives the same string, JSON-encoded.
        r = subprocess.run(cmd + ["--json"], capture_output=True)
        check(r.returncode == 0 and json.loads(r.stdout) == c["expected"], f"{c['name']}: --json output differs")
    print(f"{len(cases)} chat cases rendered")

    # An OpenAI request body: string arguments are rendered as the objects they spell.
    body = {
        "model": "x",
        "messages": [
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_1", "type": "function",
                 "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp\": 21, \"sky\": \"clear\"}"},
        ],
        "tools": [c for c in cases if c["name"] == "tool_call_then_result"][0]["tools"],
    }
    body_path = work / "request.json"
    body_path.write_text(json.dumps(body), encoding="utf-8")
    r = subprocess.run([args.binary, "chat-template", "--messages", str(body_path)], capture_output=True)
    want = [c for c in cases if c["name"] == "tool_call_then_result"][0]["expected"]
    check(r.returncode == 0 and r.stdout.decode() == want, f"request body: rendered {r.stdout!r}")

    # Bad input: non-zero exit and one line on stderr.
    bad = work / "bad.json"
    for content in ("{\"no_messages\": 1}", "[{\"content\": \"no role\"}]", "not json", "[1]"):
        bad.write_text(content)
        r = subprocess.run([args.binary, "chat-template", "--messages", str(bad)], capture_output=True)
        err = r.stderr.decode(errors="replace").strip()
        check(r.returncode != 0 and err and "\n" not in err, f"bad input {content!r}: exit {r.returncode}, stderr {err!r}")
    r = subprocess.run([args.binary, "chat-template", "--messages", str(work / "missing.json")], capture_output=True)
    check(r.returncode != 0, "a missing messages file must fail")

    if FAILURES:
        print(f"{len(FAILURES)} failure(s)", file=sys.stderr)
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
