"""A trained model in memory (``Bundle``), its one checked config (``BundleConfig``), and its folder.

``textclf.pipeline.train_job`` returns a ``Bundle``; ``save_bundle(bundle, DIR)`` writes it and
``load_bundle(DIR)`` reads it back, checking every part before trusting it:

    DIR/model.safetensors   the weights (safetensors: plain tensors, no pickled code)
    DIR/config.json         BundleConfig: model name + config, labels, tokenizer, max_len, temperature, the data
                            it was trained on (source and fingerprints), training setup, library versions
    DIR/vocab.json          the Vocab
    DIR/metrics.json        test_accuracy, test_f1, valid_accuracy (best epoch), the linear baseline, the epochs
    DIR/README.md           the model card (Hugging Face conventions; textclf.model_card)
    DIR/job.json, curves.png, confusion.png   the job and its figures (``Bundle.files``, from the pipeline)
    DIR/model.onnx, model.pt2   portable exports, once ``textclf export`` wrote them (textclf.graphs.write)

An *adapter-only* bundle (``textclf train --finetune lora --adapter-only``) holds in ``model.safetensors`` only
what LoRA trained (the adapters and the head) and in ``config.json`` an ``adapter`` record: the base weights'
name (``minilm``, or the ``--init-from`` bundle's path) and fingerprint. ``load_bundle`` rebuilds the base,
refuses it if its fingerprint differs, and folds the adapters in: the same model as the merged bundle.

The folder is written all-or-nothing (built beside the target, then swapped in), so a crash at
any point leaves either the previous bundle or the new one, complete. Nobody else reads
``config.json``: what callers need of it is a field of ``BundleConfig`` or a method of ``Bundle``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from textclf.batching import EncodedDataset, encode_text, text_tokens
from textclf.checkpoint import non_finite
from textclf.config import ConfigError, check_float, check_int, fail
from textclf.data import BUNDLED, DataError, Example, TextDataset
from textclf.data.datasets import load_source
from textclf.devices import choose_precision, pick_device
from textclf.errors import DataFileNotFoundError
from textclf.files import (
    atomic_directory,
    atomic_write_text,
    check_output,
    current_umask,
    read_json,
    recover_directory,
    require_exists,
    require_file,
)
from textclf.inference import Evaluation, Forward, evaluate, logits
from textclf.model_card import model_card
from textclf.models import MODELS, ClassifierNet, build_config, build_model
from textclf.models.lora import adapter_tensors, apply_adapters, base_state, embedding_key, weights_fingerprint
from textclf.text import TOKENIZERS, Vocab, make_tokenizer
from textclf.text_checks import check_texts
from textclf.versions import versions

FORMAT = "textclf-bundle"
# config.json's format version; a later format reads the earlier ones (tests/data/bundle_v1). 2 added
# vocab_fingerprint (a version-1 bundle has none: its vocabulary's order cannot be checked); 3 the adapter
# record of an adapter-only bundle (only those are written as version 3: every other bundle stays readable by
# a textclf that knows version 2).
VERSION = 3

# Files a bundle folder owns: written together, replaced together. Anything else a learner keeps in
# the folder (a report, notes) is carried over when the bundle is rewritten.
BUNDLE_FILES = ("model.safetensors", "config.json", "vocab.json", "metrics.json", "job.json", "curves.png",
                "confusion.png", "README.md", "model.onnx", "model.pt2", "int8.json")  # README.md: the model card
TRAINING_FILES = ("checkpoint.pt", "checkpoint.vocab.json")


def learners_file(name: str) -> bool:
    return name not in BUNDLE_FILES and name not in TRAINING_FILES and not name.startswith(".")


def holds_bundle(folder: str | Path) -> bool:
    """Whether ``folder`` holds a bundle (its weights and its config)."""
    folder = Path(folder)
    return (folder / "model.safetensors").is_file() and (folder / "config.json").is_file()


def check_bundle_out(out: str | Path, reads: Iterable[str | Path] = ()) -> Path:
    """``out`` if a new bundle may be written there, checked before any work: a new path or a folder (an
    earlier bundle of its own is replaced), never a file, and never a bundle the command ``reads`` (a
    teacher, an ``--init-from`` source), a folder inside one or a folder holding one, links resolved."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise DataError(out, None, "exists and is not a folder; expected a bundle folder (new or earlier) to write")
    target = out.resolve()
    for source in reads:
        kept = Path(source).resolve()
        if target == kept or kept in target.parents or target in kept.parents:
            raise DataError(out, None, f"is (or holds, or lies inside) the bundle {source} that this command reads; "
                            "writing the new bundle there would destroy it. Expected another --out folder")
    return out


