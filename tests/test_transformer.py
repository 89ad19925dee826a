"""The transformer encoder: our attention against torch's, positions, padding invariance, it can learn."""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from textclf.models import TransformerClassifier, TransformerConfig
from textclf.models.attention import MultiHeadSelfAttention, scaled_dot_product_attention
from textclf.models.transformer import sinusoidal_positions

VARIANTS = [dict(), dict(norm="post"), dict(pooling="cls"), dict(positions="learned", pooling="cls", norm="post"),
            dict(embed_dim=12)]


def transformer(**options):
    torch.manual_seed(0)
    config = TransformerConfig(**{**dict(vocab_size=50, n_classes=3, embed_dim=16, model_dim=16, n_heads=4,
                                         ff_dim=32, num_layers=2), **options})
    return TransformerClassifier(config).eval()


def lengths_to_mask(lengths, width):
    return torch.arange(width)[None, :] < torch.tensor(lengths)[:, None]  # [batch, width]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 9), min_size=1, max_size=4), st.integers(0, 4), st.integers(1, 3),
       st.integers(1, 6))
def test_attention_equals_torch_sdpa(lengths, extra, heads, head_dim):
    torch.manual_seed(len(lengths) * 7 + extra)
    width = max(lengths) + extra
    q, k, v = (torch.randn(len(lengths), heads, width, head_dim) for _ in range(3))
    mask = lengths_to_mask(lengths, width)
    ours, weights = scaled_dot_product_attention(q, k, v, mask)
    theirs = F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, None, :])
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)
    assert torch.all(weights[..., ~mask[0]][0] == 0) and torch.allclose(weights.sum(-1), torch.ones(1))


def test_multi_head_attention_equals_nn_multihead_attention():
    torch.manual_seed(0)
    ours = MultiHeadSelfAttention(12, 3).eval()
    theirs = nn.MultiheadAttention(12, 3, batch_first=True).eval()
    with torch.no_grad():
        theirs.in_proj_weight.copy_(ours.qkv.weight)
        theirs.in_proj_bias.copy_(ours.qkv.bias)
        theirs.out_proj.weight.copy_(ours.proj.weight)
        theirs.out_proj.bias.copy_(ours.proj.bias)
    x, mask = torch.randn(3, 7, 12), lengths_to_mask([7, 4, 1], 7)
    expected, _ = theirs(x, x, x, key_padding_mask=~mask, need_weights=False)
    got = ours(x, mask)
    torch.testing.assert_close(got[mask], expected[mask], rtol=1e-5, atol=1e-6)


def test_sinusoidal_positions():
    table = sinusoidal_positions(50, 8)  # [positions, dim]
    assert table.shape == (50, 8)
    assert torch.equal(table[0, 0::2], torch.zeros(4)) and torch.equal(table[0, 1::2], torch.ones(4))
    pos, i = 17, 2  # column 2i = 4 and 2i + 1 = 5
    angle = pos / 10000 ** (2 * i / 8)
    assert table[pos, 4].item() == pytest.approx(math.sin(angle), abs=1e-6)
    assert table[pos, 5].item() == pytest.approx(math.cos(angle), abs=1e-6)


@pytest.mark.parametrize("options", VARIANTS, ids=str)
def test_logits_invariant_to_padding(options):
    model = transformer(**options)
    texts = [[3, 4, 5, 6, 7], [8, 9], [10]]
    def run(width):
        ids = torch.zeros(len(texts), width, dtype=torch.long)
        for row, t in enumerate(texts):
            ids[row, : len(t)] = torch.tensor(t)
        return model(ids, ids != 0)
    alone = torch.cat([model(torch.tensor([t]), torch.ones(1, len(t), dtype=torch.bool)) for t in texts])
    torch.testing.assert_close(run(5), run(20), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(run(5), alone, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("options", VARIANTS[:4], ids=str)
def test_overfits_a_tiny_batch(options):
    model = transformer(**options, dropout=0.0).train()
    torch.manual_seed(1)
    ids = torch.randint(2, 50, (8, 6))
    mask = lengths_to_mask([6, 5, 4, 3, 6, 2, 1, 6], 6)
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(150):
        loss = F.cross_entropy(model(ids, mask), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.05 and torch.equal(model(ids, mask).argmax(1), labels)


def test_bad_configs_and_inputs():
    with pytest.raises(ValueError, match=r"model_dim = 16: expected a multiple of n_heads \(3\)"):
        transformer(n_heads=3)
    with pytest.raises(ValueError, match="pooling = 'max': expected one of 'mean', 'cls'"):
        transformer(pooling="max")
    model = transformer(max_positions=8)
    with pytest.raises(ValueError, match="cut texts shorter"):
        model(torch.ones(1, 9, dtype=torch.long), torch.ones(1, 9, dtype=torch.bool))
