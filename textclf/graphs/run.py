"""Running exported graphs: ``.pt2`` programs (``program_forward``) and ONNX graphs in ONNX Runtime
(``OnnxForward``; optional extra: ``pip install 'textclf[onnx]'``). Writing them is ``textclf.graphs.write``.

``textclf.graphs.write.export_onnx`` writes the model as an ONNX graph with a dynamic batch size and sequence length
(inputs ``ids [batch, seq_len]`` int64, ``mask [batch, seq_len]`` bool; output ``logits``).
``OnnxForward`` runs it in an ``onnxruntime.InferenceSession`` and has the ``(ids, mask) ->
logits`` contract of every forward, so it plugs into ``Bundle.forward``.

int8 with ONNX Runtime: ``quantize_onnx`` quantizes the weights per output channel, with
``reduce_range`` (7-bit weights) unless told the CPU has int8 dot products (VNNI). On x86 CPUs
without VNNI, ORT's default int8 settings (per tensor, full range) flipped 16% of the
predictions in a trial (the u8 x s8 products saturate); per-channel weights with
``reduce_range`` kept them. With VNNI the products add up in int32 and 8-bit weights are exact.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

from textclf.inference import Forward

INSTALL = "pip install 'textclf[onnx]'  (onnxruntime and onnx)"


def require_onnxruntime():
    try:
        import onnxruntime
    except ImportError:
        raise ModuleNotFoundError(f"the onnxruntime backend needs ONNX Runtime: {INSTALL}") from None
    return onnxruntime


def quantize_onnx(source: str | Path, target: str | Path, reduce_range: bool = True) -> Path:
    """int8 weights, per channel, 7-bit unless ``reduce_range`` is False (see the module docstring for why not
    the defaults)."""
    require_onnxruntime()
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quiet = logging.getLogger()  # ORT logs a pre-processing hint on the root logger at every call
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True,
                         reduce_range=reduce_range)
    finally:
        quiet.setLevel(level)
    return Path(target)


class PaddedForward:
    """A graph's ``(ids, mask) -> logits`` padded (with masked positions) to the shortest length it accepts:
    a convolution with kernel 5 needs 5 positions, and the graph cannot pad by itself."""

    def __init__(self, run, min_length: int = 1, pad_index: int = 0):
        self.run, self.min_length, self.pad_index = run, min_length, pad_index

    def __call__(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:  # [batch, seq_len] each
        short = self.min_length - ids.shape[1]
        if short > 0:  # padded positions are masked out: the same result
            ids = nn.functional.pad(ids, (0, short), value=self.pad_index)
            mask = nn.functional.pad(mask, (0, short), value=False)
        return self.run(ids.cpu(), mask.cpu())


def program_forward(path: str | Path, pad_index: int = 0) -> Forward:
    """``(ids, mask) -> logits`` from a ``.pt2`` file (no textclf model class needed to run it), padded up to
    the shortest length the program accepts."""
    program = torch.export.load(str(path))
    module = program.module()
    return PaddedForward(lambda ids, mask: module(ids, mask), shortest_length(program), pad_index)


def shortest_length(program) -> int:
    """The lower bound the exported program puts on its inputs' length (dimension 1 of ``ids``)."""
    placeholder = next(n for n in program.graph.nodes if n.op == "placeholder" and n.name == "ids")
    size = placeholder.meta["val"].shape[1]
    if isinstance(size, int):
        return size
    return int(program.range_constraints[size.node.expr].lower)


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
        return cls(path, min_length=model.min_length, pad_index=model.pad_index)

    def run_session(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        feeds = {"ids": ids.numpy(), "mask": mask.numpy()}
        return torch.from_numpy(self.session.run(["logits"], feeds)[0])
