"""The training loop with early stopping, as an idea: ``train_step`` and ``train_loop`` (lesson 2 prints both).

One epoch: shuffle the length-bucketed batches, take one gradient step per batch, then score the *whole*
validation split. The epoch with the best validation score is remembered as a *copy* of the weights
(``snapshot``: ``state_dict()`` alone shares storage with the live model, which keeps changing). After
``patience`` epochs without a better score training stops, and the best copy is loaded back.

That is all of the idea. The product, ``textclf.training.fit``, runs this same loop and adds, through
``Callbacks``: crash-safe checkpoints and resume, the divergence guard, DistributedDataParallel, mixed
precision with its loss scaler, the model's own loss (wide & deep: one per half; distillation), progress
bars, and reading the running loss back to the host only every few steps. ``tests/test_training.py``
checks that this loop alone and ``fit`` end with bit-for-bit the same weights (one process, fp32).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from textclf.batching import Batch, BucketBatchSampler, Collator, EncodedDataset
from textclf.inference import Evaluation, evaluate, model_device, pad_index_of


@dataclass
class History:
    epochs: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    best_metric: float = float("-inf")
    stopped_early: bool = False
    precision: str = "fp32"  # the arithmetic of the training steps (auto decided): fp32, bf16 or fp16
    device: str = "cpu"      # where the steps ran (decided before training)

    def table(self) -> str:
        head = f"{'epoch':>5} {'train loss':>10} {'valid loss':>10} {'valid acc':>9} {'valid f1':>8} {'time':>6}"
        rows = [f"{e['epoch']:>5} {e['train_loss']:>10.4f} {e['valid_loss']:>10.4f} {e['valid_accuracy']:>9.4f} "
                f"{e['valid_f1']:>8.4f} {e['seconds']:>5.1f}s" + ("  *" if e["epoch"] == self.best_epoch else "")
                for e in self.epochs]
        return "\n".join([head, *rows])


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    """A real copy of the weights (``state_dict()`` alone would share storage with the live model)."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@dataclass
class LoopState:
    """Where training stands between epochs (a checkpoint saves it; a resumed run starts from it)."""

    best: dict[str, torch.Tensor]  # the copy of the best epoch's weights
    history: History = field(default_factory=History)
    epoch: int = 0        # epochs done
    bad_epochs: int = 0   # epochs since the last better validation score


def dropout_seed(seed: int, epoch: int, rank: int = 0) -> int:
    """The seed of an epoch's shuffle-independent randomness (dropout masks), by ``(seed, epoch)`` — so a
    resumed run draws what an uninterrupted one would — and per rank under DDP (rank 0's: one process's)."""
    return seed * 100_003 + epoch + rank * 1_000_000_007


def train_step(model: nn.Module, batch: Batch, optimizer: torch.optim.Optimizer, config) -> torch.Tensor:
    """One gradient step on one batch; returns the batch's mean loss."""
    logits = model(batch.ids, batch.mask)         # [batch, n_classes]
    loss = F.cross_entropy(logits, batch.labels)  # a scalar: the mean over the batch's texts
    optimizer.zero_grad()                         # gradients add up unless cleared
    loss.backward()                               # d loss / d every weight
    if config.grad_clip:                          # a rare huge gradient must not throw the weights far away
        nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
    optimizer.step()                              # move each weight against its gradient
    return loss


def bucket_batches(train: EncodedDataset, config) -> BucketBatchSampler:
    """The default batches: length-bucketed, shuffled by ``(seed, epoch)``."""
    return BucketBatchSampler(train.lengths, config.batch_size, seed=config.seed)


class Callbacks:
    """The places where ``fit`` adds the product to ``train_loop`` (``textclf.training.Product``). Here they
    do nothing beyond the idea: one process, fp32, ``train_step``, no files."""

    def batches(self, train: EncodedDataset, config) -> BucketBatchSampler:
        return bucket_batches(train, config)

    def step(self, model: nn.Module, batch: Batch, optimizer: torch.optim.Optimizer, config) -> torch.Tensor:
        return train_step(model, batch, optimizer, config)

    def epoch_start(self, state: LoopState, batches: Iterable) -> Iterable:
        return batches  # the product: rank-seeded dropout, a progress bar, stopping on request

    def after_step(self, step: int, indices: list[int], total: torch.Tensor) -> None:
        pass  # the product: a NaN/inf check every few steps

    def mean_loss(self, total: torch.Tensor, count: int) -> float:
        return (total / max(count, 1)).item()  # the product: over every process's texts

    def validated(self, state: LoopState, scores: Evaluation) -> None:
        pass  # the product: stop on non-finite weights or validation loss

    def epoch_end(self, state: LoopState) -> None:
        pass  # the product: a log line, a checkpoint


def train_loop(model: nn.Module, train: EncodedDataset, valid: EncodedDataset, config,
               optimizer: torch.optim.Optimizer, state: LoopState | None = None,
               on: Callbacks | None = None) -> History:
    """Train ``model`` on ``train`` until ``config.epochs``, or until ``config.patience`` epochs in a row
    bring no better validation score; the model ends with the best epoch's weights."""
    on, state = on or Callbacks(), state or LoopState(best=snapshot(model))
    batches = on.batches(train, config)      # lists of text indices, texts of similar length together
    collate = Collator(pad_index_of(model))  # a list of (ids, label) -> padded ids, mask, labels
    device = model_device(model)             # where the weights are: the batches go there too
    while state.epoch < config.epochs and state.bad_epochs < config.patience:  # the patience rule
        torch.manual_seed(dropout_seed(config.seed, state.epoch))  # this epoch's dropout masks
        batches.set_epoch(state.epoch)                               # and its shuffle
        model.train()                                                # dropout on
        start, total, count = time.perf_counter(), torch.zeros((), device=device), 0
        for step, indices in enumerate(on.epoch_start(state, batches)):
            batch = collate([train[i] for i in indices]).to(device)
            loss = on.step(model, batch, optimizer, config)
            total, count = total + loss.detach() * len(batch), count + len(batch)  # summed where it is
            on.after_step(step, indices, total)
        scores = evaluate(model, valid, precision=config.precision)  # dropout off, no gradients
        on.validated(state, scores)
        state.epoch += 1
        state.history.epochs.append({"epoch": state.epoch, "train_loss": on.mean_loss(total, count),
                                     "valid_loss": scores.loss, "valid_accuracy": scores.accuracy,
                                     "valid_f1": scores.f1, "seconds": time.perf_counter() - start})
        metric = getattr(scores, config.monitor)  # accuracy or f1
        if metric > state.history.best_metric:
            state.history.best_metric, state.history.best_epoch = metric, state.epoch
            state.best, state.bad_epochs = snapshot(model), 0  # a copy: the live weights keep changing
        else:
            state.bad_epochs += 1
        on.epoch_end(state)
    state.history.stopped_early = state.bad_epochs >= config.patience
    model.load_state_dict(state.best)
    return state.history
