"""Which layers int8 may touch, measured on the validation split (``textclf quantize DIR``).

Quantizing a layer rounds every weight; some layers take it in their stride, some do not (the head, whose
few outputs are the logits; sometimes the last feed-forward layers). Measured, not guessed:

1. ``layer_costs``: each Linear layer alone in int8 (per channel), the rest fp32: its cost in validation
   accuracy and loss;
2. ``choose_int8``: every layer but the head in int8 (activations in 8 bits where this CPU's kernel is exact
   with them, else 7: ``textclf.speed.quantize``); while the validation accuracy is more than
   ``budget`` below fp32's, the costliest layer left (by loss: finer than accuracy) goes back to fp32.

The choice is written beside the bundle as ``int8.json`` (with a fingerprint of the weights it was measured
on, and the activations' width) and ``--quantize int8`` reads it (warning when this CPU's width differs); a
bundle without one keeps its head in fp32 and quantizes the rest. The test split is not looked at.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

from textclf.bundle import Bundle
from textclf.data import DataError, Example
from textclf.files import atomic_write_text, read_json
from textclf.inference import evaluate
from textclf.models.lora import weights_fingerprint
from textclf.speed.quantize import HEAD, activation_bits, int8_dynamic, linear_layers

FILE = "int8.json"


@dataclass
class Int8Choice:
    """The layers kept in fp32 and what validation said: fp32's and the chosen int8's accuracy, each layer's cost."""

    keep: list[str]
    fp32_accuracy: float
    int8_accuracy: float
    budget: float
    costs: list[dict] = field(default_factory=list)  # per layer: name, accuracy cost, loss cost (alone in int8)
    fingerprint: str = ""                             # of the weights it was measured on
    split: str = "valid"
    activation_bits: int = 7                          # 8 where the CPU it was measured on is exact with them


def layer_costs(bundle: Bundle, examples: list[Example]) -> tuple[float, float, list[dict]]:
    """fp32's validation accuracy and loss, and each Linear layer's cost when it alone runs in int8."""
    return costs_on(bundle, bundle.dataset(examples))


def costs_on(bundle: Bundle, data) -> tuple[float, float, list[dict]]:
    """``layer_costs`` on examples already encoded (``bundle.dataset``)."""
    n = len(bundle.labels)
    base = evaluate(bundle.model, data, n_classes=n)
    costs = []
    for name in linear_layers(bundle.model):
        alone = evaluate(bundle.model, data, n_classes=n, forward=int8_dynamic(bundle.model, keep=[], only=[name]))
        costs.append({"layer": name, "accuracy": base.accuracy - alone.accuracy, "loss": alone.loss - base.loss})
    return base.accuracy, base.loss, costs


def choose_int8(bundle: Bundle, examples: list[Example], budget: float = 0.005, log=print) -> Int8Choice:
    """The fewest layers kept in fp32 (the head first, then the costliest) for validation accuracy within
    ``budget`` (a fraction: 0.005 = half a point) of fp32's."""
    data, n = bundle.dataset(examples), len(bundle.labels)  # encoded once for every pass below
    fp32, _, costs = costs_on(bundle, data)
    keep = [name for name in HEAD if name in linear_layers(bundle.model)]
    order = [c["layer"] for c in sorted(costs, key=lambda c: -c["loss"]) if c["layer"] not in keep]
    while True:
        accuracy = evaluate(bundle.model, data, n_classes=n, forward=int8_dynamic(bundle.model, keep=keep)).accuracy
        log(f"int8 with {len(keep)} layer(s) kept in fp32: validation accuracy {accuracy:.4f} (fp32 {fp32:.4f})")
        if fp32 - accuracy <= budget or not order:
            break
        keep.append(order.pop(0))
    return Int8Choice(keep, fp32, accuracy, budget, costs, weights_fingerprint(bundle.model.state_dict()),
                      activation_bits=activation_bits())


def save_choice(bundle: Bundle, choice: Int8Choice) -> Path:
    """``DIR/int8.json``, atomically."""
    path = bundle.path / FILE
    atomic_write_text(path, json.dumps(asdict(choice), indent=2))
    return path


def kept_layers(bundle: Bundle) -> list[str] | None:
    """The layers ``int8.json`` keeps in fp32 (None: no file, the default); a file measured on other weights
    (the bundle was retrained) is refused, naming it."""
    path = bundle.path / FILE if bundle.path else None
    if path is None or not path.is_file():
        return None
    values = read_json(path, "textclf quantize's choice")
    keep = values.get("keep") if isinstance(values, dict) else None
    if not (isinstance(keep, list) and all(isinstance(k, str) for k in keep)):
        raise DataError(path, None, 'key "keep": expected the list of layers kept in fp32 textclf quantize writes')
    if values.get("fingerprint") != weights_fingerprint(bundle.model.state_dict()):
        raise DataError(path, None, "was measured on other weights than this bundle's (retrained since?); run "
                        "`textclf quantize DIR` again, or delete the file")
    measured, here = values.get("activation_bits", 7), activation_bits()  # files before the field: 7 bits
    if measured != here:  # still a sound choice, but its accuracy was not measured with this CPU's arithmetic
        warnings.warn(f"{path}: measured with {measured}-bit activations, and this CPU runs int8 with {here}; "
                      "`textclf quantize DIR` measures the choice here", stacklevel=2)
    return keep
