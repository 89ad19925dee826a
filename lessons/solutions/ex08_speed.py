"""Lesson 8 exercises — reference solutions.
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
    for _ in range(warmup):
        for run in variants.values():
            run()
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, run in variants.items():
            start = time.perf_counter()
            run()
            seconds[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in seconds.items()}


# ----- Exercise 8.2: int8 by hand ----------------------------------------------------


def quantize(weight: torch.Tensor) -> tuple[torch.Tensor, float, int]:
    """``weight`` as int8 with one scale and zero point (Exercise 8.2).

    Let ``low = min(weight.min(), 0)`` and ``high = max(weight.max(), 0)`` (so 0.0 is exact),
    ``scale = (high - low) / 255`` (1.0 if that is 0), ``zero_point = round(-low / scale) - 128``, and
    ``q = clamp(round(weight / scale) + zero_point, -128, 127)`` as ``torch.int8``.
    Return ``(q, scale, zero_point)``: then ``(q - zero_point) * scale`` is within ``scale / 2`` of ``weight``.
    """
    low, high = min(float(weight.min()), 0.0), max(float(weight.max()), 0.0)
    scale = (high - low) / 255 or 1.0
    zero_point = int(round(-low / scale)) - 128
    q = torch.clamp(torch.round(weight / scale) + zero_point, -128, 127).to(torch.int8)
    return q, scale, zero_point


def int8_linear(x: torch.Tensor, q: torch.Tensor, scale: float, zero_point: int, bias: torch.Tensor) -> torch.Tensor:
    """``x @ W.T + bias`` with ``W`` given as ``quantize``'s output (Exercise 8.2).

    Subtract the zero point from ``q`` in a wider integer type (``torch.int32``: int8 would overflow),
    multiply by ``scale`` to get the weights back as floats, and compute the layer.
    """
    weight = (q.to(torch.int32) - zero_point).to(torch.float32) * scale
    return x @ weight.T + bias


# ----- Exercise 8.3: length-sorted batches, answers in input order --------------------


def sorted_batch_outputs(forward: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                         sequences: Sequence[torch.Tensor], batch_size: int, pad_index: int = 0) -> torch.Tensor:
    """``forward`` over ``sequences`` in batches of similar length, rows back in input order (Exercise 8.3).

    Sort the indices by sequence length (longest first), cut them into batches of ``batch_size``, pad
    each batch to its longest sequence with ``pad_index`` (``ids [batch, seq_len]``, ``mask`` True at
    real tokens), call ``forward(ids, mask)`` (``[batch, ...]``), and return all rows stacked in the
    order the sequences were given.
    """
    order = sorted(range(len(sequences)), key=lambda i: -len(sequences[i]))
    rows: list[torch.Tensor | None] = [None] * len(sequences)
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        width = max(len(sequences[i]) for i in chunk)
        ids = torch.full((len(chunk), width), pad_index, dtype=torch.long)
        mask = torch.zeros(len(chunk), width, dtype=torch.bool)
        for row, i in enumerate(chunk):
            ids[row, : len(sequences[i])] = sequences[i]
            mask[row, : len(sequences[i])] = True
        for i, out in zip(chunk, forward(ids, mask)):
            rows[i] = out
    return torch.stack(rows)
