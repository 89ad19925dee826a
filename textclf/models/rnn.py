"""A bi-directional LSTM/GRU classifier over packed sequences.

``pack_padded_sequence`` hands the RNN only the real tokens of each text, so
the final hidden state of a text is the state after *its own* last token —
not after a run of padding — and the backward direction starts at its real end.
The classifier reads the last layer's final forward and backward states.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from textclf.config import check_bool, check_choice, check_int
from textclf.models.embedding import MAX_WIDTH, ClassifierConfig, ClassifierNet


@dataclass
class RNNConfig(ClassifierConfig):
    hidden_dim: int = 64
    num_layers: int = 1
    bidirectional: bool = True
    cell: str = "lstm"  # or "gru"

    def __post_init__(self) -> None:
        super().__post_init__()
        check_int(self, "hidden_dim", 1, MAX_WIDTH)
        check_int(self, "num_layers", 1, 64)
        check_bool(self, "bidirectional")
        check_choice(self, "cell", ("lstm", "gru"))


class RNNClassifier(ClassifierNet):
    def __init__(self, config: RNNConfig, pretrained: torch.Tensor | None = None):
        if config.cell not in ("lstm", "gru"):
            raise ValueError(f"cell must be 'lstm' or 'gru', not {config.cell!r}")
        super().__init__(config, pretrained)
        rnn_class = nn.LSTM if config.cell == "lstm" else nn.GRU
        self.rnn = rnn_class(config.embed_dim, config.hidden_dim, num_layers=config.num_layers, batch_first=True,
                             bidirectional=config.bidirectional,
                             dropout=config.dropout if config.num_layers > 1 else 0.0)
        directions = 2 if config.bidirectional else 1
        self.out = nn.Linear(config.hidden_dim * directions, config.n_classes)

    def classify(self, embedded: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        lengths = mask.sum(dim=1).clamp(min=1).cpu()  # [batch]; packing wants lengths on the CPU
        packed = pack_padded_sequence(self.dropout(embedded), lengths, batch_first=True, enforce_sorted=False)
        _, hidden = self.rnn(packed)
        h_n = hidden[0] if isinstance(hidden, tuple) else hidden  # [layers * directions, batch, hidden]
        if self.config.bidirectional:
            final = torch.cat([h_n[-2], h_n[-1]], dim=1)  # [batch, 2 * hidden]: last layer, forward + backward
        else:
            final = h_n[-1]  # [batch, hidden]
        return self.out(self.dropout(final))  # [batch, n_classes]
