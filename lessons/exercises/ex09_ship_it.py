"""Lesson 9 exercises — your file.

Replace each ``raise NotImplementedError("Exercise N.k")`` with your code, then grade it:

    textclf check 9.1      # one exercise
    textclf check 9        # every exercise of lesson 9

The worked examples next to the stubs are complete: read them, use them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

# ----- worked example: the error a server answers with -------------------------------


class BadRequest(Exception):
    """A request the server refuses: an HTTP ``status`` (4xx) and a message for the client."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def error_body(err: BadRequest) -> dict:
    """What the client receives: JSON, never a traceback."""
    return {"error": {"status": err.status, "message": err.message}}


# ----- Exercise 9.1: a request validator ----------------------------------------------


def check_request(data: object, max_texts: int = 64, max_chars: int = 5000) -> list[str]:
    """The texts of a parsed JSON request body ``{"texts": [...]}`` (Exercise 9.1).

    Check, in this order, and raise ``BadRequest`` at the first problem:

    1. ``data`` is a dict, else 422;
    2. its only key is ``"texts"``: an other key is 422, a missing ``"texts"`` is 422;
    3. ``data["texts"]`` is a list, else 422; an empty list is 422;
    4. more than ``max_texts`` texts is 413 (too much: the client should send fewer);
    5. each text, in order: not a ``str`` is 422, blank (only white space) is 422, longer than
       ``max_chars`` characters is 413.

    Return the list of texts when all is well.
    """
    raise NotImplementedError("Exercise 9.1")


# ----- Exercise 9.2: a parity check between two backends ------------------------------

Forward = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (ids, mask) -> logits


def parity(reference: Forward, candidate: Forward, batches: Sequence[tuple[torch.Tensor, torch.Tensor]],
           tolerance: float = 1e-4) -> tuple[float, bool]:
    """Run both forwards on every ``(ids, mask)`` batch (Exercise 9.2).

    Return ``(largest |logit difference| over all batches, whether it is at most tolerance)``. A NaN
    anywhere in either output must fail the check (NaN compares false with everything: make sure it
    does not slip through as "no difference"). No batches: ``(0.0, True)``. Do not track gradients.
    """
    raise NotImplementedError("Exercise 9.2")


# ----- Exercise 9.3: a model card field from the metrics ------------------------------


def evaluation_table(metrics: dict, baseline: dict | None) -> str:
    """The model card's evaluation table in Markdown (Exercise 9.3).

    ``metrics`` has ``model``, ``test_accuracy`` and ``test_f1``; ``baseline`` (or None) has
    ``accuracy`` and ``f1``. Lines, joined with ``"\\n"`` (no trailing newline)::

        | model | test accuracy | test macro F1 |
        |---|---:|---:|
        | this model (cnn) | 80.00% | 0.7900 |
        | linear baseline (TF-IDF 1-2 grams + linear SVM) | 75.00% | 0.7400 |
        | difference | +5.00 points | +0.0500 |

    Accuracies as percentages with 2 decimals, F1 with 4 decimals, the differences signed (``+``/``-``),
    accuracy in points with 2 decimals. Without a baseline, only the first three lines.
    """
    raise NotImplementedError("Exercise 9.3")
