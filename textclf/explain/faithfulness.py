"""Is an explanation faithful? Take away the words it ranks highest and see whether the model's answer falls.

An explanation *ranks* the words. If the ranking is faithful to the model,
the model's probability for the explained class falls fast when the top
words are deleted, and comes back fast when only the top words are kept.
Each measure below is computed for the method's ranking and for a **random
ranking** of the same words, the floor any method must beat:

- **deletion curve**: f after deleting the top 0%, 10%, ..., 100% of the words;
  its area (AUC, fraction on the x axis) — *lower is better*;
- **insertion curve**: f with only the top 0%, ..., 100% kept — *higher is better*;
- **comprehensiveness** at k (ERASER, DeYoung et al., 2020): f(text) - f(text
  without its top k% words) — *higher is better*;
- **sufficiency** at k: f(text) - f(only its top k% words) — *lower is better*;

for k in 1, 5, 10, 20 and 50% (at least one word: ``removed_count``). The
words are deleted, never masked (``textclf.explain.perturb``); the tokens a
tokenizer adds around every text ([CLS], [SEP]) stay. ``rank_correlation``
(Spearman's, ties averaged) compares two rankings: two methods, or one
method on the trained and on a randomised model (the sanity check of
Adebayo et al., 2018, in ``textclf.explain.compare``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from textclf.explain.perturb import only, target_scores, without

FRACTIONS = tuple(i / 10 for i in range(11))  # the curves' x axis: share of the words taken away or kept
K_PERCENTS = (1, 5, 10, 20, 50)               # ERASER's comprehensiveness and sufficiency


@dataclass
class Case:
    """One explained text, ready to perturb."""

    ids: torch.Tensor   # [len] the ids the model saw
    fixed: list[bool]   # tokens never taken away (the tokenizer's frame)
    target: int         # the class whose output is explained

    @property
    def words(self) -> list[int]:
        """Positions that can be taken away."""
        return [i for i, f in enumerate(self.fixed) if not f]


def ranking(scores: Sequence[float], fixed: Sequence[bool], generator: torch.Generator) -> list[int]:
    """The removable positions, highest score first; ties (and only ties) in random order."""
    tie_break = torch.rand(len(scores), generator=generator).tolist()
    return sorted((i for i, f in enumerate(fixed) if not f), key=lambda i: (-scores[i], tie_break[i]))


def random_ranking(fixed: Sequence[bool], generator: torch.Generator) -> list[int]:
    """The removable positions in a random order: the floor every method must beat."""
    words = [i for i, f in enumerate(fixed) if not f]
    return [words[j] for j in torch.randperm(len(words), generator=generator).tolist()]


def removed_count(n_words: int, share: float) -> int:
    """How many of ``n_words`` the top ``share`` is: rounded up, so any share above 0 takes at least one word."""
    at_least = 1 if share > 0 else 0
    return min(n_words, max(at_least, math.ceil(round(share * n_words, 9))))  # round: 0.3 * 10 is 3.0000000000000004


@dataclass
class Faithfulness:
    """Each text's f under the perturbations of one ranking; the means are what a table reports."""

    full: torch.Tensor           # [texts] f(text)
    deletion: torch.Tensor       # [texts, fractions] f after deleting the top fraction
    insertion: torch.Tensor      # [texts, fractions] f with only the top fraction kept
    comprehensiveness: torch.Tensor  # [texts, ks] f(text) - f(without the top k%)
    sufficiency: torch.Tensor        # [texts, ks] f(text) - f(only the top k%)
    fractions: tuple[float, ...] = FRACTIONS
    ks: tuple[int, ...] = K_PERCENTS

    @property
    def deletion_auc(self) -> float:
        """Mean area under the deletion curves (lower: the top words mattered more)."""
        return float(torch.trapezoid(self.deletion, torch.tensor(self.fractions, dtype=torch.float64)).mean())

    @property
    def insertion_auc(self) -> float:
        """Mean area under the insertion curves (higher: the top words alone carry the answer)."""
        return float(torch.trapezoid(self.insertion, torch.tensor(self.fractions, dtype=torch.float64)).mean())

    @property
    def mean_comprehensiveness(self) -> float:
        """Over texts and k (ERASER's aggregate: higher is better)."""
        return float(self.comprehensiveness.mean())

    @property
    def mean_sufficiency(self) -> float:
        """Over texts and k (lower is better)."""
        return float(self.sufficiency.mean())


