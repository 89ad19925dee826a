"""ONNX Runtime as a prediction backend (optional extra: ``pip install 'textclf[onnx]'``).

``textclf.export.export_onnx`` writes the model as an ONNX graph with a dynamic batch size and sequence length
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
from pathlib import Path

import torch

from textclf.export import PaddedForward
from textclf.inference import pad_index_of

INSTALL = "pip install 'textclf[onnx]'  (onnxruntime and onnx)"


def require_onnxruntime():
    try:
        import onnxruntime
    except ImportError:
        raise ModuleNotFoundError(f"the onnxruntime backend needs ONNX Runtime: {INSTALL}") from None
    return onnxruntime


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


class OnnxForward(PaddedForward):
    """``(ids, mask) -> logits`` through an ONNX Runtime session (CPU)."""

    def __init__(self, path: str | Path, threads: int | None = None, min_length: int = 1, pad_index: int = 0):
        ort = require_onnxruntime()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        self.path = Path(path)
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        super().__init__(self.run_session, min_length, pad_index)

    @classmethod
    def of(cls, path: str | Path, model) -> OnnxForward:
        """A session on ``path``, the export of ``model``: padded to its shortest input with its padding id."""
        return cls(path, min_length=getattr(model, "min_length", 1), pad_index=pad_index_of(model))

    def run_session(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        feeds = {"ids": ids.numpy(), "mask": mask.numpy()}
        return torch.from_numpy(self.session.run(["logits"], feeds)[0])
