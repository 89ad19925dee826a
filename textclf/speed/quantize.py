"""int8: store weights as 8-bit integers with a scale (and zero point), compute the matmuls in int8.

By hand, for one tensor (asymmetric, per tensor)::

    scale = (max - min) / 255          zero_point = round(-min / scale) - 128
    q = clamp(round(w / scale) + zero_point, -128, 127)      w ~ (q - zero_point) * scale

The rounding error of each weight is at most ``scale / 2``. ``quantize_dynamic`` does this per
Linear layer for the weights ahead of time and for the activations on the fly ("dynamic"),
runs the matmul in int8 (fbgemm on x86) and returns float outputs.

``torch.ao.quantization.quantize_dynamic`` still works in torch 2.13 but is deprecated (its
successor is torchao). On CPUs without VNNI (like the AMD EPYC these lessons were measured on)
torchao's int8 path falls back to a slow ``torch._int_mm`` (~20x slower), while the old fbgemm
kernels are ~1.6-1.8x faster than fp32 — so textclf uses the deprecated API, silencing its
warning, and measures the result (``textclf bench``) rather than assuming.
"""

from __future__ import annotations

import copy
import warnings

import torch
from torch import nn


def quantize_tensor(weight: torch.Tensor) -> tuple[torch.Tensor, float, int]:
    """``weight`` as int8 ``q`` with ``scale`` and ``zero_point`` (asymmetric, one scale for the tensor)."""
    low, high = min(float(weight.min()), 0.0), max(float(weight.max()), 0.0)  # 0 must be exactly representable
    scale = (high - low) / 255 or 1.0
    zero_point = int(round(-low / scale)) - 128
    q = torch.clamp(torch.round(weight / scale) + zero_point, -128, 127).to(torch.int8)
    return q, scale, zero_point


def dequantize(q: torch.Tensor, scale: float, zero_point: int) -> torch.Tensor:
    return (q.to(torch.float32) - zero_point) * scale


def int8_dynamic(model: nn.Module) -> nn.Module:
    """A copy of ``model`` (on the CPU) whose Linear layers run in int8 (dynamic quantization)."""
    if torch.backends.quantized.engine == "none":
        raise RuntimeError("this torch build has no quantized engine (fbgemm/qnnpack); int8 is not available")
    model = copy.deepcopy(model).cpu().eval()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*torch.ao.quantization is deprecated.*")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*quantized tensor creation functions.*")
        return torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
