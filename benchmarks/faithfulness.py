"""Which explanation to trust, measured: every attribution method on three models, scored for faithfulness.

    python benchmarks/faithfulness.py                     # trains the bundles it lacks into runs/faithfulness/
    python benchmarks/faithfulness.py --bundle default=runs/model --bundle cnn=runs/cnn --texts 200

For the default model (GRU + n-grams), Kim's CNN (GloVe) and fine-tuned MiniLM,
on the first ``--texts`` texts of the Rotten Tomatoes test split (each
explaining its predicted class), ``textclf.explain.compare`` gives per
method: deletion/insertion AUC, ERASER comprehensiveness and sufficiency (k
= 1, 5, 10, 20, 50%), the randomisation check (rank correlation with the
same method on re-initialised weights; fails at >= 0.5), seconds per text,
and the agreement between methods — against a random ranking of the same
words (the mean of 5 draws per text). Tables go to stdout; a figure and the
JSON per model to ``--out``. Sampling settings: Shapley ``--shapley-samples``
random orders of the words, LIME/KernelSHAP ``--lime-samples`` perturbed texts.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

from textclf.bundle import load_bundle, save_bundle
from textclf.data import load_dataset
from textclf.explain import compare, comparison_figure
from textclf.figures import save
from textclf.pipeline import job_for, train_job

JOBS = {"default": dict(model="gru+ngrams"), "cnn": dict(model="cnn", embeddings="glove"),
        "minilm": dict(model="minilm")}


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            return next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def bundle_for(name: str, given: dict[str, Path], folder: Path):
    """The bundle given for ``name``, or the one trained before into ``folder``, or a new one (the CLI's recipe)."""
    path = given.get(name, folder / name)
    if (path / "config.json").exists():
        return load_bundle(path, device="cpu")
    print(f"training {name} (textclf train's recipe) into {path} ...", flush=True)
    spec = dict(JOBS[name])
    bundle = train_job(load_dataset("rotten_tomatoes"), job_for(spec.pop("model"), **spec), path,
                       log=lambda line: None)
    save_bundle(bundle, path)
    return load_bundle(path, device="cpu")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=list(JOBS), default=list(JOBS))
    parser.add_argument("--bundle", action="append", default=[], metavar="NAME=DIR",
                        help="use this trained bundle for model NAME (default, cnn, minilm)")
    parser.add_argument("--texts", type=int, default=200, help="first N texts of the RT test split")
    parser.add_argument("--shapley-samples", type=int, default=20)
    parser.add_argument("--lime-samples", type=int, default=200)
    parser.add_argument("--out", type=Path, default=Path("runs/faithfulness"))
    args = parser.parse_args()
    given = {k: Path(v) for k, v in (item.split("=", 1) for item in args.bundle)}
    print(f"CPU: {cpu_name()}; torch {torch.__version__}, {torch.get_num_threads()} threads")
    test = load_dataset("rotten_tomatoes").test[: args.texts]
    texts = [ex.text for ex in test]
    options = {"shapley": {"samples": args.shapley_samples}, "lime": {"samples": args.lime_samples},
               "kernelshap": {"samples": args.lime_samples}}
    for name in args.models:
        bundle = bundle_for(name, given, args.out)
        started = time.perf_counter()
        result = compare(bundle, texts, options=options, progress=lambda line: print(f"  {line}", flush=True))
        minutes = (time.perf_counter() - started) / 60
        print(f"\n### {name} ({bundle.model_name}), {len(texts)} RT test texts, {minutes:.1f} min\n")
        print(result.table())
        print("\nagreement (mean rank correlation of word scores per text):\n")
        print(result.agreement_table())
        print("\n" + result.verdict() + "\n", flush=True)
        args.out.mkdir(parents=True, exist_ok=True)
        save(comparison_figure(result), args.out / f"{name}.png")
        (args.out / f"{name}.json").write_text(json.dumps({"cpu": cpu_name(), **result.as_dict()}, indent=2))
    print(f"figures and JSON in {args.out}/")


if __name__ == "__main__":
    main()
