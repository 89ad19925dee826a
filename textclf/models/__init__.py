"""Classifiers: each an ``nn.Module`` plus one config dataclass; ``build_model`` makes one by name."""

from __future__ import annotations

import torch

from textclf.config import from_dict
from textclf.models.bert import BertClassifier, BertConfig
from textclf.models.cnn import CNNConfig, KimCNN
from textclf.models.embedding import ClassifierConfig, ClassifierNet, make_embedding
from textclf.models.nbow import NBoW, NBoWConfig
from textclf.models.rnn import RNNClassifier, RNNConfig
from textclf.models.transformer import TransformerClassifier, TransformerConfig
from textclf.models.wide_deep import WideDeepClassifier, WideDeepConfig

MODELS = {
    "nbow": (NBoW, NBoWConfig),
    "lstm": (RNNClassifier, RNNConfig),
    "gru": (RNNClassifier, RNNConfig),
    "cnn": (KimCNN, CNNConfig),
    "gru+ngrams": (WideDeepClassifier, WideDeepConfig),  # bi-GRU beside a linear model of word 1-2 grams
    "transformer": (TransformerClassifier, TransformerConfig),
    "minilm": (BertClassifier, BertConfig),  # pretrained weights: textclf.pretrained.minilm()
}


def build_model(name: str, pretrained: torch.Tensor | None = None, **options) -> tuple[ClassifierNet, object]:
    """``build_model("cnn", vocab_size=..., n_classes=..., n_filters=100)`` -> (model, its config).

    The config checks every value; an option the model's config does not have is an error
    (``n_filter=200`` must not quietly train a default CNN).
    """
    config = build_config(name, **options)
    return MODELS[name][0](config, pretrained), config


def build_config(name: str, **options) -> ClassifierConfig:
    """The checked config of model ``name`` (``build_model`` without building the model)."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; expected one of: {', '.join(MODELS)}")
    if name in ("lstm", "gru"):
        options = {**options, "cell": name}
    return from_dict(MODELS[name][1], options, f"model {name!r}")


__all__ = ["MODELS", "BertClassifier", "BertConfig", "CNNConfig", "ClassifierConfig", "KimCNN", "NBoW", "NBoWConfig",
           "RNNClassifier", "RNNConfig", "ClassifierNet", "TransformerClassifier", "TransformerConfig",
           "WideDeepClassifier", "WideDeepConfig", "build_config", "build_model", "make_embedding"]
