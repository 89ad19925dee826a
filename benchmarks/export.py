"""Portable exports of bundles: file size, parity with PyTorch, export time, and prediction speed.

    python benchmarks/export.py --bundles runs/model runs/cnn [runs/minilm]

For each bundle and format (ONNX, torch.export) this runs ``export_bundle`` — export, then the parity check
on the bundle's whole test split (max |logit difference| <= 1e-4, else nothing is kept) — and then times
prediction over that split through the same inference seam (length-sorted batches of 64): the exported
graph against the bundle's own PyTorch model (the peer at its best setting: fp32, length-sorted batches,
``inference_mode``), in alternating rounds (``textclf.speed.timing.compare``), medians.
Without ``--bundles`` the default model and a CNN are trained first (``textclf train``, ~1 min).
"""

import argparse
import copy
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from textclf.bundle import load_bundle
from textclf.data import load_dataset
from textclf.graphs.run import OnnxForward, program_forward
from textclf.graphs.write import FORMATS, export_bundle
from textclf.inference import pad_index_of
from textclf.speed.timing import compare


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundles", nargs="+", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dataset", default="rotten_tomatoes",
                        help="test texts for bundles that record no data source (trained from Python lists)")
    args = parser.parse_args()
    bundles = args.bundles
    if not bundles:
        work = Path(tempfile.mkdtemp(prefix="textclf-export-bench-"))
        bundles = [work / "default", work / "cnn"]
        for out, model in zip(bundles, (["--model", "gru+ngrams"], ["--model", "cnn"])):
            print(f"training {model[1]} into {out} ...", flush=True)
            subprocess.run([sys.executable, "-m", "textclf", "train", *model, "--quiet", "--out", str(out)],
                           check=True, stdout=subprocess.DEVNULL)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; parity and speed on each bundle's test "
          f"split; {args.rounds} alternating rounds\n")
    rows = []
    for directory in bundles:
        bundle = load_bundle(directory)
        recorded = bundle.config.data.source if bundle.config.data else None
        texts = [ex.text for ex in (bundle.recorded_dataset("test") if recorded else load_dataset(args.dataset)).test]
        forwards = {"PyTorch (bundle)": None}
        for fmt in FORMATS:
            start = time.perf_counter()
            result = export_bundle(bundle, fmt, texts, Path(tempfile.mkdtemp()) / FORMATS[fmt])
            seconds = time.perf_counter() - start
            forwards[fmt] = (OnnxForward.of(result.path, bundle.model) if fmt == "onnx"
                             else program_forward(result.path, pad_index_of(bundle.model)))
            rows.append([bundle.model_name, fmt, result.path.stat().st_size / 1e6, result.max_difference, seconds])
        runners = {}
        for name, forward in forwards.items():
            runner = copy.copy(bundle)
            runner.forward = forward
            runners[name] = lambda runner=runner, texts=texts: runner.logits(texts)
        timings = compare(runners, rounds=args.rounds)
        base = len(texts) / timings["PyTorch (bundle)"].median
        for row in rows[-len(FORMATS):]:
            rate = len(texts) / timings[row[1]].median
            row += [rate, base]
    print("| bundle | format | size | max \\|logit difference\\| | export + check | texts/s | PyTorch texts/s | "
          "vs PyTorch |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for model, fmt, size, difference, seconds, rate, base in rows:
        print(f"| {model} | {fmt} | {size:.1f} MB | {difference:.1e} | {seconds:.1f} s | {rate:,.0f} | {base:,.0f} | "
              f"{rate / base:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
