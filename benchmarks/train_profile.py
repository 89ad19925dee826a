"""Where one epoch of MiniLM fine-tuning spends its time on the CPU, phase by phase, and what the optimizer costs.

    python benchmarks/train_profile.py [--train-texts 2000] [--steps 30]

MiniLM's recipe (batch 32, max_len 128, AdamW with layer-wise learning-rate groups, grad clip 1.0, linear
schedule) on the first ``--train-texts`` Rotten Tomatoes reviews, length-bucketed as ``fit`` batches them.
On a CPU every operation is synchronous, so a wall clock around each phase times it exactly:

1. phases of ``--steps`` training steps (after ``--warmup`` untimed ones): collate + ``.to()``, forward +
   loss, zero_grad + backward, clipping, the optimizer step, the schedule; per step and as a share of it;
2. the optimizer step alone, the same parameters and groups: torch's AdamW as ``make_optimizer`` builds it,
   and the for-loop, ``foreach`` and ``fused`` implementations beside it;
3. the epoch's other work, once: scoring the validation split (64 texts, as ``benchmarks/speed.py``) and a
   checkpoint write.

The rest of an epoch in ``fit`` is its callbacks (a loss read back every few steps, progress), measured as the
difference between ``fit``'s epoch time and the sum of the phases (``benchmarks/speed.py`` times ``fit``).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from textclf.batching import BucketBatchSampler, Collator, encode_splits
from textclf.data import TextDataset, load_dataset
from textclf.devices import autocast
from textclf.finetune import parameter_groups
from textclf.inference import evaluate
from textclf.models import spec_of
from textclf.pipeline import job_for, new_model
from textclf.speed.bench import describe_machine
from textclf.text import make_tokenizer
from textclf.training import fit, make_optimizer, make_scheduler


class Phases:
    """Seconds per named phase: ``with phases("backward"): ...`` (a CPU runs each operation to its end)."""

    def __init__(self):
        self.seconds: dict[str, list[float]] = {}

    @contextmanager
    def __call__(self, name: str):
        start = time.perf_counter()
        yield
        self.seconds.setdefault(name, []).append(time.perf_counter() - start)


def optimizer_step_seconds(model: nn.Module, groups: list[dict], make, steps: int = 10) -> float:
    """Median seconds of ``optimizer.step()`` with every trained parameter holding a gradient."""
    for p in model.parameters():
        if p.requires_grad:
            p.grad = torch.randn_like(p) * 1e-3
    optimizer = make(groups)
    seconds = []
    for _ in range(steps + 2):
        start = time.perf_counter()
        optimizer.step()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds[2:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train-texts", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3, help="steps run before the timed ones")
    parser.add_argument("--adamw", choices=["make_optimizer", "for-loop", "foreach", "fused"],
                        default="make_optimizer", help="the AdamW implementation of the timed steps")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32", help="the forward's autocast")
    parser.add_argument("--fit", action="store_true", help="also time one epoch of fit on the same texts")
    parser.add_argument("--torch-profile", type=int, default=0, metavar="N",
                        help="also print torch.profiler's N costliest operations over the timed steps")
    args = parser.parse_args()
    print(describe_machine())
    full = load_dataset("rotten_tomatoes")
    ds = TextDataset("rt-subset", full.labels, full.train[: args.train_texts], full.test[:64], full.test[:64])
    job = job_for("minilm", epochs=1, progress=False, baseline=False, device="cpu")
    config = job.train
    vocab = spec_of("minilm").vocab()  # MiniLM's WordPiece vocabulary
    encoded = encode_splits(ds, vocab, max_len=job.max_len, tokenizer=make_tokenizer("wordpiece", vocab))
    model, _ = new_model(vocab, ds, job, log=lambda line: None)
    groups = parameter_groups(model, config.lr, job.layer_lr_decay)
    optimizer = make_optimizer(model, config, groups)
    if args.adamw != "make_optimizer":  # the same groups, another implementation
        optimizer = torch.optim.AdamW([dict(g) for g in optimizer.param_groups], lr=config.lr,
                                      **{"for-loop": {"foreach": False}, "foreach": {"foreach": True},
                                         "fused": {"fused": True}}[args.adamw])
    batches = BucketBatchSampler(encoded["train"].lengths, config.batch_size, seed=0)
    scheduler = make_scheduler(optimizer, config, len(batches))
    collate, phases = Collator(vocab.pad_index), Phases()
    model.train()
    texts = 0
    profiler = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) if args.torch_profile else None
    for step, indices in enumerate(batches):
        if step >= args.warmup + args.steps:
            break
        if step == args.warmup:  # the first steps allocate the optimizer's state and warm the allocator
            phases.seconds.clear()
            texts = 0
            if profiler:
                profiler.start()
        with phases("collate + .to()"):
            batch = collate([encoded["train"][i] for i in indices]).to("cpu")
        with phases("forward + loss"), autocast(torch.device("cpu"), args.precision):
            loss = F.cross_entropy(model(batch.ids, batch.mask), batch.labels)
        with phases("zero_grad + backward"):
            optimizer.zero_grad()
            loss.backward()
        with phases("clip"):
            nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        with phases("optimizer step"):
            optimizer.step()
        with phases("schedule"):
            scheduler.step()
        texts += len(indices)
    if profiler:
        profiler.stop()
    total = sum(sum(v) for v in phases.seconds.values())
    print(f"\n{len(phases.seconds['clip'])} steps of MiniLM in {args.precision} (batch {config.batch_size}, "
          f"max_len {job.max_len}, AdamW: {args.adamw}, "
          f"{len(groups)} layer-wise groups): {texts / total:.1f} examples/s over the phases below\n")
    print("| phase | ms per step | share |\n|---|---:|---:|")
    for name, seconds in phases.seconds.items():
        print(f"| {name} | {1000 * sum(seconds) / len(seconds):.1f} | {sum(seconds) / total:.1%} |")

    if profiler:
        print("\n" + profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.torch_profile))
    print("\n| AdamW implementation, MiniLM's groups | ms per optimizer step |\n|---|---:|")
    for name, extra in (("make_optimizer (what fit uses)", None), ("for-loop (foreach=False)", {"foreach": False}),
                        ("foreach=True", {"foreach": True}), ("fused=True", {"fused": True})):
        def make(g, extra=extra):
            return make_optimizer(model, config, g) if extra is None else torch.optim.AdamW(
                [dict(x) for x in optimizer.param_groups], lr=config.lr, **extra)
        try:
            print(f"| {name} | {1000 * optimizer_step_seconds(model, groups, make):.1f} |")
        except (RuntimeError, TypeError) as err:
            print(f"| {name} | not available ({err}) |")

    start = time.perf_counter()
    evaluate(model, encoded["valid"], precision="fp32")
    validation = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()}, Path(folder) / "c.pt")
        checkpoint = time.perf_counter() - start
    print(f"\nonce an epoch: validation on {len(ds.valid)} texts {validation:.2f} s; a checkpoint (weights + "
          f"optimizer state) {checkpoint:.2f} s")
    if args.fit:  # the product's loop on the same texts, one epoch: what its callbacks add to the phases
        model, _ = new_model(vocab, ds, job, log=lambda line: None)
        history = fit(model, encoded["train"], encoded["valid"], replace(config, precision=args.precision),
                      param_groups=parameter_groups(model, config.lr, job.layer_lr_decay), log=lambda line: None)
        seconds = history.epochs[0]["seconds"]
        print(f"fit, one epoch of {len(ds.train):,} texts in {args.precision}: {seconds:.1f} s = "
              f"{len(ds.train) / seconds:.1f} examples/s (the steps, validation and fit's callbacks; the phases "
              f"above: {texts / total:.1f})")


if __name__ == "__main__":
    main()
