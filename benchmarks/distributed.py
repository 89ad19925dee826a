"""Training throughput on 1 and N processes (torchrun, DistributedDataParallel), on the bundled data.

    python benchmarks/distributed.py [--models cnn gru+ngrams] [--epochs 2] [--processes 1 2]

Each row trains ``textclf train --model M`` on Rotten Tomatoes (10,201 training texts) for the given epochs
with the same *global* batch of 64 texts per step (1 process x 64, 2 processes x 32, ...), so every row
takes the same optimizer steps and ends with the same weights up to float rounding (dropout aside). The
throughput is training texts x epochs / the time ``fit`` took (metrics.json ``train_seconds``: no process
start-up, data loading or testing). Scaling efficiency = speed-up / processes.

On CUDA each process gets its own GPU (``--nproc_per_node`` <= GPUs); on the CPU each process gets cores /
processes threads. There is no faster peer to compare with here: textclf's scale-out *is* PyTorch's DDP;
the 1-process row is the baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from textclf.distributed import cpu_cores

GLOBAL_BATCH = 64


def run(model: str, processes: int, epochs: int, out: Path) -> dict:
    args = ["train", "--model", model, "--epochs", str(epochs), "--patience", str(epochs), "--quiet",
            "--batch-size", str(GLOBAL_BATCH // processes), "--out", str(out)]
    launcher = ([sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}"]
                if processes > 1 else [sys.executable])
    result = subprocess.run([*launcher, "-m", "textclf", *args], capture_output=True, text=True, timeout=3600,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    if result.returncode != 0:
        raise SystemExit(f"{model} on {processes} processes failed:\n{result.stderr[-3000:]}")
    metrics = json.loads((out / "metrics.json").read_text())
    texts = 10_201 * len(metrics["history"])
    return {"seconds": metrics["train_seconds"], "texts_per_s": texts / metrics["train_seconds"],
            "accuracy": metrics["test_accuracy"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["cnn", "gru+ngrams"])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    device = f"CUDA ({torch.cuda.device_count()} GPUs)" if torch.cuda.is_available() else f"CPU, {cpu_cores()} cores"
    print(f"torch {torch.__version__}; {device}; global batch {GLOBAL_BATCH}; {args.epochs} epochs of 10,201 texts\n")
    print("| model | processes | batch per process | train time (s) | texts/s | speed-up | scaling efficiency "
          "| test accuracy |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as work:
        for model in args.models:
            base = None
            for n in args.processes:
                row = run(model, n, args.epochs, Path(work) / f"{model}-{n}")
                base = base or row
                speedup = row["texts_per_s"] / base["texts_per_s"]
                print(f"| {model} | {n} | {GLOBAL_BATCH // n} | {row['seconds']:.1f} | {row['texts_per_s']:,.0f} | "
                      f"{speedup:.2f}x | {speedup / n:.0%} | {row['accuracy']:.2%} |", flush=True)


if __name__ == "__main__":
    main()
