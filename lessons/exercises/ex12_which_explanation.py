"""Lesson 12 exercises — your file.

Replace each ``raise NotImplementedError("Exercise N.k")`` with your code, then grade it:

    textclf check 12.1      # one exercise
    textclf check 12        # every exercise of lesson 12

The worked examples next to the stubs are complete: read them, use them.
"""

from __future__ import annotations

import math

import torch

# ----- worked example: the model's probability for one text -------------------------


def probability(model, ids: torch.Tensor, target: int) -> float:
    """``model``'s probability of class ``target`` for one text's ids ``[seq_len]`` (eval mode, no gradients)."""
    model.eval()
    with torch.no_grad():
        mask = torch.ones(1, len(ids), dtype=torch.bool)
        return float(model(ids.view(1, -1), mask).softmax(dim=-1)[0, target])


# ----- Exercise 12.1: occlusion by hand ---------------------------------------------


def occlusion_scores(model, ids: torch.Tensor, target: int, pad_index: int) -> list[float]:
    """One score per token of ``ids`` ``[seq_len]`` (Exercise 12.1): the probability of ``target`` for the
    text minus the probability when that token alone is replaced by ``pad_index`` (the length stays)."""
    raise NotImplementedError("Exercise 12.1")


# ----- Exercise 12.2: comprehensiveness by hand -------------------------------------


def comprehensiveness(model, ids: torch.Tensor, scores: list[float], target: int, k_percent: float,
                      pad_index: int) -> float:
    """ERASER's comprehensiveness at ``k_percent`` (Exercise 12.2): delete the ``ceil(k% of the tokens)``
    tokens with the highest ``scores`` (at least one; the text gets shorter) and return how far the
    probability of ``target`` falls. A text with every token deleted is read as one ``pad_index`` token."""
    raise NotImplementedError("Exercise 12.2")


# ----- Exercise 12.3: the randomisation test ---------------------------------------


def spearman(a: list[float], b: list[float]) -> float:
    """Spearman's rank correlation of two score lists of the same length (Exercise 12.3): the Pearson
    correlation of their ranks, tied values sharing the average of the ranks they occupy. Return
    ``math.nan`` when either list is constant (or shorter than 2)."""
    raise NotImplementedError("Exercise 12.3")


def passes_randomisation(trained: list[list[float]], randomised: list[list[float]], limit: float = 0.5) -> bool:
    """Adebayo et al.'s check, as ``textclf.explain.compare`` applies it: the mean rank correlation between a
    method's scores on the trained model and on the randomised one (texts where it is undefined left out)
    must stay below ``limit``."""
    values = [spearman(a, b) for a, b in zip(trained, randomised)]
    values = [v for v in values if not math.isnan(v)]
    return bool(values) and sum(values) / len(values) < limit
