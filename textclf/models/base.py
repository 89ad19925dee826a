"""The embedding layer every classic model starts with: random, or GloVe-initialised, frozen or trainable.

Every model in ``textclf.models`` has the same shape of interface:

- ``model.embedding``: an ``nn.Embedding`` (ids -> vectors);
- ``model.classify(embedded, mask)``: vectors ``[batch, seq_len, dim]`` -> logits ``[batch, n_classes]``;
- ``model(ids, mask) == model.classify(model.embedding(ids), mask)``.

Splitting ``forward`` this way lets integrated gradients (lesson 5) work in
embedding space for every model without special cases.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from textclf.config import check_bool, check_float, check_int, fail
from textclf.models.losses import Criterion, cross_entropy

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


class Losses(NamedTuple):
    """A batch's training loss and the loss the training loop reports for it (they differ for wide & deep)."""

    trained: torch.Tensor   # what the optimizer minimises (a scalar)
    reported: torch.Tensor  # the prediction's loss, comparable with a validation loss (a scalar)


class ClassifierNet(nn.Module):
    """Base class of every network: ``forward(ids, mask)`` embeds, then calls the subclass's ``classify``.

    The contract the rest of textclf relies on, every member declared here with its default:

    - ``forward(ids, mask)`` -> logits ``[batch, n_classes]``, and nothing else;
    - ``embedding``: ids ``[batch, seq_len]`` -> vectors ``[batch, seq_len, dim]``; attributions are computed
      on its output, and transfer grows its rows for new words;
    - ``classify(embedded, mask)`` -> logits ``[batch, n_classes]``;
    - ``out``: the head, an ``nn.Linear`` to ``n_classes`` outputs (transfer swaps it);
    - ``config``: its ``ClassifierConfig`` (saved in the bundle);
    - ``loss(ids, mask, labels, criterion, teacher)`` -> ``Losses``: how a criterion trains it (training);
    - ``param_groups(lr)``: its optimizer groups (training); ``stages()``: its parameters by depth (freezing);
    - ``min_length``: the shortest input it takes unpadded (exports pad to it);
    - ``unpack(unpacked_rnn)``: swap packed-sequence parts for graph-traceable ones (export);
    - ``attention_maps(embedded, mask)``: its attention weights, or None without attention (explain);
    - ``lora_targets``: the Linear layers low-rank adapters wrap by default (fine-tuning with LoRA).
    """

    embedding: nn.Module
    out: nn.Linear

    def __init__(self, config: ClassifierConfig, pretrained: torch.Tensor | None = None):
        super().__init__()
        self.config = config
        self.embedding = make_embedding(config.vocab_size, config.embed_dim, config.pad_index, pretrained,
                                        config.freeze_embeddings)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Logits ``[batch, n_classes]``."""
        return self.classify(self.embedding(ids), mask)  # [batch, n_classes]

    def classify(self, embedded: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    @property
    def pad_index(self) -> int:
        """The id of the padding token (batches are padded with it)."""
        return self.config.pad_index

    @property
    def min_length(self) -> int:
        """The shortest input the network handles without padding it itself (a CNN pads texts shorter than its
        widest filter inside ``classify``; a traced/exported graph keeps no such branch, so callers pad)."""
        return 1

    def unpack(self, unpacked_rnn: Callable[[nn.RNNBase], nn.Module]) -> None:
        """Run without packed sequences from now on, in place: a graph exporter cannot follow one. A model with
        an RNN swaps in ``unpacked_rnn(rnn)`` (``textclf.graphs.unpacked``); the default has nothing to swap."""

    def attention_maps(self, embedded: torch.Tensor,
                       mask: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor] | None:
        """Per layer the attention weights ``[batch, heads, P, P]`` and how the pooled output reads the positions
        ``[batch, P]`` (transformer, BERT); None for a model without attention layers."""
        return None

    has_attention: bool = False  # whether attention_maps gives maps (a model with attention layers sets both)
    # The attribute names of the Linear layers ``textclf.models.lora.add_lora`` wraps by default: attention's
    # query and value projections (Hu et al.); () for a model without attention layers (name them yourself).
    lora_targets: tuple[str, ...] = ()

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

    def loss(self, ids: torch.Tensor, mask: torch.Tensor, labels: torch.Tensor, criterion: Criterion = cross_entropy,
             teacher: torch.Tensor | None = None) -> Losses:
        """The training loss of a batch: ``criterion`` of the logits (a teacher's logits ``[batch, n_classes]``
        when distilling), reported as it is. A model with parts (wide & deep) gives each part the criterion."""
        loss = criterion(self(ids, mask), labels, teacher)
        return Losses(loss, loss)
