"""``fit``: the training loop, with early stopping that restores the best weights, and crash safety.

One epoch: shuffle the (length-bucketed) batches, step through them, then
score the whole validation split. The epoch with the best validation metric
is remembered as a *copy* of the weights (``clone()``: the live tensors keep
changing). After ``patience`` epochs without improvement training stops and
the best copy is loaded back.

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
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from textclf.batching import BucketBatchSampler, Collator, EncodedDataset
from textclf.checkpoint import History, TrainState, all_finite, snapshot
from textclf.config import check_bool, check_choice, check_float, check_int, fail
from textclf.devices import DEVICE, DEVICES, PRECISIONS, autocast, choose_precision, grad_scaler, pick_device
from textclf.inference import evaluate, pad_index_of
from textclf.models.base import ClassifierNet


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


class TrainingInterrupted(RuntimeError):
    """Ctrl-C during training; a checkpoint to resume from was saved."""


@dataclass
class TrainConfig:
    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    optimizer: str = "adam"     # or "adamw" (decoupled weight decay; biases and LayerNorms are not decayed)
    warmup: float = 0.0         # share of all steps over which the learning rate climbs from 0
    schedule: str = "constant"  # or "linear": after warm-up, decay linearly to 0 at the last step
    patience: int = 3           # epochs without improvement before stopping
    monitor: str = "accuracy"   # validation metric that picks the best epoch: accuracy or f1
    grad_clip: float | None = 5.0
    seed: int = 0
    device: str = "auto"
    precision: str = "fp32"     # or "bf16", "fp16" (with a loss scaler), "auto": bf16 where the device is fast at it
    progress: bool = True

    def __post_init__(self) -> None:
        check_int(self, "epochs", 1, 100_000)
        check_int(self, "batch_size", 1, 1 << 20)
        check_float(self, "lr", 0.0, 10.0, low_open=True)
        check_float(self, "weight_decay", 0.0, 10.0)
        check_choice(self, "optimizer", ("adam", "adamw"))
        check_float(self, "warmup", 0.0, 1.0, high_open=True)
        check_choice(self, "schedule", ("constant", "linear"))
        check_int(self, "patience", 1, 100_000)
        check_choice(self, "monitor", ("accuracy", "f1"))
        check_float(self, "grad_clip", 0.0, None, low_open=True, optional=True)
        check_int(self, "seed", 0, 2**63 - 1)
        if not isinstance(self.device, str) or not DEVICE.fullmatch(self.device):
            fail(self, "device", DEVICES)
        check_choice(self, "precision", PRECISIONS)
        check_bool(self, "progress")


def bucket_batches(train: EncodedDataset, config: TrainConfig) -> BucketBatchSampler:
    """The default batches: length-bucketed, shuffled by ``(seed, epoch)``."""
    return BucketBatchSampler(train.lengths, config.batch_size, seed=config.seed)


@dataclass
class Hooks:
    """The few places where scaling out, compiling or mixed precision change the training loop.

    The defaults train in one process. ``textclf.distributed.ddp_hooks`` fills them in for
    DistributedDataParallel: this rank's slice of each global batch, the model wrapped in DDP, only
    rank 0 writing, a barrier after each write.
    """

    # which texts form each step's batch: an iterable of index lists with set_epoch(e) and len()
    batches: Callable[[EncodedDataset, TrainConfig], BucketBatchSampler] = bucket_batches
    # the module the training steps call (DDP, torch.compile); weights are read and saved from the unwrapped one
    wrap: Callable[[nn.Module], nn.Module] = lambda model: model
    # entered around each step's forward pass and loss (e.g. torch.autocast for mixed precision)
    step_context: Callable[[], AbstractContextManager] = nullcontext
    # whether this process writes checkpoints (rank 0 only); the others wait at ``barrier``
    is_writer: bool = True
    barrier: Callable[[], None] = lambda: None
    # sums a tensor over all processes (the epoch's training loss and text count, reported once per epoch)
    sum_across: Callable[[torch.Tensor], torch.Tensor] = lambda tensor: tensor
    # this process's rank: its dropout masks are its own, seeded by (seed, epoch, rank)
    rank: int = 0


def unwrap(model: nn.Module) -> nn.Module:
    """The model inside DDP/DataParallel (``.module``) and torch.compile (``._orig_mod``) wrappers: its state-dict
    keys carry no ``module.`` or ``_orig_mod.`` prefix."""
    while True:
        inner = getattr(model, "_orig_mod", None) or (model.module if isinstance(
            model, (nn.parallel.DistributedDataParallel, nn.DataParallel)) else None)
        if inner is None:
            return model
        model = inner


# Steps between deliberate host synchronisations: the running loss is summed on the device, and its
# finiteness is read back (one sync) every SYNC_EVERY steps and at the end of the epoch, not every step.
SYNC_EVERY = 50


def fit(model: nn.Module, train: EncodedDataset, valid: EncodedDataset, config: TrainConfig | None = None, *,
        checkpoint: str | Path | None = None, resume: bool = False, log: Callable[[str], None] = print,
        stop_after: int | None = None, param_groups: list[dict] | None = None,
        identity: dict | None = None, hooks: Hooks | None = None, device: torch.device | None = None) -> History:
    """Train ``model`` in place; on return it holds the weights of the best validation epoch.

    Only parameters with ``requires_grad`` are trained; ``param_groups`` (torch optimizer groups, e.g.
    ``textclf.finetune.parameter_groups``) give parts of the model their own learning rates.
    ``stop_after=N`` ends the run after N epochs as if interrupted (for tests and lessons).
    ``identity``: JSON-like facts a resumed run must share with the checkpoint (model options, data source).
    ``hooks``: what DDP, torch.compile or mixed precision change (``Hooks``); default: one process.
    ``device``: where to train, decided by the caller (``textclf.devices.pick_device``); default: ``config.device``.
    ``config.precision``: fp32, or autocast to bf16/fp16 (fp16 with a loss scaler); ``auto`` is decided here for
    the device, logged, and the decision is what the checkpoint and ``History.precision`` record.
    """
    config, hooks = config or TrainConfig(), hooks or Hooks()
    model = unwrap(model)
    device = device if device is not None else pick_device(config.device)
    if config.precision == "auto":
        precision, why = choose_precision(config.precision, device)
        log(f"precision: {precision} ({why})")
        config = replace(config, precision=precision)
    model.to(device)
    batches = hooks.batches(train, config)
    optimizer = make_optimizer(model, config, param_groups)
    scheduler = make_scheduler(optimizer, config, config.epochs * len(batches))
    run = {"data": {"train": train.fingerprint(), "valid": valid.fingerprint()}, **(identity or {})}
    state = TrainState(model, optimizer, History(precision=config.precision), snapshot(model), 0, 0, scheduler, run,
                       grad_scaler(device, config.precision))
    checkpoint = Path(checkpoint) if checkpoint else None
    if resume:
        if checkpoint is None or not checkpoint.exists():
            raise FileNotFoundError(f"{checkpoint}: no checkpoint to resume from")
        state.load(checkpoint, device, config, log)
        log(f"resumed from {checkpoint} after epoch {state.epoch}")
    elif checkpoint:
        save_checkpoint(state, checkpoint, config, hooks)
    step_model = hooks.wrap(model)  # after loading: DDP broadcasts rank 0's weights when it wraps
    collate = Collator(pad_index_of(model))
    try:
        while state.epoch < config.epochs and state.bad_epochs < config.patience:
            if stop_after is not None and state.epoch >= stop_after:
                raise KeyboardInterrupt
            run_epoch(state, step_model, train, valid, batches, collate, config, device, checkpoint, hooks)
            if config.progress and not sys.stderr.isatty():  # no progress bars in a log file: one line instead
                log(epoch_line(state.history.epochs[-1], config.epochs))
            if checkpoint:
                save_checkpoint(state, checkpoint, config, hooks)
    except KeyboardInterrupt:
        where = f"; resume with the checkpoint {checkpoint} (epoch {state.epoch})" if checkpoint else ""
        raise TrainingInterrupted(f"training interrupted during epoch {state.epoch + 1}{where}") from None
    state.history.stopped_early = state.bad_epochs >= config.patience
    model.load_state_dict(state.best)
    return state.history


def epoch_line(epoch: dict, epochs: int) -> str:
    return (f"epoch {epoch['epoch']}/{epochs}: train loss {epoch['train_loss']:.4f}, valid loss "
            f"{epoch['valid_loss']:.4f}, valid accuracy {epoch['valid_accuracy']:.4f} ({epoch['seconds']:.1f}s)")


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
    if config.optimizer == "adam":
        return torch.optim.Adam(groups, lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer != "adamw":
        raise ValueError(f"optimizer must be 'adam' or 'adamw', not {config.optimizer!r}")
    split = []
    for group in groups:
        options = {k: v for k, v in group.items() if k != "params"}
        split.append({**options, "params": [p for p in group["params"] if p.dim() >= 2]})
        split.append({**options, "params": [p for p in group["params"] if p.dim() < 2], "weight_decay": 0.0})
    return torch.optim.AdamW([g for g in split if g["params"]], lr=config.lr, weight_decay=config.weight_decay)


def make_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig, total_steps: int):
    """Linear warm-up over ``warmup * total_steps`` steps, then constant or linear decay to 0 (None: no schedule)."""
    if config.schedule not in ("constant", "linear"):
        raise ValueError(f"schedule must be 'constant' or 'linear', not {config.schedule!r}")
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


def training_loss(model: nn.Module, batch) -> torch.Tensor:
    """The model's own loss (every ``ClassifierNet`` computes it in ``forward`` when given the labels, through
    any wrapper; with a distillation set's batch, also given the teacher's logits), else cross-entropy of its
    logits."""
    if isinstance(unwrap(model), ClassifierNet):
        if batch.teacher is not None:  # a distillation set's batch
            return model(batch.ids, batch.mask, batch.labels, batch.teacher)
        # Three arguments otherwise, so that a forward written (or wrapped) before distillation existed still trains.
        return model(batch.ids, batch.mask, batch.labels)
    return nn.functional.cross_entropy(model(batch.ids, batch.mask), batch.labels)


def run_epoch(state: TrainState, step_model: nn.Module, train: EncodedDataset, valid: EncodedDataset, batches,
              collate: Collator, config: TrainConfig, device: torch.device, checkpoint: Path | None,
              hooks: Hooks) -> None:
    """One epoch: the training steps, then the whole validation split; the best weights are copied aside."""
    model, optimizer, scaler = state.model, state.optimizer, state.scaler
    torch.manual_seed(dropout_seed(config.seed, state.epoch, hooks.rank))
    batches.set_epoch(state.epoch)
    model.train()
    start, count = time.perf_counter(), 0
    total = torch.zeros((), device=device)  # the summed loss stays on the device: no host sync per step
    bars = config.progress and sys.stderr.isatty()  # a log file gets one line per epoch (fit), not \r updates
    for step, indices in enumerate(tqdm(batches, desc=f"epoch {state.epoch + 1}", leave=False, disable=not bars)):
        batch = collate([train[i] for i in indices]).to(device)
        with hooks.step_context(), autocast(device, config.precision):  # fp32: nothing; else 16-bit matmuls
            loss = training_loss(step_model, batch)
        weight = getattr(indices, "weight", 1.0)  # a DDP rank's share of the global batch (distributed.Slice)
        optimizer.zero_grad()
        scaler.scale(loss * weight if weight != 1.0 else loss).backward()  # fp16: scaled up; else as it is
        if config.grad_clip:
            scaler.unscale_(optimizer)  # clip the true gradients, not the scaled ones
            nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        scaler.step(optimizer)  # fp16: skipped when a gradient overflowed (the scale is then lowered)
        scaler.update()
        if state.scheduler is not None:
            state.scheduler.step()
        counted = getattr(indices, "counted", len(batch))  # a DDP stand-in text counts 0
        shown = getattr(model, "prediction_loss", None)  # the prediction's cross-entropy, where it differs
        total += (loss if shown is None else shown).detach().float() * counted
        count += counted
        if (step + 1) % SYNC_EVERY == 0:
            check_loss(total, state, step, checkpoint, config)  # the one deliberate sync in SYNC_EVERY steps
    check_loss(total, state, None, checkpoint, config)
    total_count = hooks.sum_across(torch.stack([total, torch.tensor(float(count), device=device)]))
    train_loss = (total_count[0] / total_count[1].clamp(min=1)).item()  # over every process's texts
    scores = evaluate(model, valid, precision=config.precision)
    if not (math.isfinite(scores.loss) and all_finite(model.state_dict())):
        raise TrainingDiverged(f"epoch {state.epoch + 1} ended with non-finite weights or a validation loss of "
                               f"{scores.loss}; {kept(checkpoint, state)}. Try a lower learning rate "
                               f"(now {config.lr}).")
    state.epoch += 1
    metric = getattr(scores, config.monitor)
    state.history.epochs.append({"epoch": state.epoch, "train_loss": train_loss, "valid_loss": scores.loss,
                                 "valid_accuracy": scores.accuracy, "valid_f1": scores.f1,
                                 "seconds": time.perf_counter() - start})
    if metric > state.history.best_metric:
        state.history.best_metric, state.history.best_epoch = metric, state.epoch
        state.best, state.bad_epochs = snapshot(model), 0
    else:
        state.bad_epochs += 1


def dropout_seed(seed: int, epoch: int, rank: int = 0) -> int:
    """The seed of an epoch's dropout masks: by ``(seed, epoch)``, and per rank under DDP (rank 0's are a single
    process's)."""
    return seed * 100_003 + epoch + rank * 1_000_000_007


def kept(checkpoint: Path | None, state: TrainState) -> str:
    return f"the checkpoint {checkpoint} of epoch {state.epoch} is kept" if checkpoint else "no checkpoint"


def check_loss(total: torch.Tensor, state: TrainState, step: int | None, checkpoint: Path | None,
               config: TrainConfig) -> None:
    """Stop if the summed training loss is NaN/inf (one host sync)."""
    if not torch.isfinite(total):
        where = f"by batch {step + 1}" if step is not None else "by the end of the epoch"
        raise TrainingDiverged(f"loss became {total.item()} at epoch {state.epoch + 1}, {where}; "
                               f"{kept(checkpoint, state)}. Try a lower learning rate (now {config.lr}).")
