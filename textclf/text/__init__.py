"""Text to ids: the basic tokenizer, the vocabulary, and WordPiece."""

from collections.abc import Callable

from textclf.text.tokenizer import FramingTokenizer, Tokenizer, tokenize
from textclf.text.vocab import PAD, UNK, Vocab
from textclf.text.wordpiece import WordPiece

TOKENIZERS = ("basic", "wordpiece")


def make_tokenizer(name: str, vocab: Vocab) -> Callable[[str], list[str]]:
    """The tokenizer a bundle names in its config: ``basic`` (``tokenize``) or ``wordpiece`` over ``vocab``."""
    if name == "basic":
        return tokenize
    if name == "wordpiece":
        return WordPiece(vocab)
    raise ValueError(f"unknown tokenizer {name!r}; expected one of: {', '.join(TOKENIZERS)}")


__all__ = ["PAD", "TOKENIZERS", "UNK", "FramingTokenizer", "Tokenizer", "Vocab", "WordPiece", "make_tokenizer",
           "tokenize"]
