"""Classifiers: each an ``nn.Module`` plus one config dataclass; ``build_model`` makes one by name.

``base`` (ClassifierNet, the embedding, pooling), one module per family, ``minilm`` (MiniLM's pretrained
files, beside the BERT model they load into) and ``registry`` (names, config classes, recipes).
"""

from textclf.models.base import ClassifierConfig, ClassifierNet, make_embedding
from textclf.models.bert import BertClassifier, BertConfig
from textclf.models.cnn import CNNConfig, KimCNN
from textclf.models.nbow import NBoW, NBoWConfig
from textclf.models.registry import (
    FINE_TUNING,
    FROM_SCRATCH,
    MODELS,
    ModelSpec,
    Recipe,
    build_config,
    build_model,
    check_options,
    option_names,
    spec_of,
)
from textclf.models.rnn import RNNClassifier, RNNConfig
from textclf.models.transformer import TransformerClassifier, TransformerConfig
from textclf.models.wide_deep import WideDeepClassifier, WideDeepConfig

__all__ = ["FINE_TUNING", "FROM_SCRATCH", "MODELS", "BertClassifier", "BertConfig", "CNNConfig", "ClassifierConfig",
           "ClassifierNet", "KimCNN", "ModelSpec", "NBoW", "NBoWConfig", "RNNClassifier", "RNNConfig", "Recipe",
           "TransformerClassifier", "TransformerConfig", "WideDeepClassifier", "WideDeepConfig", "build_config",
           "build_model", "check_options", "make_embedding", "option_names", "spec_of"]
