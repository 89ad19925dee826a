"""Portable exports of a bundle's network: ONNX (any runtime) and ``torch.export`` (``.pt2``).

    textclf export DIR --format onnx           DIR/model.onnx  (inputs ids, mask; output logits)
    textclf export DIR --format torch-export   DIR/model.pt2   (torch.export.load(...).module())

Both graphs take ``ids [batch, seq_len]`` (int64) and ``mask [batch, seq_len]`` (bool, True on real
tokens, padding at the end) with the batch size and the length left dynamic, and return the logits
``[batch, n_classes]`` (divide by the bundle's ``temperature`` before the softmax). Turning text into ids
stays with the bundle (``vocab.json`` and the tokenizer named in ``config.json``).

Every export is checked before it is kept: the exported graph and the bundle's PyTorch model score the
same texts (the test split by default) and the largest logit difference must be at most ``tolerance``
(1e-4); otherwise the file is not written. The RNN models run unpacked for export (``ClassifierNet.unpack``
with ``textclf.graphs.unpacked``): a packed sequence's shape depends on the lengths, which no graph can hold.

TorchScript (``torch.jit.trace``/``script``) is deprecated in PyTorch 2.x in favour of ``torch.export``;
textclf does not offer it.
"""

from __future__ import annotations

import copy
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from textclf.errors import DataError
from textclf.files import atomic_write
from textclf.graphs.run import OnnxForward, program_forward
from textclf.graphs.unpacked import unpacked
from textclf.models.base import ClassifierNet

FORMATS = {"onnx": "model.onnx", "torch-export": "model.pt2"}
TOLERANCE = 1e-4


def exportable(model: ClassifierNet, scan: bool = False) -> ClassifierNet:
    """A CPU copy of ``model`` in eval mode whose ``forward(ids, mask) -> logits`` a graph exporter can trace.
    ``scan``: RNN time steps as a ``scan`` loop (``torch.export``; ONNX has RNN operators of its own)."""
    copied = copy.deepcopy(model).cpu().eval()
    copied.unpack(unpacked(scan))  # the RNN models: no packed sequences in a graph (the others: nothing to do)
    return copied