def averaged(results: Sequence[Faithfulness]) -> Faithfulness:
    """The mean of several rankings' results (several random rankings make a steadier floor)."""
    mean = lambda name: torch.stack([getattr(r, name) for r in results]).mean(dim=0)  # noqa: E731
    return Faithfulness(mean("full"), mean("deletion"), mean("insertion"), mean("comprehensiveness"),
                        mean("sufficiency"), results[0].fractions, results[0].ks)


def variants(case: Case, order: Sequence[int], shares: Sequence[float], pad_index: int
             ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """For each share: the text without its top share of words, and the text with only that share."""
    n, dropped, kept = len(order), [], []
    for share in shares:
        top = order[: removed_count(n, share)]
        dropped.append(without(case.ids, top, pad_index))
        kept.append(only(case.ids, top, case.fixed, pad_index))
    return dropped, kept


def faithfulness(model: nn.Module, cases: Sequence[Case], orders: Sequence[Sequence[int]], *, pad_index: int,
                 output: str = "probability", fractions: Sequence[float] = FRACTIONS,
                 ks: Sequence[int] = K_PERCENTS) -> Faithfulness:
    """The curves and ERASER's scores of one ranking per text (``orders``), every variant in one batched pass."""
    if len(cases) != len(orders) or not cases:
        raise ValueError(f"expected one ranking per text and at least one text; got {len(cases)} texts and "
                         f"{len(orders)} rankings")
    shares = [*fractions, *(k / 100 for k in ks)]
    sequences, targets = [], []
    for case, order in zip(cases, orders):
        dropped, kept = variants(case, order, shares, pad_index)
        sequences += [case.ids, *dropped, *kept]
        targets += [case.target] * (1 + 2 * len(shares))
    f = target_scores(model, sequences, targets, pad_index=pad_index, output=output)
    f = f.view(len(cases), 1 + 2 * len(shares))  # [texts, 1 + dropped + kept]
    full, dropped, kept = f[:, 0], f[:, 1 : 1 + len(shares)], f[:, 1 + len(shares) :]
    n_f = len(fractions)
    return Faithfulness(full, dropped[:, :n_f], kept[:, :n_f], full.unsqueeze(1) - dropped[:, n_f:],
                        full.unsqueeze(1) - kept[:, n_f:], tuple(fractions), tuple(ks))


def ranks(values: torch.Tensor) -> torch.Tensor:
    """1-based ranks of ``values`` ``[n]``, tied values sharing their average rank."""
    values = values.double()
    order = values.argsort(stable=True)
    position = torch.empty_like(values)
    position[order] = torch.arange(1, len(values) + 1, dtype=torch.float64)
    result = torch.empty_like(values)
    for value in values.unique():  # ties: the mean of the positions they hold
        same = values == value
        result[same] = position[same].mean()
    return result


def rank_correlation(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman's rank correlation of two score lists (NaN if either is constant or shorter than 2)."""
    x, y = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    if len(x) != len(y):
        raise ValueError(f"two score lists of different lengths ({len(x)} and {len(y)})")
    if len(x) < 2:
        return math.nan
    rx, ry = ranks(x) - (len(x) + 1) / 2, ranks(y) - (len(y) + 1) / 2
    denominator = float((rx.square().sum() * ry.square().sum()).sqrt())
    return float((rx * ry).sum()) / denominator if denominator > 0 else math.nan
