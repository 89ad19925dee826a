"""Lesson 4 exercises — reference solutions.
"""

from __future__ import annotations

import torch

# ----- Exercise 4.1: one line of a GloVe file ----------------------------------------


def parse_glove_line(line: str, dim: int) -> tuple[str, list[float]]:
    """``"the 0.418 0.24968 ..."`` -> ``("the", [0.418, 0.24968, ...])`` (Exercise 4.1).

    The word is everything before the first space. Raise ``ValueError`` whose message
    says ``expected {dim} values`` when the line does not have exactly ``dim`` numbers.
    """
    word, _, rest = line.rstrip("\n").partition(" ")
    values = rest.split()
    if len(values) != dim:
        raise ValueError(f"expected {dim} values after {word!r}, found {len(values)}")
    return word, [float(v) for v in values]


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
    table = torch.stack(list(glove.values()))
    matrix = random_rows(len(itos), table.shape[1], float(table.std(correction=0)), seed)
    counts = {"found": 0, "lowercase_found": 0, "random_init": 0}
    for i, token in enumerate(itos):
        if token in specials:
            continue
        if token in glove:
            matrix[i], counts["found"] = glove[token], counts["found"] + 1
        elif token.lower() in glove:
            matrix[i], counts["lowercase_found"] = glove[token.lower()], counts["lowercase_found"] + 1
        else:
            counts["random_init"] += 1
    matrix[pad_index] = 0.0
    return matrix, counts


# ----- Exercise 4.3: nearest neighbours by cosine similarity ----------------------------


def nearest_neighbours(word: str, words: list[str], vectors: torch.Tensor, k: int = 5) -> list[str]:
    """The ``k`` words whose vectors have the highest cosine similarity to ``word``'s (Exercise 4.3).

    ``vectors`` is ``[len(words), dim]``; leave ``word`` itself out; most similar first.
    """
    unit = vectors / vectors.norm(dim=1, keepdim=True).clamp(min=1e-12)  # [n, dim]
    query = words.index(word)
    similarity = unit @ unit[query]  # [n]
    similarity[query] = float("-inf")
    return [words[i] for i in similarity.topk(k).indices.tolist()]
