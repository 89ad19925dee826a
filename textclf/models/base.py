"""The embedding layer every classic model starts with: random, or GloVe-initialised, frozen or trainable.

Every model in ``textclf.models`` has the same shape of interface:

- ``model.embedding``: an ``nn.Embedding`` (ids -> vectors);
- ``model.classify(embedded, mask)``: vectors ``[batch, seq_len, dim]`` -> logits ``[batch, n_classes]``;
- ``model(ids, mask) == model.classify(model.embedding(ids), mask)``.

Splitting ``forward`` this way lets integrated gradients (lesson 5) work in
embedding space for every model without special cases.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from textclf.config import check_bool, check_float, check_int, fail
from textclf.models.losses import Distillation, distillation_loss

MAX_VOCAB = 5_000_000              # rows of an embedding table
MAX_WIDTH = 16_384                 # any one layer's width
MAX_EMBEDDING_VALUES = 1 << 31     # 8 GB of float32: a config asking for more is a mistake, not a model


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


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The average of the real tokens' vectors: ``[batch, seq_len, dim]`` -> ``[batch, dim]``; padding never counts."""
    weights = mask.unsqueeze(-1).to(hidden.dtype)  # [batch, seq_len, 1]
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)


def mean_pool_readout(mask: torch.Tensor) -> torch.Tensor:
    """How ``mean_pool`` reads the positions: ``[batch, seq_len]``, 1/length at real tokens, 0 at padding."""
    weights = mask.float()  # [batch, seq_len]
    return weights / weights.sum(dim=1, keepdim=True).clamp(min=1e-9)


@dataclass
class ClassifierConfig:
    """The fields every classic model's config shares (each model's config adds its own)."""

    vocab_size: int
    n_classes: int
    embed_dim: int = 100
    pad_index: int = 0
    dropout: float = 0.5
    freeze_embeddings: bool = False

    def __post_init__(self) -> None:
        check_int(self, "vocab_size", 1, MAX_VOCAB)
        check_int(self, "n_classes", 2, 100_000)
        check_int(self, "embed_dim", 1, MAX_WIDTH)
        check_int(self, "pad_index", 0, self.vocab_size - 1)
        check_float(self, "dropout", 0.0, 1.0, high_open=True)
        check_bool(self, "freeze_embeddings")
        if self.vocab_size * self.embed_dim > MAX_EMBEDDING_VALUES:
            fail(self, "vocab_size", f"vocab_size x embed_dim <= {MAX_EMBEDDING_VALUES:,} "
                 f"(the embedding would hold {self.vocab_size * self.embed_dim:,} numbers)")


class ClassifierNet(nn.Module):
    """Base class of every network: ``forward(ids, mask)`` embeds, then calls the subclass's ``classify``.

    The contract the rest of textclf relies on (integrated gradients, transfer, training, the bundle):

    - ``embedding``: ids ``[batch, seq_len]`` -> vectors ``[batch, seq_len, dim]``; attributions are computed
      on its output, and transfer grows its rows for new words;
    - ``classify(embedded, mask)`` -> logits ``[batch, n_classes]``;
    - ``out``: the head, an ``nn.Linear`` to ``n_classes`` outputs (transfer swaps it);
    - ``stages()``: the parameters below the head, from input to output (freezing by depth);
    - ``loss(ids, mask, labels)`` and ``param_groups(lr)``: what training uses (defaults below);
    - ``config``: its ``ClassifierConfig`` (saved in the bundle).
    """

    embedding: nn.Module
    out: nn.Linear

    def __init__(self, config: ClassifierConfig, pretrained: torch.Tensor | None = None):
        super().__init__()
        self.config = config
        self.embedding = make_embedding(config.vocab_size, config.embed_dim, config.pad_index, pretrained,
                                        config.freeze_embeddings)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor, labels: torch.Tensor | None = None,
                teacher: torch.Tensor | None = None) -> torch.Tensor:
        """Logits ``[batch, n_classes]``; given ``labels`` (and a teacher's logits ``[batch, n_classes]`` when
        distilling), the training loss instead, so that a wrapper (DistributedDataParallel, torch.compile) sees
        the whole training computation in one call."""
        if labels is not None:
            return self.loss(ids, mask, labels, teacher)
        return self.classify(self.embedding(ids), mask)  # [batch, n_classes]

    def classify(self, embedded: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    @property
    def min_length(self) -> int:
        """The shortest input the network handles without padding it itself (a CNN pads texts shorter than its
        widest filter inside ``classify``; a traced/exported graph keeps no such branch, so callers pad)."""
        return 1

    def stages(self) -> list[list[nn.Parameter]]:
        """The parameters below the head, grouped from input to output: the embedding, then the rest (a model
        with layers, like the transformer, lists each layer as a stage)."""
        head = {id(p) for p in self.out.parameters()}
        embedding = list(self.embedding.parameters())
        rest = [p for name, p in self.named_parameters() if id(p) not in head and not name.startswith("embedding.")]
        return [embedding, rest] if rest else [embedding]

    def param_groups(self, lr: float) -> list[dict]:
        """Optimizer groups over the trainable parameters: one, at ``lr`` (a model may give a part its own)."""
        return [{"params": [p for p in self.parameters() if p.requires_grad], "lr": lr}]

    # A model whose training loss is not the cross-entropy of its prediction (wide & deep: one loss per half)
    # sets ``self.prediction_loss`` in ``loss``; the training loop reports that, comparable with validation.
    prediction_loss: torch.Tensor | None = None
    # Set while a student is distilled (``textclf.distill``): alpha and T of the loss against the teacher's
    # logits; None trains on the gold labels alone. Not a weight, not in the config: how it was trained.
    distillation: Distillation | None = None

    def loss(self, ids: torch.Tensor, mask: torch.Tensor, labels: torch.Tensor,
             teacher: torch.Tensor | None = None) -> torch.Tensor:
        """The training loss of a batch: ``criterion`` of the logits (a model with parts may add one per part)."""
        return self.criterion(self.classify(self.embedding(ids), mask), labels, teacher)

    def criterion(self, logits: torch.Tensor, labels: torch.Tensor, teacher: torch.Tensor | None = None):
        """Cross-entropy with the gold labels; with a teacher's logits and ``self.distillation`` set, the
        distillation loss (``textclf.models.losses``). Override ``loss`` or this to train another way."""
        return distillation_loss(logits, labels, teacher, self.distillation)
