"""``fit``: the training loop of ``textclf.loop`` (early stopping that restores the best weights) as a product.

The loop itself — batches, forward, loss, backward, step, validation, the best copy, patience — is
``textclf.loop.train_loop``; ``fit`` runs it with ``Product``, the callbacks that add what real training
needs: the model's own loss and a criterion (wide & deep, distillation), mixed precision and the fp16 loss
scaler, a learning-rate schedule, DDP (``Hooks``), progress, and crash safety.

Crash safety, with ``checkpoint=PATH`` (the file and its checks: ``textclf.checkpoint``):

- after every epoch the full state (model, optimizer, best weights, history)
  is written atomically (temporary file, then rename) and read back with
  ``torch.load(weights_only=True)`` — tensors and plain values, no pickled code;
- a loss that turns NaN/inf (a training batch's, or the validation loss), or a
  weight that does, stops with ``TrainingDiverged``; the checkpoint of the last
  good epoch (finite weights and metrics) stays as it was;
- a checkpoint records what it was trained on: fingerprints of the encoded
  train and valid splits, the training options and the caller's ``identity``
  (model, vocabulary and data options). Resuming with other data or another
  option is refused with the differences named; only ``epochs``, ``patience``,
  ``device`` and ``progress`` may change, and a change is logged as applied;
- Ctrl-C stops with ``TrainingInterrupted`` after making sure a checkpoint exists;
- ``resume=True`` continues from the checkpoint. Each epoch's shuffling and
  dropout are seeded by ``(seed, epoch)``, so a resumed run ends with exactly
  the weights of an uninterrupted one.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from textclf.batching import Batch, BucketBatchSampler, EncodedDataset
from textclf.checkpoint import TrainState, all_finite
from textclf.devices import autocast, choose_precision, grad_scaler, pick_device
from textclf.inference import Evaluation
from textclf.loop import Callbacks, History, LoopState, bucket_batches, dropout_seed, snapshot, train_loop
from textclf.models.base import ClassifierNet, Losses
from textclf.models.losses import Criterion, cross_entropy
from textclf.progress import shows_bars, shows_lines
from textclf.train_config import TrainConfig


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


class TrainingInterrupted(RuntimeError):
    """Ctrl-C during training; a checkpoint to resume from was saved."""


@dataclass
class Hooks:
    """The few places where scaling out, compiling or mixed precision change the training loop.

    The defaults train in one process. ``textclf.distributed.ddp_hooks`` fills them in for
    DistributedDataParallel: this rank's slice of each global batch, the model wrapped in DDP, only
    rank 0 writing, a barrier after each write.
    """

    # which texts form each step's batch: an iterable of index lists with set_epoch(e) and len()
    batches: Callable[[EncodedDataset, TrainConfig], BucketBatchSampler] = bucket_batches
    # the module the training steps call (DDP, torch.compile): a ``TrainingLoss``; weights are read and saved
    # from the unwrapped model
    wrap: Callable[[nn.Module], nn.Module] = lambda module: module
    # entered around each step's forward pass and loss (e.g. torch.autocast for mixed precision)
    step_context: Callable[[], AbstractContextManager] = nullcontext
    # whether this process writes checkpoints (rank 0 only); the others wait at ``barrier``
    is_writer: bool = True
    barrier: Callable[[], None] = lambda: None
    # sums a tensor over all processes (the epoch's training loss and text count, reported once per epoch)
    sum_across: Callable[[torch.Tensor], torch.Tensor] = lambda tensor: tensor
    # this process's rank: its dropout masks are its own, seeded by (seed, epoch, rank)
    rank: int = 0
    # a batch's share of the global batch, its mean loss's weight (DDP: ``distributed.Slice.weight``)
    weight: Callable[[list[int]], float] = lambda indices: 1.0
    # the texts of a batch that count in the reported loss (a DDP stand-in text counts 0)
    counted: Callable[[list[int]], int] = len


def unwrap(model: nn.Module) -> nn.Module:
    """The model inside DDP/DataParallel (``.module``), torch.compile (``._orig_mod``) and ``TrainingLoss``
    wrappers: its state-dict keys carry no ``module.`` or ``_orig_mod.`` prefix."""
    dynamo = sys.modules.get("torch._dynamo")  # loaded once anything was compiled (else nothing is compiled)
    while True:
        if isinstance(model, (nn.parallel.DistributedDataParallel, nn.DataParallel, TrainingLoss)):
            model = model.module
        elif dynamo is not None and isinstance(model, dynamo.eval_frame.OptimizedModule):
            model = model._orig_mod
        else:
            return model


class TrainingLoss(nn.Module):
    """The model's training loss as one module call, ``forward(ids, mask, labels, teacher) -> Losses``: what a
    wrapper (DistributedDataParallel, torch.compile) wraps, so it sees the whole training computation. The
    model's own ``forward`` stays ``(ids, mask) -> logits``."""

    def __init__(self, model: nn.Module, criterion: Criterion = cross_entropy):
        super().__init__()
        self.module, self.criterion = model, criterion

    def forward(self, ids: torch.Tensor, mask: torch.Tensor, labels: torch.Tensor,
                teacher: torch.Tensor | None = None) -> Losses:
        if isinstance(self.module, ClassifierNet):
            return self.module.loss(ids, mask, labels, self.criterion, teacher)
        loss = self.criterion(self.module(ids, mask), labels, teacher)  # any (ids, mask) -> logits module
        return Losses(loss, loss)


