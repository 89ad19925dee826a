"""Grading tests for lesson 5, checked against textclf.explain and a real model."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from textclf.explain import integrated_gradients, riemann_points
from textclf.explain import interpolate as reference_interpolate
from textclf.models import build_model

# What to look at when an exercise's tests fail (textclf check prints it under "not yet"): a direction,
# never the answer.
HINTS = {
    "5.1": ("alphas is [steps]; give it trailing dimensions of size 1 (view or reshape) so it broadcasts against "
            "inputs - baseline."),
    "5.2": ("weights is [steps]: reshape it so it broadcasts over the gradients' other dimensions, sum over the "
            "steps dimension, then multiply by (inputs - baseline)."),
    "5.3": ("Sum the attributions over the sequence dimension (padding is already zero) and compare with f(x) - "
            "f(x') row by row; the sign of the result matters."),
}


dims = st.tuples(st.integers(1, 6), st.integers(1, 5), st.integers(1, 9))


@pytest.mark.ex5_1
@settings(max_examples=30, deadline=None)
@given(dims)
def test_interpolate_matches_textclf(exercise, shape):
    seq_len, dim, steps = shape
    torch.manual_seed(0)
    baseline, inputs, alphas = torch.randn(seq_len, dim), torch.randn(seq_len, dim), torch.rand(steps)
    torch.testing.assert_close(exercise.interpolate(baseline, inputs, alphas),
                               reference_interpolate(baseline, inputs, alphas))


@pytest.mark.ex5_1
def test_interpolate_endpoints_and_batches(exercise):
    baseline, inputs = torch.zeros(2, 3, 4), torch.ones(2, 3, 4)  # [batch, seq_len, dim]
    points = exercise.interpolate(baseline, inputs, torch.tensor([0.0, 0.25, 1.0]))
    assert points.shape == (3, 2, 3, 4)
    assert torch.equal(points[0], baseline) and torch.equal(points[2], inputs)
    assert torch.allclose(points[1], torch.full((2, 3, 4), 0.25))


@pytest.mark.ex5_2
@pytest.mark.parametrize("method", ["left", "middle", "trapezoid"])
def test_riemann_sum_integrates_a_known_function(exercise, method):
    """f(x) = Σ x³ from 0 to x: the exact integrated gradients are x³ (completeness per coordinate)."""
    x = torch.tensor([[0.5, -1.0, 2.0]], dtype=torch.float64)
    alphas, weights = riemann_points(400, method)
    path = alphas.view(-1, 1, 1) * x  # [steps, 1, 3]
    result = exercise.riemann_sum(3 * path**2, weights, x, torch.zeros_like(x))
    torch.testing.assert_close(result, x**3, rtol=2e-2, atol=1e-3)


@pytest.mark.ex5_2
@settings(max_examples=30, deadline=None)
@given(st.integers(1, 8), st.integers(1, 5))
def test_riemann_sum_is_a_weighted_average_times_the_difference(exercise, steps, width):
    torch.manual_seed(steps)
    gradients, weights = torch.randn(steps, 2, width), torch.rand(steps)
    inputs, baseline = torch.randn(2, width), torch.randn(2, width)
    expected = (inputs - baseline) * sum(weights[s] * gradients[s] for s in range(steps))
    torch.testing.assert_close(exercise.riemann_sum(gradients, weights, inputs, baseline), expected)


@pytest.mark.ex5_3
def test_completeness_delta_on_a_real_model(exercise):
    torch.manual_seed(0)
    model, _ = build_model("cnn", vocab_size=30, n_classes=2, embed_dim=8, n_filters=4)
    ids = torch.tensor([[5, 6, 7, 8, 0], [9, 10, 11, 12, 13]])
    mask = ids != 0
    result = integrated_gradients(model, ids, mask, steps=10)
    delta = exercise.completeness_delta(result.tokens, result.f_inputs, result.f_baseline)
    torch.testing.assert_close(delta, result.delta)


@pytest.mark.ex5_3
def test_completeness_delta_by_hand(exercise):
    attributions = torch.tensor([[0.1, 0.2, 0.0], [0.5, -0.25, 0.25]])
    delta = exercise.completeness_delta(attributions, torch.tensor([0.9, 0.6]), torch.tensor([0.5, 0.1]))
    torch.testing.assert_close(delta, torch.tensor([-0.1, 0.0]))
