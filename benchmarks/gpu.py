"""textclf on a GPU, next to Hugging Face on the same GPU, in one run: MiniLM fine-tuning speed (fp32, bf16),
prediction speed (batch 64 and 256, fp32 and bf16), bf16-vs-fp32 accuracy (3 seeds), the default job's wall time.

    python benchmarks/gpu.py                  # everything (about 4 minutes on one H100)
    python benchmarks/gpu.py --parts train predict   # some parts only (train, predict, accuracy, default-job)
    python benchmarks/gpu.py --cpu-dry-run    # checks the script itself on a CPU: tiny sizes, numbers meaningless

Needs a CUDA GPU (on a CPU it refuses with one line; CPU figures are ``benchmarks/speed.py``'s) and, for the
Hugging Face columns, ``transformers`` and ``accelerate``.

Fairness: the same texts, model (MiniLM-L6 and a fresh 2-class head), batch size 32, max length 128, one
epoch, AdamW with warm-up and linear decay, weight decay 0.01, gradient clipping 1.0 on both sides. Both
sides batch texts of similar length together (textclf's ``BucketBatchSampler``; the ``Trainer``'s
``group_by_length``). Warm-up excluded on both sides: each side first trains a fresh model for a few
batches (CUDA context, cuBLAS handles, kernels chosen), then a fresh model for one timed epoch. bf16 is
``torch.autocast`` on both sides (the ``Trainer``'s ``bf16=True``). Prediction is end to end (text in,
probabilities out, tokenization included) on the Rotten Tomatoes test split, in length-sorted batches on
both sides, timed in alternating rounds (median). MFU: training FLOPs (6 x parameters x tokens, padding
included) over the measured peak of a large matmul in the same precision on this GPU.
"""

from __future__ import annotations

import argparse
import inspect
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from textclf.batching import EncodedDataset
from textclf.bundle import Bundle
from textclf.data import load_dataset
from textclf.models.minilm import minilm, minilm_dir
from textclf.pipeline import Runtime, job_for, train_job
from textclf.speed.timing import compare
from textclf.training import TrainConfig, fit

TRAIN = dict(lr=5e-5, optimizer="adamw", warmup=0.1, schedule="linear", weight_decay=0.01, grad_clip=1.0)
PRECISIONS = ("fp32", "bf16")
PARTS = ("train", "predict", "accuracy", "default-job")


def peak_tflops(device: torch.device, precision: str, n: int = 8192) -> float:
    """The measured matmul peak (n x n x n, median of 5 after warm-up) in ``precision``, TFLOP/s."""
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[precision]
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    times = []
    for i in range(8):
        sync(device)
        start = time.perf_counter()
        a @ b
        sync(device)
        if i >= 3:
            times.append(time.perf_counter() - start)
    return 2 * n**3 / statistics.median(times) / 1e12


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def encoded(texts: list[str], labels: list[int], max_len: int) -> EncodedDataset:
    _, tokenizer = minilm(2)
    return EncodedDataset([torch.tensor(tokenizer.encode(t, max_len)) for t in texts], labels)


def ours_train(data: EncodedDataset, batch_size: int, precision: str, device: torch.device,
               warmup_texts: int) -> tuple[float, int]:  # noqa: D401
    """textclf's ``fit``, one epoch of ``data`` after a warm-up run: ``(examples/s, parameters)``."""
    def run(part: EncodedDataset):
        model, _ = minilm(2)
        config = TrainConfig(epochs=1, batch_size=batch_size, patience=1, progress=False, device=str(device),
                             precision=precision, **TRAIN)
        one = EncodedDataset(part.ids[:1], part.labels[:1])
        sync(device)
        start = time.perf_counter()
        history = fit(model, part, one, config, log=lambda line: None, device=device)
        sync(device)
        return len(part) / (time.perf_counter() - start), history, sum(p.numel() for p in model.parameters())
    run(EncodedDataset(data.ids[:warmup_texts], data.labels[:warmup_texts]))
    speed, _, parameters = run(data)
    return speed, parameters


