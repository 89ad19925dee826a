"""WordPiece tokenization speed: textclf's (pure Python, per-word cache) next to transformers' if installed.

    python benchmarks/wordpiece_speed.py

Tokenizes every Rotten Tomatoes and BBC News text (train split) and reports word pieces per second:
textclf cold (empty cache), textclf warm (second pass, every word cached), and — when
``transformers`` is installed — its ``BertTokenizer`` (Rust-backed in transformers 5).
"""

from __future__ import annotations

import time

from textclf.data import load_dataset
from textclf.models.minilm import minilm_dir, minilm_tokenizer


def rate(tokenize, texts: list[str]) -> tuple[float, int]:
    start = time.perf_counter()
    pieces = sum(len(tokenize(t)) for t in texts)
    return pieces / (time.perf_counter() - start), pieces


def main() -> None:
    texts = [ex.text for name in ("rotten_tomatoes", "bbc_news") for ex in load_dataset(name).train]
    ours = minilm_tokenizer()
    rows = [("textclf WordPiece, cold cache", *rate(ours, texts)),
            ("textclf WordPiece, warm cache", *rate(ours, texts))]
    try:
        from transformers import BertTokenizer

        reference = BertTokenizer.from_pretrained(str(minilm_dir()))
        rows.append((f"transformers {type(reference).__name__}", *rate(reference.tokenize, texts)))
    except ImportError:
        rows.append(("transformers BertTokenizer", None, None))
    print(f"{len(texts):,} texts\n")
    print("| tokenizer | word pieces | pieces/s |")
    print("|---|---:|---:|")
    for name, speed, pieces in rows:
        print(f"| {name} | {pieces:,} | {speed:,.0f} |" if speed else f"| {name} | skipped (not installed) | - |")


if __name__ == "__main__":
    main()
