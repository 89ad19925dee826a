"""Zero-shot accuracy of MiniLM (no training: nearest label description) on both bundled datasets.

    python benchmarks/zero_shot.py

The label descriptions are ``textclf.zeroshot.DESCRIPTIONS``, written once by hand
(not tuned on these splits). Next to them: the majority-class rate.
"""

from __future__ import annotations

import time
from collections import Counter

from textclf.data import load_dataset
from textclf.models.minilm import minilm
from textclf.zeroshot import DESCRIPTIONS, ZeroShot


def main() -> None:
    model, tokenizer = minilm()
    print("| dataset | split | texts | zero-shot accuracy | majority class | seconds |")
    print("|---|---|---:|---:|---:|---:|")
    for name in ("rotten_tomatoes", "bbc_news"):
        ds = load_dataset(name)
        zero_shot = ZeroShot(model, tokenizer, DESCRIPTIONS[name])
        for split in ("valid", "test"):
            examples = ds.split(split)
            start = time.perf_counter()
            predicted = zero_shot.predict([ex.text for ex in examples])
            seconds = time.perf_counter() - start
            accuracy = sum(p == ex.label for p, ex in zip(predicted, examples)) / len(examples)
            majority = Counter(ex.label for ex in examples).most_common(1)[0][1] / len(examples)
            print(f"| {name} | {split} | {len(examples):,} | {100 * accuracy:.2f}% | {100 * majority:.2f}% | "
                  f"{seconds:.0f} |", flush=True)


if __name__ == "__main__":
    main()
