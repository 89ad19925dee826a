"""The accuracy-speed frontier on this CPU: every model and backend as one point, in one figure.

    python benchmarks/frontier.py                                  # the classic models, seeds 0 1 2
    python benchmarks/frontier.py --minilm runs/minilm --student runs/student

Points: the linear baseline (TF-IDF 1-2 grams + linear SVM, ``textclf.baseline``'s setting), and ``static``,
``nbow``, ``cnn`` and the default ``gru+ngrams``, each trained here on Rotten Tomatoes with its recipe for every
seed; where given, a MiniLM bundle in fp32, torch int8 (per channel, its ``int8.json`` where ``textclf
quantize`` wrote one), ONNX Runtime int8 and bf16 (where the CPU has bf16 arithmetic), and a distilled student
bundle. Those bundles are one training run each: their points have no accuracy bars.

Accuracy: the RT test split (1,275 reviews), the mean over seeds, the bars from the lowest to the highest seed.
Speed: texts per second end to end (raw text in, predictions out, tokenizing included, batches of 64), the
median of ``--rounds`` rounds that alternate between every point in one process (seed 0's model for the trained
rows: the seeds share a network), the bars the rounds' 10th to 90th percentile. Writes ``docs/frontier.png``.
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import replace
from pathlib import Path

import torch

from textclf.bundle import Bundle, load_bundle
from textclf.data import load_dataset
from textclf.figures import GREY, new_figure, save
from textclf.pipeline import job_for, train_job
from textclf.speed.backends import with_backend
from textclf.speed.bench import describe_machine
from textclf.speed.hardware import bf16_supported
from textclf.speed.timing import compare

TRAINED = ("static", "nbow", "cnn", "gru+ngrams")
FIGURE = Path(__file__).resolve().parents[1] / "docs" / "frontier.png"


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            return next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        return "unknown CPU"


def accuracy_of(bundle: Bundle, texts: list[str], labels: list[str]) -> float:
    predicted = bundle.logits(texts).argmax(dim=1).tolist()
    return sum(bundle.labels[p] == y for p, y in zip(predicted, labels)) / len(labels)


def linear_baseline(ds):
    """The baseline's predict function (raw text -> labels) and its test accuracy."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    classifier = LinearSVC(C=1.0, max_iter=20_000).fit(vectorizer.fit_transform([e.text for e in ds.train]),
                                                        [e.label for e in ds.train])
    return lambda texts: classifier.predict(vectorizer.transform(texts))


def minilm_points(path: Path) -> dict[str, Bundle]:
    """A MiniLM bundle as each backend: fp32, torch int8, ONNX Runtime int8 (if installed), bf16 (if fast)."""
    points = {"MiniLM fp32": load_bundle(path, "cpu"),
              "MiniLM torch int8": with_backend(load_bundle(path, "cpu"), quantize="int8")}
    try:
        points["MiniLM ONNX Runtime int8"] = with_backend(load_bundle(path, "cpu"), quantize="int8",
                                                          backend="onnxruntime")
    except ModuleNotFoundError as err:
        print(f"(ONNX Runtime point skipped: {err})")
    if bf16_supported():
        points["MiniLM bf16"] = load_bundle(path, "cpu", precision="bf16")
    return points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--minilm", type=Path, help="a MiniLM bundle (textclf train --model minilm)")
    parser.add_argument("--student", type=Path, help="a distilled student bundle (textclf distill)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"{cpu_name()}; {describe_machine()}; seeds {args.seeds}")
    ds = load_dataset("rotten_tomatoes")
    texts, labels = [ex.text for ex in ds.test], [ex.label for ex in ds.test]
    accuracies: dict[str, list[float]] = {}
    runs = {}
    baseline = linear_baseline(ds)
    accuracies["linear baseline"] = [statistics.mean(p == y for p, y in zip(baseline(texts), labels))]
    runs["linear baseline"] = lambda: baseline(texts)
    for model in TRAINED:
        for seed in args.seeds:
            job = job_for(model, seed=seed)
            job = replace(job, baseline=False, train=replace(job.train, progress=False))
            bundle = train_job(ds, job, log=lambda line: None)
            accuracies.setdefault(model, []).append(bundle.metrics["test_accuracy"])
            if seed == args.seeds[0]:
                runs[model] = lambda b=bundle: b.predict(texts)
        print(f"  {model}: {', '.join(f'{a:.2%}' for a in accuracies[model])}", flush=True)
    given = {**(minilm_points(args.minilm) if args.minilm else {}),
             **({"distilled student": load_bundle(args.student, "cpu")} if args.student else {})}
    for name, bundle in given.items():
        accuracies[name] = [accuracy_of(bundle, texts, labels)]
        runs[name] = lambda b=bundle: b.predict(texts)
    timings = compare(runs, rounds=args.rounds)
    speed = {name: len(texts) / t.median for name, t in timings.items()}
    print(f"\nRT test split ({len(texts):,} texts), end to end, batch 64, {args.rounds} alternating rounds\n")
    print("| point | test accuracy (%) | seeds | texts/s | p10-p90 texts/s |\n|---|---:|---:|---:|---:|")
    for name in sorted(speed, key=speed.get):
        acc, t = accuracies[name], timings[name]
        shown = f"{100 * statistics.mean(acc):.2f}" + (f" ({100 * min(acc):.2f}-{100 * max(acc):.2f})"
                                                       if len(acc) > 1 else "")
        print(f"| {name} | {shown} | {len(acc)} | {speed[name]:,.0f} | "
              f"{len(texts) / t.percentile(90):,.0f}-{len(texts) / t.percentile(10):,.0f} |")
    draw(accuracies, timings, len(texts), args)


def draw(accuracies, timings, n_texts: int, args) -> None:
    fig, ax = new_figure(size=(8.5, 5))
    for name, t in timings.items():
        acc = [100 * a for a in accuracies[name]]
        mean, x = statistics.mean(acc), n_texts / t.median
        xerr = [[x - n_texts / t.percentile(90)], [n_texts / t.percentile(10) - x]]
        yerr = [[mean - min(acc)], [max(acc) - mean]] if len(acc) > 1 else None
        colour = GREY if name == "linear baseline" else None
        ax.errorbar(x, mean, xerr=xerr, yerr=yerr, fmt="o", capsize=3, color=colour, label=name)
    ax.set_xscale("log")
    ax.set_xlabel(f"texts per second, end to end (log scale; median of {args.rounds} rounds, bars p10-p90)")
    ax.set_ylabel(f"RT test accuracy (%, {n_texts:,} texts; bars: lowest to highest of {len(args.seeds)} seeds)")
    ax.set_title(f"Accuracy against speed on {cpu_name()}, {torch.get_num_threads()} threads")
    ax.legend(loc="lower left", fontsize=8)
    save(fig, FIGURE)
    print(f"\n[figure] {FIGURE}")


if __name__ == "__main__":
    main()
