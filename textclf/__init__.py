"""textclf: text classification in plain PyTorch, one small readable module per concept.

The path of the data: ``textclf.data`` (files -> examples) -> ``textclf.text``
(tokens, Vocab, WordPiece) -> ``textclf.glove`` (word vectors) -> ``textclf.batching``
(padded tensors) -> ``textclf.models`` -> ``textclf.training`` -> ``textclf.bundle``
(``Bundle`` in memory; ``save_bundle``/``load_bundle`` for its folder); ``textclf.inference``
runs any model on texts; ``textclf.pipeline`` (``job_for``, ``train_job``) ties them together.
ARCHITECTURE.md draws the layers.
Lessons in ``lessons/`` walk through it in order. ``textclf.TextClassifier`` is the
few-lines facade over all of it (``textclf.api``); the networks themselves derive
from ``textclf.models.ClassifierNet``.
"""

from textclf.data import DataError, Example, TextDataset, load_dataset
from textclf.text import Vocab, tokenize

__version__ = "0.1.0"
__all__ = ["DataError", "Example", "TextClassifier", "TextDataset", "Vocab", "__version__", "list_models",
           "load_dataset", "tokenize"]


def __getattr__(name: str):
    if name in ("TextClassifier", "list_models"):  # imported on first use: it pulls in the whole pipeline
        from textclf import api

        return getattr(api, name)
    raise AttributeError(f"module 'textclf' has no attribute {name!r}")
