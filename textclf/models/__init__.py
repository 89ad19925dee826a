"""Classifiers: each an ``nn.Module`` plus one config dataclass; ``build_model`` makes one by name."""

from __future__ import annotations

import dataclasses

import torch

from textclf.models.bert import BertClassifier, BertConfig
from textclf.models.cnn import CNNConfig, KimCNN
from textclf.models.embedding import ClassifierConfig, TextClassifier, make_embedding
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


def build_model(name: str, pretrained: torch.Tensor | None = None, **options) -> tuple[TextClassifier, object]:
    """``build_model("cnn", vocab_size=..., n_classes=..., n_filters=100)`` -> (model, its config).

    Options that the model's config does not have are ignored, so one set of
    command-line options can serve every model.
    """
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; expected one of: {', '.join(MODELS)}")
    model_class, config_class = MODELS[name]
    fields = {f.name for f in dataclasses.fields(config_class)}
    config = config_class(**{k: v for k, v in options.items() if k in fields})
    if name in ("lstm", "gru"):
        config.cell = name
    return model_class(config, pretrained), config


__all__ = ["MODELS", "BertClassifier", "BertConfig", "CNNConfig", "ClassifierConfig", "KimCNN", "NBoW", "NBoWConfig",
           "RNNClassifier", "RNNConfig", "TextClassifier", "TransformerClassifier", "TransformerConfig",
           "WideDeepClassifier", "WideDeepConfig", "build_model", "make_embedding"]
