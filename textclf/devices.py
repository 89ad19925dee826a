"""The one device decision: which ``torch.device`` a command or the facade runs on, and how many CPU threads.

``pick_device`` is called once where a command (or ``TextClassifier``, or ``train_job``) starts; the
``torch.device`` it returns is passed down. ``auto`` prefers CUDA, then Apple's MPS, then the CPU; a
device asked for by name must exist here.
"""

from __future__ import annotations

import os
import re
import time

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


# ---- CPU threads ---------------------------------------------------------------------------------------------
# torch uses one thread per core by default. On a machine where other work holds cores, those threads
# fight it for them (oversubscription): one epoch of the default model took 95 s with 2 threads and 9.7 s
# with 1 on a 2-core machine running other work. ``benchmarks/threads.py`` measures it per model family.


def cpu_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def busy_cores(window: float = 0.25) -> float | None:
    """How many cores other work keeps busy right now: the share of non-idle CPU time over ``window``
    seconds (``/proc/stat``) times the number of cores; None where that cannot be read."""
    def sample() -> tuple[int, int]:
        with open("/proc/stat") as stat:
            fields = [int(x) for x in stat.readline().split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        return sum(fields), idle
    try:
        total_a, idle_a = sample()
        time.sleep(window)
        total_b, idle_b = sample()
    except (OSError, ValueError, IndexError):
        return None
    if total_b <= total_a:
        return None
    return (1 - (idle_b - idle_a) / (total_b - total_a)) * os.cpu_count()


def choose_threads(requested: int | None = None) -> tuple[int, str]:
    """How many threads torch should use, and why: ``requested`` (``--threads N``), else ``OMP_NUM_THREADS``
    when set, else the cores this process may use less those other work keeps busy (at least 1)."""
    cores = cpu_cores()
    if requested is not None:
        if isinstance(requested, bool) or not isinstance(requested, int) or requested < 1:
            raise ValueError(f"--threads {requested!r}: expected a whole number >= 1")
        return requested, "asked for" + (f" (this process may use {cores} cores)" if requested > cores else "")
    if os.environ.get("OMP_NUM_THREADS", "").isdigit() and int(os.environ["OMP_NUM_THREADS"]) >= 1:
        return int(os.environ["OMP_NUM_THREADS"]), "OMP_NUM_THREADS"
    busy = busy_cores()
    if busy is None:
        return cores, f"all {cores} cores (the load could not be read)"
    threads = max(1, min(cores, cores - round(busy)))
    why = f"{cores} cores, {busy:.1f} kept busy by other work"
    return threads, why + ("" if threads == cores else "; fewer threads than cores, not fighting it for them")


def set_threads(requested: int | None = None) -> tuple[int, str]:
    """Apply ``choose_threads`` to torch; returns ``(threads, why)`` for the caller to log."""
    threads, why = choose_threads(requested)
    torch.set_num_threads(threads)
    return threads, why
