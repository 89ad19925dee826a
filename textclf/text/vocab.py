"""``Vocab``: the two-way map between tokens and integer ids.

Ids ``0..len(specials)-1`` are the special tokens (``<pad>`` = 0, ``<unk>`` = 1 by
default); the rest are the training tokens seen at least ``min_freq`` times,
most frequent first (ties broken alphabetically, so the order never depends
on the order of the data), cut to ``max_size`` tokens in all. Any token the
vocabulary does not know maps to ``<unk>``.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from textclf.errors import DataError
from textclf.files import atomic_write_text, parse_json, read_text

PAD, UNK = "<pad>", "<unk>"
FORMAT = "textclf-vocab"


class Vocab:
    """Token <-> id lookup with ``stoi``/``itos``, padding and unknown-token ids."""

    def __init__(self, itos: Sequence[str], pad_token: str = PAD, unk_token: str = UNK):
        if len(set(itos)) != len(itos):
            dupes = sorted(t for t, n in Counter(itos).items() if n > 1)[:5]
            raise ValueError(f"a vocabulary lists each token once; repeated: {dupes}")
        if unk_token not in itos or pad_token not in itos:
            raise ValueError(f"the vocabulary must contain {pad_token!r} and {unk_token!r}")
        self.itos = list(itos)
        self.stoi = {tok: i for i, tok in enumerate(self.itos)}
        self.pad_token, self.unk_token = pad_token, unk_token
        self.pad_index, self.unk_index = self.stoi[pad_token], self.stoi[unk_token]

    @classmethod
    def build(
        cls, token_lists: Iterable[Sequence[str]], min_freq: int = 1, max_size: int | None = None,
        specials: Sequence[str] = (PAD, UNK),
    ) -> Vocab:
        """Count tokens and keep the frequent ones; ``max_size`` counts the specials too."""
        if min_freq < 1:
            raise ValueError(f"min_freq must be at least 1, not {min_freq}")
        counts = Counter(tok for tokens in token_lists for tok in tokens)
        kept = sorted((t for t, n in counts.items() if n >= min_freq and t not in specials),
                      key=lambda t: (-counts[t], t))
        if max_size is not None:
            kept = kept[: max(0, max_size - len(specials))]
        return cls([*specials, *kept], pad_token=specials[0], unk_token=specials[1])

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def __getitem__(self, token: str) -> int:
        return self.stoi.get(token, self.unk_index)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and (self.itos, self.pad_token, self.unk_token) == (
            other.itos, other.pad_token, other.unk_token)

    def __repr__(self) -> str:
        return f"Vocab(size={len(self)}, pad={self.pad_token!r}, unk={self.unk_token!r})"

    def encode(self, tokens: Iterable[str]) -> list[int]:
        """Tokens to ids; unknown tokens become ``unk_index``."""
        return [self.stoi.get(tok, self.unk_index) for tok in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Ids to tokens (padding included, if the ids have it)."""
        return [self.itos[i] for i in ids]

    def to_dict(self) -> dict:
        return {"format": FORMAT, "pad_token": self.pad_token, "unk_token": self.unk_token, "itos": self.itos}

    def fingerprint(self) -> str:
        """A sha256 of the tokens in id order (and the special tokens): another order, another fingerprint."""
        payload = json.dumps([self.pad_token, self.unk_token, self.itos], ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]

    def to_json(self) -> str:
        """The text of a vocabulary file (``save`` writes it; a bundle writes it as ``vocab.json``)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=0)

    def save(self, path: str | Path) -> None:
        """Write JSON atomically (a crash mid-write never leaves a half-written file)."""
        atomic_write_text(path, self.to_json())

    @classmethod
    def load(cls, path: str | Path) -> Vocab:
        data = parse_json(read_text(path, "vocabulary JSON"), path, "a textclf vocabulary")
        if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("itos"), list):
            raise DataError(path, 1, f"expected a JSON object with \"format\": \"{FORMAT}\" and an \"itos\" list")
        strings = [data.get("pad_token", PAD), data.get("unk_token", UNK), *data["itos"]]
        if not all(isinstance(token, str) for token in strings):
            raise DataError(path, None, "key \"itos\" (or pad_token/unk_token): expected token strings only")
        try:
            return cls(data["itos"], data.get("pad_token", PAD), data.get("unk_token", UNK))
        except ValueError as err:
            raise DataError(path, None, str(err)) from None
