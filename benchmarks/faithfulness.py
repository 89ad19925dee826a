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
JSON per model to ``--out``.

Sampling settings (``SAMPLES``; ``--shapley-samples``/``--lime-samples`` set
them for every model): Shapley value sampling over 20 random orders of the
words and LIME over 200 perturbed texts for the default model and the CNN;
5 orders and 100 texts for MiniLM, whose forward pass costs ~100x theirs on
a CPU (Shapley costs orders x words forward passes per text, twice with the
randomisation check: 20 orders made MiniLM's run take over an hour on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from textclf.bundle import load_bundle, save_bundle
from textclf.data import load_dataset
from textclf.explain import compare, comparison_figure
from textclf.figures import save
from textclf.pipeline import job_for, train_job
from textclf.speed.hardware import cpu_name

JOBS = {"default": dict(model="gru+ngrams"), "cnn": dict(model="cnn", embeddings="glove"),
        "minilm": dict(model="minilm")}
SAMPLES = {"default": (20, 200), "cnn": (20, 200), "minilm": (5, 100)}  # Shapley orders, LIME/KernelSHAP texts



def bundle_for(name: str, given: dict[str, Path], folder: Path):
    """The bundle given for ``name``, or the one trained before into ``folder``, or a new one (the CLI's recipe)."""
    path = given.get(name, folder / name)
    if (path / "config.json").exists():
        return load_bundle(path, device="cpu")
    print(f"training {name} (textclf train's recipe) into {path} ...", flush=True)
    spec = dict(JOBS[name])
    bundle = train_job(load_dataset("rotten_tomatoes"), job_for(spec.pop("model"), **spec), path,
                       log=lambda line: None)
    save_bundle(bundle, path)  # kept for the next run
    return bundle.to("cpu")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=list(JOBS), default=list(JOBS))
    parser.add_argument("--bundle", action="append", default=[], metavar="NAME=DIR",
                        help="use this trained bundle for model NAME (default, cnn, minilm)")
    parser.add_argument("--texts", type=int, default=200, help="first N texts of the RT test split")
    parser.add_argument("--shapley-samples", type=int, help="random orders of the words (default: SAMPLES)")
    parser.add_argument("--lime-samples", type=int, help="perturbed texts for LIME/KernelSHAP (default: SAMPLES)")
    parser.add_argument("--out", type=Path, default=Path("runs/faithfulness"))
    args = parser.parse_args()
    given = {k: Path(v) for k, v in (item.split("=", 1) for item in args.bundle)}
    print(f"CPU: {cpu_name()}; torch {torch.__version__}, {torch.get_num_threads()} threads")
    test = load_dataset("rotten_tomatoes").test[: args.texts]
    texts = [ex.text for ex in test]
    for name in args.models:
        orders, perturbed = args.shapley_samples or SAMPLES[name][0], args.lime_samples or SAMPLES[name][1]
        options = {"shapley": {"samples": orders}, "lime": {"samples": perturbed},
                   "kernelshap": {"samples": perturbed}}
        bundle = bundle_for(name, given, args.out)
        started = time.perf_counter()
        result = compare(bundle, texts, options=options,
                         progress=lambda line, t0=started: print(f"  [{time.perf_counter() - t0:.0f} s] {line}",
                                                                 flush=True))
        minutes = (time.perf_counter() - started) / 60
        print(f"\n### {name} ({bundle.model_name}), {len(texts)} RT test texts, Shapley {orders} orders, "
              f"LIME {perturbed} texts, {minutes:.1f} min\n")
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
