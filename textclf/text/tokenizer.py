"""The basic tokenizer: lowercase, then split words, clitics, numbers and punctuation.

The rules, applied in this order (each is one alternative of ``TOKEN_PATTERN``):

1. HTML line breaks (``<br />``, as in IMDB reviews) become spaces; the text is lowercased.
2. English clitics are their own tokens, as in GloVe's (Penn Treebank) tokenization:
   ``don't -> do n't``, ``it's -> it 's``, ``we're -> we 're`` (also ``'ve 'll 'd 'm``).
3. Numbers keep their inner ``.`` and ``,``: ``3.5``, ``1,000``.
4. Words are runs of letters/digits/underscore, joined by inner hyphens or apostrophes:
   ``well-known``, ``o'brien``.
5. Every other non-space character is a token on its own: ``!``, ``"``, ``(``, ``£``.

Whitespace never ends up inside a token, and tokenizing the space-joined tokens
again gives the same tokens (a property the tests check with hypothesis).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Protocol, runtime_checkable

BREAK_PATTERN = re.compile(r"<br\s*/?>", re.IGNORECASE)

TOKEN_PATTERN = re.compile(
    r"""
      \w+(?=n't\b)                 # 'do' of "don't" (the clitic follows)
    | n't\b                        # the negation clitic
    | '(?:s|re|ve|ll|d|m)\b        # other clitics: 's 're 've 'll 'd 'm
    | \d+(?:[.,]\d+)+              # numbers with inner separators: 3.5, 1,000
    | \w+(?:-\w+|'(?!(?:s|re|ve|ll|d|m|t)\b)\w+)*
                                   # words, with inner hyphens or (non-clitic) apostrophes
    | [^\w\s]                      # any other single non-space character
    """,
    re.VERBOSE,
)


class Tokenizer(Protocol):
    """What the pipeline needs of a tokenizer: text in, tokens out (``tokenize`` is one)."""

    def __call__(self, text: str) -> list[str]: ...


@runtime_checkable
class FramingTokenizer(Tokenizer, Protocol):
    """A tokenizer that frames and cuts a text itself (WordPiece: ``[CLS] ... [SEP]``, at most ``max_len``
    tokens); the pipeline then uses ``framed`` instead of cutting ``tokenizer(text)`` at ``max_len``."""

    def framed(self, text: str, max_len: int | None) -> list[str]: ...


def framing(tokenizer: Callable[[str], list[str]]) -> Callable[[str, int | None], list[str]] | None:
    """The tokenizer's ``framed`` method if it is a ``FramingTokenizer``, else None. Asked with ``getattr``, not
    ``isinstance``: a runtime-checkable Protocol's check costs ~50 us, 4x the tokenizing of a review, and the
    encoding path asks once per text."""
    return getattr(tokenizer, "framed", None)


def tokenize(text: str) -> list[str]:
    """Split ``text`` into lowercase tokens following the module's documented rules.

    >>> tokenize("It's a well-known film, isn't it? 3.5/5 <br />Great!")
    ['it', "'s", 'a', 'well-known', 'film', ',', 'is', "n't", 'it', '?', '3.5', '/', '5', 'great', '!']
    """
    text = BREAK_PATTERN.sub(" ", text).lower()
    return TOKEN_PATTERN.findall(text)
