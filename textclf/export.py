"""The bundle directory a trained model lives in, and prediction from it.

    DIR/model.safetensors   the weights (safetensors: plain tensors, no pickled code)
    DIR/config.json         model name + config, labels, tokenizer, max_len, training setup, library versions
    DIR/vocab.json          the Vocab
    DIR/metrics.json        test_accuracy, test_f1, the epoch history

Every file is written atomically, so a crash mid-save leaves the previous bundle intact.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from textclf.batching import Collator, EncodedDataset, encode_text, text_tokens
from textclf.data.errors import DataError
from textclf.data.files import read_json, require_exists
from textclf.data.readers import Example
from textclf.io import atomic_write, atomic_write_text
from textclf.lesson_utils import versions
from textclf.models import build_model
from textclf.models.embedding import TextClassifier
from textclf.text import Vocab, make_tokenizer

FORMAT = "textclf-bundle"


def save_bundle(out: str | Path, model: TextClassifier, model_name: str, vocab: Vocab, labels: list[str], *,
                max_len: int | None, metrics: dict | None = None, extra: dict | None = None,
                tokenizer: str = "basic") -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    weights = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    atomic_write(out / "model.safetensors", lambda tmp: save_file(weights, str(tmp)))
    config = {"format": FORMAT, "version": 1, "model": model_name,
              "model_config": dataclasses.asdict(model.config), "labels": list(labels), "tokenizer": tokenizer,
              "max_len": max_len, "versions": versions(), **(extra or {})}
    atomic_write_text(out / "config.json", json.dumps(config, indent=2))
    vocab.save(out / "vocab.json")
    if metrics is not None:
        atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2))
    return out


@dataclass
class Bundle:
    """A trained model with everything needed to turn raw text into label probabilities."""

    model: TextClassifier
    vocab: Vocab
    labels: list[str]
    config: dict
    path: Path | None = None  # the directory it was loaded from

    @property
    def max_len(self) -> int | None:
        return self.config.get("max_len")

    @cached_property
    def tokenizer(self):
        return make_tokenizer(self.config.get("tokenizer", "basic"), self.vocab)

    def tokens(self, text: str) -> list[str]:
        """The tokens of ``text`` the model sees (before ids)."""
        return text_tokens(text, self.vocab, self.tokenizer, self.max_len)

    def encode(self, texts: list[str]) -> list[torch.Tensor]:
        return [encode_text(t, self.vocab, self.tokenizer, self.max_len) for t in texts]

    def dataset(self, examples: list[Example]) -> EncodedDataset:
        """Labelled examples encoded exactly as in training: this bundle's tokenizer, vocabulary and ``max_len``."""
        return EncodedDataset.from_examples(examples, self.vocab, self.labels, self.tokenizer, self.max_len)

    @torch.no_grad()
    def predict(self, texts: list[str], batch_size: int = 256) -> list[dict[str, float]]:
        """``{label: probability}`` for each text."""
        self.model.eval()
        device = next(self.model.parameters()).device
        collate, results = Collator(self.vocab.pad_index), []
        encoded = self.encode(texts)
        for start in range(0, len(encoded), batch_size):
            batch = collate([(ids, 0) for ids in encoded[start : start + batch_size]]).to(device)
            probs = self.model(batch.ids, batch.mask).softmax(dim=1).cpu()  # [batch, n_classes]
            results += [dict(zip(self.labels, map(float, row))) for row in probs]
        return results


def load_bundle(directory: str | Path, device: str | torch.device = "cpu") -> Bundle:
    directory = require_exists(directory)
    config = read_json(directory / "config.json", "a textclf bundle config")
    if config.get("format") != FORMAT:
        raise DataError(directory / "config.json", 1, f"expected \"format\": \"{FORMAT}\"")
    vocab = Vocab.load(directory / "vocab.json")
    model, _ = build_model(config["model"], **config["model_config"])
    weights_path = require_exists(directory / "model.safetensors")
    try:
        weights = load_file(str(weights_path))
        model.load_state_dict(weights)
    except Exception as err:  # safetensors raises its own error types for a damaged file
        first = str(err).splitlines()[0]
        raise DataError(weights_path, None, f"cannot load weights ({first}); expected the weights of a "
                        f"{config['model']} model as described in config.json") from None
    model.to(device).eval()
    return Bundle(model, vocab, config["labels"], config, directory)