@dataclass
class DataRecord:
    """Where a bundle's training data came from: ``load_dataset``'s options (None for data made in Python)
    and a fingerprint of each split, so the same test split can be scored again and a changed file refused."""

    source: dict | None
    fingerprints: dict[str, str]

    def __post_init__(self) -> None:
        if self.source is not None and not (isinstance(self.source, dict) and "name_or_path" in self.source):
            raise ConfigError(f"DataRecord.source = {self.source!r}: expected the reading options textclf train "
                              "records (name_or_path, format, ...) or null")
        if not (isinstance(self.fingerprints, dict) and all(isinstance(v, str) for v in self.fingerprints.values())):
            raise ConfigError(f"DataRecord.fingerprints = {self.fingerprints!r}: expected a fingerprint per split")


@dataclass
class AdapterRecord:
    """What an adapter-only bundle was trained beside: the base weights, named and fingerprinted, and the
    adapters' shape (``textclf.models.lora``)."""

    base: str              # a pretrained model's name (minilm), or the absolute path of the --init-from bundle
    fingerprint: str       # lora.weights_fingerprint of the base's weights below its head
    base_vocab_size: int   # rows of the base's embedding (more in the model: the new words' rows ship too)
    rank: int
    alpha: float
    layers: list[str]      # the wrapped Linear layers' full names

    def __post_init__(self) -> None:
        if not (isinstance(self.base, str) and self.base):
            fail(self, "base", "a pretrained model's name or a bundle folder's path")
        if not (isinstance(self.fingerprint, str) and len(self.fingerprint) == 16):
            fail(self, "fingerprint", "the 16 hex digits of the base weights' fingerprint")
        check_int(self, "base_vocab_size", 1)
        check_int(self, "rank", 1, 4096)
        check_float(self, "alpha", 0.0, 1e6, low_open=True)
        if not (isinstance(self.layers, list) and self.layers and all(isinstance(n, str) and n for n in self.layers)):
            fail(self, "layers", "a non-empty list of the wrapped layers' names")

    @property
    def scale(self) -> float:
        return self.alpha / self.rank

    def expected(self, grown: bool) -> list[str]:
        """The names ``model.safetensors`` holds: each layer's A and B, the head, the new words' rows if any."""
        return [*(f"{layer}.lora_{m}" for layer in self.layers for m in "AB"), "out.weight", "out.bias",
                *(["embedding.added_rows"] if grown else [])]


