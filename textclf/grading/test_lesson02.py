"""Grading tests for lesson 2, checked against textclf's models and metrics."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from textclf.metrics import f1_score
from textclf.models import build_model

# What to look at when an exercise's tests fail (textclf check prints it under "not yet"): a direction,
# never the answer.
HINTS = {
    "2.1": ("h_n stacks layers and directions: the last layer's forward and backward states are its last two "
            "rows. For an LSTM, take h_n out of the (h_n, c_n) pair first."),
    "2.2": ("Count per class: how many were predicted as it, how many truly are it, how many both. Watch the "
            "class that is neither predicted nor present (its F1 must not divide by zero)."),
    "2.3": ("Compare with the best so far using strictly greater; the copy must not change when the model trains "
            "on (clone every tensor); count epochs without improvement and compare with patience."),
}


pairs = st.integers(2, 5).flatmap(lambda k: st.tuples(
    st.just(k), st.lists(st.tuples(st.integers(0, k - 1), st.integers(0, k - 1)), min_size=1, max_size=60)))


def padded_batch(lengths, dim=6, width=None):
    g = torch.Generator().manual_seed(0)
    width = width or max(lengths)
    x = torch.randn(len(lengths), width, dim, generator=g)
    for i, n in enumerate(lengths):
        x[i, n:] = 0.0
    return x, torch.tensor(lengths)


@pytest.mark.ex2_1
@pytest.mark.parametrize("cell, layers, bidirectional", [("lstm", 1, True), ("gru", 2, True), ("lstm", 2, False)])
def test_final_states_match_textclf_rnn(exercise, cell, layers, bidirectional):
    torch.manual_seed(0)
    model, _ = build_model(cell, vocab_size=20, n_classes=2, embed_dim=6, hidden_dim=5, num_layers=layers,
                           bidirectional=bidirectional, dropout=0.0)
    model.eval()
    x, lengths = padded_batch([7, 3, 1, 5])
    got = exercise.final_states(model.rnn, x, lengths)
    expected_width = 10 if bidirectional else 5
    assert got.shape == (4, expected_width)
    mask = torch.arange(7)[None, :] < lengths[:, None]
    torch.testing.assert_close(model.out(got), model.classify(x, mask))


@pytest.mark.ex2_1
def test_final_states_ignore_padding(exercise):
    torch.manual_seed(0)
    rnn = nn.LSTM(6, 4, batch_first=True, bidirectional=True)
    x, lengths = padded_batch([5, 2], width=9)
    both = exercise.final_states(rnn, x, lengths)
    alone = exercise.final_states(rnn, x[1:, :2], lengths[1:])
    torch.testing.assert_close(both[1:], alone)


@pytest.mark.ex2_2
@settings(max_examples=60, deadline=None)
@given(pairs)
def test_f1_matches_textclf_metrics(exercise, case):
    k, rows = case
    y, p = [a for a, _ in rows], [b for _, b in rows]
    assert exercise.f1(y, p, k) == pytest.approx(f1_score(y, p, k))


@pytest.mark.ex2_2
def test_f1_known_values(exercise):
    assert exercise.f1([1, 1, 0, 0], [1, 0, 0, 0], 2) == pytest.approx(2 / 3)
    assert exercise.f1([0, 1, 2], [0, 1, 1], 3) == pytest.approx((1 + 2 / 3 + 0) / 3)


@pytest.mark.ex2_3
def test_early_stopping_counts_patience(exercise):
    model = nn.Linear(2, 2)
    stopper = exercise.EarlyStopping(patience=2)
    decisions = [stopper.step(m, model) for m in (0.5, 0.7, 0.7, 0.6)]
    assert decisions == [False, False, False, True]
    stopper = exercise.EarlyStopping(patience=2)
    assert [stopper.step(m, model) for m in (0.5, 0.4, 0.6, 0.5, 0.55)] == [False, False, False, False, True]


@pytest.mark.ex2_3
def test_early_stopping_keeps_a_real_copy(exercise):
    model = nn.Linear(2, 2)
    stopper = exercise.EarlyStopping(patience=3)
    stopper.step(0.9, model)
    best = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        model.weight.add_(1.0)  # training goes on and changes the live weights
    stopper.step(0.1, model)
    stopper.restore(model)
    assert all(torch.equal(model.state_dict()[k], best[k]) for k in best)
