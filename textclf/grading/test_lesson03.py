"""Grading tests for lesson 3, checked against torch's Conv1d and textclf's KimCNN."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from textclf.models.cnn import max_over_time as reference_pooling

# What to look at when an exercise's tests fail (textclf check prints it under "not yet"): a direction,
# never the answer.
HINTS = {
    "3.1": ("windows gives every kernel_size-long slice of the sequence; flatten each window and the filters the "
            "same way so one matrix product gives every filter at every position, then add the bias."),
    "3.2": ("Text i's real windows end at lengths[i] - kernel_size, but keep at least window 0; fill the windows "
            "past that with -inf (masked_fill with a mask built from the lengths) before taking the max over the "
            "last dimension."),
    "3.3": ("Compare seq_len with min_length; the zeros you append must have the embedded tensor's dtype and "
            "device."),
}


shapes = st.tuples(st.integers(1, 4), st.integers(1, 6), st.integers(1, 5), st.integers(1, 4), st.integers(0, 6))


@pytest.mark.ex3_1
@settings(max_examples=40, deadline=None)
@given(shapes)
def test_conv1d_matches_torch(exercise, shape):
    batch, dim, filters, kernel, extra = shape
    torch.manual_seed(0)
    conv = nn.Conv1d(dim, filters, kernel)
    x = torch.randn(batch, dim, kernel + extra)
    torch.testing.assert_close(exercise.conv1d(x, conv.weight, conv.bias), conv(x), rtol=1e-4, atol=1e-5)


@pytest.mark.ex3_1
def test_conv1d_shape(exercise):
    out = exercise.conv1d(torch.randn(2, 3, 10), torch.randn(7, 3, 4), torch.zeros(7))
    assert out.shape == (2, 7, 7)  # [batch, filters, 10 - 4 + 1]


@pytest.mark.ex3_2
@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 12), min_size=1, max_size=6), st.integers(1, 5))
def test_pooling_matches_textclf(exercise, lengths, kernel):
    torch.manual_seed(0)
    n_windows = max(max(lengths), kernel) - kernel + 1
    features = torch.randn(len(lengths), 3, n_windows)
    lengths = torch.tensor(lengths)
    torch.testing.assert_close(exercise.max_over_time(features, lengths, kernel),
                               reference_pooling(features, lengths, kernel))


@pytest.mark.ex3_2
def test_pooling_ignores_windows_in_padding(exercise):
    features = torch.tensor([[[1.0, 5.0, 9.0]], [[2.0, 7.0, 8.0]]])  # [batch, filters, windows]
    assert exercise.max_over_time(features, torch.tensor([4, 2]), 2).tolist() == [[9.0], [2.0]]


@pytest.mark.ex3_3
def test_pad_to_min_length(exercise):
    x = torch.randn(2, 3, 4)
    padded = exercise.pad_to_min_length(x, 5)
    assert padded.shape == (2, 5, 4)
    assert torch.equal(padded[:, :3], x) and torch.equal(padded[:, 3:], torch.zeros(2, 2, 4))
    assert exercise.pad_to_min_length(x, 3) is x or torch.equal(exercise.pad_to_min_length(x, 3), x)


@pytest.mark.ex3_3
def test_short_text_through_conv(exercise):
    conv = nn.Conv1d(4, 2, 5)
    x = exercise.pad_to_min_length(torch.randn(1, 2, 4), 5)  # 2 tokens, kernel 5
    assert conv(x.transpose(1, 2)).shape == (1, 2, 1)