@dataclass
class BundleConfig:
    """``config.json``: everything needed to rebuild the model and turn raw text into its input."""

    model: str
    model_config: dict                 # the model's config fields (its config dataclass, as a dict)
    labels: list[str]
    tokenizer: str = "basic"
    max_len: int | None = None         # tokens kept per text
    temperature: float | None = None   # softmax temperature fitted by ``textclf calibrate`` (None: not fitted)
    dataset: str | None = None         # the dataset's name
    data: DataRecord | None = None
    embeddings: str | None = None      # how the embeddings started (glove, random, ...)
    train_config: dict | None = None   # the TrainConfig it was trained with
    versions: str | None = None        # the library versions that wrote it
    vocab_fingerprint: str | None = None  # Vocab.fingerprint() of vocab.json: the token order the weights expect
    adapter: AdapterRecord | None = None  # an adapter-only bundle: the base its adapters fold into
    format: str = FORMAT
    version: int = VERSION

    def __post_init__(self) -> None:
        if isinstance(self.data, dict):
            self.data = DataRecord(**self.data)
        if isinstance(self.adapter, dict):
            self.adapter = AdapterRecord(**self.adapter)
        problem = self.problem()
        if problem:
            key, expected, found = problem
            raise ConfigError(f"BundleConfig.{key} = {found!r}: expected {expected}")

    def problem(self) -> tuple[str, str, object] | None:
        """The first field out of range as ``(key, expected, found)``, or None."""
        if self.format != FORMAT:
            return "format", f"\"{FORMAT}\" (a textclf bundle)", self.format
        if isinstance(self.version, bool) or not isinstance(self.version, int) or not 1 <= self.version <= VERSION:
            return "version", f"a format version from 1 to {VERSION} (a newer textclf wrote it?)", self.version
        if not isinstance(self.model, str) or self.model not in MODELS:
            return "model", "one of " + ", ".join(MODELS), self.model
        if not isinstance(self.model_config, dict):
            return "model_config", "an object of the model's config fields", self.model_config
        labels = self.labels
        if (not isinstance(labels, list) or not all(isinstance(y, str) and y for y in labels)
                or len(set(labels)) != len(labels)):
            return "labels", "a list of distinct, non-empty label strings", labels
        if self.tokenizer not in TOKENIZERS:
            return "tokenizer", "one of " + ", ".join(TOKENIZERS), self.tokenizer
        max_len = self.max_len
        if max_len is not None and (isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 1):
            return "max_len", "a whole number >= 1, or null", max_len
        t = self.temperature
        if t is not None and (isinstance(t, bool) or not isinstance(t, (int, float)) or not 1e-3 <= t <= 1e3):
            return "temperature", "a number from 0.001 to 1000 (the fitted softmax temperature)", t
        for key in ("dataset", "embeddings", "versions", "vocab_fingerprint"):
            if getattr(self, key) is not None and not isinstance(getattr(self, key), str):
                return key, "a string or null", getattr(self, key)
        if self.train_config is not None and not isinstance(self.train_config, dict):
            return "train_config", "an object of TrainConfig fields, or null", self.train_config
        return None

    def net_config(self):
        """The model's checked config dataclass (raises ``ConfigError``)."""
        return build_config(self.model, **self.model_config)

    def to_json(self) -> str:
        values = dataclasses.asdict(self)
        for key in ("temperature", "vocab_fingerprint", "adapter"):
            if values[key] is None:
                values.pop(key)  # as before: a bundle not calibrated has no temperature key
        return json.dumps(values, indent=2)

    @classmethod
    def from_json(cls, values: dict, path: Path) -> BundleConfig:
        """The checked config of ``values`` (``config.json`` read from ``path``); any problem is a ``DataError``
        naming the file and the key, before anything is allocated."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise key_error(path, unknown[0], "one of the BundleConfig fields " + ", ".join(sorted(known)))
        required = ("format", "model", "model_config", "labels")
        values = {**{k: None for k in required}, **values}
        config = cls.__new__(cls)
        for f in dataclasses.fields(cls):
            default = f.default if f.default is not dataclasses.MISSING else None
            setattr(config, f.name, values.get(f.name, default))
        problem = config.problem()
        if problem:
            raise key_error(path, *problem)
        try:
            checked = config.net_config()
        except (ConfigError, TypeError) as err:
            raise DataError(path, None, f"key \"model_config\": {err}") from None
        config.data = record_of(values, "data", DataRecord, path,
                                "the source and fingerprints textclf train writes, or null")
        config.adapter = record_of(values, "adapter", AdapterRecord, path,
                                   "the base and adapters textclf train --adapter-only writes, or null")
        if len(labels := config.labels) != checked.n_classes:
            raise key_error(path, "labels", f"{checked.n_classes} labels, one per output of the model's head "
                            f"(model_config.n_classes)", labels)
        return config


def record_of(values: dict, key: str, record_class: type, path: Path, expected: str):
    """``values[key]`` as a checked ``record_class`` (or None); a problem is a ``DataError`` naming the key."""
    record = values.get(key)
    try:
        made = record_class(**record) if isinstance(record, dict) else record
    except (ConfigError, TypeError) as err:
        raise DataError(path, None, f"key \"{key}\": {err}") from None
    if made is not None and not isinstance(made, record_class):
        raise key_error(path, key, expected, made)
    return made


def key_error(path: Path, key: str, expected: str, found: object = None) -> DataError:
    shown = "" if found is None else f", found {json.dumps(found, default=str)[:80]}"
    return DataError(path, None, f"key \"{key}\": expected {expected}{shown}")


@dataclass
class Bundle:
    """A trained model with everything needed to turn raw text into label probabilities, in memory."""

    model: ClassifierNet
    vocab: Vocab
    config: BundleConfig
    metrics: dict | None = None  # metrics.json: test and valid figures, the baseline, the history of epochs
    path: Path | None = None     # the folder it was loaded from or last saved to
    # What runs the model at inference: None for the model itself; a faster stand-in (quantized, compiled,
    # ONNX Runtime: ``textclf.speed.backends``) with the same (ids, mask) -> logits contract plugs in here.
    forward: Forward | None = None
    # more files written beside the bundle's own (job.json, the training figures), name -> bytes
    files: dict[str, bytes] = field(default_factory=dict)
    # the weights file as it was read (device, inode, size, mtime): ``check_unchanged`` notices a replaced bundle
    stamp: tuple | None = None
    # the arithmetic of prediction: fp32, or bf16/fp16 under torch.autocast (``to``, ``load_bundle``)
    precision: str = "fp32"
    # a LoRA model's adapters apart from its base: what ``save_bundle(..., adapter_only=True)`` writes
    adapter: tuple[AdapterRecord, dict[str, torch.Tensor]] | None = None

    @classmethod
    def of(cls, model: ClassifierNet, name: str, vocab: Vocab, labels: list[str], *, tokenizer: str = "basic",
           max_len: int | None = 400, metrics: dict | None = None, files: dict | None = None, **config) -> Bundle:
        """A bundle around a model trained by hand (a lesson's): its config made from the model's own;
        ``config``: more ``BundleConfig`` fields (dataset, temperature, ...)."""
        return cls(model, vocab, BundleConfig(name, dataclasses.asdict(model.config), list(labels),
                                              tokenizer=tokenizer, max_len=max_len, **config), metrics,
                   files=dict(files or {}))

    @property
    def labels(self) -> list[str]:
        return self.config.labels

    @property
    def model_name(self) -> str:
        return self.config.model

    @property
    def max_len(self) -> int | None:
        return self.config.max_len

    @property
    def temperature(self) -> float:
        """Logits are divided by this before the softmax (1.0 unless ``textclf calibrate`` fitted one)."""
        return self.config.temperature or 1.0

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def trained_precision(self) -> str:
        """The arithmetic it was trained in (fp32 for a bundle from before precision was recorded)."""
        return (self.config.train_config or {}).get("precision") or "fp32"

    def to(self, device: str | torch.device = "auto", precision: str | None = None) -> Bundle:
        """Move the model to ``device`` (``auto``/cpu/cuda[:N]/mps, decided by ``textclf.devices.pick_device``)
        and predict in ``precision`` from now on (``auto``: bf16 where that device is fast at it; None: keep).
        A faster stand-in ``forward`` (int8, ONNX Runtime) runs on the CPU only: moving it elsewhere is refused."""
        device = device if isinstance(device, torch.device) else pick_device(str(device))
        if self.forward is not None and device.type != "cpu":
            raise ValueError(f"this bundle runs through a CPU-only backend (int8 or ONNX Runtime); it cannot move "
                             f"to {device}: load it again without --quantize/--backend, or use --device cpu")
        self.model.to(device)
        if precision is not None:
            self.precision = choose_precision(precision, device)[0]
        return self

    @cached_property
    def tokenizer(self):
        return make_tokenizer(self.config.tokenizer, self.vocab)

    def tokens(self, text: str) -> list[str]:
        """The tokens of ``text`` the model sees (before ids)."""
        return text_tokens(text, self.vocab, self.tokenizer, self.max_len)

    def encode(self, texts: list[str]) -> list[torch.Tensor]:
        return [encode_text(t, self.vocab, self.tokenizer, self.max_len) for t in texts]

    def check_labels(self, examples: list[Example]) -> None:
        """Refuse examples with a label the model does not have (another dataset's, say), naming both sets: every
        command that scores or marks texts right/wrong asks this first."""
        unknown = sorted({ex.label for ex in examples} - set(self.labels))
        if unknown:
            raise ValueError(f"labels {', '.join(map(repr, unknown[:5]))} are not this model's ("
                             f"{', '.join(map(repr, self.labels))}); expected data with the labels it was trained on")

    def dataset(self, examples: list[Example]) -> EncodedDataset:
        """Labelled examples encoded exactly as in training: this bundle's tokenizer, vocabulary and ``max_len``.
        A label the model does not have is an error naming it (``check_labels``)."""
        self.check_labels(examples)
        return EncodedDataset.from_examples(examples, self.vocab, self.labels, self.tokenizer, self.max_len)

    def logits(self, texts: list[str], batch_size: int = 64) -> torch.Tensor:
        """``[len(texts), n_classes]`` logits, through the one inference seam (length-sorted batches)."""
        texts = check_texts(texts)  # one rule everywhere: strings, not blank, valid Unicode
        if not texts:
            return torch.empty(0, len(self.labels))
        return logits(self.model, self.encode(texts), batch_size=batch_size, forward=self.forward,
                      pad_index=self.vocab.pad_index, precision=self.precision)

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """``softmax(logits / temperature)``: ``[n, n_classes]``, the calibrated probabilities."""
        return (logits / self.temperature).softmax(dim=-1)

    def predict(self, texts: list[str], batch_size: int = 64) -> list[dict[str, float]]:
        """``{label: probability}`` for each text."""
        probs = self.probabilities(self.logits(texts, batch_size))  # [n, n_classes]
        if not torch.isfinite(probs).all():  # would print NaN: not JSON, and not an answer
            raise ValueError(f"the model {self.path or ''} gave non-finite probabilities; is it a diverged model?")
        return [dict(zip(self.labels, map(float, row))) for row in probs]

    def evaluate(self, examples: list[Example], batch_size: int = 64, split: str = "the") -> Evaluation:
        """Loss, accuracy, F1 and (temperature-scaled) probabilities on labelled examples, through ``forward``."""
        if not examples:
            raise ValueError(f"{split} split is empty; expected labelled texts to score")
        return evaluate(self.model, self.dataset(examples), batch_size, len(self.labels), forward=self.forward,
                        temperature=self.temperature, precision=self.precision)

    @property
    def history(self) -> list[dict]:
        """The epochs it was trained for (train/valid loss, valid accuracy and F1, seconds), from its metrics."""
        return list((self.metrics or {}).get("history") or [])

    def recorded_dataset(self, split: str = "test") -> TextDataset:
        """The dataset this bundle was trained on, loaded from the source its config records (an absolute path
        and the reading options), with ``split`` checked against the recorded fingerprint."""
        where = self.path / "config.json" if self.path else "config.json"
        record = self.config.data
        if record is None:  # a bundle from before sources were recorded: only a bundled dataset's name is safe
            if self.config.dataset in BUNDLED:
                return load_source({"name_or_path": self.config.dataset})
            raise DataError(where, None, "the bundle does not record where its training data is; pass --dataset")
        if record.source is None:
            raise DataError(where, None, "the bundle was trained on data made in Python, not read from a file; "
                            "pass --dataset")
        if split not in record.fingerprints:
            raise DataError(where, None, f"key \"data\": no fingerprint of the {split} split; expected the source "
                            "and fingerprints textclf train writes (or pass --dataset)")
        ds = load_source(record.source)
        if ds.fingerprints()[split] != record.fingerprints[split]:
            raise DataError(record.source["name_or_path"], None, f"the {split} split is not the one this bundle was "
                            "trained with (the file changed since); pass --dataset to score it anyway")
        return ds

    def check_output(self, path: str | Path, own: str | None = None, what: str = "output") -> Path:
        """``path`` if a command reading this bundle may write there: not onto one of the bundle's own files
        (``own``: the one file the command is there to write, e.g. ``model.onnx``), nor into another bundle's
        folder, symbolic links resolved, and only a new path or a regular file (``textclf.files.check_output``)."""
        names = [n for n in (*BUNDLE_FILES, *TRAINING_FILES) if n != own]
        checked = check_output(path, [self.path / n for n in names] if self.path else [], what)
        folder = checked.resolve().parent
        if holds_bundle(folder) and (self.path is None or folder != Path(self.path).resolve()):
            raise DataError(path, None, f"is inside the bundle folder {folder}; writing the {what} there could "
                            "destroy that bundle. Expected a path outside any other bundle's folder")
        return checked

    def check_unchanged(self) -> None:
        """Refuse (``DataError``) if the folder this bundle was read from now holds other weights (retrained,
        replaced, removed): what was computed from this bundle must not be written beside them."""
        if self.path is None or self.stamp is None:
            return
        if weights_stamp(self.path) != self.stamp:
            raise DataError(self.path, None, "the bundle changed on disk while this command ran (retrained, "
                            "replaced or removed); nothing written. Run the command again")

    def set_temperature(self, temperature: float) -> None:
        """Divide logits by ``temperature`` from now on (checked); ``save_config`` writes it to the folder."""
        self.config = dataclasses.replace(self.config, temperature=float(temperature))

    def save_config(self) -> Path:
        """Rewrite this bundle's ``config.json`` (and its model card) in the folder it came from, atomically."""
        if self.path is None:
            raise ValueError("this bundle has no folder yet; save it with save_bundle(bundle, DIR)")
        atomic_write_text(self.path / "config.json", self.config.to_json())
        atomic_write_text(self.path / "README.md", model_card(self.config, self.metrics or {}))
        return self.path / "config.json"


def save_bundle(bundle: Bundle, out: str | Path, adapter_only: bool = False) -> Path:
    """Write ``bundle`` to the folder ``out`` all-or-nothing: every file goes into a new folder beside ``out``,
    which then replaces it (``textclf.files.atomic_directory``). The model card, ``README.md``, is written
    from the same config and metrics. ``bundle.path`` becomes ``out``. ``adapter_only``: the weights file
    holds only a LoRA model's adapters and head, and ``config.json`` the base they fold into."""
    out = Path(out)
    if adapter_only and bundle.adapter is None:
        raise ValueError("only a model fine-tuned with --finetune lora has adapters to write on their own")
    record, adapters = bundle.adapter if adapter_only else (None, None)
    weights = {k: v.detach().cpu().contiguous() for k, v in (adapters or bundle.model.state_dict()).items()}
    config = dataclasses.replace(bundle.config, versions=versions(), vocab_fingerprint=bundle.vocab.fingerprint(),
                                 adapter=record, version=VERSION if adapter_only else 2)
    texts = {"config.json": config.to_json(),
             "vocab.json": bundle.vocab.to_json(),
             **({"metrics.json": json.dumps(strict_json(bundle.metrics), indent=2, allow_nan=False)}
                if bundle.metrics is not None else {}),
             "README.md": model_card(config, bundle.metrics or {}),  # from the same config.json and metrics.json
             **bundle.files}
    with atomic_directory(out, keep=learners_file) as tmp:
        write_file(tmp / "model.safetensors", lambda path: save_file(weights, str(path)))
        for name, content in texts.items():
            data = content if isinstance(content, bytes) else content.encode("utf-8")
            write_file(tmp / name, lambda path, data=data: path.write_bytes(data))
    bundle.config, bundle.path, bundle.stamp = config, out, weights_stamp(out)
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


def weights_stamp(directory: Path) -> tuple | None:
    """Device, inode, size and modification time of ``DIR/model.safetensors`` (None if it is gone)."""
    try:
        info = (directory / "model.safetensors").stat()
    except OSError:
        return None
    return info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns


def load_bundle(directory: str | Path, device: str | torch.device = "auto", precision: str = "fp32") -> Bundle:
    """Read a bundle folder, checking every part before trusting it: config types and ranges (before anything
    is allocated), labels against the head, vocabulary against the embedding, weight names, shapes, dtypes and
    finiteness. Any problem is a ``DataError`` naming the file and the key.

    ``device``: where the model goes (``auto``: a GPU where there is one; ``textclf.devices.pick_device``);
    ``precision``: how it predicts (fp32, bf16, fp16, or ``auto``: bf16 where the device is fast at it).

    A faster stand-in for the model (int8, ONNX Runtime) is ``textclf.speed.backends.with_backend(bundle, ...)``;
    ``model`` stays the fp32 network (explanations and transfer use it).
    """
    recover_directory(directory, clean=False)  # a save killed between its renames: the old bundle comes back
    if not Path(directory).exists():
        raise DataFileNotFoundError(directory, None, "no such bundle folder; expected one that `textclf train --out "
                                    "DIR` wrote "
                                    "(train one first, e.g. `textclf train` writes runs/model)")
    directory = require_exists(directory)
    if not directory.is_dir():
        raise DataError(directory, None, "is a file; expected a bundle folder (model.safetensors, config.json, ...)")
    if not (directory / "config.json").exists() and not (directory / "model.safetensors").exists():
        inside = sorted(str(d) for d in directory.iterdir() if d.is_dir() and holds_bundle(d))[:3]
        raise DataError(directory, None, "is a folder but not a bundle (no config.json, no model.safetensors)"
                        + (f"; the bundles in it: {', '.join(inside)}" if inside else
                           "; expected a folder that `textclf train --out DIR` wrote"))
    config_path = directory / "config.json"
    config = BundleConfig.from_json(read_json(config_path, "a textclf bundle config"), config_path)
    net_config = dataclasses.asdict(config.net_config())
    vocab = Vocab.load(directory / "vocab.json")
    check_vocab(vocab, net_config, directory / "vocab.json", config.vocab_fingerprint)
    weights_path = require_file(directory / "model.safetensors", "safetensors weights")
    stamp = weights_stamp(directory)
    with torch.device("meta"):  # the expected names, shapes and dtypes, without allocating anything
        expected = build_model(config.model, **net_config)[0].state_dict()
    if config.adapter is None:
        check_weight_header(weights_path, expected, config.model)
    model, _ = build_model(config.model, **net_config)
    weights = load_file(str(weights_path)) if config.adapter is None else None
    adapters = None
    if config.adapter is not None:  # only the adapters and the head: fold them into the base they name
        embedding = embedding_key(model)
        adapters = adapter_weights(config, weights_path, expected, net_config["vocab_size"], embedding)
        weights = apply_adapters(base_weights(config, config_path), adapters, config.adapter.layers,
                                 config.adapter.scale, embedding)
    bad = non_finite(weights)
    if bad:
        raise DataError(weights_path, None, f"tensor {bad[0]!r} holds NaN or infinite values; expected finite weights")
    model.load_state_dict(weights)
    model.eval()
    metrics_path = directory / "metrics.json"
    metrics = read_json(metrics_path, "the bundle's metrics") if metrics_path.is_file() else None
    return Bundle(model, vocab, config, metrics, directory, stamp=stamp,
                  adapter=(config.adapter, adapters) if adapters else None).to(device, precision)


def adapter_record(model: ClassifierNet, base: str, base_rows: int, rank: int, alpha: float,
                   layers: list[str]) -> tuple[AdapterRecord, dict[str, torch.Tensor]]:
    """A LoRA model's adapters apart from its base (before ``merge_lora``), for an adapter-only bundle."""
    fingerprint = weights_fingerprint(base_state(model, base_rows))
    return (AdapterRecord(base, fingerprint, base_rows, rank, float(alpha), list(layers)),
            adapter_tensors(model, base_rows))


def base_weights(config: BundleConfig, path: Path) -> dict[str, torch.Tensor]:
    """The base weights an adapter-only bundle names (a pretrained model's, or a bundle's), head left out,
    checked against the recorded fingerprint: a ``DataError`` naming ``config.json`` if they differ."""
    record = config.adapter
    spec = MODELS.get(record.base)
    try:
        base = (spec.pretrained(len(config.labels), 0) if spec is not None and spec.pretrained is not None
                else load_bundle(record.base, device="cpu").model)
    except (ModuleNotFoundError, FileNotFoundError, DataError) as err:
        raise DataError(path, None, f"key \"adapter\": its base {record.base} cannot be loaded ({err}); an "
                        "adapter-only bundle needs the base weights it was trained beside") from None
    state = base_state(base, record.base_vocab_size)
    if weights_fingerprint(state) != record.fingerprint:
        raise DataError(path, None, f"key \"adapter\": the base {record.base} now holds other weights (fingerprint "
                        f"{weights_fingerprint(state)}, the adapters were trained beside {record.fingerprint}); "
                        "expected the same base weights (or ship the merged bundle: train without --adapter-only)")
    return state


def adapter_weights(config: BundleConfig, path: Path, expected: dict[str, torch.Tensor], vocab_size: int,
                    embedding: str) -> dict[str, torch.Tensor]:
    """An adapter-only bundle's tensors, their names and shapes checked against the model ``config.json``
    describes (``expected``: its state on the meta device)."""
    record = config.adapter
    names = record.expected(vocab_size > record.base_vocab_size)
    try:
        weights = load_file(str(path))
    except Exception as err:  # safetensors raises its own error types for a damaged file
        raise unreadable(path, err, "the adapters") from None
    check_names(path, names, weights, "the adapters and head config.json's adapter record describes")
    unknown = [layer for layer in record.layers if f"{layer}.weight" not in expected]
    if unknown:
        raise DataError(path.parent / "config.json", None, f"key \"adapter\": no Linear layer {unknown[0]!r} in the "
                        f"{config.model} model config.json describes")
    if "embedding.added_rows" in weights:
        rows = (vocab_size - record.base_vocab_size, expected[embedding].shape[1])
        if tuple(weights["embedding.added_rows"].shape) != rows:
            found = list(weights["embedding.added_rows"].shape)
            raise DataError(path, None, f"tensor 'embedding.added_rows' is {found}; expected {list(rows)} (the new "
                            "words' rows: vocabulary size minus the base's)")
    for layer in record.layers:
        out_features, in_features = expected[f"{layer}.weight"].shape
        shapes = {"A": (record.rank, in_features), "B": (out_features, record.rank)}
        for m, shape in shapes.items():
            if tuple(weights[f"{layer}.lora_{m}"].shape) != shape:
                raise DataError(path, None, f"tensor '{layer}.lora_{m}' is {list(weights[f'{layer}.lora_{m}'].shape)}; "
                                f"expected {list(shape)} (rank {record.rank})")
    for name in ("out.weight", "out.bias"):
        if tuple(weights[name].shape) != tuple(expected[name].shape):
            raise DataError(path, None, f"tensor {name!r} is {list(weights[name].shape)}; expected "
                            f"{list(expected[name].shape)} as config.json describes")
    return weights


def check_vocab(vocab: Vocab, model_config: dict, path: Path, fingerprint: str | None = None) -> None:
    if len(vocab) != model_config["vocab_size"]:
        raise DataError(path, None, f"{len(vocab):,} tokens; expected {model_config['vocab_size']:,}, one per row of "
                        "the model's embedding (config.json model_config.vocab_size): truncated or another model's?")
    if fingerprint is not None and vocab.fingerprint() != fingerprint:
        raise DataError(path, None, f"the tokens are not in the order the weights were trained with (fingerprint "
                        f"{vocab.fingerprint()}, config.json records {fingerprint}): a shuffled or another model's "
                        "vocabulary?")
    if "pad_index" in model_config and vocab.pad_index != model_config["pad_index"]:
        raise DataError(path, None, f"padding token at id {vocab.pad_index}; expected id "
                        f"{model_config['pad_index']} (config.json model_config.pad_index)")


def unreadable(path: Path, err: Exception, what: str) -> DataError:
    first = (str(err).splitlines() or [type(err).__name__])[0]
    return DataError(path, None, f"cannot read {what} ({first}); expected a safetensors file")


def check_names(path: Path, expected, found, what: str) -> None:
    """The tensor names in a weights file against the expected ones, the first few of each difference named."""
    missing, unexpected = sorted(set(expected) - set(found)), sorted(set(found) - set(expected))
    if missing or unexpected:
        raise DataError(path, None, f"tensors missing {missing[:3]}, unexpected {unexpected[:3]}; expected {what}")


def check_weight_header(path: Path, expected: dict[str, torch.Tensor], model_name: str) -> None:
    """Names, shapes and dtypes in the safetensors header against the model's, before reading any tensor."""
    try:
        with safe_open(str(path), framework="pt") as weights:
            found = {k: (tuple(weights.get_slice(k).get_shape()), weights.get_slice(k).get_dtype())
                     for k in weights.keys()}
    except Exception as err:  # safetensors raises its own error types for a damaged file
        raise unreadable(path, err, "the weights") from None
    check_names(path, expected, found, f"the weights of the {model_name} model config.json describes")
    for key, tensor in expected.items():
        shape, dtype = found[key]
        want_dtype = SAFETENSORS_DTYPES.get(tensor.dtype)
        if shape != tuple(tensor.shape) or dtype != want_dtype:
            raise DataError(path, None, f"tensor {key!r} is {dtype}{list(shape)}; expected "
                            f"{want_dtype}{list(tensor.shape)} as config.json describes")


SAFETENSORS_DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
                      torch.int64: "I64", torch.int32: "I32", torch.bool: "BOOL", torch.uint8: "U8"}
