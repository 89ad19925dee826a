"""The bundle directory a trained model lives in, and prediction from it.

    DIR/model.safetensors   the weights (safetensors: plain tensors, no pickled code)
    DIR/config.json         model name + config, labels, tokenizer, max_len, training setup, library versions
    DIR/vocab.json          the Vocab
    DIR/metrics.json        test_accuracy, test_f1, valid_accuracy (best epoch), the linear baseline, the epochs
    DIR/README.md           the model card (Hugging Face conventions; textclf.model_card)
    DIR/model.onnx, model.pt2   portable exports, once ``textclf export`` wrote them (textclf.export)

The folder is written all-or-nothing (built beside the target, then swapped in), so a crash at
any point leaves either the previous bundle or the new one, complete.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from textclf.batching import EncodedDataset, encode_text, text_tokens
from textclf.config import ConfigError
from textclf.data.errors import DataError
from textclf.data.files import read_json, require_exists, require_file
from textclf.data.readers import Example
from textclf.inference import Forward, logits
from textclf.io import atomic_directory, current_umask, recover_directory
from textclf.model_card import model_card
from textclf.models import MODELS, build_config, build_model
from textclf.models.embedding import ClassifierNet
from textclf.text import TOKENIZERS, Vocab, make_tokenizer
from textclf.training import non_finite
from textclf.versions import versions

FORMAT = "textclf-bundle"


# Files a bundle folder owns: written together, replaced together. Anything else a learner keeps in
# the folder (a report, notes) is carried over when the bundle is rewritten.
BUNDLE_FILES = ("model.safetensors", "config.json", "vocab.json", "metrics.json", "job.json", "curves.png",
                "confusion.png", "README.md", "model.onnx", "model.pt2")  # README.md: the model card
TRAINING_FILES = ("checkpoint.pt", "checkpoint.vocab.json")


def learners_file(name: str) -> bool:
    return name not in BUNDLE_FILES and name not in TRAINING_FILES and not name.startswith(".")


def save_bundle(out: str | Path, model: ClassifierNet, model_name: str, vocab: Vocab, labels: list[str], *,
                max_len: int | None, metrics: dict | None = None, extra: dict | None = None,
                tokenizer: str = "basic", files: dict[str, str | bytes] | None = None) -> Path:
    """Write the bundle folder all-or-nothing: every file goes into a new folder beside ``out``, which then
    replaces ``out`` (``textclf.io.atomic_directory``). ``files``: more text files to add (e.g. ``job.json``).
    The model card, ``README.md``, is written from the same config and metrics."""
    out = Path(out)
    weights = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    config = {"format": FORMAT, "version": 1, "model": model_name,
              "model_config": dataclasses.asdict(model.config), "labels": list(labels), "tokenizer": tokenizer,
              "max_len": max_len, "versions": versions(), **(extra or {})}
    texts = {"config.json": json.dumps(config, indent=2),
             "vocab.json": vocab.to_json(),
             **({"metrics.json": json.dumps(strict_json(metrics), indent=2, allow_nan=False)}
                if metrics is not None else {}),
             "README.md": model_card(config, metrics or {}),  # from the same config.json and metrics.json
             **(files or {})}
    with atomic_directory(out, keep=learners_file) as tmp:
        write_file(tmp / "model.safetensors", lambda path: save_file(weights, str(path)))
        for name, content in texts.items():
            data = content if isinstance(content, bytes) else content.encode("utf-8")
            write_file(tmp / name, lambda path, data=data: path.write_bytes(data))
    return out


def strict_json(value):
    """``value`` with NaN/inf floats as ``null``: Python's json writes them as ``NaN``, which is not JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(v) for v in value]
    return value


def write_file(path: Path, write) -> None:
    """One file of a bundle being built (a seam: the tests inject crashes here), with the usual permissions
    (safetensors writes 0600 files; every bundle file gets 0666 minus the umask)."""
    write(path)
    os.chmod(path, 0o666 & ~current_umask())


