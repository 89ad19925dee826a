"""Word vectors distilled from MiniLM (model2vec) against GloVe-50d for the classic models, and the static model.

    python benchmarks/embeddings.py                                  # every row, seeds 0 1 2
    python benchmarks/embeddings.py --rows default cnn --seeds 0     # a quick look

Each row is a model on Rotten Tomatoes with its recipe, once with the bundled GloVe-50d vectors and once with
``--embeddings minilm`` (``textclf.models.minilm_vectors``: every vocabulary word through MiniLM's encoder,
mean-pooled, PCA to 256, Zipf weights; no labelled data). ``static`` is model2vec's static model: the mean of
the MiniLM vectors and a linear layer (``textclf train --model static``; its GloVe twin is ``nbow``).
Figures: validation and test accuracy (mean ± sd over seeds), training seconds (``train_seconds``: the epochs
with their validation passes; the vectors are made before, cached, and timed apart once).

Then speed: texts/s of the static model against the default ``gru+ngrams`` — the network lesson 13's distilled
student is, so the same speed — on the texts of all three splits, alternating rounds in one process, from raw
text (tokenizing included) and from encoded ids (what ``textclf bench`` times). Verdicts (issue 36): the
default with MiniLM vectors at >= 81.4% RT test (the linear baseline + 2 points) in <= 60 s of training;
adopted as the default only if it wins on validation; the static model >= 5x the student's texts/s.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from textclf.data import load_dataset
from textclf.inference import logits
from textclf.models.minilm_vectors import minilm_vectors
from textclf.pipeline import job_for, train_job
from textclf.speed.bench import describe_machine
from textclf.speed.hardware import cpu_name
from textclf.speed.timing import compare
from textclf.text import Vocab, tokenize

ROWS = {"default": ("gru+ngrams", "gru+ngrams"), "cnn": ("cnn", "cnn"), "static": ("nbow", "static")}
TARGET_ACCURACY, TARGET_SECONDS, TARGET_SPEEDUP = 0.814, 60.0, 5.0



def spread(values: list[float], scale: float = 100.0, fmt: str = ".2f") -> str:
    values = [v * scale for v in values]
    if len(values) == 1:
        return format(values[0], fmt)
    return f"{format(statistics.mean(values), fmt)} ± {format(statistics.stdev(values), fmt)}"


def train(ds, model: str, embeddings: str, seed: int):
    job = job_for(model, embeddings=embeddings, seed=seed)
    job = replace(job, baseline=False, train=replace(job.train, progress=False))
    return train_job(ds, job, log=lambda line: None)


def vectors_seconds(ds, cache) -> str:
    """The MiniLM vectors of the default vocabulary made once without the cache: how long step 1 takes."""
    vocab = Vocab.build((tokenize(ex.text) for ex in ds.train), min_freq=2)
    start = time.perf_counter()
    minilm_vectors(vocab, cache=cache, log=lambda line: None)
    return f"MiniLM word vectors for {len(vocab):,} words made in {time.perf_counter() - start:.1f} s (uncached)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", nargs="+", choices=list(ROWS), default=list(ROWS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--rounds", type=int, default=7, help="alternating timed rounds of the speed table")
    args = parser.parse_args()
    ds = load_dataset("rotten_tomatoes")
    print(f"{cpu_name()}; {describe_machine()}; seeds {args.seeds}")
    with tempfile.TemporaryDirectory() as folder:  # a fresh cache file: the first making is timed
        print(vectors_seconds(ds, cache=Path(folder) / "vectors.safetensors"))
    print("\n| row | vectors | model | valid accuracy (%) | test accuracy (%) | train time (s) |")
    print("|---|---|---|---:|---:|---:|")
    results, bundles = {}, {}
    for row in args.rows:
        for embeddings, model in zip(("glove", "minilm"), ROWS[row]):
            runs = [train(ds, model, embeddings, seed) for seed in args.seeds]
            bundles[(row, embeddings)] = runs[0]
            metrics = [b.metrics for b in runs]
            results[(row, embeddings)] = metrics
            print(f"| {row} | {embeddings} | {model} | {spread([m['valid_accuracy'] for m in metrics])} | "
                  f"{spread([m['test_accuracy'] for m in metrics])} | "
                  f"{spread([m['train_seconds'] for m in metrics], 1.0, '.0f')} |", flush=True)
    verdicts = []
    if ("default", "minilm") in results:
        glove, mini = results[("default", "glove")], results[("default", "minilm")]
        test = statistics.mean(m["test_accuracy"] for m in mini)
        seconds = statistics.mean(m["train_seconds"] for m in mini)
        wins = statistics.mean(m["valid_accuracy"] for m in mini) > statistics.mean(m["valid_accuracy"] for m in glove)
        verdicts += [(f"default + minilm test {test:.2%} >= {TARGET_ACCURACY:.1%}", test >= TARGET_ACCURACY),
                     (f"default + minilm trains in <= {TARGET_SECONDS:.0f} s (mean {seconds:.0f} s)",
                      seconds <= TARGET_SECONDS),
                     ("minilm beats glove for the default on validation (adopt it as the default)", wins)]
    if ("static", "minilm") in bundles and ("default", "glove") in bundles:
        texts = [ex.text for split in ("train", "valid", "test") for ex in ds.split(split)]  # long enough to time
        static, student = bundles[("static", "minilm")], bundles[("default", "glove")]
        ids = {name: b.encode(texts) for name, b in (("static", static), ("student", student))}
        timings = compare({
            "static, raw text": lambda: static.logits(texts),
            "student, raw text": lambda: student.logits(texts),
            "static, encoded": lambda: logits(static.model, ids["static"], pad_index=static.vocab.pad_index),
            "student, encoded": lambda: logits(student.model, ids["student"], pad_index=student.vocab.pad_index),
        }, rounds=args.rounds)
        print(f"\nspeed on all {len(texts):,} texts (the three splits), batch 64, {args.rounds} alternating rounds "
              "(median; spread = (p90 - p10) / median)\n")
        print("| model | from | texts/s | spread | vs the student |")
        print("|---|---|---:|---:|---:|")
        for source in ("raw text", "encoded"):
            base = len(texts) / timings[f"student, {source}"].median
            for name in ("student", "static"):
                timing = timings[f"{name}, {source}"]
                speed = len(texts) / timing.median
                print(f"| {name} | {source} | {speed:,.0f} | {timing.spread:.0%} | {speed / base:.1f}x |")
            ratio = timings[f"student, {source}"].median / timings[f"static, {source}"].median
            verdicts.append((f"static >= {TARGET_SPEEDUP:.0f}x the student's texts/s from {source} ({ratio:.1f}x)",
                             ratio >= TARGET_SPEEDUP))
    print()
    for what, ok in verdicts:
        print(f"{'MET   ' if ok else 'MISSED'}  {what}")


if __name__ == "__main__":
    main()
