"""Distillation, measured: a MiniLM teacher, the default GRU + n-grams student, on Rotten Tomatoes.

    python benchmarks/distill.py --teacher runs/minilm        # a fine-tuned MiniLM bundle (else one is trained)
    python benchmarks/distill.py --teacher runs/minilm --seeds 0 1 2 --copies 4 --out runs/distill
    python benchmarks/distill.py --small                      # a quick dry run: a CNN teacher, 1 seed, 600 texts

What it runs, all on the same machine in one process:

1. the distillation set: the training split plus ``--copies`` augmented texts per training text (Tang et al.:
   n-gram sampling, word dropout), labelled once by the teacher (cached in ``--out``; the teacher's labelling
   speed is timed end to end);
2. alpha and T: the candidates in ``--grid`` each train one student (seed 0, no augmentation); the best
   *validation* accuracy chooses (the test split is not looked at);
3. per seed: the student on gold labels only, distilled without augmentation, distilled with it;
4. the tuned linear baseline (TF-IDF 1-2 grams + linear SVM) on the same split;
5. prediction speed, end to end from raw text (tokenizing included), of the teacher (also in int8, its fastest
   CPU setting, with its accuracy) and each student (seed 0; saved in ``--out/students``) on the test split's
   texts, each at its fastest of ``--batch-sizes`` (a small model gains from large batches, a large one does
   not): warm-up, alternating rounds, median (``textclf.speed.timing.compare``);
6. a learning curve (seed 0): the student with and without the teacher on 10/25/50/100% of the training split
   (the teacher is the same, trained on all of it; with it, the student also sees the augmented texts made
   from its share).

A table (mean ± sd over the seeds) and the figures go to stdout and ``--out``, the figures as PNG files.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from dataclasses import replace
from pathlib import Path

import matplotlib.pyplot as plt
import torch
from matplotlib.ticker import FuncFormatter, NullFormatter

from textclf.baseline import linear_baseline
from textclf.bundle import Bundle, load_bundle, save_bundle
from textclf.data import load_dataset
from textclf.distill.job import DistillConfig, distill_job, make_distillation_set
from textclf.distill.teacher import CACHE_NAME
from textclf.models.losses import Distillation
from textclf.pipeline import job_for, train_job
from textclf.speed.backends import with_backend
from textclf.speed.bench import describe_machine
from textclf.speed.timing import compare

GRID = ["0.5,2", "0.9,2", "0.5,4", "0.9,4"]  # alpha,T candidates, chosen on the validation split
FRACTIONS = [0.1, 0.25, 0.5, 1.0]


def quiet(line: str) -> None:
    pass


def teacher_for(path: Path | None, ds, small: bool) -> Bundle:
    """The given teacher bundle, or one trained now (MiniLM's recipe; ``--small``: a CNN, in seconds)."""
    if path is not None and (path / "config.json").exists():
        return load_bundle(path, device="cpu")
    model = "cnn" if small else "minilm"
    print(f"training the teacher ({model}, textclf train's recipe) ...", flush=True)
    bundle = train_job(ds, job_for(model, progress=False, **({"epochs": 3} if small else {})), path, log=quiet)
    if path is not None:
        save_bundle(bundle, path)
    return bundle


def student(ds, model: str, seed: int, transfer=None, epochs: int | None = None) -> Bundle:
    job = job_for(model, seed=seed, progress=False, baseline=False, epochs=epochs)
    if transfer is None:
        return train_job(ds, job, log=quiet)
    return distill_job(ds, None, job, distillation_set=transfer, log=quiet)


def texts_per_second(bundles: dict[str, Bundle], texts: list[str], rounds: int,
                     batch_sizes: list[int]) -> dict[str, dict]:
    """End-to-end prediction speed of each bundle on ``texts`` (raw text in, probabilities out) at each batch
    size, fairly timed (every (model, batch size) pair in the same alternating rounds, median): each model's
    ``{"speed": best texts/s, "batch": its batch size, "sweep": {batch size: texts/s}}`` — each at its best."""
    variants = {(name, bs): (lambda b=b, bs=bs: b.predict(texts, batch_size=bs))
                for name, b in bundles.items() for bs in batch_sizes}
    timings = compare(variants, rounds=rounds)
    out = {}
    for name in bundles:
        sweep = {bs: len(texts) / timings[(name, bs)].median for bs in batch_sizes}
        best = max(sweep, key=sweep.get)
        out[name] = {"speed": sweep[best], "batch": best, "sweep": sweep}
    return out


def int8_copy(teacher: Bundle) -> Bundle | None:
    """The teacher again, its Linear layers in int8 (``quantize_dynamic``: its fastest CPU setting in lesson 8);
    None for a teacher held only in memory."""
    if teacher.path is None:
        return None
    copy = load_bundle(teacher.path, device="cpu")
    with_backend(copy, quantize="int8")
    return copy


def mean_sd(values: list[float]) -> str:
    if len(values) == 1:
        return f"{100 * values[0]:.2f}"
    return f"{100 * statistics.mean(values):.2f} ± {100 * statistics.stdev(values):.2f}"


def tradeoff_figure(rows: list[dict], baseline: float, path: Path) -> None:
    """Test accuracy against prediction speed (log axis): each model's mean, its seeds' spread as a bar."""
    fig, ax = plt.subplots(figsize=(9, 5))
    for row in rows:
        accs = [100 * a for a in row["test"]]
        mean = statistics.mean(accs)
        spread = (statistics.stdev(accs) if len(accs) > 1 else 0.0)
        ax.errorbar(row["speed"], mean, yerr=spread, fmt="o", capsize=4, label=f"{row['name']} ({len(accs)} run"
                    f"{'s' if len(accs) > 1 else ''})")
        ax.annotate(row["name"], (row["speed"], mean), textcoords="offset points", xytext=(6, 6), fontsize=8)
    ax.axhline(100 * baseline, color="grey", linestyle="--", label=f"linear baseline {100 * baseline:.2f}%")
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:,.0f}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    speeds = [row["speed"] for row in rows]
    ax.set_xlim(min(speeds) / 2, max(speeds) * 6)  # room for the names on the right
    ax.set_xlabel("texts per second, end to end, each at its best batch size (log scale)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("Rotten Tomatoes test split: accuracy vs speed (mean ± sd over seeds)")
    ax.legend(fontsize=8, loc="upper center")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def curve_figure(curve: dict[str, list[float]], teacher: float, baseline: float, n_train: int, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(7, 4.5))
    xs = [100 * f for f in FRACTIONS[: len(next(iter(curve.values())))]]
    for name, accs in curve.items():
        ax.plot(xs, [100 * a for a in accs], marker="o", label=name)
    ax.axhline(100 * teacher, color="black", linestyle=":", label=f"teacher {100 * teacher:.2f}% (all data)")
    ax.axhline(100 * baseline, color="grey", linestyle="--", label=f"linear baseline {100 * baseline:.2f}% (all data)")
    ax.set_xlabel(f"share of the training split the student sees (%, of {n_train:,} texts)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("Learning curve: the student with and without the teacher (seed 0)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher", type=Path, help="the teacher's bundle (trained there if missing)")
    parser.add_argument("--student", default="gru+ngrams")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--copies", type=int, default=4, help="augmented texts per training text")
    parser.add_argument("--grid", nargs="+", default=GRID, metavar="ALPHA,T")
    parser.add_argument("--rounds", type=int, default=3, help="timing rounds (median)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[16, 32, 64, 128, 256],
                        help="prediction batch sizes tried; each model is reported at its fastest")
    parser.add_argument("--no-curve", action="store_true", help="skip the learning curve")
    parser.add_argument("--small", action="store_true", help="a dry run: 600 texts per split, a CNN teacher")
    parser.add_argument("--out", type=Path, default=Path("runs/distill"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    print(describe_machine(), flush=True)
    ds = load_dataset("rotten_tomatoes")
    epochs = None
    if args.small:
        ds, epochs = ds.subsample(600, seed=0), 3
        args.seeds, args.copies, args.grid = args.seeds[:1], min(args.copies, 1), args.grid[:2]
    teacher = teacher_for(args.teacher, ds, args.small)
    start = time.perf_counter()
    transfer = make_distillation_set(ds, teacher, DistillConfig(copies=args.copies), args.out / CACHE_NAME, log=print)
    label_seconds = time.perf_counter() - start
    print(f"distillation set: {len(transfer.texts):,} texts ({transfer.n_gold:,} gold); teacher labelling "
          f"{label_seconds:.0f} s (including the cache check)", flush=True)
    gold = list(range(transfer.n_gold))

    # alpha and T, chosen on the validation split (seed 0, no augmentation)
    chosen, best_valid, grid_rows = None, -1.0, []
    for cell in args.grid:
        alpha, temperature = map(float, cell.split(","))
        loss = Distillation(alpha, temperature)
        bundle = student(ds, args.student, args.seeds[0], transfer.subset(gold, augmented=False, loss=loss), epochs)
        valid = bundle.metrics["valid_accuracy"]
        grid_rows.append({"alpha": alpha, "temperature": temperature, "valid_accuracy": valid})
        print(f"alpha {alpha}, T {temperature}: valid accuracy {100 * valid:.2f}%", flush=True)
        if valid > best_valid:
            chosen, best_valid = loss, valid
    print(f"chosen on the validation split: alpha {chosen.alpha}, T {chosen.temperature}", flush=True)

    runs: dict[str, list[Bundle]] = {"student, gold labels only": [], "student, distilled": [],
                                     f"student, distilled + {args.copies}x augmented": []}
    for seed in args.seeds:
        t0 = time.perf_counter()
        runs["student, gold labels only"].append(student(ds, args.student, seed, None, epochs))
        runs["student, distilled"].append(
            student(ds, args.student, seed, transfer.subset(gold, augmented=False, loss=chosen), epochs))
        runs[f"student, distilled + {args.copies}x augmented"].append(
            student(ds, args.student, seed, transfer.subset(gold, augmented=True, loss=chosen), epochs))
        print(f"seed {seed}: " + ", ".join(f"{name} {100 * b[-1].metrics['test_accuracy']:.2f}%"
                                           for name, b in runs.items()) + f" ({time.perf_counter() - t0:.0f} s)",
              flush=True)
    baseline = linear_baseline(ds)["accuracy"]

    for key, bundles in zip(("gold", "distilled", "augmented"), runs.values()):
        save_bundle(bundles[0], args.out / "students" / key)  # seed 0, for later checks (training is deterministic)

    texts = [ex.text for ex in ds.test]
    truth = torch.tensor([ds.labels.index(ex.label) for ex in ds.test])
    contenders = {"teacher": teacher, **{name: b[0] for name, b in runs.items()}}
    teacher_int8 = int8_copy(teacher)
    if teacher_int8 is not None:  # the teacher at its fastest on this CPU, for a fair comparison
        contenders["teacher int8"] = teacher_int8
    speeds = texts_per_second(contenders, texts, args.rounds, args.batch_sizes)
    teacher_acc = float((teacher.logits(texts).argmax(-1) == truth).float().mean())  # as int8's: these texts
    rows = [{"name": f"teacher ({teacher.model_name})", "test": [teacher_acc], **speeds["teacher"]}]
    if teacher_int8 is not None:
        int8_acc = float((teacher_int8.logits(texts).argmax(-1) == truth).float().mean())
        rows.append({"name": f"teacher ({teacher.model_name}) int8", "test": [int8_acc], **speeds["teacher int8"]})
    rows += [{"name": name, "test": [b.metrics["test_accuracy"] for b in bundles], **speeds[name],
              "valid": [b.metrics["valid_accuracy"] for b in bundles]} for name, bundles in runs.items()]

    print(f"\n{describe_machine()}")
    print(f"Rotten Tomatoes: {len(ds.train):,} train / {len(ds.valid):,} valid / {len(ds.test):,} test texts; "
          f"student {args.student}, seeds {args.seeds}; alpha {chosen.alpha}, T {chosen.temperature} (chosen on "
          f"valid); speed on the {len(texts):,} test texts, each model at its best batch size of "
          f"{args.batch_sizes}, median of {args.rounds} alternating rounds\n")
    print("| model | test accuracy (%) | vs linear baseline | texts/s (batch) | vs teacher | vs teacher int8 |")
    print("|---|---|---|---|---|---|")
    print(f"| linear baseline (TF-IDF 1-2 grams + linear SVM) | {100 * baseline:.2f} | — | — | — | — |")
    for row in rows:
        mean = statistics.mean(row["test"])
        vs_int8 = f"{row['speed'] / speeds['teacher int8']['speed']:.1f}x" if teacher_int8 is not None else "—"
        print(f"| {row['name']} | {mean_sd(row['test'])} | {100 * (mean - baseline):+.2f} | {row['speed']:,.0f} "
              f"({row['batch']}) | {row['speed'] / speeds['teacher']['speed']:.1f}x | {vs_int8} |")
    print("\ntexts/s by batch size (the sweep the table's best come from):\n")
    print("| model | " + " | ".join(str(bs) for bs in args.batch_sizes) + " |")
    print("|---|" + "---|" * len(args.batch_sizes))
    for row in rows:
        print(f"| {row['name']} | " + " | ".join(f"{row['sweep'][bs]:,.0f}" for bs in args.batch_sizes) + " |")
    students = [row for row in rows if row["name"].startswith("student")]
    gold_mean = statistics.mean(students[0]["test"])
    for row in students[1:]:
        gap = teacher_acc - gold_mean
        closed = (statistics.mean(row["test"]) - gold_mean) / gap if gap > 0 else float("nan")
        print(f"{row['name']}: closes {100 * closed:.0f}% of the gap between the gold-only student and the teacher")

    curve = {}
    if not args.no_curve:
        rng = random.Random(0)
        order = rng.sample(gold, len(gold))
        curve = {"student, gold labels only": [], "student + teacher (distilled + augmented)": []}
        for fraction in FRACTIONS:
            if fraction == 1.0:
                curve["student, gold labels only"].append(students[0]["test"][0])
                curve["student + teacher (distilled + augmented)"].append(students[2]["test"][0])
                continue
            share = sorted(order[: int(fraction * len(gold))])
            part = replace(ds, train=[ds.train[i] for i in share])
            plain = student(part, args.student, args.seeds[0], None, epochs)
            taught = student(part, args.student, args.seeds[0], transfer.subset(share, loss=chosen), epochs)
            curve["student, gold labels only"].append(plain.metrics["test_accuracy"])
            curve["student + teacher (distilled + augmented)"].append(taught.metrics["test_accuracy"])
            print(f"{100 * fraction:.0f}% of the training split: gold only "
                  f"{100 * plain.metrics['test_accuracy']:.2f}%, with the teacher "
                  f"{100 * taught.metrics['test_accuracy']:.2f}%", flush=True)
        print("\n| share of the training split | " + " | ".join(curve) + " |")
        print("|---|---|---|")
        for i, fraction in enumerate(FRACTIONS):
            print(f"| {100 * fraction:.0f}% | " + " | ".join(f"{100 * accs[i]:.2f}" for accs in curve.values()) + " |")
        curve_figure(curve, teacher_acc, baseline, len(gold), args.out / "learning_curve.png")

    tradeoff_figure(rows, baseline, args.out / "tradeoff.png")
    result = {"machine": describe_machine(), "student": args.student, "seeds": args.seeds, "copies": args.copies,
              "grid": grid_rows, "chosen": {"alpha": chosen.alpha, "temperature": chosen.temperature},
              "baseline": baseline, "rows": rows, "curve": curve, "fractions": FRACTIONS,
              "teacher_labelling_seconds": label_seconds, "transfer_texts": len(transfer.texts)}
    (args.out / "distill.json").write_text(json.dumps(result, indent=2))
    print(f"\nfigures and JSON in {args.out}")


if __name__ == "__main__":
    main()
