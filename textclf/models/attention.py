"""Multi-head self-attention with a padding mask, written out.

For each head, every token asks a question (query), offers a key and carries a
value. A token's output is the average of all values, weighted by how well its
query matches each key: ``softmax(q kᵀ / √d) v``. Keys at padding positions get
weight zero (their score is set to -inf before the softmax), so real tokens
never attend to padding.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def scaled_dot_product_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                                 key_mask: torch.Tensor | None = None, dropout: nn.Module | None = None
                                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """``softmax(q kᵀ / √d) v`` for ``q, k, v`` ``[batch, heads, seq_len, head_dim]``.

    ``key_mask`` ``[batch, seq_len]`` is True at real tokens. Returns the output
    ``[batch, heads, seq_len, head_dim]`` and the weights ``[batch, heads, seq_len, seq_len]``.
    """
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # [batch, heads, seq_len (queries), seq_len (keys)]
    if key_mask is not None:
        scores = scores.masked_fill(~key_mask[:, None, None, :], float("-inf"))
    weights = scores.softmax(dim=-1)  # [batch, heads, queries, keys]; each row sums to 1
    if dropout is not None:
        weights = dropout(weights)
    return weights @ v, weights  # [batch, heads, queries, head_dim]


def split_heads(x: torch.Tensor, n_heads: int) -> torch.Tensor:
    """``[batch, seq_len, dim]`` -> ``[batch, heads, seq_len, dim / heads]``: each head gets its own slice."""
    batch, seq_len, dim = x.shape
    return x.view(batch, seq_len, n_heads, dim // n_heads).transpose(1, 2)


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, dim: int, n_heads: int, dropout: float = 0.0):
        super().__init__()
        if dim % n_heads:
            raise ValueError(f"model dimension {dim} is not divisible by {n_heads} heads")
        self.n_heads, self.head_dim = n_heads, dim // n_heads
        self.qkv = nn.Linear(dim, 3 * dim)  # queries, keys and values in one matrix multiply
        self.proj = nn.Linear(dim, dim)
        self.dropout = nn.Dropout(dropout)
        self.last_weights: torch.Tensor | None = None  # kept for inspection (lesson 6)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``x`` ``[batch, seq_len, dim]``, ``mask`` ``[batch, seq_len]`` -> ``[batch, seq_len, dim]``."""
        qkv = self.qkv(x).chunk(3, dim=-1)  # 3 x [batch, seq_len, dim]
        q, k, v = (split_heads(t, self.n_heads) for t in qkv)  # 3 x [batch, heads, seq_len, head_dim]
        out, weights = scaled_dot_product_attention(q, k, v, mask, self.dropout)
        self.last_weights = weights.detach()
        out = out.transpose(1, 2).reshape(x.shape)  # [batch, seq_len, heads * head_dim]
        return self.proj(out)
