"""Lesson 1 exercises — your file.

Replace each ``raise NotImplementedError("Exercise N.k")`` with your code, then grade it:

    textclf check 1.1      # one exercise
    textclf check 1        # every exercise of lesson 1

The worked examples next to the stubs are complete: read them, use them.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import torch

# ----- worked example: counting tokens --------------------------------------------


def count_tokens(token_lists: list[list[str]]) -> Counter:
    """How often each token occurs in a corpus (a worked example, used by 1.1)."""
    counts: Counter = Counter()
    for tokens in token_lists:
        counts.update(tokens)
    return counts


# ----- Exercise 1.1: the vocabulary's id order ------------------------------------


def build_itos(token_lists: list[list[str]], min_freq: int = 1,
               specials: tuple[str, ...] = ("<pad>", "<unk>")) -> list[str]:
    """The id -> token list of a vocabulary (Exercise 1.1).

    Specials first, in the given order; then every other token seen at least
    ``min_freq`` times, most frequent first, ties in alphabetical order.
    """
    raise NotImplementedError("Exercise 1.1")


# ----- worked example: padding one sequence ---------------------------------------


def pad_one(ids: list[int], length: int, pad_index: int = 0) -> list[int]:
    """``ids`` followed by ``pad_index`` up to ``length`` (a worked example, used by 1.2)."""
    return ids + [pad_index] * (length - len(ids))


# ----- Exercise 1.2: pad a batch and build the mask -------------------------------


def pad_and_mask(sequences: list[list[int]], pad_index: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pad to the longest sequence (Exercise 1.2).

    Returns ``ids`` ``[batch, seq_len]`` (long), ``lengths`` ``[batch]`` (long) and
    ``mask`` ``[batch, seq_len]`` (bool, True at real tokens).
    """
    raise NotImplementedError("Exercise 1.2")


# ----- worked example: measuring padding ------------------------------------------


def padding_share(lengths: list[int], batches: list[list[int]]) -> float:
    """Fraction of padded cells over all batches (a worked example, used by 1.3)."""
    cells = sum(len(b) * max(lengths[i] for i in b) for b in batches)
    real = sum(lengths[i] for b in batches for i in b)
    return 1 - real / cells


# ----- Exercise 1.3: length bucketing ---------------------------------------------


def bucket_batches(lengths: list[int], batch_size: int, seed: int = 0) -> list[list[int]]:
    """Batches of indices with similar lengths, in a seeded shuffled order (Exercise 1.3).

    Every index appears exactly once; no batch is larger than ``batch_size``.
    """
    raise NotImplementedError("Exercise 1.3")
