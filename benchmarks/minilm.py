"""Fine-tuning the pretrained MiniLM on Rotten Tomatoes: accuracy, and training throughput next to
Hugging Face's ``Trainer`` (same model, data, batch size and max length), measured in one run.

    python benchmarks/minilm.py                        # accuracy (full fine-tuning) + throughput
    python benchmarks/minilm.py --skip-accuracy        # throughput only
    python benchmarks/minilm.py --modes head full      # several fine-tuning modes

Targets (issue 6): full fine-tuning >= 83% test accuracy; throughput >= 1.5x the
``Trainer``'s. The ``Trainer`` column needs ``transformers`` (and ``accelerate``) installed;
without them it is skipped. Both sides train the same examples for one epoch with
AdamW, warm-up + linear decay, weight decay 0.01, gradient clipping 1.0; textclf
batches texts of similar length together (``BucketBatchSampler``), the ``Trainer`` pads
each random batch to its longest text (``DataCollatorWithPadding``), its default.
"""

from __future__ import annotations

import argparse
import platform
import time

import torch

from textclf.batching import EncodedDataset
from textclf.data import load_dataset
from textclf.models.minilm import minilm, minilm_dir
from textclf.pipeline import JobConfig, train_job
from textclf.training import TrainConfig, fit

TRAIN = dict(lr=5e-5, optimizer="adamw", warmup=0.1, schedule="linear", weight_decay=0.01, grad_clip=1.0)


def accuracy_run(ds, mode: str, epochs: int, batch_size: int, max_len: int) -> dict:
    train = TrainConfig(epochs=epochs, batch_size=batch_size, patience=epochs, progress=False, **TRAIN)
    job = JobConfig(model="minilm", max_len=max_len, finetune=mode, last_k=2, train=train, baseline=False)
    return train_job(ds, job, log=lambda line: None).metrics


def ours_throughput(texts: list[str], labels: list[int], batch_size: int, max_len: int) -> float:
    model, tokenizer = minilm(2)
    data = EncodedDataset([torch.tensor(tokenizer.encode(t, max_len)) for t in texts], labels)
    config = TrainConfig(epochs=1, batch_size=batch_size, patience=1, progress=False, device="cpu", **TRAIN)
    start = time.perf_counter()
    fit(model, data, EncodedDataset(data.ids[:1], data.labels[:1]), config, log=lambda line: None)
    return len(texts) / (time.perf_counter() - start)


def trainer_throughput(texts: list[str], labels: list[int], batch_size: int, max_len: int) -> float | None:
    try:
        from transformers import (
            BertForSequenceClassification,
            BertTokenizerFast,
            DataCollatorWithPadding,
            Trainer,
            TrainingArguments,
        )
    except ImportError:
        return None
    folder = str(minilm_dir())
    tokenizer = BertTokenizerFast.from_pretrained(folder)
    model = BertForSequenceClassification.from_pretrained(folder, num_labels=2)
    encoded = tokenizer(texts, truncation=True, max_length=max_len)
    dataset = [{"input_ids": i, "attention_mask": m, "labels": y}
               for i, m, y in zip(encoded["input_ids"], encoded["attention_mask"], labels)]
    # transformers 5: warmup_steps takes a float in [0, 1) as a share of the steps (warmup_ratio is gone)
    args = TrainingArguments(output_dir="/tmp/textclf-hf-trainer", per_device_train_batch_size=batch_size,
                             num_train_epochs=1, learning_rate=TRAIN["lr"], warmup_steps=TRAIN["warmup"],
                             lr_scheduler_type="linear", weight_decay=TRAIN["weight_decay"], max_grad_norm=1.0,
                             save_strategy="no", eval_strategy="no", report_to=[], logging_strategy="no",
                             use_cpu=True, dataloader_num_workers=0, disable_tqdm=True, seed=0)
    trainer = Trainer(model=model, args=args, train_dataset=dataset,
                      data_collator=DataCollatorWithPadding(tokenizer))
    start = time.perf_counter()
    trainer.train()
    return len(texts) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modes", nargs="+", default=["full"], choices=["head", "last-k", "full"])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-len", type=int, default=64, help="wordpieces incl. [CLS]/[SEP] (RT: 99%% <= 56)")
    parser.add_argument("--throughput-examples", type=int, default=1024)
    parser.add_argument("--skip-accuracy", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.processor() or platform.machine()}")
    ds = load_dataset("rotten_tomatoes")
    if not args.skip_accuracy:
        print(f"\nRotten Tomatoes, MiniLM-L6 fine-tuned {args.epochs} epochs, batch {args.batch_size}, "
              f"max_len {args.max_len} (best epoch on valid)\n")
        print("| fine-tuning | test accuracy | test F1 | best epoch | train time (s) | target |")
        print("|---|---:|---:|---:|---:|---|")
        for mode in args.modes:
            m = accuracy_run(ds, mode, args.epochs, args.batch_size, args.max_len)
            verdict = ("met" if m["test_accuracy"] >= 0.83 else "MISSED") if mode == "full" else "-"
            print(f"| {mode} | {100 * m['test_accuracy']:.2f}% | {m['test_f1']:.4f} | {m['best_epoch']} | "
                  f"{m['train_seconds']:.0f} | {'>= 83%: ' + verdict if mode == 'full' else verdict} |", flush=True)
    texts = [ex.text for ex in ds.train[: args.throughput_examples]]
    labels = [ds.labels.index(ex.label) for ex in ds.train[: args.throughput_examples]]
    ours = ours_throughput(texts, labels, args.batch_size, args.max_len)
    theirs = trainer_throughput(texts, labels, args.batch_size, args.max_len)
    print(f"\nTraining throughput, one epoch over {len(texts)} RT training texts, batch {args.batch_size}, "
          f"max_len {args.max_len}, CPU\n")
    print("| trainer | examples/s | vs Trainer |")
    print("|---|---:|---:|")
    print(f"| textclf fit (length-bucketed) | {ours:.1f} | {f'{ours / theirs:.2f}x' if theirs else '-'} |")
    if theirs:
        print(f"| Hugging Face Trainer | {theirs:.1f} | 1.00x |")
        print(f"\n{'met' if ours / theirs >= 1.5 else 'MISSED'}: throughput >= 1.5x the Trainer's")
    else:
        print("| Hugging Face Trainer | skipped (transformers not installed) | - |")


if __name__ == "__main__":
    main()
