"""Fine-tuning MiniLM on Rotten Tomatoes six ways: head, last-k, LoRA r = 4, 8, 16, full — side by side.

    python benchmarks/lora.py                                   # every set-up, seeds 0 1 2, the whole split
    python benchmarks/lora.py --seeds 0 --train-texts 2000 --epochs 2   # a quicker look (say so when quoting)

Each run is a child process of its own (so that its peak memory is its own): MiniLM's recipe (AdamW, linear
schedule with warm-up, layer-wise decay 0.9, 4 epochs, lr 3e-5) with the set-up's ``--finetune`` mode; LoRA
runs take the recipe's adapter learning rate (``Recipe.lora_lr``, 5e-4) and wrap attention's query and
value. Per set-up: RT test accuracy (mean ± sd over the seeds), trainable parameters, seconds per training
epoch (the validation pass included), the child's peak resident memory, and the size of the bundle's
``model.safetensors`` (LoRA's adapters are merged into the weights: the same size as a full fine-tune) and,
for LoRA, of the whole ``--adapter-only`` bundle folder. ``--lr`` sets the learning rate of the set-ups run
(a sweep: choose on the validation column, never on the test one).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

SETUPS = {"head": dict(finetune="head"), "last-k (k=2)": dict(finetune="last-k", last_k=2),
          "LoRA r=4": dict(finetune="lora", rank=4), "LoRA r=8": dict(finetune="lora", rank=8),
          "LoRA r=16": dict(finetune="lora", rank=16), "full": dict(finetune="full")}


def one_run(setup: str, seed: int, train_texts: int | None, epochs: int | None, out: Path,
            lr: float | None = None) -> dict:
    """Train one set-up in this process; what it measured."""
    from textclf.bundle import save_bundle
    from textclf.data import load_dataset
    from textclf.finetune import LoRAOptions
    from textclf.pipeline import job_for, train_job

    ds = load_dataset("rotten_tomatoes")
    if train_texts:
        ds.train = ds.train[:train_texts]
    options = dict(SETUPS[setup])
    rank = options.pop("rank", None)
    if rank is not None:
        options["lora"] = LoRAOptions(rank=rank, alpha=2.0 * rank)
    job = job_for("minilm", seed=seed, epochs=epochs, lr=lr, progress=False, baseline=False, **options)
    bundle = train_job(ds, job, log=lambda line: None)
    save_bundle(bundle, out)
    adapters = None
    if bundle.adapter is not None:
        save_bundle(bundle, out.with_name("adapters"), adapter_only=True)
        adapters = sum(f.stat().st_size for f in out.with_name("adapters").iterdir())
    m = bundle.metrics
    return {"test_accuracy": m["test_accuracy"], "valid_accuracy": m["valid_accuracy"], "lr": job.train.lr,
            "trainable": m["trainable_parameters"], "total": m["total_parameters"],
            "seconds_per_epoch": m["train_seconds"] / len(m["history"]),
            "bundle_bytes": (out / "model.safetensors").stat().st_size, "adapter_bundle_bytes": adapters}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--setups", nargs="+", default=list(SETUPS), choices=list(SETUPS))
    parser.add_argument("--train-texts", type=int, help="the first N training texts only (a quicker look)")
    parser.add_argument("--epochs", type=int, help="instead of the recipe's 4")
    parser.add_argument("--lr", type=float, help="the learning rate of every set-up run (default: the recipe's)")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # one run, in a child process: its JSON on stdout
    args = parser.parse_args()
    if args.child:
        with tempfile.TemporaryDirectory() as work:
            found = one_run(args.child, args.seeds[0], args.train_texts, args.epochs, Path(work) / "bundle", args.lr)
        found["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes
        print(json.dumps(found))
        return
    from textclf.speed.bench import describe_machine

    print(describe_machine())
    epochs = args.epochs or "the recipe's 4"
    print(f"MiniLM on Rotten Tomatoes, {args.train_texts or 'all'} training texts, epochs {epochs}, seeds {args.seeds}")
    rows = {}
    for setup in args.setups:
        for seed in args.seeds:
            extra = [*(["--train-texts", str(args.train_texts)] if args.train_texts else []),
                     *(["--epochs", str(args.epochs)] if args.epochs else []),
                     *(["--lr", str(args.lr)] if args.lr else [])]
            child = subprocess.run([sys.executable, __file__, "--child", setup, "--seeds", str(seed), *extra],
                                   capture_output=True, text=True, check=True)
            found = json.loads(child.stdout.strip().splitlines()[-1])
            rows.setdefault(setup, []).append(found)
            print(f"{setup}, seed {seed}, lr {found['lr']:g}: valid accuracy {found['valid_accuracy']:.4f}, "
                  f"test accuracy {found['test_accuracy']:.4f}, "
                  f"{found['seconds_per_epoch']:.0f} s/epoch, peak {found['peak_rss_mb']:,.0f} MB", flush=True)
    print("\n| set-up | lr | valid accuracy (%) | test accuracy (%) | trainable parameters | s / epoch "
          "| peak memory (MB) | model.safetensors (MB) | --adapter-only bundle (MB) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for setup, runs in rows.items():
        valid, test = ([100 * r[key] for r in runs] for key in ("valid_accuracy", "test_accuracy"))
        adapters = runs[0]["adapter_bundle_bytes"]
        print(f"| {setup} | {runs[0]['lr']:g} | {spread(valid)} | {spread(test)} | {runs[0]['trainable']:,} "
              f"({100 * runs[0]['trainable'] / runs[0]['total']:.2f}%) | "
              f"{statistics.median(r['seconds_per_epoch'] for r in runs):.0f} | "
              f"{statistics.median(r['peak_rss_mb'] for r in runs):,.0f} | {runs[0]['bundle_bytes'] / 2**20:.1f} | "
              f"{f'{adapters / 2**20:.2f}' if adapters else '—'} |")


def spread(values: list[float]) -> str:
    """``mean ± sd`` over the seeds (the mean alone for one)."""
    return f"{statistics.mean(values):.2f}" + (f" ± {statistics.stdev(values):.2f}" if len(values) > 1 else "")


if __name__ == "__main__":
    main()