@dataclass
class Bundle:
    """A trained model with everything needed to turn raw text into label probabilities."""

    model: ClassifierNet
    vocab: Vocab
    labels: list[str]
    config: dict
    path: Path | None = None  # the directory it was loaded from
    # What runs the model at inference: None for the model itself; a faster stand-in (quantized, compiled,
    # ONNX Runtime) with the same (ids, mask) -> logits contract plugs in here, for every prediction path.
    forward: Forward | None = None

    @property
    def max_len(self) -> int | None:
        return self.config.get("max_len")

    @property
    def temperature(self) -> float:
        """Logits are divided by this before the softmax (1.0 unless ``textclf calibrate`` fitted one)."""
        return self.config.get("temperature", 1.0)

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

    def logits(self, texts: list[str], batch_size: int = 64) -> torch.Tensor:
        """``[len(texts), n_classes]`` logits, through the one inference seam (length-sorted batches)."""
        if isinstance(texts, str):
            raise TypeError("predict takes a list of texts; wrap a single text in a list")
        bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
        if bad is not None:
            raise TypeError(f"texts[{bad}] is a {type(texts[bad]).__name__}; expected a string")
        if not texts:
            return torch.empty(0, len(self.labels))
        return logits(self.model, self.encode(texts), batch_size=batch_size, forward=self.forward,
                      pad_index=self.vocab.pad_index)

    def predict(self, texts: list[str], batch_size: int = 64) -> list[dict[str, float]]:
        """``{label: probability}`` for each text."""
        probs = (self.logits(texts, batch_size) / self.temperature).softmax(dim=1)  # [n, n_classes]
        if not torch.isfinite(probs).all():  # would print NaN: not JSON, and not an answer
            raise ValueError(f"the model {self.path or ''} gave non-finite probabilities; is it a diverged model?")
        return [dict(zip(self.labels, map(float, row))) for row in probs]


BACKENDS = ("torch", "onnxruntime")
QUANTIZE = (None, "int8")


def load_bundle(directory: str | Path, device: str | torch.device = "cpu", *, quantize: str | None = None,
                backend: str = "torch") -> Bundle:
    """Read a bundle folder, checking every part before trusting it: config types and ranges (before anything
    is allocated), labels against the head, vocabulary against the embedding, weight names, shapes, dtypes and
    finiteness. Any problem is a ``DataError`` naming the file and the key.

    ``quantize="int8"`` and/or ``backend="onnxruntime"`` give the bundle a faster ``forward`` (CPU only;
    ``textclf bench`` measures them and their accuracy delta); ``model`` stays the fp32 network (explanations
    and transfer use it).
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; expected one of: {', '.join(BACKENDS)}")
    if quantize not in QUANTIZE:
        raise ValueError(f"unknown quantization {quantize!r}; expected int8 (or none)")
    recover_directory(directory, clean=False)  # a save killed between its renames: the old bundle comes back
    directory = require_exists(directory)
    if not directory.is_dir():
        raise DataError(directory, None, "is a file; expected a bundle folder (model.safetensors, config.json, ...)")
    config_path = directory / "config.json"
    config = read_json(config_path, "a textclf bundle config")
    model_name, model_config, labels = check_config(config, config_path)
    vocab = Vocab.load(directory / "vocab.json")
    check_vocab(vocab, model_config, directory / "vocab.json")
    weights_path = require_file(directory / "model.safetensors", "safetensors weights")
    with torch.device("meta"):  # the expected names, shapes and dtypes, without allocating anything
        expected = build_model(model_name, **model_config)[0].state_dict()
    check_weight_header(weights_path, expected, model_name)
    model, _ = build_model(model_name, **model_config)
    weights = load_file(str(weights_path))
    bad = non_finite(weights)
    if bad:
        raise DataError(weights_path, None, f"tensor {bad[0]!r} holds NaN or infinite values; expected finite weights")
    model.load_state_dict(weights)
    model.to(device).eval()
    bundle = Bundle(model, vocab, labels, config, directory)
    if quantize or backend != "torch":
        from textclf.speed.backends import fast_forward

        bundle.forward = fast_forward(model, model_name, quantize=quantize, backend=backend)
    return bundle


def key_error(path: Path, key: str, expected: str, found: object = None) -> DataError:
    shown = "" if found is None else f", found {json.dumps(found)[:80]}"
    return DataError(path, None, f"key \"{key}\": expected {expected}{shown}")


def check_config(config: dict, path: Path) -> tuple[str, dict, list[str]]:
    """The model name, its (checked) config and the labels of a bundle's ``config.json``."""
    if config.get("format") != FORMAT:
        raise key_error(path, "format", f"\"{FORMAT}\" (a textclf bundle)", config.get("format"))
    name = config.get("model")
    if not isinstance(name, str) or name not in MODELS:
        raise key_error(path, "model", "one of " + ", ".join(MODELS), name)
    options = config.get("model_config")
    if not isinstance(options, dict):
        raise key_error(path, "model_config", "an object of the model's config fields", options)
    try:
        model_config = dataclasses.asdict(build_config(name, **options))
    except (ConfigError, TypeError) as err:
        raise DataError(path, None, f"key \"model_config\": {err}") from None
    for key in MODELS[name].fixed:
        model_config.pop(key)  # build_model sets it from the name (lstm/gru: the cell)
    labels = config.get("labels")
    if (not isinstance(labels, list) or not all(isinstance(y, str) and y for y in labels)
            or len(set(labels)) != len(labels)):
        raise key_error(path, "labels", "a list of distinct, non-empty label strings", labels)
    if len(labels) != model_config["n_classes"]:
        raise key_error(path, "labels", f"{model_config['n_classes']} labels, one per output of the model's head "
                        f"(model_config.n_classes)", labels)
    if config.get("tokenizer", "basic") not in TOKENIZERS:
        raise key_error(path, "tokenizer", "one of " + ", ".join(TOKENIZERS), config.get("tokenizer"))
    max_len = config.get("max_len")
    if max_len is not None and (isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 1):
        raise key_error(path, "max_len", "a whole number >= 1, or null", max_len)
    temperature = config.get("temperature", 1.0)
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not 1e-3 <= temperature <= 1e3:
        raise key_error(path, "temperature", "a number from 0.001 to 1000 (the fitted softmax temperature)",
                        temperature)
    return name, model_config, labels


