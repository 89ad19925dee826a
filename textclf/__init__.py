"""textclf: text classification in plain PyTorch, one small readable module per concept.

The path of the data: ``textclf.data`` (files -> examples) -> ``textclf.text``
(tokens, Vocab) -> ``textclf.glove`` (word vectors) -> ``textclf.batching``
(padded tensors). Lessons in ``lessons/`` walk through it in order.
"""

from textclf.data import DataError, Example, TextDataset, load_dataset
from textclf.text import Vocab, tokenize

__version__ = "0.1.0"
__all__ = ["DataError", "Example", "TextDataset", "Vocab", "__version__", "load_dataset", "tokenize"]
