"""The faster forwards a bundle can run with: int8 (torch), ONNX Runtime (fp32 or int8), compiled (bf16/fp16 are
not a forward: ``Bundle.precision``, applied by ``textclf.inference.run_batched``).

``with_backend(load_bundle(DIR), quantize="int8", backend="onnxruntime")`` gives a bundle such a ``forward``;
every prediction path (predict, evaluate, serve, report) then runs through it.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import torch
from torch import nn

from textclf.bundle import Bundle
from textclf.graphs.run import OnnxForward, quantize_onnx, require_onnxruntime
from textclf.graphs.write import export_onnx
from textclf.inference import Forward
from textclf.speed.hardware import int8_dot_product
from textclf.speed.int8_choice import kept_layers
from textclf.speed.quantize import int8_dynamic

BACKENDS = ("torch", "onnxruntime")
QUANTIZE = (None, "int8")


def with_backend(bundle: Bundle, *, quantize: str | None = None, backend: str = "torch") -> Bundle:
    """``bundle`` with a faster ``forward`` (CPU only; ``textclf bench`` measures them and their accuracy
    delta): ``quantize="int8"`` and/or ``backend="onnxruntime"``; ``bundle.model`` stays the fp32 network
    (explanations and transfer use it). Nothing to do for ``torch`` without quantization."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; expected one of: {', '.join(BACKENDS)}")
    if quantize not in QUANTIZE:
        raise ValueError(f"unknown quantization {quantize!r}; expected int8 (or none)")
    if not (quantize or backend != "torch"):
        return bundle  # the model itself: nothing to do
    if bundle.device.type != "cpu":
        what = " and ".join(filter(None, [f"--quantize {quantize}" if quantize else "", f"--backend {backend}"
                                          if backend != "torch" else ""]))
        raise ValueError(f"{what} runs on the CPU only, and this bundle is on {bundle.device}; use --device cpu "
                         "(on a GPU, --precision bf16 or fp16 is the faster path)")
    if bundle.precision != "fp32":
        raise ValueError(f"--precision {bundle.precision} applies to the torch backend; int8 and ONNX Runtime run in "
                         "their own arithmetic: leave --precision out (or fp32) with them")
    keep = kept_layers(bundle) if quantize == "int8" else None  # textclf quantize's choice, where made
    bundle.forward = fast_forward(bundle.model, bundle.model_name, quantize=quantize, backend=backend, keep=keep)
    return bundle


def fast_forward(model: nn.Module, model_name: str, *, quantize: str | None = None,
                 backend: str = "torch", keep: list[str] | None = None) -> Forward:
    """``(ids, mask) -> logits`` for ``model`` through ``backend`` (``torch`` | ``onnxruntime``), int8 or fp32;
    torch's int8 per channel, ``keep`` (default: the head) left in fp32."""
    if backend == "torch":
        return int8_dynamic(model, keep=keep) if quantize == "int8" else model
    return onnx_forward(model, int8=quantize == "int8")


def onnx_forward(model: nn.Module, int8: bool = False) -> Forward:
    """Export to a temporary folder (removed with the returned forward) and open an ONNX Runtime session."""
    require_onnxruntime()
    folder = tempfile.TemporaryDirectory(prefix="textclf-onnx-")
    path = export_onnx(model, Path(folder.name) / "model.onnx")
    if int8:
        path = quantize_onnx(path, Path(folder.name) / "model.int8.onnx", reduce_range=not int8_dot_product())
    forward = OnnxForward.of(path, model)
    forward.folder = folder  # keeps the files as long as the session lives
    return forward


def torchao_int8(model: nn.Module) -> Forward:
    """torchao's int8 (dynamic int8 activations, int8 weights): the successor of ``quantize_dynamic``. Its
    matmul is ``torch._int_mm``, fast with VNNI/AMX and on GPUs; on other CPUs it falls back to a slow path."""
    import copy

    try:
        from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_
    except ImportError:
        raise ModuleNotFoundError("torchao is not installed (pip install torchao)") from None
    quantized = copy.deepcopy(model).cpu().eval()
    quantize_(quantized, Int8DynamicActivationInt8WeightConfig())
    return quantized


def one_thread(model: nn.Module) -> Forward:
    """The model on one CPU thread (to see what the other threads buy)."""
    def forward(ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return model(ids, mask)
        finally:
            torch.set_num_threads(threads)
    return forward


def compiled_graphs() -> int | None:
    """How many graphs torch.compile has compiled so far (each new shape it cannot reuse adds one)."""
    try:
        from torch._dynamo.utils import counters

        return int(counters["stats"]["unique_graphs"])
    except Exception:  # a private counter: absent in some versions
        return None


def compiled_forward(model: nn.Module) -> Forward:
    """``torch.compile`` with dynamic shapes (new batch sizes and lengths should not recompile every time)."""
    with contextlib.suppress(Exception):
        torch._dynamo.reset()
    return torch.compile(model, dynamic=True)
