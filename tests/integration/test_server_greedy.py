"""leapfrog serve: greedy outputs do not depend on the slot count or on MTP.

For every fixture pair (token-id prompts through /v1/completions) and for the tiny trained pair
(chat messages through /v1/chat/completions, half of the clients streaming), 8 clients send
different prompts of different lengths at the same time to servers with -np 1, 2 and 4, each
with and without --mtp, and -np 16 with --mtp (the most slots the contract promises). Every
configuration must produce exactly the tokens of -np 1 without MTP, and that reference must
continue the fixture prompt as transformers did. The -np 2 --mtp servers read their model files
into memory (--no-mmap); the others map them.
"""
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))
from server_harness import Checks, Models, Server, harness_args  # noqa: E402

CONFIGS = [(1, False), (1, True), (2, False), (2, True), (4, False), (4, True), (16, True)]
N_CLIENTS = 8


def fixture_prompts(case):
    """8 prompts of 3..24 tokens: prefixes of the fixture prompt and seeded random ids."""
    base = case["prompt"]
    rng = np.random.default_rng(len(base))
    n_vocab = 1 + max(max(case["tokens"]), 1000)
    prompts = [base, base[:3], base[:11]]
    for n in (5, 9, 14, 19, 23):
        prompts.append([2] + [int(x) for x in rng.integers(4, min(n_vocab, 1000), size=n - 1)])
    return prompts


CHAT_MESSAGES = [
    "Tell me about the city.",
    "What did the man say?",
    "Write one sentence about the state government and its plans for the coming year.",
    "Why?",
    "Describe the house on the hill, the people who lived there and what they did every day.",
    "Give me a short story about a dog.",
    "The committee met on Tuesday.",
    "How many years did the war last, and who was the president at the time?",
]


def load_flags(np_slots, mtp):
    return ("--no-mmap",) if (np_slots, mtp) == (2, True) else ()


def run_fixture_config(binary, target, head, prompts, np_slots, mtp, threads):
    with Server(binary, target, *load_flags(np_slots, mtp), mtp=head if mtp else None, np_slots=np_slots,
                ctx=256 * np_slots, threads=threads) as srv:
        def one(i):
            st, _, body = srv.post("/v1/completions", {
                "prompt": prompts[i], "max_tokens": 8 + 2 * i, "temperature": 0, "ignore_eos": True,
                "return_tokens": True})
            assert st == 200, body
            return body["choices"][0]["token_ids"], body["timings"]
        with ThreadPoolExecutor(N_CLIENTS) as ex:
            results = list(ex.map(one, range(N_CLIENTS)))
        code = srv.stop()
    return [r[0] for r in results], [r[1] for r in results], code


def run_chat_config(binary, target, head, np_slots, mtp, threads):
    with Server(binary, target, *load_flags(np_slots, mtp), mtp=head if mtp else None, np_slots=np_slots,
                ctx=1024 * np_slots, threads=threads) as srv:
        def one(i):
            body = {"messages": [{"role": "user", "content": CHAT_MESSAGES[i]}], "max_tokens": 16 + 3 * i,
                    "temperature": 0, "return_tokens": True}
            if i % 2:
                st, events, done = srv.stream("/v1/chat/completions", {**body, "stream": True})
                assert st == 200 and done, events
                text = "".join(e["choices"][0]["delta"].get("content") or "" for e in events if e["choices"])
                ids = [t for e in events if e["choices"] for t in e["choices"][0].get("token_ids", [])]
                timings = events[-1]["timings"]
                return text, ids, timings
            st, _, r = srv.post("/v1/chat/completions", body)
            assert st == 200, r
            return r["choices"][0]["message"]["content"], r["choices"][0]["token_ids"], r["timings"]
        with ThreadPoolExecutor(N_CLIENTS) as ex:
            results = list(ex.map(one, range(N_CLIENTS)))
        code = srv.stop()
    return results, code


def main():
    args = harness_args(__doc__)
    models = Models(args.binary, args.data, args.work)
    c = Checks()

    for case_name in ("dense", "moe", "ple_kvshare"):
        case = models.fixture_case(case_name)
        target, head = models.fixture_pair(case_name)
        prompts = fixture_prompts(case)
        ref = None
        for np_slots, mtp in CONFIGS:
            threads = 2 if (np_slots, mtp) == (4, True) else 1
            outs, timings, code = run_fixture_config(args.binary, target, head, prompts, np_slots, mtp, threads)
            tag = f"{case_name} -np {np_slots} {'--mtp' if mtp else 'no MTP'} {' '.join(load_flags(np_slots, mtp))}".rstrip()
            c.check(code == 0, f"{tag}: server exits 0 on SIGTERM (got {code})")
            if ref is None:
                ref = outs
                want = case["greedy_continuation"]
                c.check(ref[0][:len(want)] == want[:len(ref[0])],
                        f"{tag}: the fixture prompt continues as transformers did")
                c.check(all(len(o) == 8 + 2 * i for i, o in enumerate(ref)), f"{tag}: every client got max_tokens tokens")
                continue
            c.check(outs == ref, f"{tag}: 8 concurrent greedy outputs equal -np 1 without MTP")
            if mtp:
                c.check(sum(t["draft_n"] for t in timings) > 0, f"{tag}: the head drafted")
            else:
                c.check(all(t["draft_n"] == 0 for t in timings), f"{tag}: nothing drafted without a head")

    target, head = models.tiny_pair("q8_0")
    ref = None
    for np_slots, mtp in CONFIGS:
        results, code = run_chat_config(args.binary, target, head, np_slots, mtp, 1)
        tag = f"tiny chat -np {np_slots} {'--mtp' if mtp else 'no MTP'} {' '.join(load_flags(np_slots, mtp))}".rstrip()
        c.check(code == 0, f"{tag}: server exits 0 on SIGTERM (got {code})")
        texts = [r[0] for r in results]
        ids = [r[1] for r in results]
        if ref is None:
            ref = (texts, ids)
            c.check(all(t for t in texts), f"{tag}: every client got text")
            continue
        c.check(ids == ref[1], f"{tag}: token ids equal -np 1 without MTP (streamed and not)")
        c.check(texts == ref[0], f"{tag}: texts equal -np 1 without MTP")
        if mtp:
            acc = sum(r[2]["draft_n_accepted"] for r in results)
            c.check(acc > 0, f"{tag}: the trained head's drafts were accepted ({acc})")
    c.finish()


if __name__ == "__main__":
    main()
