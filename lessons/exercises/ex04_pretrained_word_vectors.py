"""Lesson 4 exercises — your file.

Replace each ``raise NotImplementedError("Exercise N.k")`` with your code, then grade it:

    textclf check 4.1      # one exercise
    textclf check 4        # every exercise of lesson 4

The worked examples next to the stubs are complete: read them, use them.
"""

from __future__ import annotations

import torch

# ----- Exercise 4.1: one line of a GloVe file ----------------------------------------


def parse_glove_line(line: str, dim: int) -> tuple[str, list[float]]:
    """``"the 0.418 0.24968 ..."`` -> ``("the", [0.418, 0.24968, ...])`` (Exercise 4.1).

    The word is everything before the first space. Raise ``ValueError`` whose message
    says ``expected {dim} values`` when the line does not have exactly ``dim`` numbers.
    """
    raise NotImplementedError("Exercise 4.1")


# ----- worked example: random rows with the scale of the pretrained ones ------------


def random_rows(n: int, dim: int, std: float, seed: int = 0) -> torch.Tensor:
    """``[n, dim]`` normal noise with standard deviation ``std`` (for words GloVe lacks)."""
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(seed)) * std


# ----- Exercise 4.2: the embedding matrix for a vocabulary ------------------------------


def build_embedding_matrix(itos: list[str], glove: dict[str, torch.Tensor], pad_index: int = 0,
                           specials: tuple[str, ...] = ("<pad>", "<unk>"),
                           seed: int = 0) -> tuple[torch.Tensor, dict[str, int]]:
    """Row ``i`` is the vector of token ``itos[i]`` (Exercise 4.2).

    Start from ``random_rows(len(itos), dim, std, seed)`` where ``std`` is the standard
    deviation of all GloVe values (``torch.stack(list(glove.values())).std(correction=0)``). Then, for
    every non-special token: use ``glove[token]`` if present, else ``glove[token.lower()]``
    if that is present, else keep the random row. Finally zero the ``pad_index`` row.
    Return the matrix and the counts ``{"found": .., "lowercase_found": .., "random_init": ..}``.
    """
    raise NotImplementedError("Exercise 4.2")


# ----- Exercise 4.3: nearest neighbours by cosine similarity ----------------------------


def nearest_neighbours(word: str, words: list[str], vectors: torch.Tensor, k: int = 5) -> list[str]:
    """The ``k`` words whose vectors have the highest cosine similarity to ``word``'s (Exercise 4.3).

    ``vectors`` is ``[len(words), dim]``; leave ``word`` itself out; most similar first.
    """
    raise NotImplementedError("Exercise 4.3")
