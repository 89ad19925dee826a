"""Lesson 2 exercises — your file.

Replace each ``raise NotImplementedError("Exercise N.k")`` with your code, then grade it:

    textclf check 2.1      # one exercise
    textclf check 2        # every exercise of lesson 2

The worked examples next to the stubs are complete: read them, use them.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

# ----- worked example: what packing does -------------------------------------------


def run_packed(rnn: nn.RNNBase, embedded: torch.Tensor, lengths: torch.Tensor):
    """Run ``rnn`` on the real tokens only; returns (padded outputs, final hidden state).

    ``embedded`` is ``[batch, seq_len, dim]`` (batch_first); ``lengths`` is ``[batch]``.
    """
    packed = pack_padded_sequence(embedded, lengths.cpu(), batch_first=True, enforce_sorted=False)
    outputs, hidden = rnn(packed)
    outputs, _ = pad_packed_sequence(outputs, batch_first=True)  # [batch, longest, directions * hidden]
    return outputs, hidden


# ----- Exercise 2.1: the classifier's input from the final states -------------------


def final_states(rnn: nn.RNNBase, embedded: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """The last layer's final forward and backward states, side by side (Exercise 2.1).

    Use packing (``run_packed``). For an LSTM, ``hidden`` is ``(h_n, c_n)``; for a GRU it is ``h_n``.
    ``h_n`` is ``[layers * directions, batch, hidden]``. Return ``[batch, 2 * hidden]`` for a
    bidirectional ``rnn`` (forward first), ``[batch, hidden]`` otherwise.
    """
    raise NotImplementedError("Exercise 2.1")


# ----- worked example: the confusion matrix -----------------------------------------


def confusion(targets: list[int], predictions: list[int], n_classes: int) -> list[list[int]]:
    """``matrix[true][predicted]`` counts."""
    matrix = [[0] * n_classes for _ in range(n_classes)]
    for t, p in zip(targets, predictions):
        matrix[t][p] += 1
    return matrix


# ----- Exercise 2.2: F1 over a whole split ------------------------------------------


def f1(targets: list[int], predictions: list[int], n_classes: int) -> float:
    """F1 of class 1 when ``n_classes == 2``, else the macro average of the per-class F1 (Exercise 2.2).

    Per class: precision = TP / predicted, recall = TP / actual, F1 = 2PR / (P + R),
    which equals 2 TP / (predicted + actual); a class never predicted nor present scores 0.
    """
    raise NotImplementedError("Exercise 2.2")


# ----- Exercise 2.3: early stopping with patience -----------------------------------


class EarlyStopping:
    """Remembers the best weights; says when ``patience`` epochs passed without improvement."""

    def __init__(self, patience: int):
        self.patience = patience
        self.best_metric = float("-inf")
        self.best_weights: dict[str, torch.Tensor] | None = None
        self.bad_epochs = 0

    def step(self, metric: float, model: nn.Module) -> bool:
        """Record one epoch's validation ``metric``; return True when training should stop (Exercise 2.3).

        A strictly better metric stores a *copy* of ``model.state_dict()`` (``clone()`` each
        tensor: the state dict shares memory with the live model) and resets the count of
        bad epochs; otherwise the count grows. Stop once it reaches ``patience``.
        """
        raise NotImplementedError("Exercise 2.3")

    def restore(self, model: nn.Module) -> None:
        """Load the best weights back into ``model``."""
        model.load_state_dict(self.best_weights)