def check_vocab(vocab: Vocab, model_config: dict, path: Path) -> None:
    if len(vocab) != model_config["vocab_size"]:
        raise DataError(path, None, f"{len(vocab):,} tokens; expected {model_config['vocab_size']:,}, one per row of "
                        "the model's embedding (config.json model_config.vocab_size): truncated or another model's?")
    if "pad_index" in model_config and vocab.pad_index != model_config["pad_index"]:
        raise DataError(path, None, f"padding token at id {vocab.pad_index}; expected id "
                        f"{model_config['pad_index']} (config.json model_config.pad_index)")


def check_weight_header(path: Path, expected: dict[str, torch.Tensor], model_name: str) -> None:
    """Names, shapes and dtypes in the safetensors header against the model's, before reading any tensor."""
    try:
        with safe_open(str(path), framework="pt") as weights:
            found = {k: (tuple(weights.get_slice(k).get_shape()), weights.get_slice(k).get_dtype())
                     for k in weights.keys()}
    except Exception as err:  # safetensors raises its own error types for a damaged file
        first = (str(err).splitlines() or [type(err).__name__])[0]
        raise DataError(path, None, f"cannot read the weights ({first}); expected a safetensors file") from None
    missing, unexpected = sorted(set(expected) - set(found)), sorted(set(found) - set(expected))
    if missing or unexpected:
        raise DataError(path, None, f"tensors missing {missing[:3]}, unexpected {unexpected[:3]}; expected the "
                        f"weights of the {model_name} model config.json describes")
    for key, tensor in expected.items():
        shape, dtype = found[key]
        want_dtype = SAFETENSORS_DTYPES.get(tensor.dtype)
        if shape != tuple(tensor.shape) or dtype != want_dtype:
            raise DataError(path, None, f"tensor {key!r} is {dtype}{list(shape)}; expected "
                            f"{want_dtype}{list(tensor.shape)} as config.json describes")


SAFETENSORS_DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
                      torch.int64: "I64", torch.int32: "I32", torch.bool: "BOOL", torch.uint8: "U8"}
