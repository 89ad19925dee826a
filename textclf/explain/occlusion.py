"""Occlusion: take one word away, see how far the model's answer falls (Li et al., 2016, call it erasure).

    score_i = f(text) - f(text without word i)

A positive score: the word was holding the explained probability up. No
gradients, no path, nothing inside the model is used — only its answers, so
occlusion is the easiest method to trust and to write by hand (exercise 12.1).
Its blind spot: words that matter only together (two "not"s, a phrase said
twice) each look unimportant when taken away alone.

Two ways to take a word away:

- ``replace`` (the default): its vector becomes the baseline's, as in
  integrated gradients (``pad``, ``unk`` or ``zero``); the length and the other
  words' positions stay;
- ``delete``: the token is cut out and the text gets shorter (``perturb.without``).

Every one-word-less variant of a batch goes through the model together.
"""

from __future__ import annotations

import torch
from torch import nn

from textclf.explain.integrated_gradients import Attributions, endpoints, model_output, token_attributions
from textclf.explain.perturb import target_scores, without

MODES = ("replace", "delete")


@torch.no_grad()
def occlusion(model: nn.Module, ids: torch.Tensor, mask: torch.Tensor, *, targets: torch.Tensor | None = None,
              baseline: str = "pad", unk_index: int | None = None, output: str = "probability",
              mode: str = "replace", internal_batch_size: int = 256) -> Attributions:
    """One score per token of ``ids``/``mask`` ``[batch, seq_len]``: the drop in the explained output when that
    token alone is taken away (replaced by the ``baseline`` vector, or deleted)."""
    if mode not in MODES:
        raise ValueError(f"unknown occlusion mode {mode!r}; expected one of: {', '.join(MODES)}")
    inputs, reference, targets = endpoints(model, ids, mask, targets, baseline, unk_index, output)
    f_inputs = model_output(model, inputs, mask, targets, output).double()  # [batch]
    if mode == "replace":
        without_word = replaced(model, inputs, reference, mask, targets, output, internal_batch_size)
    else:
        without_word = deleted(model, ids, mask, targets, output)
    return token_attributions(model, f_inputs.unsqueeze(1) - without_word, inputs, reference, mask, targets, output)


def replaced(model: nn.Module, inputs: torch.Tensor, reference: torch.Tensor, mask: torch.Tensor,
             targets: torch.Tensor, output: str, internal_batch_size: int) -> torch.Tensor:
    """f with position ``j`` set to the baseline vector, for every ``j``: ``[batch, seq_len]``."""
    batch, seq_len, _ = inputs.shape
    result = torch.zeros(batch, seq_len, dtype=torch.float64, device=inputs.device)
    chunk = max(1, internal_batch_size // batch)  # positions per forward pass
    for start in range(0, seq_len, chunk):
        positions = torch.arange(start, min(seq_len, start + chunk), device=inputs.device)  # [k]
        k = len(positions)
        variants = inputs.unsqueeze(0).repeat(k, 1, 1, 1)  # [k, batch, seq_len, dim]
        variants[torch.arange(k), :, positions] = reference[:, positions].transpose(0, 1)  # word j -> baseline
        scores = model_output(model, variants.flatten(0, 1), mask.repeat(k, 1), targets.repeat(k), output)
        result[:, start : start + k] = scores.view(k, batch).T.double()  # [batch, k]
    return result


def deleted(model: nn.Module, ids: torch.Tensor, mask: torch.Tensor, targets: torch.Tensor,
            output: str) -> torch.Tensor:
    """f with the token at ``j`` deleted, for every real ``j``: ``[batch, seq_len]`` (0 at padding)."""
    texts = [row[m] for row, m in zip(ids.cpu(), mask.cpu())]  # the real tokens of each text
    sequences, rows, columns = [], [], []
    for row, text in enumerate(texts):
        for j in range(len(text)):
            sequences.append(without(text, [j], model.config.pad_index))
            rows.append(row)
            columns.append(j)
    scores = target_scores(model, sequences, targets.cpu()[rows].tolist(), pad_index=model.config.pad_index,
                           output=output)  # [n_variants]
    result = torch.zeros(ids.shape, dtype=torch.float64)
    result[rows, columns] = scores
    return result.to(ids.device)
