#!/usr/bin/env python3
"""Random strings for the tokenizer differential test, tokenized by the PyPI `tokenizers` package.

The strings mix scripts, emoji (with ZWJ sequences, flags and skin tones), whitespace runs (spaces,
tabs, newlines, CR, Unicode spaces), control characters, long words, numbers, code, and text that
looks like special tokens (complete added tokens, truncated ones, byte-token spellings, '▁').

Each entry holds:
  text            the string
  ids             tokenizer.encode(text, add_special_tokens=False).ids  (added tokens matched: HF default)
  ids_no_special  the same with encode_special_tokens=True (special tokens left as plain text)

Usage: python3 make_random_strings.py TOKENIZER.json[.gz] OUT.json [--n 2000] [--seed 1234]
The test suite imports random_strings() to draw fresh strings with other seeds.
"""
import argparse
import gzip
import json
import random

SCRIPTS = [
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "àáâãäåæçèéêëìíîïñòóôõöøùúûüýÿßœŒ",
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГД",
    "αβγδεζηθικλμνξοπρστυφχψωΑΒΓΔ",
    "אבגדהוזחטיכלמנסעפצקרשת",
    "ابتثجحخدذرزسشصضطظعغفقكلمنهوي",
    "अआइईउऊएऐओऔकखगघचछजझटठडढणतथदधनपफबभमयरलवशषसह्ािीुूेैोौं",
    "กขคงจฉชซญดตถทนบปผพฟภมยรลวศษสหอฮะาิีึืุูเแโใไ่้๊๋",
    "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年",
    "あいうえおかきくけこさしすせそたちつてとアイウエオカキクケコ",
    "가나다라마바사아자차카타파하한국어텍스트",
    "0123456789",
    "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
    "€£¥©®™°±×÷≈≠≤≥∑∏√∞∫µΩ",
    "\u0301\u0308\u0327\u200b\u200c\u200d\u2060\ufeff",  # combining marks, zero-width characters
    "\U0001d518\U0001d52b\U0001d526\U0001f130\U00010348\U00020000\U0002a6d6\U000e0041\U0010fffd",  # astral
]
EMOJI = ["😀", "😂", "🤖", "🚀", "👍🏽", "👩‍👩‍👧‍👦", "🇺🇸", "🇯🇵", "🏳️‍🌈", "❤️", "🙂", "🧪", "👨🏿‍💻", "✈"]
WHITESPACE = [" ", "  ", "   ", "\t", "\t\t", "\n", "\n\n", "\n\n\n", "\r\n", "\r", " \n ", "\u00a0", "\u3000",
              "\u2009", "\u2028", "\x0b", "\x0c", "\n" * 7, " " * 9, "\t" * 5]
CONTROL = ["\x00", "\x01", "\x02", "\x07", "\x08", "\x1b", "\x1f", "\x7f", "\x85", "\u0080", "\u009f"]
SPECIAL_LOOKING = [
    "<bos>", "<eos>", "<pad>", "<unk>", "<mask>", "<start_of_turn>", "<end_of_turn>", "<start_of_image>",
    "<|turn>", "<turn|>", "<|think|>", "<|channel>", "<channel|>", "<|tool_call>", "<tool_call|>",
    "<|tool_response>", "<tool_response|>", "<|\"|>", "<|tool>", "<tool|>", "<|image|>",
    "<table>", "</td>", "<h1>", "<unused0>", "<unused99>", "[multimodal]", "<image_soft_token>",
    "<start_of_tur", "<|turn", "turn|>", "<|\"|", "<bos", "bos>", "<<bos>>", "<eos><eos>", "</s>", "<s>",
    "<0x41>", "<0xFF>", "<0x0A>", "▁", "▁▁", "▁the", "<|", "|>", "<>", "<|endoftext|>",
]
WORDS = ["the", "token", "speculative", "decoding", "Gemma", "model", "int", "return", "def", "http", "www",
         "example", "café", "naïve", "über", "東京", "Москва", "函数", "données", "JSON", "null", "true"]
CODE = ["int main(void) {\n    return 0;\n}\n", "def f(x):\n\treturn x ** 2\n", "{\"a\": [1, 2, {\"b\": null}]}",
        "for (i = 0; i < n; ++i) a[i] += b[i];", "SELECT * FROM t WHERE x = 'y';", "https://example.com/a?b=c&d=e#f",
        "<div class=\"x\">hi</div>", "$ ls -la | grep foo > out.txt"]


def piece(rng):
    kind = rng.random()
    if kind < 0.30:
        alphabet = rng.choice(SCRIPTS)
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
    if kind < 0.42:
        return rng.choice(WORDS)
    if kind < 0.52:
        return rng.choice(WHITESPACE)
    if kind < 0.60:
        return "".join(rng.choice(EMOJI) for _ in range(rng.randint(1, 4)))
    if kind < 0.70:
        return rng.choice(SPECIAL_LOOKING)
    if kind < 0.75:
        return rng.choice(CONTROL)
    if kind < 0.80:
        return str(rng.choice([rng.randint(0, 10**9), rng.random() * 1000, -rng.randint(0, 99999)]))
    if kind < 0.85:
        return rng.choice(CODE)
    if kind < 0.90:  # long words
        ch = rng.choice(rng.choice(SCRIPTS[:4]))
        return ch * rng.randint(20, 120) if rng.random() < 0.5 else "".join(
            rng.choice(SCRIPTS[0]) for _ in range(rng.randint(30, 80)))
    if kind < 0.95:  # random code points from the whole range (no surrogates)
        out = []
        for _ in range(rng.randint(1, 6)):
            cp = rng.randint(0x20, 0x10FFFF)
            if 0xD800 <= cp <= 0xDFFF:
                cp = 0xFFFD
            out.append(chr(cp))
        return "".join(out)
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 8)))


def random_strings(seed, n):
    rng = random.Random(seed)
    out = []
    for i in range(n):
        k = rng.randint(1, 8) if i % 20 else rng.randint(15, 40)
        s = "".join(piece(rng) for _ in range(k))
        out.append(s)
    return out


def load_tokenizer(path):
    from tokenizers import Tokenizer
    if path.endswith(".gz"):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            return Tokenizer.from_str(f.read())
    return Tokenizer.from_file(path)


def tokenize_all(tok, strings):
    """(ids, ids_no_special) for each string."""
    tok.encode_special_tokens = False
    with_special = [e.ids for e in tok.encode_batch(strings, add_special_tokens=False)]
    tok.encode_special_tokens = True
    no_special = [e.ids for e in tok.encode_batch(strings, add_special_tokens=False)]
    tok.encode_special_tokens = False
    return with_special, no_special


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tokenizer")
    ap.add_argument("out")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args()
    tok = load_tokenizer(args.tokenizer)
    strings = random_strings(args.seed, args.n)
    ids, ids_ns = tokenize_all(tok, strings)
    entries = [{"text": s, "ids": a, "ids_no_special": b} for s, a, b in zip(strings, ids, ids_ns)]
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(entries, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {len(entries)} strings to {args.out}")


if __name__ == "__main__":
    main()
