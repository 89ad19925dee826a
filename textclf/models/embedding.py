"""The embedding layer every classic model starts with: random, or GloVe-initialised, frozen or trainable.

Every model in ``textclf.models`` has the same shape of interface:

- ``model.embedding``: an ``nn.Embedding`` (ids -> vectors);
- ``model.classify(embedded, mask)``: vectors ``[batch, seq_len, dim]`` -> logits ``[batch, n_classes]``;
- ``model(ids, mask) == model.classify(model.embedding(ids), mask)``.

Splitting ``forward`` this way lets integrated gradients (lesson 5) work in
embedding space for every model without special cases.
"""

from __future__ import annotations

import torch
from torch import nn


def make_embedding(vocab_size: int, dim: int, pad_index: int, pretrained: torch.Tensor | None = None,
                   freeze: bool = False) -> nn.Embedding:
    """``nn.Embedding`` with the ``pad_index`` row at zero; copies ``pretrained`` ``[vocab, dim]`` if given."""
    embedding = nn.Embedding(vocab_size, dim, padding_idx=pad_index)
    if pretrained is not None:
        if tuple(pretrained.shape) != (vocab_size, dim):
            raise ValueError(f"pretrained vectors have shape {tuple(pretrained.shape)}; expected {(vocab_size, dim)}")
        with torch.no_grad():
            embedding.weight.copy_(pretrained)
            embedding.weight[pad_index].zero_()
    embedding.weight.requires_grad_(not freeze)
    return embedding


class TextClassifier(nn.Module):
    """Base class: ``forward(ids, mask)`` embeds, then calls the subclass's ``classify``."""

    embedding: nn.Embedding

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.classify(self.embedding(ids), mask)  # [batch, n_classes]

    def classify(self, embedded: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError
