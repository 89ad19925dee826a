"""Grading tests for lesson 13, checked against textclf.models.losses (autograd through its loss, the soft
labels) and a fake clock (the fair speed-up: warm-up, alternating rounds, medians)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from textclf.models.losses import Distillation, distillation_loss, soft_labels

# What to look at when an exercise's tests fail (textclf check prints it under "not yet"): a direction,
# never the answer.
HINTS = {
    "13.1": ("Write the gradient of each half separately: the soft half's comes from the lesson's 'Why T²' "
             "section; the hard half is the gradient of cross-entropy, softmax(z) minus the one-hot labels. Both "
             "are averaged over the batch."),
    "13.2": ("The top probability falls as T rises: bisect on log(T) (the geometric middle of low and high), "
             "moving the bound on the side the target lies, until high/low - 1 < 1e-6."),
    "13.3": ("One untimed call of each first; then in each round time fast then slow with the clock given (not "
             "time.perf_counter directly); medians, not means."),
}


rows = st.integers(1, 5).flatmap(lambda n: st.integers(2, 4).flatmap(lambda c: st.tuples(
    st.lists(st.lists(st.floats(-6, 6), min_size=c, max_size=c), min_size=n, max_size=n),
    st.lists(st.lists(st.floats(-6, 6), min_size=c, max_size=c), min_size=n, max_size=n),
    st.lists(st.integers(0, c - 1), min_size=n, max_size=n))))


def autograd_gradient(student, labels, teacher, alpha, t) -> torch.Tensor:
    """The reference: autograd through textclf's own loss."""
    student = student.detach().clone().requires_grad_(True)
    (gradient,) = torch.autograd.grad(distillation_loss(student, labels, teacher, Distillation(alpha, t)), student)
    return gradient


@pytest.mark.ex13_1
@settings(max_examples=50, deadline=None)
@given(rows, st.floats(0, 1), st.floats(0.5, 6))
def test_the_gradient_matches_autograd_through_textclfs_loss(exercise, batch, alpha, t):
    student, teacher, labels = torch.tensor(batch[0]), torch.tensor(batch[1]), torch.tensor(batch[2])
    got = exercise.distillation_gradient(student, labels, teacher, alpha, t)
    assert got.shape == student.shape
    expected = autograd_gradient(student, labels, teacher, alpha, t)
    assert torch.allclose(got, expected, atol=1e-5, rtol=1e-4), \
        f"largest difference from autograd {float((got - expected).abs().max()):.3g} (alpha {alpha:.3g}, T {t:.3g})"


@pytest.mark.ex13_1
def test_the_gradient_of_each_half(exercise):
    """alpha = 1 is the soft half alone (its size grows with T), alpha = 0 the hard half alone."""
    torch.manual_seed(0)
    student, teacher, labels = torch.randn(6, 3), torch.randn(6, 3) * 3, torch.tensor([0, 1, 2] * 2)
    for alpha in (0.0, 1.0):
        for t in (1.0, 4.0):
            got = exercise.distillation_gradient(student, labels, teacher, alpha, t)
            assert torch.allclose(got, autograd_gradient(student, labels, teacher, alpha, t), atol=1e-5), \
                f"alpha {alpha}, T {t}"


@pytest.mark.ex13_2
@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-5, 5), min_size=2, max_size=5, unique=True), st.floats(0.05, 0.95))
def test_temperature_for_reaches_the_top_probability(exercise, row, share):
    logits = torch.tensor(row)
    n = len(row)
    top = 1 / n + share * (1 - 1 / n)  # strictly between uniform and one-hot
    limit = float(soft_labels(logits, 0.01).max())
    if top >= limit - 1e-4 or top <= float(soft_labels(logits, 100.0).max()) + 1e-4:
        return  # out of reach within [0.01, 100]
    t = exercise.temperature_for(logits, top)
    assert float(soft_labels(logits, t).max()) == pytest.approx(top, abs=1e-4)


@pytest.mark.ex13_2
def test_a_sharper_target_needs_a_lower_temperature(exercise):
    logits = torch.tensor([2.0, 0.5, -1.0])
    temperatures = [exercise.temperature_for(logits, top) for top in (0.5, 0.7, 0.9)]
    assert temperatures[0] > temperatures[1] > temperatures[2]


class FakeClock:
    """A clock that only moves when a timed function says it worked: each call costs the next of its costs."""

    def __init__(self):
        self.now, self.calls = 0.0, []

    def __call__(self) -> float:
        return self.now

    def work(self, name: str, costs: list[float]):
        costs = list(costs)

        def run():
            self.calls.append(name)
            self.now += costs.pop(0)
        return run


@pytest.mark.ex13_3
@pytest.mark.parametrize("rounds, fast_costs, slow_costs, expected", [
    (5, [100, 1, 1, 50, 1, 1], [900, 40, 40, 40, 400, 40], 40.0),   # warm-up and one outlier each: medians
    (3, [7, 2, 4, 3], [7, 10, 30, 20], 20 / 3),
    (1, [1000, 5], [1, 50], 10.0),
])
def test_speedup_warms_up_alternates_and_takes_medians(exercise, rounds, fast_costs, slow_costs, expected):
    clock = FakeClock()
    got = exercise.speedup(clock.work("fast", fast_costs), clock.work("slow", slow_costs), rounds, clock)
    assert clock.calls == ["fast", "slow"] * (rounds + 1)  # one untimed call each, then alternating rounds
    assert got == pytest.approx(expected)
