"""The one device decision: which ``torch.device`` a command or the facade runs on, in which precision, and
how many CPU threads.

``pick_device`` is called once where a command (or ``TextClassifier``, or ``train_job``) starts; the
``torch.device`` it returns is passed down. ``auto`` prefers CUDA, then Apple's MPS, then the CPU; a
device asked for by name must exist here. ``choose_precision`` then picks the arithmetic for that device
(``auto``: bf16 where the device has fast bf16 hardware, else fp32), and ``autocast``/``grad_scaler`` apply it.
"""

from __future__ import annotations

import os
import re
import time
from contextlib import AbstractContextManager, nullcontext

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


# ---- precision -----------------------------------------------------------------------------------------------
# Mixed precision runs the matrix products in a 16-bit format under ``torch.autocast`` and keeps the weights,
# the optimizer state and the reductions (softmax, losses, norms) in fp32. bf16 has fp32's exponent range, so
# gradients need no scaling; fp16 has 3 more mantissa bits but overflows above 65,504 and loses gradients
# below ~6e-8, so fp16 training multiplies the loss by a large factor first (``torch.amp.GradScaler``) and
# divides the gradients back, skipping the steps whose gradients overflowed.

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
HALF = {"bf16": torch.bfloat16, "fp16": torch.float16}


def cpu_flags() -> set[str]:
    """The instruction-set flags the kernel reports for this CPU (Linux; empty elsewhere)."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def bf16_supported() -> bool:
    """bf16 matmuls have a hardware path only with AVX512_BF16 or AMX; elsewhere bf16 is emulated and slow
    (plain AVX-512 is not enough). Apple silicon and other non-Linux machines: assume not."""
    return fast_bf16(torch.device("cpu"))[0]


def fast_bf16(device: torch.device) -> tuple[bool, str]:
    """Whether ``device`` multiplies bf16 matrices faster than fp32, and what says so."""
    if device.type == "cuda":
        major, minor = torch.cuda.get_device_capability(device)
        name = torch.cuda.get_device_name(device)
        fast = major >= 8  # Ampere and later have bf16 tensor cores; older GPUs emulate it
        return fast, f"{name}, compute capability {major}.{minor}" + ("" if fast else " (no bf16 tensor cores)")
    if device.type == "cpu":
        found = sorted(cpu_flags() & {"avx512_bf16", "amx_bf16"})
        return bool(found), ("this CPU has " + " and ".join(found) if found else "this CPU has neither AVX512_BF16 "
                             "nor AMX: bf16 would be emulated, slower than fp32")
    return False, f"{device.type}: bf16 speed not known here"


def choose_precision(name: str, device: torch.device) -> tuple[str, str]:
    """``(precision, why)`` for ``device``: ``auto`` is bf16 where the device has fast bf16 hardware, else fp32;
    fp32/bf16/fp16 asked for by name are kept (fp16 on the CPU works, but has no fast path there)."""
    if name not in PRECISIONS:
        raise ValueError(f"precision {name!r}: expected one of {', '.join(PRECISIONS)}")
    device = torch.device(device)
    if name != "auto":
        slow = name == "fp16" and device.type == "cpu"
        return name, "asked for" + ("; the CPU has no fast fp16 path (bf16 or fp32 are faster there)" if slow else "")
    fast, why = fast_bf16(device)
    return ("bf16" if fast else "fp32"), "auto: " + why


def autocast(device: torch.device, precision: str) -> AbstractContextManager:
    """``torch.autocast`` to the precision's 16-bit type on ``device`` (nothing for fp32)."""
    if precision == "fp32":
        return nullcontext()
    if precision not in HALF:
        raise ValueError(f"precision {precision!r}: expected fp32, bf16 or fp16 (auto is decided first)")
    return torch.autocast(torch.device(device).type, dtype=HALF[precision])


def grad_scaler(device: torch.device, precision: str) -> torch.amp.GradScaler:
    """A loss scaler for fp16 training; a disabled one (a pass-through) for fp32 and bf16."""
    return torch.amp.GradScaler(torch.device(device).type, enabled=precision == "fp16")
