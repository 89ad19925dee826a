"""Lesson 7 exercises — reference solutions.
"""

from __future__ import annotations

import re

import torch

# ----- worked example: the first piece of a word ----------------------------------


def longest_prefix(word: str, vocab: set[str]) -> str | None:
    """The longest prefix of ``word`` that is in ``vocab`` (None if not even one character is)."""
    for end in range(len(word), 0, -1):
        if word[:end] in vocab:
            return word[:end]
    return None


# ----- Exercise 7.1: WordPiece, greedy longest match first -------------------------


def wordpiece(word: str, vocab: set[str], unk: str = "[UNK]", max_chars: int = 100) -> list[str]:
    """Cut ``word`` into vocabulary pieces, longest first, left to right (Exercise 7.1).

    Pieces after the first are looked up with a ``##`` prefix and returned with it:
    ``wordpiece("unaffable", {"un", "##aff", "##able"}) == ["un", "##aff", "##able"]``.
    If some part of the word matches no piece, or the word is longer than ``max_chars``,
    return ``[unk]`` for the whole word.
    """
    if len(word) > max_chars:
        return [unk]
    pieces, start = [], 0
    while start < len(word):
        for end in range(len(word), start, -1):
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                pieces.append(piece)
                start = end
                break
        else:
            return [unk]
    return pieces


# ----- Exercise 7.2: the weight-name mapping --------------------------------------


def map_name(name: str) -> str | None:
    """A BERT checkpoint's weight name -> textclf's ``BertClassifier`` name (Exercise 7.2).

    ``embeddings.word_embeddings.*`` -> ``embedding.*``, ``embeddings.position_embeddings.*`` ->
    ``positions.*``, ``embeddings.token_type_embeddings.*`` -> ``token_types.*``,
    ``embeddings.LayerNorm.*`` -> ``embed_norm.*``; in ``encoder.layer.N.``:
    ``attention.self.query|key|value.*`` -> ``layers.N.query|key|value.*``,
    ``attention.output.dense.*`` -> ``layers.N.attn_out.*``, ``attention.output.LayerNorm.*`` ->
    ``layers.N.attn_norm.*``, ``intermediate.dense.*`` -> ``layers.N.ff_in.*``, ``output.dense.*`` ->
    ``layers.N.ff_out.*``, ``output.LayerNorm.*`` -> ``layers.N.ff_norm.*``. Anything else (the pooler,
    ``embeddings.position_ids``) -> None.
    """
    fixed = {"embeddings.word_embeddings.": "embedding.", "embeddings.position_embeddings.": "positions.",
             "embeddings.token_type_embeddings.": "token_types.", "embeddings.LayerNorm.": "embed_norm."}
    for prefix, ours in fixed.items():
        if name.startswith(prefix):
            return ours + name[len(prefix):]
    layer = re.match(r"encoder\.layer\.(\d+)\.(.+?)\.(weight|bias)$", name)
    if not layer:
        return None
    n, part, kind = layer.groups()
    parts = {"attention.self.query": "query", "attention.self.key": "key", "attention.self.value": "value",
             "attention.output.dense": "attn_out", "attention.output.LayerNorm": "attn_norm",
             "intermediate.dense": "ff_in", "output.dense": "ff_out", "output.LayerNorm": "ff_norm"}
    return f"layers.{n}.{parts[part]}.{kind}" if part in parts else None


# ----- Exercise 7.3: mean pooling with a mask -------------------------------------


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The average of each text's real-token vectors (Exercise 7.3).

    ``hidden`` ``[batch, seq_len, dim]``, ``mask`` ``[batch, seq_len]`` (True at real tokens; [CLS] and
    [SEP] count as real). Returns ``[batch, dim]``; padding must not change the result.
    """
    weights = mask.unsqueeze(-1).to(hidden.dtype)  # [batch, seq_len, 1]
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
