"""Can the probabilities be believed? Expected calibration error, reliability, temperature scaling.

A model is *calibrated* when, of all the texts it labels with confidence 0.8, about 80% are
right. ``reliability`` sorts the predictions into confidence bins and compares each bin's mean
confidence with its accuracy; ``expected_calibration_error`` (ECE) is the gap, averaged over
the bins weighted by how many predictions each holds.

Neural classifiers trained with cross-entropy are often over-confident. *Temperature scaling*
divides every logit by one number ``T > 0`` fitted on the validation split to minimise the
negative log-likelihood: ``T > 1`` softens the probabilities. Dividing by a positive number
never changes which logit is largest, so accuracy and the ranking of classes stay exactly as
they were; only the confidence moves.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class Reliability:
    """Per confidence bin: how many predictions, their mean confidence, their accuracy."""

    edges: torch.Tensor      # [bins + 1] from 0 to 1
    counts: torch.Tensor     # [bins]
    confidence: torch.Tensor  # [bins] (0 where a bin is empty)
    accuracy: torch.Tensor    # [bins]

    @property
    def ece(self) -> float:
        total = self.counts.sum()
        if total == 0:
            return 0.0
        return float((self.counts / total * (self.confidence - self.accuracy).abs()).sum())


# One bin count everywhere (ECE figures printed, plotted and in the report): 15 equal-width bins.
BINS = 15


def reliability(probabilities: torch.Tensor, targets: torch.Tensor, bins: int = BINS) -> Reliability:
    """Bin the top-class confidence of ``probabilities`` ``[n, classes]`` into ``bins`` equal-width bins
    ``(lo, hi]`` (the first also holds 0); ``targets`` ``[n]`` are class ids."""
    if bins < 1:
        raise ValueError(f"bins must be at least 1, not {bins}")
    confidence, predicted = probabilities.max(dim=1)
    right = (predicted == targets).float()
    edges = torch.linspace(0, 1, bins + 1)
    index = torch.clamp(torch.bucketize(confidence, edges[1:-1], right=False), 0, bins - 1)  # [n]
    counts = torch.bincount(index, minlength=bins).float()
    sums = torch.zeros(bins).index_add_(0, index, confidence.float())
    hits = torch.zeros(bins).index_add_(0, index, right)
    safe = counts.clamp(min=1)
    return Reliability(edges, counts, sums / safe, hits / safe)


def expected_calibration_error(probabilities: torch.Tensor, targets: torch.Tensor, bins: int = BINS) -> float:
    """ECE: sum over bins of (share of predictions in the bin) x |mean confidence - accuracy|."""
    return reliability(probabilities, targets, bins).ece


def nll(logits: torch.Tensor, targets: torch.Tensor, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of ``targets`` under ``softmax(logits / temperature)``."""
    return float(F.cross_entropy(logits / temperature, targets))


def fit_temperature(logits: torch.Tensor, targets: torch.Tensor, steps: int = 200) -> float:
    """The ``T > 0`` minimising the NLL of ``softmax(logits / T)`` (fit ``log T``, so T stays positive)."""
    logits, targets = logits.detach().float(), targets.detach()
    log_t = torch.zeros((), requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=0.1, max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = F.cross_entropy(logits / log_t.exp(), targets)
        loss.backward()
        return loss
    optimizer.step(closure)
    temperature = float(log_t.detach().exp())
    if not 1e-3 <= temperature <= 1e3 or nll(logits, targets, temperature) > nll(logits, targets):
        return 1.0  # no better temperature found (e.g. a perfectly separated split): leave the model as it is
    return temperature


@dataclass
class Calibration:
    """A temperature fitted on the validation split, and what it does to each split's NLL and ECE."""

    temperature: float
    before: dict[str, tuple[float, float]]  # split -> (NLL, ECE) at temperature 1
    after: dict[str, tuple[float, float]]   # split -> (NLL, ECE) at the fitted temperature

    def table(self) -> str:
        return "\n".join(f"{split}: NLL {self.before[split][0]:.4f} -> {self.after[split][0]:.4f}   "
                         f"ECE {self.before[split][1]:.4f} -> {self.after[split][1]:.4f}" for split in self.before)


# Fewer validation texts than this fit noise: one text gave T = 0.236, which doubled the test NLL.
MIN_CALIBRATION_TEXTS = 30


def calibrate(bundle, splits: dict[str, list]) -> Calibration:
    """Fit ``bundle``'s softmax temperature on ``splits["valid"]`` (labelled examples) and score every split
    before and after. The logits come through the bundle (its ``forward``); the bundle is not changed:
    ``bundle.set_temperature(result.temperature)`` applies it. Refused with fewer than
    ``MIN_CALIBRATION_TEXTS`` validation texts; the temperature never raises the validation NLL
    (``fit_temperature`` keeps 1.0 then)."""
    if len(splits["valid"]) < MIN_CALIBRATION_TEXTS:
        raise ValueError(f"the valid split has {len(splits['valid'])} text(s); a temperature fitted on fewer than "
                         f"{MIN_CALIBRATION_TEXTS} is noise (expected a larger validation split, e.g. --dataset)")
    scores = {}
    for split, examples in splits.items():
        if not examples:
            continue  # an empty test split: nothing to score there
        data = bundle.dataset(examples)
        scores[split] = (bundle.logits([ex.text for ex in examples]), torch.tensor(data.labels))
    temperature = fit_temperature(*scores["valid"])

    def figures(t: float) -> dict[str, tuple[float, float]]:
        return {s: (nll(v, y, t), expected_calibration_error((v / t).softmax(1), y)) for s, (v, y) in scores.items()}
    return Calibration(temperature, figures(1.0), figures(temperature))
