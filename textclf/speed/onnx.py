"""ONNX Runtime as a prediction backend (optional extra: ``pip install 'textclf[onnx]'``).

``export_onnx`` writes the model as an ONNX graph with a dynamic batch size and sequence length
(inputs ``ids [batch, seq_len]`` int64, ``mask [batch, seq_len]`` bool; output ``logits``).
``OnnxForward`` runs it in an ``onnxruntime.InferenceSession`` and has the ``(ids, mask) ->
logits`` contract of every forward, so it plugs into ``Bundle.forward``.

int8 with ONNX Runtime: ``quantize_onnx`` quantizes the weights per output channel with
``reduce_range`` (7-bit weights). On x86 CPUs without VNNI, ORT's default int8 settings
(per tensor, full range) flipped 16% of the predictions in a trial (the u8 x s8 products
saturate); per-channel weights with ``reduce_range`` kept them.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import torch
from torch import nn

INSTALL = "pip install 'textclf[onnx]'  (onnxruntime and onnx)"


def require_onnxruntime():
    try:
        import onnxruntime
    except ImportError:
        raise ModuleNotFoundError(f"the onnxruntime backend needs ONNX Runtime: {INSTALL}") from None
    return onnxruntime


def export_onnx(model: nn.Module, path: str | Path, opset: int = 17) -> Path:
    """Write ``model``'s ``forward(ids, mask)`` as ONNX (TorchScript-based exporter: no extra packages)."""
    path = Path(path)
    model = model.cpu().eval()
    ids = torch.ones(2, 8, dtype=torch.long)
    mask = torch.ones(2, 8, dtype=torch.bool)
    axes = {"ids": {0: "batch", 1: "seq_len"}, "mask": {0: "batch", 1: "seq_len"}, "logits": {0: "batch"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation and tracer warnings
        torch.onnx.export(model, (ids, mask), str(path), input_names=["ids", "mask"], output_names=["logits"],
                          dynamic_axes=axes, opset_version=opset, dynamo=False)
    return path


def quantize_onnx(source: str | Path, target: str | Path) -> Path:
    """int8 weights, per channel, reduced range (see the module docstring for why not the defaults)."""
    require_onnxruntime()
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quiet = logging.getLogger()  # ORT logs a pre-processing hint on the root logger at every call
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True, reduce_range=True)
    finally:
        quiet.setLevel(level)
    return Path(target)


class OnnxForward:
    """``(ids, mask) -> logits`` through an ONNX Runtime session (CPU)."""

    def __init__(self, path: str | Path, threads: int | None = None, min_length: int = 1, pad_index: int = 0):
        ort = require_onnxruntime()
        self.min_length, self.pad_index = min_length, pad_index
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        self.path = Path(path)
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def __call__(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:  # [batch, seq_len] each
        short = self.min_length - ids.shape[1]
        if short > 0:  # padded positions are masked out: the same result, and a shape the graph accepts
            ids = torch.nn.functional.pad(ids, (0, short), value=self.pad_index)
            mask = torch.nn.functional.pad(mask, (0, short), value=False)
        feeds = {"ids": ids.cpu().numpy(), "mask": mask.cpu().numpy()}
        return torch.from_numpy(self.session.run(["logits"], feeds)[0])
