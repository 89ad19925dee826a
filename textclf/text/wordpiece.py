"""WordPiece, the tokenizer of BERT (uncased) and MiniLM, written out.

Two stages, as in the original BERT code:

1. *Basic tokenization*: drop control characters and invalid code points, turn
   every kind of whitespace into a space, put spaces around CJK ideographs (each
   is a word of its own), lowercase and strip accents (``é`` -> ``e``: Unicode
   NFD, then drop the combining marks), and split off every punctuation
   character.
2. *WordPiece*: cut each word into the longest pieces in the vocabulary,
   greedily from the left; pieces after the first carry a ``##`` prefix
   (``tokenized`` -> ``token ##ized``). A word with a part no piece matches —
   or longer than 100 characters — becomes ``[UNK]`` as a whole.

The model then reads ``[CLS] pieces... [SEP]``. Words repeat a lot in text, so
the pieces of each word are cached.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import torch

from textclf.errors import DataError
from textclf.files import read_text
from textclf.text.vocab import Vocab

CLS, SEP, PAD, UNK = "[CLS]", "[SEP]", "[PAD]", "[UNK]"
CJK_RANGES = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F), (0x2B740, 0x2B81F),
              (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))


def is_whitespace(ch: str) -> bool:
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def is_control(ch: str) -> bool:
    return ch not in "\t\n\r" and unicodedata.category(ch).startswith("C")


def is_punctuation(ch: str) -> bool:
    """ASCII symbols count as punctuation too (``$``, ``^``, ``` ` ```), as in BERT."""
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def is_cjk(ch: str) -> bool:
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in CJK_RANGES)


def clean_text(text: str) -> str:
    """Drop NUL, U+FFFD and control characters; every whitespace character becomes a space."""
    return "".join(" " if is_whitespace(ch) else ch for ch in text
                   if not (ord(ch) == 0 or ord(ch) == 0xFFFD or is_control(ch)))


def strip_accents(word: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFD", word) if unicodedata.category(ch) != "Mn")


def split_punctuation(word: str) -> list[str]:
    pieces, current = [], ""
    for ch in word:
        if is_punctuation(ch):
            pieces += [current, ch] if current else [ch]
            current = ""
        else:
            current += ch
    return pieces + ([current] if current else [])


ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
ASCII_WORD_OR_SYMBOL = re.compile(r"[A-Za-z0-9]+|[^A-Za-z0-9\s]")


def basic_tokenize(text: str, lowercase: bool = True) -> list[str]:
    """Stage 1: words and punctuation, lowercased and without accents."""
    if text.isascii():  # the same rules, 5x faster: no accents, no CJK; punctuation = any other symbol
        text = ASCII_CONTROL.sub("", text)
        return ASCII_WORD_OR_SYMBOL.findall(text.lower() if lowercase else text)
    text = clean_text(unicodedata.normalize("NFC", text))
    text = "".join(f" {ch} " if is_cjk(ch) else ch for ch in text)
    words = []
    for word in text.split():
        if lowercase:
            word = strip_accents(word.lower())
        words += split_punctuation(word)
    return words


def greedy_wordpiece(word: str, vocab: set[str] | dict, unk: str = UNK, max_chars: int = 100) -> list[str]:
    """Stage 2 for one word: longest vocabulary piece first, left to right; ``[unk]`` if any part fails."""
    if len(word) > max_chars:
        return [unk]
    pieces, start = [], 0
    while start < len(word):
        end = len(word)
        while end > start:
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                break
            end -= 1
        if end == start:
            return [unk]
        pieces.append(piece)
        start = end
    return pieces


class WordPiece:
    """``tokenizer(text)`` -> word pieces; ``encode`` / ``batch_encode`` add ``[CLS]``/``[SEP]`` and ids."""

    def __init__(self, vocab: Vocab, lowercase: bool = True, cache_size: int = 200_000):
        self.vocab, self.lowercase, self.cache_size = vocab, lowercase, cache_size
        self.cache: dict[str, list[str]] = {}

    @classmethod
    def from_file(cls, path: str | Path, lowercase: bool = True) -> WordPiece:
        return cls(read_vocab_txt(path), lowercase)

    def pieces(self, word: str) -> list[str]:
        found = self.cache.get(word)
        if found is None:
            found = greedy_wordpiece(word, self.vocab.stoi, self.vocab.unk_token)
            if len(self.cache) < self.cache_size:
                self.cache[word] = found
        return found

    def __call__(self, text: str) -> list[str]:
        return [piece for word in basic_tokenize(text, self.lowercase) for piece in self.pieces(word)]

    def framed(self, text: str, max_len: int | None = 512) -> list[str]:
        """``[CLS] pieces [SEP]``, the pieces cut so that the whole is at most ``max_len`` tokens.
        (``textclf.batching.text_tokens`` calls this for any tokenizer that has it.)"""
        return [CLS, *self(text)[: max_len - 2 if max_len else None], SEP]

    def encode(self, text: str, max_len: int | None = 512) -> list[int]:
        """The ids of ``framed(text, max_len)``."""
        return self.vocab.encode(self.framed(text, max_len))

    def batch_encode(self, texts: Sequence[str], max_len: int | None = 512) -> tuple[torch.Tensor, torch.Tensor]:
        """Padded ids ``[batch, seq_len]`` and the attention mask ``[batch, seq_len]`` (True at real tokens)."""
        rows = [torch.tensor(self.encode(t, max_len), dtype=torch.long) for t in texts]
        ids = torch.nn.utils.rnn.pad_sequence(rows, batch_first=True, padding_value=self.vocab.pad_index)
        lengths = torch.tensor([len(row) for row in rows])  # [batch]
        mask = torch.arange(ids.shape[1])[None, :] < lengths[:, None]  # [batch, seq_len]
        return ids, mask

    def decode(self, ids: Sequence[int]) -> str:
        """Ids back to text: specials dropped, ``##`` pieces glued to the piece before."""
        tokens = [t for t in self.vocab.decode(ids) if t not in (CLS, SEP, PAD)]
        return " ".join(tokens).replace(" ##", "")


def read_vocab_txt(path: str | Path) -> Vocab:
    """BERT's ``vocab.txt``: one token per line, the line number (from 0) is its id."""
    lines = read_text(path, "a WordPiece vocab.txt").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    seen: dict[str, int] = {}
    for number, token in enumerate(lines, start=1):
        token = token.rstrip("\r")
        if not token or token != token.strip():
            raise DataError(path, number, f"expected one token per line, got {token!r}")
        if token in seen:
            raise DataError(path, number, f"token {token!r} already on line {seen[token]}; expected each once")
        seen[token] = number
    for special in (PAD, UNK, CLS, SEP):
        if special not in seen:
            raise DataError(path, None, f"expected the special token {special} in the vocabulary")
    return Vocab(list(seen), pad_token=PAD, unk_token=UNK)
