"""int8: store weights as 8-bit integers with a scale (and zero point), compute the matmuls in int8.

By hand, for one tensor (asymmetric, per tensor)::

    scale = (max - min) / 255          zero_point = round(-min / scale) - 128
    q = clamp(round(w / scale) + zero_point, -128, 127)      w ~ (q - zero_point) * scale

The rounding error of each weight is at most ``scale / 2``. One scale for a whole tensor is set by its
largest weight, so a row of small weights keeps few distinct levels: **per channel** gives each output row
(each output feature) its own scale, symmetric (zero point 0)::

    scale_i = max_j |w_ij| / 127.5          q_ij = clamp(round(w_ij / scale_i), -128, 127)

``quantize_dynamic`` does this per Linear layer for the weights ahead of time and for the activations on
the fly ("dynamic"), runs the matmul in int8 (fbgemm on x86) and returns float outputs. ``int8_dynamic``
quantizes per channel and leaves out the layers in ``keep`` (the head by default: two outputs, where every
rounding error goes straight into the logits); ``textclf.speed.int8_choice`` measures which other layers
cost accuracy and keeps those in fp32 too.

**The activations get 8 bits where that is exact, else 7.** fbgemm multiplies uint8 activations by int8
weights. Without VNNI the CPU adds each pair of products in int16: two products of 255 x 127 overflow it,
so ``quantize_dynamic``'s layers always quantize activations to 0..127 (``reduce_range``), twice the rounding
error. With VNNI (or AMX) the products add up in int32 and the full 0..255 is exact: ``int8_full_range``
measures that on this CPU (one worst-case matmul against its exact value), and ``int8_dynamic`` then uses
``FullRangeLinear``, the same layer with 8-bit activations.

``torch.ao.quantization.quantize_dynamic`` still works in torch 2.13 but is deprecated (its
successor is torchao). On CPUs without VNNI (like the AMD EPYC these lessons were measured on)
torchao's int8 path falls back to a slow ``torch._int_mm`` (~20x slower), while the old fbgemm
kernels are ~1.6-1.8x faster than fp32 — so textclf uses the deprecated API, silencing its
warning, and measures the result (``textclf bench``) rather than assuming.
"""

from __future__ import annotations

import copy
import functools
import warnings

import torch
from torch import nn
from torch.ao.nn.quantized import dynamic as dynamic_int8
from torch.ao.quantization.quantization_mappings import get_default_dynamic_quant_module_mappings


def quantize_tensor(weight: torch.Tensor) -> tuple[torch.Tensor, float, int]:
    """``weight`` as int8 ``q`` with ``scale`` and ``zero_point`` (asymmetric, one scale for the tensor)."""
    low, high = min(float(weight.min()), 0.0), max(float(weight.max()), 0.0)  # 0 must be exactly representable
    scale = (high - low) / 255 or 1.0
    zero_point = int(round(-low / scale)) - 128
    q = torch.clamp(torch.round(weight / scale) + zero_point, -128, 127).to(torch.int8)
    return q, scale, zero_point


def dequantize(q: torch.Tensor, scale: float, zero_point: int) -> torch.Tensor:
    return (q.to(torch.float32) - zero_point) * scale


def quantize_per_channel(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``weight`` ``[out, in]`` as int8 ``q`` with one ``scale`` per output row (symmetric: zero point 0)."""
    scale = (weight.abs().amax(dim=1) / 127.5).clamp(min=torch.finfo(torch.float32).eps)  # [out]
    q = torch.clamp(torch.round(weight * (1 / scale)[:, None]), -128, 127).to(torch.int8)  # [out, in]
    # (times 1/scale, as fbgemm computes it: at a largest weight w / scale is -127.5 on paper)
    return q, scale


HEAD = ("out",)  # kept in fp32 unless told otherwise


def linear_layers(model: nn.Module) -> list[str]:
    """The full names of the model's Linear layers, input to output."""
    return [name for name, module in model.named_modules() if isinstance(module, nn.Linear)]


class FullRangeLinear(dynamic_int8.Linear):
    """torch's dynamic int8 Linear with 8-bit activations (0..255) instead of 7: for CPUs where
    ``int8_full_range()`` says the kernel is exact with them."""

    def _get_name(self) -> str:  # what print(model) shows
        return "FullRangeLinear"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ops.quantized.linear_dynamic(x, self._packed_params._packed_params,
                                                  reduce_range=False).to(x.dtype)


@functools.cache
def int8_full_range() -> bool:
    """Whether this CPU's int8 matmul is exact with 8-bit activations: one worst case (every activation 255,
    every weight 127, 64 of them, so each pair of products overflows int16) against its exact value."""
    if torch.backends.quantized.engine == "none":
        return False
    layer = nn.Linear(64, 8, bias=False)
    with torch.no_grad():
        layer.weight.fill_(1.0)  # per-channel scale 1/127.5: every weight is 127 in int8
    layer.qconfig = torch.ao.quantization.per_channel_dynamic_qconfig  # what from_float reads
    x = torch.ones(4, 64)        # scale 1/255: every activation is 255 in uint8
    exact = 64 * 255 * 127 * (1 / 255) * (1 / 127.5)  # what int32 accumulation gives
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quantized = FullRangeLinear.from_float(layer)
    return bool(torch.allclose(quantized(x), torch.full((4, 8), exact), rtol=1e-4))


def activation_bits() -> int:
    """8 where ``int8_full_range()``, else 7 (torch's ``reduce_range``)."""
    return 8 if int8_full_range() else 7


def int8_dynamic(model: nn.Module, keep: tuple[str, ...] | list[str] | None = None, per_channel: bool = True,
                 only: list[str] | None = None, bits: int | None = None) -> nn.Module:
    """A copy of ``model`` (on the CPU) whose Linear layers run in int8 (dynamic quantization), per channel
    (else one scale per tensor), except the layers named in ``keep`` (full names: ``out``,
    ``layers.0.attention.query``; None: the head, ``out``); ``only``: quantize just these (one layer's cost);
    ``bits``: the activations' (None: ``activation_bits()``, 8 where exact here, else 7)."""
    if torch.backends.quantized.engine == "none":
        raise RuntimeError("this torch build has no quantized engine (fbgemm/qnnpack); int8 is not available")
    bits = activation_bits() if bits is None else bits
    if bits not in (7, 8) or (bits == 8 and not int8_full_range()):
        raise ValueError(f"activation bits {bits}: expected 7, or 8 where this CPU's int8 kernel is exact with them "
                         f"(here: {activation_bits()})")
    names = linear_layers(model)
    keep = [name for name in HEAD if name in names] if keep is None else list(keep)
    unknown = [name for name in [*keep, *(only or [])] if name not in names]
    if unknown:
        raise ValueError(f"no Linear layer {unknown[0]!r} in this {type(model).__name__}; its Linear layers: "
                         f"{', '.join(names)}")
    model = copy.deepcopy(model).cpu().eval()
    qconfig = (torch.ao.quantization.per_channel_dynamic_qconfig if per_channel
               else torch.ao.quantization.default_dynamic_qconfig)
    chosen = {name: qconfig for name in (only if only is not None else names) if name not in keep}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*torch.ao.quantization is deprecated.*")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*quantized tensor creation functions.*")
        mapping = get_default_dynamic_quant_module_mappings()  # Linear (and its subclasses) -> int8 Linear, ...
        if bits == 8:
            mapping = {kind: FullRangeLinear if int8 is dynamic_int8.Linear else int8 for kind, int8 in mapping.items()}
        return torch.ao.quantization.quantize_dynamic(model, chosen, dtype=torch.qint8, mapping=mapping)
