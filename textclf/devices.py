"""The one device decision: which ``torch.device`` a command or the facade runs on.

``pick_device`` is called once where a command (or ``TextClassifier``, or ``train_job``) starts; the
``torch.device`` it returns is passed down. ``auto`` prefers CUDA, then Apple's MPS, then the CPU; a
device asked for by name must exist here.
"""

from __future__ import annotations

import re

import torch

DEVICE = re.compile(r"auto|cpu|mps|cuda(:\d+)?")
DEVICES = "auto, cpu, cuda, cuda:N or mps"


def pick_device(name: str = "auto") -> torch.device:
    """``auto``: CUDA if there is a GPU, else Apple's MPS, else the CPU; a device asked for must exist."""
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {name!r}: this machine has no CUDA GPU (torch {torch.__version__}); use cpu or auto")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError("device 'mps': Apple's Metal backend is not available here; use cpu or auto")
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")