def trainer_train(texts: list[str], labels: list[int], batch_size: int, max_len: int, precision: str,
                  device: torch.device, warmup_texts: int) -> float | str:
    """Hugging Face's ``Trainer``, one epoch after a warm-up run: examples/s (or why it could not run)."""
    try:
        from transformers import (
            BertForSequenceClassification,
            BertTokenizerFast,
            DataCollatorWithPadding,
            Trainer,
            TrainingArguments,
        )
    except ImportError as err:
        return f"not installed ({err})"
    folder = str(minilm_dir())
    tokenizer = BertTokenizerFast.from_pretrained(folder)
    tokens = tokenizer(texts, truncation=True, max_length=max_len)
    rows = [{"input_ids": i, "attention_mask": m, "labels": y}
            for i, m, y in zip(tokens["input_ids"], tokens["attention_mask"], labels)]
    fields = inspect.signature(TrainingArguments.__init__).parameters
    grouping = ({"group_by_length": True} if "group_by_length" in fields
                else {"train_sampling_strategy": "group_by_length"})

    def run(part: list[dict]) -> float:
        model = BertForSequenceClassification.from_pretrained(folder, num_labels=2)
        args = TrainingArguments(
            output_dir=tempfile.mkdtemp(prefix="textclf-hf-"), per_device_train_batch_size=batch_size,
            num_train_epochs=1, learning_rate=TRAIN["lr"], warmup_steps=TRAIN["warmup"], lr_scheduler_type="linear",
            weight_decay=TRAIN["weight_decay"], max_grad_norm=1.0, save_strategy="no", eval_strategy="no",
            report_to=[], logging_strategy="no", use_cpu=device.type == "cpu", dataloader_num_workers=0,
            disable_tqdm=True, seed=0, bf16=precision == "bf16", **grouping)
        trainer = Trainer(model=model, args=args, train_dataset=part, data_collator=DataCollatorWithPadding(tokenizer))
        sync(device)
        start = time.perf_counter()
        trainer.train()
        sync(device)
        return len(part) / (time.perf_counter() - start)
    run(rows[:warmup_texts])
    return run(rows)


def ours_predict(bundle: Bundle, texts: list[str], batch_size: int, precision: str):
    bundle.precision = precision
    return lambda: bundle.predict(texts, batch_size=batch_size)


def hf_predict(model, tokenizer, texts: list[str], batch_size: int, max_len: int, precision: str,
               device: torch.device):
    """HF's fastest plain path: length-sorted batches, fast tokenizer, padding per batch, inference mode,
    autocast for bf16, softmax on the GPU, probabilities back to the host."""
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    batches = [[texts[i] for i in order[s : s + batch_size]] for s in range(0, len(order), batch_size)]

    def run():
        out = []
        with torch.inference_mode(), torch.autocast(device.type, torch.bfloat16, enabled=precision == "bf16"):
            for batch in batches:
                inputs = tokenizer(batch, padding=True, truncation=True, max_length=max_len,
                                   return_tensors="pt").to(device)
                out.append(model(**inputs).logits.float().softmax(-1).cpu())
        return torch.cat(out)
    return run


def default_job_seconds(device: torch.device, limit: int | None) -> tuple[float, str]:
    """``textclf train`` (the README's command, default job) on this device, wall time of the process."""
    out = Path(tempfile.mkdtemp(prefix="textclf-default-"))
    command = [sys.executable, "-m", "textclf", "train", "--out", str(out / "model"), "--quiet",
               "--device", str(device)] + (["--epochs", "1"] if limit else [])
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    last = (done.stdout.strip().splitlines() or ["(no output)"])[-1]
    return seconds, last if done.returncode == 0 else f"failed ({done.returncode}): {done.stderr[-300:]}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-len", type=int, default=128)
    parser.add_argument("--seeds", type=int, default=3, help="seeds per precision for the accuracy parity")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--cpu-dry-run", action="store_true", help="check the script on a CPU (tiny; meaningless)")
    args = parser.parse_args()
    if not torch.cuda.is_available() and not args.cpu_dry_run:
        print(f"benchmarks/gpu.py: no CUDA GPU here (torch {torch.__version__} sees none); it measures a GPU. "
              "CPU figures: python benchmarks/speed.py")
        return 2
    dry = args.cpu_dry_run
    device = torch.device("cpu" if dry else "cuda")
    ds = load_dataset("rotten_tomatoes")
    limit = 96 if dry else None
    train = ds.train[:limit]
    texts, labels = [e.text for e in train], [ds.labels.index(e.label) for e in train]
    test_texts = [e.text for e in ds.test[:limit]]
    warmup_texts = 2 * args.batch_size if dry else 20 * args.batch_size
    name = "CPU DRY RUN (numbers meaningless)" if dry else torch.cuda.get_device_name(device)
    print(f"# {name}; torch {torch.__version__}; {len(texts):,} training texts, batch {args.batch_size}, "
          f"max_len {args.max_len}; {len(test_texts):,} test texts to predict\n")

    if "train" in args.parts:
        train_speeds(args, device, texts, labels, warmup_texts, dry)
    if "predict" in args.parts:
        predict_speeds(args, device, test_texts)
    if "accuracy" in args.parts:
        accuracy(args, device, ds, dry)
    if "default-job" in args.parts:
        seconds, last = default_job_seconds(device, limit)
        print(f"\n## The default job (`textclf train --device {device}`)\n\nwall time {seconds:.1f}s (process start, "
              f"data, GloVe, training, test, linear baseline, bundle written): {last}")
    return 0


