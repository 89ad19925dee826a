"""Lesson 8 exercises — your file.

Replace each ``raise NotImplementedError("Exercise N.k")`` with your code, then grade it:

    textclf check 8.1      # one exercise
    textclf check 8        # every exercise of lesson 8

The worked examples next to the stubs are complete: read them, use them.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence

import torch

# ----- worked example: one timed call (what not to do) ------------------------------


def time_once(run: Callable[[], object]) -> float:
    """Seconds for one call: includes first-call costs and whatever else the machine was doing."""
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


# ----- Exercise 8.1: a fair timer ----------------------------------------------------


def fair_times(variants: dict[str, Callable[[], object]], rounds: int, warmup: int = 1) -> dict[str, float]:
    """The median seconds of each variant (Exercise 8.1).

    First call every variant ``warmup`` times without timing. Then run ``rounds`` rounds; in each
    round call every variant once, in the order of the dict, timing each call with
    ``time.perf_counter()``. Return ``{name: median of its round times}``.
    """
    raise NotImplementedError("Exercise 8.1")


# ----- Exercise 8.2: int8 by hand ----------------------------------------------------


def quantize(weight: torch.Tensor) -> tuple[torch.Tensor, float, int]:
    """``weight`` as int8 with one scale and zero point (Exercise 8.2).

    Let ``low = min(weight.min(), 0)`` and ``high = max(weight.max(), 0)`` (so 0.0 is exact),
    ``scale = (high - low) / 255`` (1.0 if that is 0), ``zero_point = round(-low / scale) - 128``, and
    ``q = clamp(round(weight / scale) + zero_point, -128, 127)`` as ``torch.int8``.
    Return ``(q, scale, zero_point)``: then ``(q - zero_point) * scale`` is within ``scale / 2`` of ``weight``.
    """
    raise NotImplementedError("Exercise 8.2")


def int8_linear(x: torch.Tensor, q: torch.Tensor, scale: float, zero_point: int, bias: torch.Tensor) -> torch.Tensor:
    """``x @ W.T + bias`` with ``W`` given as ``quantize``'s output (Exercise 8.2).

    Subtract the zero point from ``q`` in a wider integer type (``torch.int32``: int8 would overflow),
    multiply by ``scale`` to get the weights back as floats, and compute the layer.
    """
    raise NotImplementedError("Exercise 8.2")


# ----- Exercise 8.3: length-sorted batches, answers in input order --------------------


def sorted_batch_outputs(forward: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                         sequences: Sequence[torch.Tensor], batch_size: int, pad_index: int = 0) -> torch.Tensor:
    """``forward`` over ``sequences`` in batches of similar length, rows back in input order (Exercise 8.3).

    Sort the indices by sequence length (longest first), cut them into batches of ``batch_size``, pad
    each batch to its longest sequence with ``pad_index`` (``ids [batch, seq_len]``, ``mask`` True at
    real tokens), call ``forward(ids, mask)`` (``[batch, ...]``), and return all rows stacked in the
    order the sequences were given.
    """
    raise NotImplementedError("Exercise 8.3")
