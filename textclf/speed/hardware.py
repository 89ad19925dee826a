"""What this CPU can do fast: bf16, and whether Intel Extension for PyTorch can run beside this torch.

IPEX (``intel-extension-for-pytorch``) added CPU kernels and an ``ipex.optimize(model)`` call; its
last release is 2.8 (end of life announced), built for torch 2.8 only. Importing it beside a
newer torch does not raise ImportError: it calls ``os.exit`` (which does not exist) and raises
AttributeError. So textclf never imports it blindly: ``ipex_status`` compares versions with
``importlib.metadata`` first, and only a matching major.minor is imported.
"""

from __future__ import annotations

import importlib
import platform
from importlib import metadata

import torch

from textclf.devices import bf16_supported, cpu_flags

__all__ = ["bf16_supported", "cpu_capability", "cpu_flags", "cpu_name", "int8_dot_product", "ipex_status"]


def cpu_name() -> str:
    """The CPU's model name (``/proc/cpuinfo``; elsewhere what ``platform`` knows): every figure names it."""
    try:
        with open("/proc/cpuinfo") as info:
            return next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def cpu_capability() -> str:
    """The widest vector instruction set torch uses here: DEFAULT, AVX2, AVX512, ..."""
    try:
        return torch.backends.cpu.get_cpu_capability()
    except AttributeError:  # an older torch
        return "unknown"


def int8_dot_product() -> bool:
    """VNNI (int8 dot products in one instruction): without it, int8 kernels are slower to much slower."""
    return bool(cpu_flags() & {"avx512_vnni", "avx_vnni", "amx_int8"})


def major_minor(version: str) -> tuple[int, int]:
    parts = version.split("+")[0].split(".")
    return int(parts[0]), int(parts[1])


def ipex_status() -> tuple[bool, str]:
    """``(usable, why)``: IPEX is usable only when installed for this torch's major.minor and importable."""
    try:
        version = metadata.version("intel-extension-for-pytorch")
    except metadata.PackageNotFoundError:
        return False, "not installed (pip install intel-extension-for-pytorch; last release 2.8, for torch 2.8)"
    if major_minor(version) != major_minor(torch.__version__):
        return False, (f"IPEX {version} needs torch {'.'.join(map(str, major_minor(version)))}, this is torch "
                       f"{torch.__version__}; not imported (it would fail with AttributeError)")
    try:
        importlib.import_module("intel_extension_for_pytorch")
    except Exception as err:  # IPEX fails in several ways; none must take textclf down
        return False, f"IPEX {version} failed to import: {type(err).__name__}: {err}"
    return True, f"IPEX {version}"