def example_inputs(model: ClassifierNet, batch: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """ids and mask to trace with: longer than the model's shortest input, and not 0 or 1 (which exporters
    would take for constant sizes)."""
    length = max(8, model.min_length + 2)
    ids = torch.full((batch, length), model.pad_index + 1, dtype=torch.long)
    return ids, torch.ones(batch, length, dtype=torch.bool)


def export_onnx(model: nn.Module, path: str | Path, opset: int = 17) -> Path:
    """Write ``model``'s ``forward(ids, mask)`` as ONNX with dynamic batch and length (the TorchScript-based
    exporter, ``dynamo=False``: it needs no packages beyond torch and onnx)."""
    path = Path(path)
    model = exportable(model)
    axes = {"ids": {0: "batch", 1: "seq_len"}, "mask": {0: "batch", 1: "seq_len"}, "logits": {0: "batch"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation and tracer warnings
        torch.onnx.export(model, example_inputs(model), str(path), input_names=["ids", "mask"],
                          output_names=["logits"], dynamic_axes=axes, opset_version=opset, dynamo=False)
    return path


def export_program(model: nn.Module, path: str | Path) -> Path:
    """Write ``model``'s ``forward(ids, mask)`` as a ``torch.export`` program (``.pt2``), batch and length dynamic."""
    model = exportable(model, scan=True)
    batch, length = torch.export.Dim.AUTO, torch.export.Dim.AUTO  # dynamic, within the ranges the model allows
    shapes = {"ids": {0: batch, 1: length}, "mask": {0: batch, 1: length}}

    class Logits(nn.Module):  # torch.export wants the inputs by name and nothing optional
        def __init__(self, net: nn.Module):
            super().__init__()
            self.net = net

        def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            return self.net(ids, mask)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.export.export(Logits(model), example_inputs(model), dynamic_shapes=shapes)
    torch.export.save(program, str(path))
    return Path(path)


@dataclass
class ExportResult:
    path: Path
    max_difference: float  # the largest |logit difference| between the export and the PyTorch model
    texts: int  # how many texts that was measured on


class ParityError(ValueError):
    """An export whose logits differ from the PyTorch model's by more than the tolerance."""


def max_logit_difference(reference: torch.Tensor, other: torch.Tensor) -> float:
    """The largest ``|reference - other|`` over two ``[n, n_classes]`` logit tables (the parity figure)."""
    if reference.shape != other.shape:
        raise ValueError(f"logits of shape {tuple(reference.shape)} and {tuple(other.shape)}; expected the same")
    return float((reference.detach().float() - other.detach().float()).abs().max()) if reference.numel() else 0.0


def check_tolerance(tolerance: float) -> None:
    if not 0 < tolerance < 1:
        raise ValueError(f"--tolerance {tolerance}: expected a number between 0 and 1 (default 1e-4)")


def export_path(bundle, fmt: str, out: str | Path | None = None) -> Path:
    """Where the ``fmt`` export of ``bundle`` goes: ``out``, else ``DIR/model.onnx`` or ``DIR/model.pt2`` in its
    folder. Checked before any work: a folder, a FIFO or a device there is an error, and so is any other file
    of the bundle itself (``--out DIR/model.safetensors`` would destroy what is being exported)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; expected one of: {', '.join(FORMATS)}")
    if out is None and bundle.path is None:
        raise ValueError("this bundle has no folder yet: give out= (or save it first with save_bundle)")
    path = Path(out) if out is not None else bundle.path / FORMATS[fmt]
    if path.is_dir():
        raise DataError(path, None, f"is a folder; expected a file name for the {fmt} export")
    return bundle.check_output(path, own=FORMATS[fmt], what=f"{fmt} export")


def export_bundle(bundle, fmt: str, texts: list[str], out: str | Path | None = None,
                  tolerance: float = TOLERANCE) -> ExportResult:
    """Export ``bundle``'s network as ``fmt`` (``onnx`` | ``torch-export``) to ``out`` (default: in the bundle
    folder), after checking parity on ``texts``. Written atomically: a failed check or a crash leaves no file."""
    if not texts:
        raise ValueError("no texts to check the export on; expected at least one")
    out = export_path(bundle, fmt, out)
    result = {}

    def write(tmp: Path) -> None:
        try:
            check_parity(tmp)
        except (ParityError, DataError):
            raise
        except Exception:  # the folder replaced or removed under us: ONNX Runtime's NoSuchFile, an OSError, ...
            bundle.check_unchanged()  # say that, rather than the runtime's complaint about a missing file
            if not out.parent.is_dir():
                raise DataError(out.parent, None, "the folder was removed while exporting; nothing written") from None
            raise
        bundle.check_unchanged()  # the bundle replaced meanwhile: this graph would sit beside other weights

    def check_parity(tmp: Path) -> None:
        model = bundle.model
        if fmt == "onnx":
            export_onnx(model, tmp)
            forward = OnnxForward.of(tmp, model)
        else:
            export_program(model, tmp)
            forward = program_forward(tmp, model.pad_index)
        fp32 = copy.copy(bundle)
        fp32.precision = "fp32"  # the graph is fp32: compare with the fp32 model, whatever the bundle predicts in
        if bundle.device.type != "cpu":  # the graph is traced on the CPU: compare on the CPU (a GPU's TF32 convolutions
            fp32.model = copy.deepcopy(bundle.model).cpu()  # and cuDNN RNNs differ from it by ~1e-3)
        reference = fp32.logits(texts)
        exported = copy.copy(fp32)
        exported.forward = forward
        difference = max_logit_difference(reference, exported.logits(texts))
        if not difference <= tolerance:  # NaN fails too
            raise ParityError(f"{fmt} export: logits differ from the PyTorch model's by up to {difference:.2e} on "
                              f"{len(texts)} texts; expected at most {tolerance:.0e} (nothing written)")
        result["difference"] = difference

    atomic_write(out, write, suffix=out.suffix)  # torch.export.save wants a name ending in .pt2
    os.chmod(out, 0o644)
    return ExportResult(out, result["difference"], len(texts))
