"""Lesson 12 exercises — reference solutions.
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
    full = probability(model, ids, target)
    scores = []
    for j in range(len(ids)):
        occluded = ids.clone()
        occluded[j] = pad_index
        scores.append(full - probability(model, occluded, target))
    return scores


# ----- Exercise 12.2: comprehensiveness by hand -------------------------------------


def comprehensiveness(model, ids: torch.Tensor, scores: list[float], target: int, k_percent: float,
                      pad_index: int) -> float:
    """ERASER's comprehensiveness at ``k_percent`` (Exercise 12.2): delete the ``ceil(k% of the tokens)``
    tokens with the highest ``scores`` (at least one; the text gets shorter) and return how far the
    probability of ``target`` falls. A text with every token deleted is read as one ``pad_index`` token."""
    n = len(ids)
    count = min(n, max(1, math.ceil(round(k_percent / 100 * n, 9))))
    top = set(sorted(range(n), key=lambda i: -scores[i])[:count])
    kept = torch.tensor([int(t) for i, t in enumerate(ids) if i not in top] or [pad_index])
    return probability(model, ids, target) - probability(model, kept, target)


# ----- Exercise 12.3: the randomisation test ---------------------------------------


def spearman(a: list[float], b: list[float]) -> float:
    """Spearman's rank correlation of two score lists of the same length (Exercise 12.3): the Pearson
    correlation of their ranks, tied values sharing the average of the ranks they occupy. Return
    ``math.nan`` when either list is constant (or shorter than 2)."""
    def ranks(values):
        order = sorted(range(len(values)), key=lambda i: values[i])
        result = [0.0] * len(values)
        i = 0
        while i < len(order):
            j = i
            while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
                j += 1
            for m in range(i, j + 1):
                result[order[m]] = (i + j) / 2 + 1
            i = j + 1
        return result

    if len(a) < 2:
        return math.nan
    ra, rb = ranks(a), ranks(b)
    ma, mb = sum(ra) / len(ra), sum(rb) / len(rb)
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    va, vb = sum((x - ma) ** 2 for x in ra), sum((y - mb) ** 2 for y in rb)
    return cov / math.sqrt(va * vb) if va > 0 and vb > 0 else math.nan


def passes_randomisation(trained: list[list[float]], randomised: list[list[float]], limit: float = 0.5) -> bool:
    """Adebayo et al.'s check, as ``textclf.explain.compare`` applies it: the mean rank correlation between a
    method's scores on the trained model and on the randomised one (texts where it is undefined left out)
    must stay below ``limit``."""
    values = [spearman(a, b) for a, b in zip(trained, randomised)]
    values = [v for v in values if not math.isnan(v)]
    return bool(values) and sum(values) / len(values) < limit
