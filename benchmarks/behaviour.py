"""Behavioural tests, measured: the shipped suite on the bundles given, and the counterfactual fix.

    python benchmarks/behaviour.py runs/gru runs/cnn runs/minilm runs/student   # the suite on each bundle
    python benchmarks/behaviour.py --train gru+ngrams cnn --seeds 0 1 2          # models trained here, per seed
    python benchmarks/behaviour.py --fix --seeds 0 1 2                           # the fix, trained and measured
    python benchmarks/behaviour.py --fix --small                                 # a quick dry run

1. Each bundle through the suite that ships for its labels (``textclf/behaviour/suites/``), the invariance
   and directional tests editing the same test texts: a table of failure rates, test by model.
2. ``--train``: each model named trained on Rotten Tomatoes (its recipe) per seed; mean ± sd over seeds.
3. ``--fix``: the default model (``--model``, default gru+ngrams) trained on Rotten Tomatoes per seed, once
   as it is and once with counterfactual training texts added (``textclf.behaviour.counterfactual``: its
   sentiment words are not the suite's, so the suite's adjectives and templates are held out); each run's RT
   test accuracy beside its failure rates; mean ± sd over the seeds.

Everything runs in this process on this machine; the machine is named at the top.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from textclf.behaviour import bundle_model, load_suite, run_suite, shipped_suite
from textclf.behaviour.counterfactual import with_counterfactuals
from textclf.behaviour.report import comparison_table
from textclf.bundle import load_bundle
from textclf.data import load_dataset
from textclf.models import MODELS
from textclf.pipeline import job_for, train_job
from textclf.speed.bench import describe_machine

FOCUS = ("negation", "contrast")  # the tests the fix is meant for: their names start with these


def suite_results(bundle, texts: list[str]):
    suite = load_suite(shipped_suite(bundle.labels))
    return run_suite(suite, bundle_model(bundle), bundle.labels, texts)


def on_bundles(paths: list[Path]) -> None:
    by_model, texts = {}, None
    for path in paths:
        bundle = load_bundle(path)
        texts = texts or [ex.text for ex in bundle.recorded_dataset("test").test]
        by_model[f"{path.name} ({bundle.model_name}, test acc {bundle.metrics['test_accuracy']:.4f})"] = \
            suite_results(bundle, texts)
    print(comparison_table(by_model))


def mean_sd(values: list[float]) -> str:
    return f"{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f}" if len(values) > 1 else f"{values[0]:.1f}"


def fix(model: str, seeds: list[int], small: bool) -> None:
    ds = rotten_tomatoes(small)
    augmented = with_counterfactuals(ds)
    added = len(augmented.train) - len(ds.train)
    print(f"counterfactual texts added to the {len(ds.train):,} training texts: {added:,}")
    per_seed(model, [("as it is", ds), ("+ counterfactuals", augmented)], seeds, small)


def rotten_tomatoes(small: bool):
    ds = load_dataset("rotten_tomatoes")
    return ds.subsample(600, seed=0) if small else ds


def per_seed(model: str, variants: list, seeds: list[int], small: bool, title: str | None = None) -> None:
    """Each (name, dataset) variant trained per seed (``model``'s recipe; a variant named after a model trains
    that model); the suite's failure rates and the RT test accuracy, mean ± sd over the seeds."""
    texts = [ex.text for ex in variants[0][1].test]
    rows: dict[str, dict[str, list[float]]] = {}
    for variant, data in variants:
        for seed in seeds:
            start = time.perf_counter()
            name = variant if variant in MODELS else model
            job = job_for(name, seed=seed, baseline=False, progress=False, **({"epochs": 2} if small else {}))
            bundle = train_job(data, job, log=lambda line: None)
            results = suite_results(bundle, texts)
            row = rows.setdefault(variant, {"RT test accuracy": []})
            row["RT test accuracy"].append(100 * bundle.metrics["test_accuracy"])
            for r in results:
                row.setdefault(r.name, []).append(100 * r.rate)
            focus = [r for r in results if r.name.startswith(FOCUS)]
            print(f"{variant}, seed {seed}: test accuracy {bundle.metrics['test_accuracy']:.4f}; "
                  + ", ".join(f"{r.name} {100 * r.rate:.1f}%" for r in focus)
                  + f" ({time.perf_counter() - start:.0f}s)", flush=True)
    names = list(rows[variants[0][0]])
    print(f"\n{title or model}, mean ± sd over seeds {seeds} (percent)\n")
    print("| | " + " | ".join(rows) + " |\n|---|" + "---:|" * len(rows))
    for name in names:
        print(f"| {name} | " + " | ".join(mean_sd(rows[v][name]) for v in rows) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bundles", nargs="*", type=Path)
    parser.add_argument("--train", nargs="+", default=[], choices=list(MODELS), help="models to train per seed")
    parser.add_argument("--fix", action="store_true", help="train the model with and without counterfactuals")
    parser.add_argument("--model", default="gru+ngrams")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--small", action="store_true", help="600 texts per split, 2 epochs: a dry run")
    args = parser.parse_args()
    print(describe_machine())
    if args.bundles:
        on_bundles(args.bundles)
    if args.train:
        ds = rotten_tomatoes(args.small)
        per_seed(args.model, [(name, ds) for name in args.train], args.seeds, args.small, ", ".join(args.train))
    if args.fix:
        fix(args.model, args.seeds, args.small)
    if not args.bundles and not args.fix and not args.train:
        parser.error("give bundles to test, --train MODEL ..., or --fix")


if __name__ == "__main__":
    main()