def training_loss(step_module: nn.Module, batch: Batch) -> Losses:
    """The losses of one batch through the (wrapped) ``TrainingLoss``; the teacher's logits only with a
    distillation batch."""
    if batch.teacher is not None:
        return step_module(batch.ids, batch.mask, batch.labels, batch.teacher)
    return step_module(batch.ids, batch.mask, batch.labels)


# Steps between deliberate host synchronisations: the running loss is summed on the device, and its
# finiteness is read back (one sync) every SYNC_EVERY steps and at the end of the epoch, not every step.
SYNC_EVERY = 50
HEARTBEAT_SECONDS = 10.0  # a line within an epoch this often where no bar shows (a log, a pipe)


class Product(Callbacks):
    """What ``fit`` adds to ``train_loop``, each in one callback (the loop's lines are the idea alone)."""

    def __init__(self, state: TrainState, config: TrainConfig, hooks: Hooks, step_module: nn.Module,
                 device: torch.device, checkpoint: Path | None, stop_after: int | None, batches):
        self.state, self.config, self.hooks, self.step_module, self.device = state, config, hooks, step_module, device
        self.checkpoint, self.stop_after, self.made_batches = checkpoint, stop_after, batches
        self.indices: list[int] = []
        self.total, self.uncounted = torch.zeros(()), 0

    def batches(self, train: EncodedDataset, config: TrainConfig):
        return self.made_batches  # ``hooks.batches``, made once by ``fit`` (the schedule needs their count)

    def epoch_start(self, state: LoopState, batches: Iterable) -> Iterable:
        if self.stop_after is not None and state.epoch >= self.stop_after:
            raise KeyboardInterrupt  # as if interrupted (tests and lessons)
        if self.hooks.rank:  # every rank its own dropout masks (rank 0's are a single process's)
            torch.manual_seed(dropout_seed(self.config.seed, state.epoch, self.hooks.rank))
        self.uncounted = 0
        bars = self.config.progress and shows_bars()  # a terminal, a notebook (a log file: one line per epoch)
        shown = tqdm(batches, desc=f"epoch {state.epoch + 1}", leave=False, disable=not bars)
        return self.remembered(shown, state.epoch + 1, shown.total, heartbeat=self.config.progress and not bars)

    def remembered(self, batches: Iterable, epoch: int, total: int | None, heartbeat: bool) -> Iterable:
        """The batches, each remembered (the step needs the slice's DDP weight); with ``heartbeat`` (a log or
        a pipe: no bar), a line every ``HEARTBEAT_SECONDS`` within a long epoch, so a run never looks hung."""
        start = last = time.perf_counter()
        for done, indices in enumerate(batches):
            self.indices = indices
            yield indices
            if heartbeat and time.perf_counter() - last >= HEARTBEAT_SECONDS:
                last = time.perf_counter()
                print(f"epoch {epoch}/{self.config.epochs}: {done + 1:,}" + (f"/{total:,}" if total else "")
                      + f" batches ({last - start:.0f}s)", flush=True)

    def step(self, model: nn.Module, batch: Batch, optimizer: torch.optim.Optimizer,
             config: TrainConfig) -> torch.Tensor:
        """``train_step`` with the model's own loss through the wrapper, autocast, the fp16 scaler, the DDP
        weight and the schedule; returns the reported loss (the prediction's cross-entropy)."""
        scaler = self.state.scaler
        with self.hooks.step_context(), autocast(self.device, config.precision):  # fp32: nothing; else 16-bit
            losses = training_loss(self.step_module, batch)
        weight = self.hooks.weight(self.indices)
        optimizer.zero_grad()
        scaler.scale(losses.trained * weight if weight != 1.0 else losses.trained).backward()  # fp16: scaled up
        if config.grad_clip:
            scaler.unscale_(optimizer)  # clip the true gradients, not the scaled ones
            nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        scaler.step(optimizer)  # fp16: skipped when a gradient overflowed (the scale is then lowered)
        scaler.update()
        if self.state.scheduler is not None:
            self.state.scheduler.step()
        counted = self.hooks.counted(self.indices)
        reported = losses.reported.detach().float()
        return reported if counted == len(batch) else reported * (counted / len(batch))  # a stand-in: 0

    def after_step(self, step: int, indices: list[int], total: torch.Tensor) -> None:
        self.total, self.uncounted = total, self.uncounted + len(indices) - self.hooks.counted(indices)
        if (step + 1) % SYNC_EVERY == 0:
            check_loss(total, self.state.loop, step, self.checkpoint, self.config)  # one sync in SYNC_EVERY steps

    def mean_loss(self, total: torch.Tensor, count: int) -> float:
        counts = torch.tensor(float(count - self.uncounted), device=total.device)
        summed = self.hooks.sum_across(torch.stack([total, counts]))
        return (summed[0] / summed[1].clamp(min=1)).item()  # over every process's texts

    def validated(self, state: LoopState, scores: Evaluation) -> None:
        check_loss(self.total, state, None, self.checkpoint, self.config)
        if not (math.isfinite(scores.loss) and all_finite(self.state.model.state_dict())):
            raise TrainingDiverged(f"epoch {state.epoch + 1} ended with non-finite weights or a validation loss of "
                                   f"{scores.loss}; {kept(self.checkpoint, state)}. Try a lower learning rate "
                                   f"(now {self.config.lr}).")

    def epoch_end(self, state: LoopState) -> None:
        if prints_epoch_lines(self.config):  # a notebook, a log file: a line that stays, whatever ``log``
            print(epoch_line(state.history.epochs[-1], self.config.epochs, state.history.best_epoch), flush=True)
        if self.checkpoint:
            save_checkpoint(self.state, self.checkpoint, self.config, self.hooks)


