"""Grading tests for lesson 6, checked against torch's attention and textclf's transformer and finetune."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from textclf.finetune import set_trainable
from textclf.models import build_model
from textclf.models.transformer import sinusoidal_positions as reference_positions

# What to look at when an exercise's tests fail (textclf check prints it under "not yet"): a direction,
# never the answer.
HINTS = {
    "6.1": ("key_mask is [batch, keys]: add the head and query dimensions so it broadcasts against scores before "
            "masked_fill; softmax over the last dimension."),
    "6.2": ("Build the angle table once: positions as a column [n, 1] times the frequencies as a row [1, dim/2]; "
            "even columns get sin, odd columns cos, of the same angle."),
    "6.3": ("Turn every parameter off first, then turn on what the mode trains; count with p.numel() over the "
            "parameters that require grad. Check an unknown mode is refused."),
}



@pytest.mark.ex6_1
@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 7), min_size=1, max_size=4), st.integers(0, 3), st.integers(1, 3))
def test_masked_attention_matches_torch(exercise, lengths, extra, heads):
    torch.manual_seed(sum(lengths) + extra)
    width = max(lengths) + extra
    q, k, v = (torch.randn(len(lengths), heads, width, 4) for _ in range(3))
    mask = torch.arange(width)[None, :] < torch.tensor(lengths)[:, None]  # [batch, keys]
    scores = q @ k.transpose(-2, -1) / 2.0  # √4
    weights = exercise.masked_attention_weights(scores, mask)
    torch.testing.assert_close(weights @ v, F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, None]),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.ex6_1
def test_padding_keys_get_exactly_zero(exercise):
    weights = exercise.masked_attention_weights(torch.randn(1, 2, 3, 3), torch.tensor([[True, True, False]]))
    assert torch.all(weights[..., 2] == 0) and torch.allclose(weights.sum(-1), torch.ones(1, 2, 3))


@pytest.mark.ex6_2
@pytest.mark.parametrize("n,dim", [(1, 2), (10, 8), (64, 32)])
def test_positions_match_textclf(exercise, n, dim):
    torch.testing.assert_close(exercise.sinusoidal_positions(n, dim), reference_positions(n, dim),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.ex6_2
def test_positions_first_row(exercise):
    table = exercise.sinusoidal_positions(3, 6)
    assert table.shape == (3, 6) and torch.equal(table[0], torch.tensor([0.0, 1, 0, 1, 0, 1]))


def transformer():
    torch.manual_seed(0)
    model, _ = build_model("transformer", vocab_size=20, n_classes=2, embed_dim=6, model_dim=8, n_heads=2,
                           ff_dim=8, num_layers=3)
    return model


@pytest.mark.ex6_3
@pytest.mark.parametrize("mode,k", [("head", 1), ("last-k", 1), ("last-k", 3), ("full", 1)])
def test_freezing_matches_textclf(exercise, mode, k):
    ours, theirs = transformer(), transformer()
    count = exercise.freeze_by_mode(ours, mode, k)
    expected = set_trainable(theirs, mode, k)
    assert count == expected.trainable
    assert [p.requires_grad for p in ours.parameters()] == [p.requires_grad for p in theirs.parameters()]


@pytest.mark.ex6_3
def test_unknown_mode(exercise):
    with pytest.raises(ValueError):
        exercise.freeze_by_mode(transformer(), "half")
