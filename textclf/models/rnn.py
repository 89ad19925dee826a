"""The recurrent classifier: a bi-directional LSTM/GRU over packed sequences (``RNNClassifier``; with
``cell="gru"`` it is "the GRU classifier", the deep half of the default model in ``wide_deep.py``).

``pack_padded_sequence`` hands the RNN only the real tokens of each text, so
the final hidden state of a text is the state after *its own* last token —
not after a run of padding — and the backward direction starts at its real end.
The classifier reads the last layer's final forward and backward states.

Graph exporters cannot follow a packed sequence (its shape depends on the
lengths): for them ``unpack`` swaps in an unpacked RNN that computes the same
final states on the padded batch (``textclf.graphs.unpacked``, beside export).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from textclf.config import check_bool, check_choice, check_int
from textclf.models.base import MAX_WIDTH, ClassifierConfig, ClassifierNet


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
        super().__init__(config, pretrained)
        rnn_class = nn.LSTM if config.cell == "lstm" else nn.GRU
        self.rnn = rnn_class(config.embed_dim, config.hidden_dim, num_layers=config.num_layers, batch_first=True,
                             bidirectional=config.bidirectional,
                             dropout=config.dropout if config.num_layers > 1 else 0.0)
        directions = 2 if config.bidirectional else 1
        self.out = nn.Linear(config.hidden_dim * directions, config.n_classes)

        self.unpacked: nn.Module | None = None  # set by unpack(), for the graph exporters

    def unpack(self, unpacked_rnn: Callable[[nn.RNNBase], nn.Module]) -> None:
        """From now on compute the final states with ``unpacked_rnn(self.rnn)`` (same results, no packing)."""
        self.unpacked = unpacked_rnn(self.rnn)

    def final_states(self, embedded: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``h_n [layers * directions, batch, hidden]``: each text's state after its own last real token."""
        lengths = mask.sum(dim=1).clamp(min=1)  # [batch]
        if self.unpacked is not None:
            return self.unpacked(embedded, lengths)
        packed = pack_padded_sequence(embedded, lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, hidden = self.rnn(packed)  # packing wants the lengths on the CPU
        return hidden[0] if isinstance(hidden, tuple) else hidden

    def classify(self, embedded: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h_n = self.final_states(self.dropout(embedded), mask)  # [layers * directions, batch, hidden]
        if self.config.bidirectional:
            final = torch.cat([h_n[-2], h_n[-1]], dim=1)  # [batch, 2 * hidden]: last layer, forward + backward
        else:
            final = h_n[-1]  # [batch, hidden]
        return self.out(self.dropout(final))  # [batch, n_classes]
