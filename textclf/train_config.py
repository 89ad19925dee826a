"""``TrainConfig``: how a model trains — the one place each training option is named, checked and defaulted.

The model registry's recipes hold one (``textclf.models.registry.Recipe``), ``fit`` takes one, and the CLI
takes its choices (``OPTIMIZERS``, ``SCHEDULES``, ``MONITORS``) and its help texts' defaults from here and
from the recipes. ``check_max_len`` and ``check_layer_lr_decay`` are the checks of the two job options a
recipe also carries.
"""

from __future__ import annotations

from dataclasses import dataclass

from textclf.config import check_bool, check_choice, check_float, check_int, fail
from textclf.devices import DEVICE, DEVICES, PRECISIONS

OPTIMIZERS = ("adam", "adamw")   # adamw: decoupled weight decay; biases and LayerNorms are not decayed
SCHEDULES = ("constant", "linear")
MONITORS = ("accuracy", "f1")


@dataclass
class TrainConfig:
    epochs: int = 15
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    optimizer: str = "adam"     # one of OPTIMIZERS
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
        check_choice(self, "optimizer", OPTIMIZERS)
        check_float(self, "warmup", 0.0, 1.0, high_open=True)
        check_choice(self, "schedule", SCHEDULES)
        check_int(self, "patience", 1, 100_000)
        check_choice(self, "monitor", MONITORS)
        check_float(self, "grad_clip", 0.0, None, low_open=True, optional=True)
        check_int(self, "seed", 0, 2**63 - 1)
        if not isinstance(self.device, str) or not DEVICE.fullmatch(self.device):
            fail(self, "device", DEVICES)
        check_choice(self, "precision", PRECISIONS)
        check_bool(self, "progress")


def check_max_len(config) -> None:
    """``config.max_len``: tokens kept per text, or None for all."""
    check_int(config, "max_len", 1, 1_000_000, optional=True)


def check_layer_lr_decay(config) -> None:
    """``config.layer_lr_decay``: each stage down learns at ``lr * decay^depth`` (None: one learning rate)."""
    check_float(config, "layer_lr_decay", 0.0, 1.0, low_open=True, optional=True)
