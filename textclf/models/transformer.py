"""A transformer-encoder classifier built from our own attention (Vaswani et al., 2017).

    token vectors ─> (projection to model_dim) ─> + positions ─> N x block ─> pool ─> linear ─> logits

- positions: fixed sinusoids or a learned table, added to the token vectors;
- a block: self-attention then a position-wise feed-forward network, each
  wrapped in a residual connection and LayerNorm — *post-norm* as in the
  original paper (``x = norm(x + f(x))``) or *pre-norm* (``x = x + f(norm(x))``,
  steadier to train, with one more LayerNorm at the end);
- pooling: the mean over real tokens, or a learned [CLS] vector put in front of
  the text whose output summarises it.

The token embedding stays the model's ``embedding`` (optionally GloVe), so
integrated gradients and transfer work as for every other model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from textclf.config import check_choice, check_int, fail
from textclf.models.attention import MultiHeadSelfAttention
from textclf.models.base import MAX_WIDTH, ClassifierConfig, ClassifierNet, mean_pool, mean_pool_readout

POSITIONS, NORMS, POOLINGS = ("sinusoidal", "learned"), ("pre", "post"), ("mean", "cls")


@dataclass
class TransformerConfig(ClassifierConfig):
    model_dim: int = 128        # width inside the encoder; token vectors are projected to it if embed_dim differs
    n_heads: int = 4
    num_layers: int = 2
    ff_dim: int = 256
    dropout: float = 0.1
    positions: str = "sinusoidal"  # or "learned"
    norm: str = "pre"              # or "post"
    pooling: str = "mean"          # or "cls"
    max_positions: int = 512

    def __post_init__(self) -> None:
        super().__post_init__()
        check_int(self, "model_dim", 1, MAX_WIDTH)
        check_int(self, "n_heads", 1, 256)
        if self.model_dim % self.n_heads:
            fail(self, "model_dim", f"a multiple of n_heads ({self.n_heads})")
        check_int(self, "num_layers", 1, 64)
        check_int(self, "ff_dim", 1, 4 * MAX_WIDTH)
        check_choice(self, "positions", POSITIONS)
        check_choice(self, "norm", NORMS)
        check_choice(self, "pooling", POOLINGS)
        check_int(self, "max_positions", 1, 65_536)


def sinusoidal_positions(n_positions: int, dim: int) -> torch.Tensor:
    """``[n_positions, dim]``: even columns sin(pos / 10000^(2i/dim)), odd columns the cos of the same angle."""
    position = torch.arange(n_positions, dtype=torch.float32).unsqueeze(1)  # [n_positions, 1]
    frequency = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))  # [dim/2]
    table = torch.zeros(n_positions, dim)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency[: dim // 2])
    return table


class EncoderBlock(nn.Module):
    def __init__(self, config: TransformerConfig):
        super().__init__()
        d = config.model_dim
        self.attention = MultiHeadSelfAttention(d, config.n_heads, config.dropout)
        self.feed_forward = nn.Sequential(nn.Linear(d, config.ff_dim), nn.GELU(), nn.Dropout(config.dropout),
                                          nn.Linear(config.ff_dim, d))
        self.norm1, self.norm2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.dropout = nn.Dropout(config.dropout)
        self.pre_norm = config.norm == "pre"

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``[batch, seq_len, model_dim]`` -> the same shape."""
        if self.pre_norm:
            x = x + self.dropout(self.attention(self.norm1(x), mask))
            return x + self.dropout(self.feed_forward(self.norm2(x)))
        x = self.norm1(x + self.dropout(self.attention(x, mask)))
        return self.norm2(x + self.dropout(self.feed_forward(x)))


class TransformerClassifier(ClassifierNet):
    def __init__(self, config: TransformerConfig, pretrained: torch.Tensor | None = None):
        choices = (("positions", config.positions, ("sinusoidal", "learned")), ("norm", config.norm, ("pre", "post")),
                   ("pooling", config.pooling, ("mean", "cls")))
        for name, value, allowed in choices:
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, not {value!r}")
        super().__init__(config, pretrained)
        d = config.model_dim
        self.project = nn.Linear(config.embed_dim, d) if config.embed_dim != d else nn.Identity()
        if config.positions == "learned":
            self.positions = nn.Parameter(torch.randn(config.max_positions, d) * 0.02)
        else:
            self.register_buffer("positions", sinusoidal_positions(config.max_positions, d), persistent=False)
        self.cls = nn.Parameter(torch.randn(d) * 0.02) if config.pooling == "cls" else None
        self.blocks = nn.ModuleList(EncoderBlock(config) for _ in range(config.num_layers))
        self.final_norm = nn.LayerNorm(d) if config.norm == "pre" else nn.Identity()
        self.out = nn.Linear(d, config.n_classes)

    def classify(self, embedded: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.project(embedded)  # [batch, seq_len, model_dim]
        if self.cls is not None:  # a learned summary vector in front of every text
            x = torch.cat([self.cls.expand(x.shape[0], 1, -1), x], dim=1)  # [batch, 1 + seq_len, model_dim]
            mask = torch.cat([mask.new_ones(mask.shape[0], 1), mask], dim=1)  # [batch, 1 + seq_len]
        if x.shape[1] > self.config.max_positions:
            raise ValueError(f"{x.shape[1]} positions, but the model has {self.config.max_positions}; "
                             f"cut texts shorter (max_len)")
        x = self.dropout(x + self.positions[: x.shape[1]])  # [batch, seq_len, model_dim]
        for block in self.blocks:
            x = block(x, mask)
        x = self.final_norm(x)  # [batch, seq_len, model_dim]
        if self.cls is not None:
            pooled = x[:, 0]  # [batch, model_dim]
        else:
            pooled = mean_pool(x, mask)  # [batch, model_dim]
        return self.out(self.dropout(pooled))  # [batch, n_classes]

    has_attention = True  # attention_maps gives maps (ClassifierNet's contract)
    lora_targets = ("qkv",)  # LoRA's default: queries, keys and values share one projection here

    @torch.no_grad()
    def attention_maps(self, embedded: torch.Tensor, mask: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Each block's attention weights ``[batch, heads, P, P]`` and how the pooling reads the ``P`` positions
        ``[batch, P]`` (explanations by attention, lesson 12). ``P`` is ``seq_len``, or ``1 + seq_len`` with a
        [CLS] vector in front: the text's tokens are always the last ``seq_len`` positions."""
        self.classify(embedded, mask)  # each block's attention keeps its last weights
        maps = [block.attention.last_weights for block in self.blocks]
        if self.cls is None:
            return maps, mean_pool_readout(mask)  # [batch, seq_len]
        readout = torch.zeros(mask.shape[0], mask.shape[1] + 1, device=mask.device)  # [batch, 1 + seq_len]
        readout[:, 0] = 1.0  # the [CLS] position's output is the summary
        return maps, readout

    def stages(self) -> list[list[nn.Parameter]]:
        """The encoder's parameters from input to output, for freezing by depth (``textclf.finetune``):
        the embedding; the projection, learned positions and [CLS] vector; each block; the final norm."""
        learned = [p for p in (self.positions, self.cls) if isinstance(p, nn.Parameter)]
        inputs = list(self.project.parameters()) + learned
        return [list(self.embedding.parameters()), inputs, *(list(b.parameters()) for b in self.blocks),
                list(self.final_norm.parameters())]
