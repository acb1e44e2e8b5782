#!/usr/bin/env python3
"""scripts/demo.sh end to end: the server starts on the committed demo pair with --mtp and two
slots, both chat requests are answered, each reply is printed with its acceptance and speed, and
the server is stopped afterwards. The binary under test is passed through LEAPFROG_BIN so the
script does not build again."""
import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    Path(args.work).mkdir(parents=True, exist_ok=True)

    env = dict(os.environ, LEAPFROG_BIN=str(Path(args.binary).resolve()))
    p = subprocess.run(["bash", str(ROOT / "scripts" / "demo.sh")], env=env, capture_output=True, text=True,
                       timeout=600)
    out = p.stdout
    (Path(args.work) / "demo.out").write_text(out + "\n--- stderr ---\n" + p.stderr)
    failures = []
    if p.returncode != 0:
        failures.append(f"demo.sh exited with {p.returncode}: {p.stderr.strip()[-2000:]}")
    m = re.search(r"listening on (http://[0-9.]+:\d+)", out)
    if not m:
        failures.append("no 'listening on' line from the server")
    if "MTP on" not in out:
        failures.append("the server did not report MTP on")
    if "2 slots" not in out:
        failures.append("the server did not report 2 slots")
    stats = re.findall(r"\[(\d+) tokens, acceptance ([0-9.]+) \((\d+)/(\d+) drafts\), (\d+) tok/s decode", out)
    if len(stats) != 2:
        failures.append(f"expected 2 replies with acceptance and speed, found {len(stats)}")
    for n, rate, acc, drafted, tps in stats:
        n, acc, drafted = int(n), int(acc), int(drafted)
        if not 1 <= n <= 96:
            failures.append(f"a reply has {n} tokens, expected 1..96 (max_tokens)")
        if drafted <= 0 or not 0 <= acc <= drafted:
            failures.append(f"inconsistent draft counts {acc}/{drafted}")
        elif abs(float(rate) - acc / drafted) > 0.006:
            failures.append(f"printed acceptance {rate} != {acc}/{drafted}")
    replies = re.findall(r"^> .*\n(.+)\n  \[", out, re.M)
    if len(replies) != 2 or any(not r.strip() for r in replies):
        failures.append(f"expected two non-empty replies, got {replies!r}")
    if "tok/s together" not in out:
        failures.append("no combined throughput line")
    # The server must be gone: its port no longer accepts connections.
    if m:
        import urllib.request
        try:
            urllib.request.urlopen(m.group(1) + "/health", timeout=2)
            failures.append("the server still answers after the demo ended")
        except OSError:
            pass
    if failures:
        print("\n".join(failures))
        print(out)
        sys.exit(1)
    print("demo ok:", [s[1] for s in stats])


if __name__ == "__main__":
    main()
