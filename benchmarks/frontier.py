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
rows: the seeds share a network), the bars the rounds' 10th to 90th percentile. Writes ``docs/frontier.png``
and the measurements it is drawn from, ``docs/frontier.json`` (``--redraw`` draws it again from them).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from dataclasses import replace
from pathlib import Path

import torch
from matplotlib.lines import Line2D

from textclf.bundle import Bundle, load_bundle
from textclf.data import load_dataset
from textclf.figures import BLUE, GREEN, GREY, ORANGE, new_figure, save
from textclf.files import atomic_write_text
from textclf.pipeline import job_for, train_job
from textclf.speed.backends import with_backend
from textclf.speed.bench import describe_machine
from textclf.speed.hardware import bf16_supported, cpu_name
from textclf.speed.timing import Timing, compare

TRAINED = ("static", "nbow", "cnn", "gru+ngrams")
MARKERS = {"MiniLM fp32": "o", "MiniLM bf16": "s", "MiniLM torch int8": "^", "MiniLM ONNX Runtime int8": "D"}
FIGURE = Path(__file__).resolve().parents[1] / "docs" / "frontier.png"
RECORD = FIGURE.with_suffix(".json")  # the measurements the figure is drawn from (--redraw)



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


def given_points(args) -> dict[str, Bundle]:
    """The bundles named on the command line: MiniLM through each backend, the distilled student."""
    points = minilm_points(args.minilm) if args.minilm else {}
    if args.student:
        points["distilled student"] = load_bundle(args.student, "cpu")
    return points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--minilm", type=Path, help="a MiniLM bundle (textclf train --model minilm)")
    parser.add_argument("--student", type=Path, help="a distilled student bundle (textclf distill)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--redraw", action="store_true", help=f"draw the figure again from {RECORD.name}")
    args = parser.parse_args()
    if args.redraw:
        record = json.loads(RECORD.read_text())
        args.rounds, args.seeds = record["rounds"], record["seeds"]
        timings = {n: Timing(n, seconds) for n, seconds in record["seconds"].items()}
        return draw(record["accuracies"], timings, record["texts"], args)
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
    for name, bundle in given_points(args).items():
        accuracies[name] = [accuracy_of(bundle, texts, labels)]
        runs[name] = lambda b=bundle: b.predict(texts)
    timings = compare(runs, rounds=args.rounds)
    atomic_write_text(RECORD, json.dumps({"machine": f"{cpu_name()}; {describe_machine()}", "texts": len(texts),
                                          "rounds": args.rounds, "seeds": args.seeds, "accuracies": accuracies,
                                          "seconds": {n: t.seconds for n, t in timings.items()}}, indent=1))
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
    """Each point named beside it; colour by kind: MiniLM's backends, the classic models, the student, the
    linear baseline."""
    fig, ax = new_figure(size=(8.5, 5.2))
    above: list[tuple[float, float]] = []  # points named above themselves: a close neighbour is named below
    shown: list[str] = []  # the MiniLM points, named in the legend
    for name, t in sorted(timings.items(), key=lambda item: -statistics.mean(accuracies[item[0]])):
        acc = [100 * a for a in accuracies[name]]
        mean, x = statistics.mean(acc), n_texts / t.median
        xerr = [[x - n_texts / t.percentile(90)], [n_texts / t.percentile(10) - x]]
        yerr = [[mean - min(acc)], [max(acc) - mean]] if len(acc) > 1 else None
        if name.startswith("MiniLM"):  # four backends within half a decade: a marker each, named in the legend
            ax.errorbar(x, mean, xerr=xerr, yerr=yerr, fmt=MARKERS.get(name, "o"), capsize=3, color=ORANGE,
                        markersize=7)
            shown.append(name)
            continue
        crowded = any(abs(math.log10(x) - u) < 0.15 and abs(mean - v) < 0.4 for u, v in above)
        if not crowded:
            above.append((math.log10(x), mean))
        colour = GREY if name == "linear baseline" else GREEN if "student" in name else BLUE
        ax.errorbar(x, mean, xerr=xerr, yerr=yerr, fmt="o", capsize=3, color=colour)
        ax.annotate(name, (x, mean), fontsize=8, xytext=(5, -11 if crowded else 4), textcoords="offset points",
                    color=colour)
    if shown:  # markers alone in the legend (no error bars: their caps blur the shapes)
        handles = [Line2D([], [], marker=MARKERS.get(name, "o"), linestyle="", color=ORANGE, markersize=7, label=name)
                   for name in MARKERS if name in shown]
        ax.legend(handles=handles, loc="lower left", fontsize=8, title="MiniLM, one run each", title_fontsize=8)
    ax.set_xscale("log")
    ax.set_xlim(right=ax.get_xlim()[1] * 2.5)  # room for the names of the fastest points
    ax.set_xlabel(f"texts per second, end to end (log scale; median of {args.rounds} rounds, bars p10-p90)")
    ax.set_ylabel(f"RT test accuracy (%, {n_texts:,} texts)")
    ax.set_title(f"Accuracy against speed, {cpu_name()}, {torch.get_num_threads()} threads\n"
                 f"(vertical bars: lowest to highest of {len(args.seeds)} seeds; no bar: one run)", fontsize=10)
    save(fig, FIGURE)
    print(f"\n[figure] {FIGURE}")


if __name__ == "__main__":
    main()
