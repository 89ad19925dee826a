"""Text to ids: the basic tokenizer and the vocabulary."""

from textclf.text.tokenizer import tokenize
from textclf.text.vocab import PAD, UNK, Vocab

__all__ = ["PAD", "UNK", "Vocab", "tokenize"]
