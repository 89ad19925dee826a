"""Lesson 1 exercises — reference solutions.
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
    counts = count_tokens(token_lists)
    kept = [t for t, n in counts.items() if n >= min_freq and t not in specials]
    return [*specials, *sorted(kept, key=lambda t: (-counts[t], t))]


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
    longest = max(len(s) for s in sequences)
    ids = torch.tensor([pad_one(s, longest, pad_index) for s in sequences], dtype=torch.long)
    lengths = torch.tensor([len(s) for s in sequences], dtype=torch.long)
    mask = torch.arange(longest)[None, :] < lengths[:, None]
    return ids, lengths, mask


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
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(lengths))
    pool = batch_size * 50
    batches = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start:start + pool].tolist(), key=lambda i: lengths[i])
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]
