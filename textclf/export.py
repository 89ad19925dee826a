"""The bundle directory a trained model lives in, and prediction from it.

    DIR/model.safetensors   the weights (safetensors: plain tensors, no pickled code)
    DIR/config.json         model name + config, labels, tokenizer, max_len, training setup, library versions
    DIR/vocab.json          the Vocab
    DIR/metrics.json        test_accuracy, test_f1, the epoch history

The folder is written all-or-nothing (built beside the target, then swapped in), so a crash at
any point leaves either the previous bundle or the new one, complete.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from textclf.batching import Collator, EncodedDataset, encode_text, text_tokens
from textclf.data.errors import DataError
from textclf.data.files import read_json, require_exists
from textclf.data.readers import Example
from textclf.io import atomic_directory, current_umask, recover_directory
from textclf.lesson_utils import versions
from textclf.models import build_model
from textclf.models.embedding import TextClassifier
from textclf.text import Vocab, make_tokenizer

FORMAT = "textclf-bundle"


# Files a bundle folder owns: written together, replaced together. Anything else a learner keeps in
# the folder (a report, notes) is carried over when the bundle is rewritten.
BUNDLE_FILES = ("model.safetensors", "config.json", "vocab.json", "metrics.json", "job.json")
TRAINING_FILES = ("checkpoint.pt", "checkpoint.vocab.json")


def learners_file(name: str) -> bool:
    return name not in BUNDLE_FILES and name not in TRAINING_FILES and not name.startswith(".")


def save_bundle(out: str | Path, model: TextClassifier, model_name: str, vocab: Vocab, labels: list[str], *,
                max_len: int | None, metrics: dict | None = None, extra: dict | None = None,
                tokenizer: str = "basic", files: dict[str, str] | None = None) -> Path:
    """Write the bundle folder all-or-nothing: every file goes into a new folder beside ``out``, which then
    replaces ``out`` (``textclf.io.atomic_directory``). ``files``: more text files to add (e.g. ``job.json``)."""
    out = Path(out)
    weights = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    config = {"format": FORMAT, "version": 1, "model": model_name,
              "model_config": dataclasses.asdict(model.config), "labels": list(labels), "tokenizer": tokenizer,
              "max_len": max_len, "versions": versions(), **(extra or {})}
    texts = {"config.json": json.dumps(config, indent=2),
             "vocab.json": vocab.to_json(),
             **({"metrics.json": json.dumps(metrics, indent=2)} if metrics is not None else {}), **(files or {})}
    with atomic_directory(out, keep=learners_file) as tmp:
        write_file(tmp / "model.safetensors", lambda path: save_file(weights, str(path)))
        for name, text in texts.items():
            write_file(tmp / name, lambda path, text=text: path.write_text(text, encoding="utf-8"))
    return out


def write_file(path: Path, write) -> None:
    """One file of a bundle being built (a seam: the tests inject crashes here), with the usual permissions
    (safetensors writes 0600 files; every bundle file gets 0666 minus the umask)."""
    write(path)
    os.chmod(path, 0o666 & ~current_umask())


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
    recover_directory(directory, clean=False)  # a save killed between its renames: the old bundle comes back
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