def train_speeds(args, device, texts, labels, warmup_texts, dry) -> None:
    data = encoded(texts, labels, args.max_len)
    tokens = sum(len(ids) for ids in data.ids)  # textclf pads within length buckets: close to the real tokens
    print("## Fine-tuning MiniLM, one epoch after a warm-up run (examples/s)\n")
    print("| precision | textclf | HF Trainer (group_by_length) | textclf / Trainer | textclf MFU |")
    print("|---|---:|---:|---:|---:|")
    results = {}
    for precision in PRECISIONS:
        ours, parameters = ours_train(data, args.batch_size, precision, device, warmup_texts)
        theirs = trainer_train(texts, labels, args.batch_size, args.max_len, precision, device, warmup_texts)
        peak = None if dry else peak_tflops(device, precision)
        mfu = "-" if peak is None else f"{6 * parameters * tokens / (len(texts) / ours) / 1e12 / peak:.1%}"
        results[precision] = (ours, theirs)
        ratio = f"{ours / theirs:.2f}x" if isinstance(theirs, float) else "-"
        shown = f"{theirs:,.0f}" if isinstance(theirs, float) else theirs
        print(f"| {precision} | {ours:,.0f} | {shown} | {ratio} | {mfu}" + (f" of {peak:,.0f} TFLOP/s |" if peak
                                                                               else " |"), flush=True)
    best_theirs = max((v[1] for v in results.values() if isinstance(v[1], float)), default=None)
    best_ours = max(v[0] for v in results.values())
    if best_theirs:
        print(f"\ntextclf's best {best_ours:,.0f} vs the Trainer's best {best_theirs:,.0f}: "
              f"{best_ours / best_theirs:.2f}x (target >= 1.25x)")


def predict_speeds(args, device, test_texts) -> None:
    print("\n## Prediction, end to end, RT test split (texts/s, median of alternating rounds)\n")
    model, _ = minilm(2)
    bundle = Bundle.of(model, "minilm", minilm(2)[1].vocab, ["negative", "positive"], tokenizer="wordpiece",
                       max_len=args.max_len).to(device)
    runs = {}
    try:
        from transformers import BertForSequenceClassification, BertTokenizerFast

        hf_tokenizer = BertTokenizerFast.from_pretrained(str(minilm_dir()))
        hf_model = BertForSequenceClassification.from_pretrained(str(minilm_dir()), num_labels=2).to(device).eval()
    except ImportError:
        hf_model = None
    for precision in PRECISIONS:
        for batch in (64, 256):
            runs[f"textclf {precision} b{batch}"] = ours_predict(bundle, test_texts, batch, precision)
            if hf_model is not None:
                runs[f"HF {precision} b{batch}"] = hf_predict(hf_model, hf_tokenizer, test_texts, batch, args.max_len,
                                                             precision, device)
    timings = compare(runs, rounds=args.rounds)
    print("| precision | batch | textclf | HF (sorted batches) |")
    print("|---|---:|---:|---:|")
    for precision in PRECISIONS:
        for batch in (64, 256):
            ours = len(test_texts) / timings[f"textclf {precision} b{batch}"].median
            key = f"HF {precision} b{batch}"
            theirs = f"{len(test_texts) / timings[key].median:,.0f}" if key in timings else "-"
            print(f"| {precision} | {batch} | {ours:,.0f} | {theirs} |")
    if hf_model is not None:
        for precision in PRECISIONS:
            ours = max(len(test_texts) / timings[f"textclf {precision} b{b}"].median for b in (64, 256))
            theirs = max(len(test_texts) / timings[f"HF {precision} b{b}"].median for b in (64, 256))
            print(f"\n{precision}: textclf's best batch {ours:,.0f} vs HF's best batch {theirs:,.0f} texts/s: "
                  f"{ours / theirs:.2f}x (target >= 1.25x)")


def accuracy(args, device, ds, dry) -> None:
    print("\n## bf16 vs fp32: MiniLM's recipe (job_for('minilm')), test accuracy over seeds\n")
    small = ds
    if dry:
        from textclf.data import TextDataset

        small = TextDataset(ds.name, ds.labels, ds.train[:64], ds.valid[:32], ds.test[:32])
    scores = {precision: [] for precision in PRECISIONS}
    for seed in range(args.seeds):  # seed by seed, both precisions: a run cut short still has pairs
        for precision in PRECISIONS:
            job = job_for("minilm", seed=seed, precision=precision, device=str(device), progress=False,
                          baseline=False, **({"epochs": 1} if dry else {}))
            start = time.perf_counter()
            bundle = train_job(small, job, run=Runtime(device=device), log=lambda line: None)
            scores[precision].append(bundle.metrics["test_accuracy"])
            print(f"  {precision} seed {seed}: {bundle.metrics['test_accuracy']:.4f} "
                  f"({time.perf_counter() - start:.0f}s)", flush=True)
    print("\n| precision | test accuracy, mean ± sd | seeds |\n|---|---:|---:|")
    for precision, accs in scores.items():
        sd = statistics.stdev(accs) if len(accs) > 1 else 0.0
        print(f"| {precision} | {100 * statistics.mean(accs):.2f}% ± {100 * sd:.2f} | {len(accs)} |")
    gap = 100 * (statistics.mean(scores["fp32"]) - statistics.mean(scores["bf16"]))
    print(f"\nbf16 loses {gap:+.2f} points against fp32 (target: at most 0.5)")


if __name__ == "__main__":
    sys.exit(main())
