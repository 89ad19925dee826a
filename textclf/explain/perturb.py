"""Texts with words taken away, and what the model then says: the tool of occlusion and of faithfulness.

Perturbation methods and faithfulness metrics ask the same question many times
over: *what does the model say about this text without these words?* Here a
word is taken away by **deleting** its token (the text gets shorter, as ERASER
does). Two details:

- tokens the tokenizer adds around every text (WordPiece's ``[CLS]`` and ``[SEP]``)
  are *fixed*: never ranked, never deleted;
- a text with every word deleted is read as a single ``<pad>`` token: the same
  input as integrated gradients' pad baseline for a one-word text.

Every variant of every text goes through the model in one length-sorted pass
(``textclf.inference.logits``), on the model's device.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from textclf.inference import logits

FRAMES = ("[CLS]", "[SEP]")  # tokens a framing tokenizer adds to every text


def fixed_positions(tokens: Sequence[str], framed: bool) -> list[bool]:
    """Which positions are the tokenizer's frame (``[CLS] ... [SEP]``) and so never taken away."""
    return [framed and (i == 0 or i == len(tokens) - 1) and t in FRAMES for i, t in enumerate(tokens)]


def keep_only(ids: torch.Tensor, keep: torch.Tensor, pad_index: int) -> torch.Tensor:
    """``ids`` ``[len]`` where ``keep`` ``[len]`` is True; nothing kept -> one ``<pad>``."""
    kept = ids[keep]
    return kept if len(kept) else ids.new_full((1,), pad_index)


def without(ids: torch.Tensor, positions: Sequence[int], pad_index: int) -> torch.Tensor:
    """``ids`` with the tokens at ``positions`` deleted."""
    keep = torch.ones(len(ids), dtype=torch.bool)
    keep[list(positions)] = False
    return keep_only(ids, keep, pad_index)


def only(ids: torch.Tensor, positions: Sequence[int], fixed: Sequence[bool], pad_index: int) -> torch.Tensor:
    """``ids`` with only the tokens at ``positions`` (and the fixed ones) left, in their order."""
    keep = torch.tensor(fixed, dtype=torch.bool)
    keep[list(positions)] = True
    return keep_only(ids, keep, pad_index)


def target_scores(model: nn.Module, sequences: Sequence[torch.Tensor], targets: Sequence[int], *, pad_index: int,
                  output: str = "probability", batch_size: int = 256) -> torch.Tensor:
    """The explained output (the ``targets``' probability or logit) for each id sequence: ``[n]``, fp64."""
    scores = logits(model, list(sequences), pad_index=pad_index, batch_size=batch_size)  # [n, n_classes] fp32, CPU
    if output == "probability":
        scores = scores.softmax(dim=-1)
    return scores.double().gather(1, torch.as_tensor(targets, dtype=torch.long).view(-1, 1)).squeeze(1)  # [n]