def fit(model: nn.Module, train: EncodedDataset, valid: EncodedDataset, config: TrainConfig | None = None, *,
        checkpoint: str | Path | None = None, resume: bool = False, log: Callable[[str], None] = print,
        stop_after: int | None = None, param_groups: list[dict] | None = None, identity: dict | None = None,
        hooks: Hooks | None = None, device: torch.device | None = None,
        criterion: Criterion = cross_entropy) -> History:
    """Train ``model`` in place with ``textclf.loop.train_loop``; on return it holds the weights of the best
    validation epoch.

    Only parameters with ``requires_grad`` are trained; ``param_groups`` (torch optimizer groups, e.g.
    ``textclf.finetune.parameter_groups``) give parts of the model their own learning rates.
    ``stop_after=N`` ends the run after N epochs as if interrupted (for tests and lessons).
    ``identity``: JSON-like facts a resumed run must share with the checkpoint (model options, data source).
    ``hooks``: what DDP, torch.compile or mixed precision change (``Hooks``); default: one process.
    ``device``: where to train, decided by the caller (``textclf.devices.pick_device``); default: ``config.device``.
    ``config.precision``: fp32, or autocast to bf16/fp16 (fp16 with a loss scaler); ``auto`` is decided here for
    the device, logged, and the decision is what the checkpoint and ``History.precision`` record.
    ``criterion``: the loss of logits and labels (``textclf.models.losses``: cross-entropy, or a
    ``Distillation`` with batches carrying a teacher's logits); the model applies it (``ClassifierNet.loss``).
    """
    config, hooks = config or TrainConfig(), hooks or Hooks()
    model = unwrap(model)
    device = device if device is not None else pick_device(config.device)
    if config.precision == "auto":
        precision, why = choose_precision(config.precision, device)
        log(f"precision: {precision} ({why})")
        config = replace(config, precision=precision)
    model.to(device)
    optimizer = make_optimizer(model, config, param_groups)
    batches = hooks.batches(train, config)
    scheduler = make_scheduler(optimizer, config, config.epochs * len(batches))
    run = {"data": {"train": train.fingerprint(), "valid": valid.fingerprint()}, **(identity or {})}
    history = History(precision=config.precision, device=str(device))  # what was decided, recorded
    state = TrainState(model, optimizer, LoopState(snapshot(model), history), scheduler, run,
                       grad_scaler(device, config.precision))
    checkpoint = Path(checkpoint) if checkpoint else None
    if resume:
        if checkpoint is None or not checkpoint.exists():
            raise FileNotFoundError(f"{checkpoint}: no checkpoint to resume from")
        state.load(checkpoint, device, config, log)
        log(f"resumed from {checkpoint} after epoch {state.loop.epoch}")
    elif checkpoint:
        save_checkpoint(state, checkpoint, config, hooks)
    step_module = hooks.wrap(TrainingLoss(model, criterion))  # after loading: DDP broadcasts rank 0's weights
    product = Product(state, config, hooks, step_module, device, checkpoint, stop_after, batches)
    try:
        return train_loop(model, train, valid, config, optimizer, state.loop, product)
    except KeyboardInterrupt:
        where = f"; resume with the checkpoint {checkpoint} (epoch {state.loop.epoch})" if checkpoint else ""
        raise TrainingInterrupted(f"training interrupted during epoch {state.loop.epoch + 1}{where}") from None


