"""Pretrain a transformer on BBC News topics, fine-tune it on Rotten Tomatoes sentiment, four ways.

    python benchmarks/transfer.py                      # pretrain once, then 3 seeds x 5 set-ups
    python benchmarks/transfer.py --seeds 0 --pretrained runs/bbc_transformer   # reuse a pretrained bundle

Set-ups, all the same transformer (2 pre-norm blocks, width 128, 4 heads,
GloVe-initialised 50d embeddings), same RT splits and training budget:

- from scratch: random encoder, RT vocabulary;
- head: the BBC encoder frozen, only the new 2-way head learns;
- last-k (k=2): the head, the last block and the final norm learn;
- full: everything learns;
- full, discriminative lr: everything, each stage down at 0.5x the rate above it.

Transfer runs use the BBC vocabulary with RT's new words appended (GloVe
vectors for them). Accuracy is on the RT test split; mean ± std over seeds.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from textclf.bundle import Bundle, load_bundle
from textclf.data import load_dataset
from textclf.pipeline import JobConfig, train_job
from textclf.training import TrainConfig

MODEL = dict(model_dim=128, n_heads=4, num_layers=2, ff_dim=256, dropout=0.1)
PRETRAIN = TrainConfig(epochs=10, batch_size=16, lr=5e-4, patience=3, progress=False)
SETUPS = {  # name -> JobConfig fields (None: from scratch)
    "from scratch": None,
    "head": dict(finetune="head"),
    "last-k (k=2)": dict(finetune="last-k", last_k=2),
    "full": dict(finetune="full"),
    "full, discriminative lr 0.5": dict(finetune="full", layer_lr_decay=0.5),
}


def pretrain() -> Bundle:
    job = JobConfig(model="transformer", max_len=256, model_options=MODEL, train=PRETRAIN, baseline=False)
    return train_job(load_dataset("bbc_news"), job, log=lambda line: None)


def finetune(ds, pretrained: Bundle, setup: dict | None, seed: int, epochs: int) -> dict:
    train = TrainConfig(epochs=epochs, batch_size=64, lr=5e-4 if setup is None else 3e-4, patience=2, seed=seed,
                        progress=False)
    job = JobConfig(model="transformer", max_len=None, model_options=MODEL, train=train, baseline=False,
                    **(setup or {}))
    return train_job(ds, job, log=lambda line: None, source=None if setup is None else pretrained).metrics


def mean_std(values: list[float]) -> str:
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.2f} ± {spread:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=8, help="fine-tuning epochs (patience 2)")
    parser.add_argument("--pretrained", type=Path, help="a BBC transformer bundle to reuse instead of pretraining")
    args = parser.parse_args()
    if args.pretrained is not None:
        pretrained = load_bundle(args.pretrained)
    else:
        start = time.perf_counter()
        pretrained = pretrain()
        m = pretrained.metrics
        print(f"pretrained on BBC News: test accuracy {100 * m['test_accuracy']:.2f}% "
              f"(best epoch {m['best_epoch']}, {time.perf_counter() - start:.0f}s)")
    ds = load_dataset("rotten_tomatoes")
    rows = []
    for name, setup in SETUPS.items():
        results = [finetune(ds, pretrained, setup, seed, args.epochs) for seed in args.seeds]
        rows.append((name, [100 * r["test_accuracy"] for r in results], [r["train_seconds"] for r in results],
                     results[0]["trainable_parameters"], results[0]["total_parameters"]))
        print(f"  {name}: {[round(a, 2) for a in rows[-1][1]]}", flush=True)
    print(f"\nRotten Tomatoes test accuracy, seeds {args.seeds}, up to {args.epochs} epochs (patience 2)\n")
    print("| set-up | test accuracy (%) | train time (s) | trainable / total parameters |")
    print("|---|---:|---:|---:|")
    for name, accuracies, seconds, trainable, total in rows:
        print(f"| {name} | {mean_std(accuracies)} | {mean_std(seconds)} | "
              f"{trainable:,} / {total:,} ({100 * trainable / total:.1f}%) |")


if __name__ == "__main__":
    main()
