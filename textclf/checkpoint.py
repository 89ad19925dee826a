"""Checkpoints: the training state saved after every epoch, and the checks before resuming from one.

- the full state (model, optimizer, best weights, history) is written atomically (temporary file, then
  rename) and read back with ``torch.load(weights_only=True)`` — tensors and plain values, no pickled code;
- a checkpoint counts as good only with finite weights (``non_finite`` names the tensors that are not;
  ``load_bundle`` uses it too);
- a checkpoint records what it was trained on: fingerprints of the encoded train and valid splits, the
  training options and the caller's ``identity`` (model, vocabulary and data options). Resuming with other
  data or another option is refused with the differences named (``check_resumable``); only ``epochs``,
  ``patience``, ``device``, ``precision`` and ``progress`` may change, and a change is logged as applied.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from textclf.files import atomic_write
from textclf.loop import History, LoopState


@dataclass
class TrainState:
    """Everything a checkpoint holds: the loop's state (``textclf.loop.LoopState``) and what ``fit`` adds."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    loop: LoopState
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None
    run: dict = field(default_factory=dict)  # what the run is trained on: data fingerprints, the caller's identity
    scaler: torch.amp.GradScaler | None = None  # fp16's loss scale (its state is saved: a resumed run goes on alike)

    def save(self, path: Path, config) -> None:
        loop = self.loop
        payload = {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(), "best": loop.best,
                   "scheduler": self.scheduler.state_dict() if self.scheduler else None, "run": self.run,
                   "scaler": self.scaler.state_dict() if self.scaler is not None and self.scaler.is_enabled() else None,
                   "epoch": loop.epoch, "bad_epochs": loop.bad_epochs, "train_config": asdict(config),
                   "history": {"epochs": loop.history.epochs, "best_epoch": loop.history.best_epoch,
                               "best_metric": loop.history.best_metric}}
        atomic_write(path, lambda tmp: torch.save(payload, tmp))

    def load(self, path: Path, device: torch.device, config, log: Callable[[str], None]) -> None:
        try:
            payload = torch.load(path, map_location=device, weights_only=True)
            check_resumable(path, payload, self.run, config, log)
            self.model.load_state_dict(payload["model"])
            self.optimizer.load_state_dict(payload["optimizer"])
            if self.scheduler is not None:
                self.scheduler.load_state_dict(payload["scheduler"])
            if self.scaler is not None and self.scaler.is_enabled() and payload.get("scaler"):
                self.scaler.load_state_dict(payload["scaler"])
        except ResumeRefused:
            raise
        except Exception as err:  # a damaged file raises pickle/zip errors; another model, RuntimeError/KeyError
            first = (str(err).splitlines() or [type(err).__name__])[0]
            raise ValueError(f"{path}: not a checkpoint of this model ({first})") from None
        if not (all_finite(payload["model"]) and all_finite(payload["best"])):
            raise ValueError(f"{path}: the checkpoint holds NaN or infinite weights; expected a good checkpoint "
                             "(train again without --resume)")
        saved = payload["history"]
        history = History(saved["epochs"], saved["best_epoch"], saved["best_metric"],
                          precision=self.loop.history.precision, device=self.loop.history.device)
        best = {k: v.to(device) for k, v in payload["best"].items()}
        self.loop = LoopState(best, history, payload["epoch"], payload["bad_epochs"])


class ResumeRefused(ValueError):
    """``--resume`` with other data or options than the checkpoint was trained with."""


# may change when resuming (a change is logged); all else may not
APPLIED_ON_RESUME = ("epochs", "patience", "device", "precision", "progress")


def check_resumable(path: Path, payload: dict, run: dict, config, log: Callable[[str], None]) -> None:
    """Refuse to continue a checkpoint on other data or with other options; log the options applied."""
    saved_run = payload.get("run")
    if saved_run is None:
        raise ResumeRefused(f"{path}: the checkpoint does not record what it was trained on (an older textclf); "
                            "train again without --resume")
    if saved_run.get("data") != run.get("data"):
        raise ResumeRefused(f"{path}: the checkpoint was trained on other data (fingerprints {saved_run.get('data')}, "
                            f"now {run.get('data')}); resume with the same dataset, vocabulary and max_len, "
                            "or train again without --resume")
    changed = differences(saved_run, run) + differences(payload.get("train_config", {}), asdict(config))
    refused = [c for c in changed if c[0] not in APPLIED_ON_RESUME]
    if refused:
        listed = "; ".join(f"{key}: {old!r} in the checkpoint, {new!r} now" for key, old, new in refused)
        raise ResumeRefused(f"{path}: cannot resume with changed options ({listed}); use the checkpoint's options "
                            f"(only {', '.join(APPLIED_ON_RESUME)} may change) or train again without --resume")
    for key, old, new in changed:
        log(f"resume: {key} changed from {old!r} to {new!r} (applied)")


def differences(saved: dict, now: dict, prefix: str = "") -> list[tuple[str, object, object]]:
    """``(key, saved value, new value)`` for every key whose value differs (nested dicts key by key)."""
    found = []
    for key in sorted(set(saved) | set(now), key=str):
        old, new = saved.get(key), now.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            found += differences(old, new, f"{prefix}{key}.")
        elif old != new:
            found.append((f"{prefix}{key}", old, new))
    return found


def non_finite(weights: dict[str, torch.Tensor]) -> list[str]:
    """The names of the floating-point tensors holding NaN or inf (checkpoints and bundles refuse them)."""
    return [k for k, t in weights.items() if t.is_floating_point() and not bool(torch.isfinite(t).all())]


def all_finite(weights: dict[str, torch.Tensor]) -> bool:
    return not non_finite(weights)
