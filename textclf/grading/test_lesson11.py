"""Grading tests for lesson 11, checked against textclf.calibration and brute force."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from textclf.calibration import reliability

# What to look at when an exercise's tests fail (textclf check prints it under "not yet"): a direction,
# never the answer.
HINTS = {
    "11.1": ("Bin b is (b/bins, (b+1)/bins]: the upper edge belongs to the bin, and a confidence of exactly 0 "
             "goes into bin 0. Weight each bin's gap by its share of all examples."),
    "11.2": ("Compute the mean negative log-likelihood for every T in the grid; keep the first on ties (compare "
             "with strictly less)."),
    "11.3": ("A length goes into the last bucket whose start is <= it; name the last bucket 'start+'; an empty "
             "bucket has accuracy 0.0 and still appears."),
}



@pytest.mark.ex11_1
def test_ece_on_a_hand_computed_example(exercise):
    confidence = torch.tensor([0.95, 0.95, 0.65, 0.55])
    correct = torch.tensor([True, False, True, True])
    # bins of 0.5: (0.5, 1.0] holds all four: mean confidence 0.775, accuracy 0.75 -> 0.025
    assert exercise.ece(confidence, correct, bins=2) == pytest.approx(0.025)
    # bins of 0.1: 0.9-1.0 holds two (0.95 vs 0.5), 0.6-0.7 one (0.65 vs 1), 0.5-0.6 one (0.55 vs 1)
    assert exercise.ece(confidence, correct, bins=10) == pytest.approx(0.5 * 0.45 + 0.25 * 0.35 + 0.25 * 0.45)
    assert exercise.ece(torch.tensor([]), torch.tensor([], dtype=torch.bool)) == 0.0


@pytest.mark.ex11_1
@settings(max_examples=100, deadline=None)
@given(n=st.integers(1, 60), classes=st.integers(2, 4), bins=st.integers(1, 20), seed=st.integers(0, 1000))
def test_ece_matches_textclf(exercise, n, classes, bins, seed):
    generator = torch.Generator().manual_seed(seed)
    probabilities = torch.randn(n, classes, generator=generator).mul(3).softmax(1)
    targets = torch.randint(0, classes, (n,), generator=generator)
    confidence, predicted = probabilities.max(1)
    expected = reliability(probabilities, targets, bins).ece
    assert exercise.ece(confidence, predicted == targets, bins) == pytest.approx(expected, abs=1e-5)


@pytest.mark.ex11_2
@settings(max_examples=60, deadline=None)
@given(n=st.integers(2, 50), seed=st.integers(0, 1000), scale=st.floats(0.2, 8))
def test_best_temperature_is_the_grid_minimum(exercise, n, seed, scale):
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, 3, generator=generator) * scale
    targets = torch.randint(0, 3, (n,), generator=generator)
    grid = [0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0]
    chosen = exercise.best_temperature(logits, targets, grid)
    losses = [float(F.cross_entropy(logits / t, targets)) for t in grid]
    assert chosen in grid and float(F.cross_entropy(logits / chosen, targets)) == pytest.approx(min(losses))
    assert torch.equal((logits / chosen).argmax(1), logits.argmax(1))  # a temperature never changes a prediction


@pytest.mark.ex11_3
def test_accuracy_by_length_examples(exercise):
    rows = exercise.accuracy_by_length([3, 12, 15, 25, 9], [True, False, True, True, True], [0, 10, 20])
    assert rows == [("0-9", 2, 1.0), ("10-19", 2, 0.5), ("20+", 1, 1.0)]
    assert exercise.accuracy_by_length([5], [True], [0, 10]) == [("0-9", 1, 1.0), ("10+", 0, 0.0)]


@pytest.mark.ex11_3
@settings(max_examples=80, deadline=None)
@given(data=st.lists(st.tuples(st.integers(0, 100), st.booleans()), max_size=60),
       edges=st.lists(st.integers(1, 90), max_size=4, unique=True))
def test_accuracy_by_length_counts_every_text_once(exercise, data, edges):
    edges = [0, *sorted(edges)]
    lengths, correct = [d[0] for d in data], [d[1] for d in data]
    rows = exercise.accuracy_by_length(lengths, correct, edges)
    assert len(rows) == len(edges) and sum(count for _, count, _ in rows) == len(data)
    assert sum(count * accuracy for _, count, accuracy in rows) == pytest.approx(sum(correct))
