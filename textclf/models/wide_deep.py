"""Wide and deep: a linear model over word 1- and 2-grams beside a bi-GRU, each trained on its own loss.

A tuned linear model over n-grams (TF-IDF + SVM) and a recurrent network over
word vectors get different texts wrong, so together they beat each one alone
(Cheng et al. 2016 call the pair *wide & deep*; fastText's bag of bigrams is
the wide half). Here both halves live in one model:

- **deep**: the bi-GRU of ``rnn.py`` over the word vectors;
- **wide**: for every token, a learned score per class for the word itself and
  one for the bigram it starts (bigrams are hashed into ``ngram_buckets`` rows,
  so there is no bigram vocabulary to build); summed over the text and divided
  by sqrt(number of n-grams), like an L2-normalised bag of n-grams.

Training gives each half its own cross-entropy (``loss``), so neither leans on
the other — they learn as two models would. Their prediction is the product of
the two distributions: ``log_softmax(deep) + log_softmax(wide)`` (the logits).

The wide scores are part of what ``model.embedding(ids)`` returns
(``[batch, seq_len, embed_dim + n_classes]``), so integrated gradients, which
works in embedding space, attributes the n-grams to their words like every
other input (lesson 5): a padding token has no n-gram scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from textclf.config import check_float, check_int
from textclf.models.base import Losses
from textclf.models.losses import Criterion, cross_entropy
from textclf.models.rnn import RNNClassifier, RNNConfig

HASH_MULTIPLIER = 1_000_003  # bigram (a, b) -> (a * HASH_MULTIPLIER + b) % ngram_buckets


@dataclass
class WideDeepConfig(RNNConfig):
    cell: str = "gru"
    ngram_buckets: int = 1 << 18  # rows of the hashed bigram table
    wide_lr_factor: float = 10.0  # the n-gram scores train at this many times the learning rate

    def __post_init__(self) -> None:
        super().__post_init__()
        check_int(self, "ngram_buckets", 1, 1 << 24)
        check_float(self, "wide_lr_factor", 0.0, 1000.0, low_open=True)


class NgramEmbedding(nn.Module):
    """ids ``[batch, seq_len]`` -> word vectors with each token's unigram + bigram class scores appended."""

    def __init__(self, words: nn.Embedding, n_classes: int, buckets: int):
        super().__init__()
        self.words, self.buckets = words, buckets
        self.unigrams = nn.Embedding(words.num_embeddings, n_classes, padding_idx=words.padding_idx)
        self.bigrams = nn.Embedding(buckets, n_classes)
        nn.init.zeros_(self.unigrams.weight)  # the wide half starts with no opinion
        nn.init.zeros_(self.bigrams.weight)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        real = ids != self.words.padding_idx  # [batch, seq_len]
        nxt = F.pad(ids[:, 1:], (0, 1), value=self.words.padding_idx)  # [batch, seq_len]: the following token
        has_bigram = real & (nxt != self.words.padding_idx)  # [batch, seq_len]
        bigram_ids = (ids * HASH_MULTIPLIER + nxt) % self.buckets  # [batch, seq_len]
        scores = (self.unigrams(ids) * real.unsqueeze(-1)
                  + self.bigrams(bigram_ids) * has_bigram.unsqueeze(-1))  # [batch, seq_len, C]; padding: 0
        return torch.cat([self.words(ids), scores], dim=-1)  # [batch, seq_len, dim + C]


class WideDeepClassifier(RNNClassifier):
    def __init__(self, config: WideDeepConfig, pretrained: torch.Tensor | None = None):
        super().__init__(config, pretrained)
        self.embedding = NgramEmbedding(self.embedding, config.n_classes, config.ngram_buckets)

    def halves(self, embedded: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The deep and the wide logits, each ``[batch, n_classes]``."""
        dim = self.config.embed_dim
        deep = super().classify(embedded[..., :dim], mask)
        weights = mask.unsqueeze(-1).to(embedded.dtype)  # [batch, seq_len, 1]
        n_grams = (2 * weights.sum(dim=1) - 1).clamp(min=1)  # [batch, 1]: L unigrams + (L - 1) bigrams
        wide = (embedded[..., dim:] * weights).sum(dim=1) / n_grams.sqrt()  # [batch, n_classes]
        return deep, wide

    def classify(self, embedded: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        deep, wide = self.halves(embedded, mask)
        return F.log_softmax(deep, dim=-1) + F.log_softmax(wide, dim=-1)  # [batch, n_classes]

    def param_groups(self, lr: float) -> list[dict]:
        """The n-gram scores start at zero and each is seen rarely: they learn at ``wide_lr_factor`` x ``lr``."""
        wide = [self.embedding.unigrams.weight, self.embedding.bigrams.weight]
        rest = [p for p in self.parameters() if p.requires_grad and all(p is not w for w in wide)]
        groups = [{"params": rest, "lr": lr},
                  {"params": [w for w in wide if w.requires_grad], "lr": lr * self.config.wide_lr_factor}]
        return [g for g in groups if g["params"]]

    def loss(self, ids: torch.Tensor, mask: torch.Tensor, labels: torch.Tensor, criterion: Criterion = cross_entropy,
             teacher: torch.Tensor | None = None) -> Losses:
        """Each half learns on its own loss (the sum of the two is what is minimised). That sum is not comparable
        with a validation loss, so the reported loss is the cross-entropy of the combined prediction (``classify``).
        Distilled, each half learns from the teacher's logits (the criterion gets them)."""
        deep, wide = self.halves(self.embedding(ids), mask)
        combined = F.log_softmax(deep, dim=-1) + F.log_softmax(wide, dim=-1)  # [batch, n_classes], as classify
        trained = criterion(deep, labels, teacher) + criterion(wide, labels, teacher)
        return Losses(trained, F.cross_entropy(combined.detach(), labels))