def prints_epoch_lines(config: TrainConfig) -> bool:
    """Whether ``fit`` prints a line per epoch that stays: progress on, and no terminal (a notebook, a log)."""
    return config.progress and shows_lines()


def epoch_line(epoch: dict, epochs: int, best_epoch: int = 0) -> str:
    """One epoch's figures, as a line that stays (``*``: the best validation epoch so far)."""
    return (f"epoch {epoch['epoch']}/{epochs}: train loss {epoch['train_loss']:.4f}, valid loss "
            f"{epoch['valid_loss']:.4f}, valid accuracy {epoch['valid_accuracy']:.4f}, valid F1 "
            f"{epoch['valid_f1']:.4f} ({epoch['seconds']:.1f}s)" + (" *" if epoch["epoch"] == best_epoch else ""))


def save_checkpoint(state: TrainState, path: Path, config: TrainConfig, hooks: Hooks) -> None:
    """The writer saves; every process waits until the file is complete."""
    if hooks.is_writer:
        state.save(path, config)
    hooks.barrier()


def make_optimizer(model: nn.Module, config: TrainConfig, param_groups: list[dict] | None = None):
    """Adam, or AdamW with weight decay on the weight matrices only (not on biases and LayerNorm scales)."""
    if param_groups is None:  # the model's own groups (one, or a part with its own learning rate)
        param_groups = (model.param_groups(config.lr) if isinstance(model, ClassifierNet)
                        else [{"params": [p for p in model.parameters() if p.requires_grad]}])
    groups = param_groups
    if config.optimizer == "adam":  # the choices: OPTIMIZERS, checked by TrainConfig
        return torch.optim.Adam(groups, lr=config.lr, weight_decay=config.weight_decay)
    split = []
    for group in groups:
        options = {k: v for k, v in group.items() if k != "params"}
        split.append({**options, "params": [p for p in group["params"] if p.dim() >= 2]})
        split.append({**options, "params": [p for p in group["params"] if p.dim() < 2], "weight_decay": 0.0})
    return torch.optim.AdamW([g for g in split if g["params"]], lr=config.lr, weight_decay=config.weight_decay)


def make_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig, total_steps: int):
    """Linear warm-up over ``warmup * total_steps`` steps, then constant or linear decay to 0 (None: no schedule)."""
    if config.warmup == 0 and config.schedule == "constant":
        return None
    warmup = int(config.warmup * total_steps)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        if config.schedule == "constant":
            return 1.0
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def kept(checkpoint: Path | None, state: LoopState) -> str:
    return f"the checkpoint {checkpoint} of epoch {state.epoch} is kept" if checkpoint else "no checkpoint"


def check_loss(total: torch.Tensor, state: LoopState, step: int | None, checkpoint: Path | None,
               config: TrainConfig) -> None:
    """Stop if the summed training loss is NaN/inf (one host sync)."""
    if not torch.isfinite(total):
        where = f"by batch {step + 1}" if step is not None else "by the end of the epoch"
        raise TrainingDiverged(f"loss became {total.item()} at epoch {state.epoch + 1}, {where}; "
                               f"{kept(checkpoint, state)}. Try a lower learning rate (now {config.lr}).")
