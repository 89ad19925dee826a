"""How many CPU threads should torch use? Training and prediction per model family, 1 thread vs all cores,
on an idle machine and with other work on the cores. Prints a table and the policy it supports.

    python benchmarks/threads.py [--rounds 2] [--models nbow cnn gru+ngrams transformer] [--busy 1]

"Other work" is ``--busy`` processes spinning on a core each (what a second job, a browser tab or a
notebook kernel does to a laptop). Each cell is the median of ``--rounds`` rounds; within a round the
thread settings alternate, so a slow spell of the machine hits both. Training: one epoch of the model's
recipe on the Rotten Tomatoes training split (no checkpoint, no baseline); prediction: the test split
through ``Bundle.predict``. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from dataclasses import replace

import torch

from textclf.data import load_dataset
from textclf.devices import choose_threads, cpu_cores
from textclf.pipeline import job_for, train_job
from textclf.speed.hardware import cpu_capability


def spin(n: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def stop(processes: list[subprocess.Popen]) -> None:
    for p in processes:
        p.kill()
        p.wait()


def train_seconds(ds, model: str, threads: int):
    torch.set_num_threads(threads)
    job = job_for(model, epochs=1, patience=1, progress=False, baseline=False, device="cpu")
    start = time.perf_counter()
    bundle = train_job(ds, replace(job, baseline=False), log=lambda line: None)
    return time.perf_counter() - start, bundle


def predict_seconds(bundle, texts: list[str], threads: int) -> float:
    torch.set_num_threads(threads)
    bundle.predict(texts[:64])  # warm-up
    start = time.perf_counter()
    bundle.predict(texts)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--models", nargs="+", default=["nbow", "cnn", "gru+ngrams", "transformer"])
    parser.add_argument("--busy", type=int, default=1, help="spinning processes for the loaded rows")
    args = parser.parse_args()
    cores = cpu_cores()
    settings = sorted({1, cores})
    ds = load_dataset("rotten_tomatoes")
    texts = [ex.text for ex in ds.test]
    print(f"torch {torch.__version__}, {cores} cores, CPU {cpu_capability()}, load average before: "
          f"{os.getloadavg()[0]:.2f}; {args.rounds} alternating rounds, medians; loaded = {args.busy} spinning "
          f"process(es)\n")
    print("| model | machine | train 1 thread (s) | train " + f"{cores} threads (s) | predict 1 thread (s) | "
          f"predict {cores} threads (s) | auto picks |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for model in args.models:
        for load in ("idle", "loaded"):
            busy = spin(args.busy) if load == "loaded" else []
            try:
                time.sleep(1.0 if busy else 0)
                auto, _ = choose_threads(None)
                train = {t: [] for t in settings}
                predict = {t: [] for t in settings}
                for round_ in range(args.rounds):
                    for t in (settings if round_ % 2 == 0 else settings[::-1]):
                        seconds, bundle = train_seconds(ds, model, t)
                        train[t].append(seconds)
                        predict[t].append(predict_seconds(bundle, texts, t))
            finally:
                stop(busy)
            cells = [f"{statistics.median(train[t]):.1f}" for t in settings]
            cells += [f"{statistics.median(predict[t]):.2f}" for t in settings]
            print(f"| {model} | {load} | " + " | ".join(cells) + f" | {auto} |", flush=True)
    torch.set_num_threads(cores)


if __name__ == "__main__":
    main()
