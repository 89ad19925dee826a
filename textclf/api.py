"""``TextClassifier``: the whole library in a few lines.

    from textclf import TextClassifier
    clf = TextClassifier("minilm").finetune(texts, labels, epochs=2)
    clf("a gripping, beautifully acted film")   # {"negative": 0.03, "positive": 0.97}
    clf.save("runs/mine");  clf = TextClassifier.load("runs/mine")

Under the hood: ``job_for`` and ``train_job`` (the same as ``textclf train``) on a
``TextDataset`` made from the lists, giving a ``Bundle`` in memory on the device it trained
on; ``Bundle.predict``; ``save_bundle``/``load_bundle``.
``batch_size=None`` measures how much memory a batch needs and takes the
largest that fits (``textclf.batch_size.find_batch_size``), up to 256 on a GPU
and 64 on a CPU (where bigger batches are not faster), and small enough for
~8 steps an epoch.

Honest figures: the held-out split that picks the best epoch (``valid=``, or 10%
of the lists) is scored as ``metrics["valid_accuracy"]`` — optimistic, since it
chose the epoch. ``metrics["test_accuracy"]`` exists only when ``test=(texts,
labels)`` is given: texts that played no part in training or in choosing it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from textclf.batch_size import find_batch_size
from textclf.bundle import Bundle, load_bundle, save_bundle
from textclf.data import Example, TextDataset
from textclf.data.splits import stratified_split
from textclf.devices import choose_precision, pick_device
from textclf.finetune import LoRAOptions
from textclf.models import MODELS, check_options
from textclf.pipeline import Runtime, job_for, recipe, train_job
from textclf.text_checks import check_texts, text_problem
from textclf.train_config import check_max_len


def list_models() -> list[str]:
    """Model names ``TextClassifier`` and ``textclf train --model`` accept."""
    return list(MODELS)


def check_lists(texts: Sequence[str], labels: Sequence[str], what: str = "") -> None:
    """Texts are non-empty strings, labels non-empty strings (``1`` and ``1.0`` would be one class or two)."""
    if isinstance(texts, str) or isinstance(labels, str):
        raise ValueError(f"{what}texts and labels must be lists (of strings), not a single string")
    if len(texts) != len(labels):
        raise ValueError(f"{what}{len(texts)} texts but {len(labels)} labels")
    for i, (text, label) in enumerate(zip(texts, labels)):
        if problem := text_problem(text):  # the one rule for texts (a string, not blank, valid Unicode)
            raise ValueError(f"{what}texts[{i}] {problem}")
        if not isinstance(label, str) or not label.strip():
            raise ValueError(f"{what}labels[{i}] = {label!r:.60}: expected a non-empty string "
                             "(write numeric labels as strings, e.g. '1')")


def held_out_pair(pair: tuple | None, labels: Sequence[str], what: str) -> list[Example] | None:
    """``valid=``/``test=``: a checked pair (texts, labels) as examples, or None."""
    if pair is None:
        return None
    if len(pair) != 2:
        raise ValueError(f"{what}: expected a pair (texts, labels)")
    check_lists(*pair, what=f"{what}: ")
    unknown = sorted(set(pair[1]) - set(labels))
    if unknown:
        raise ValueError(f"{what}: labels {unknown} do not occur in the training labels")
    return [Example(t, y) for t, y in zip(*pair)]


def dataset_from_lists(texts: Sequence[str], labels: Sequence[str], valid: tuple | None, seed: int,
                       test: tuple | None = None) -> TextDataset:
    """Train on the lists; pick the epoch on ``valid`` (else a stratified 10% of the lists); score ``test``
    (else nothing: the test split stays empty rather than reusing the split that chose the epoch)."""
    check_lists(texts, labels)
    held_out, tested = held_out_pair(valid, labels, "valid"), held_out_pair(test, labels, "test")
    names = sorted(set(labels))
    if len(names) < 2:
        raise ValueError("fine-tuning needs at least two different labels")
    examples = [Example(t, y) for t, y in zip(texts, labels)]
    train = examples
    if held_out is None:  # hold out 10% (stratified) to pick the best epoch
        splits = stratified_split(list(labels), valid_fraction=0.1, test_fraction=0.0, seed=seed)
        train = [ex for ex, s in zip(examples, splits) if s == "train"]
        held_out = [ex for ex, s in zip(examples, splits) if s != "train"]
    return TextDataset("texts", names, train, held_out, tested or [])


class TextClassifier:
    """A text classifier in a few lines: pick a model, fine-tune on lists, call it, save it, load it."""

    def __init__(self, model: str = "minilm", *, device: str | torch.device = "auto", precision: str = "fp32",
                 max_len: int | None = None, **options):
        if model not in MODELS:
            raise ValueError(f"unknown model {model!r}; expected one of: {', '.join(list_models())}")
        check_options(model, options)  # a misspelt option fails here, not after the data is prepared
        self.model_name, self.options = model, options
        self.device = pick_device(str(device))  # decided once: training and prediction run here
        self.precision = choose_precision(precision, self.device)[0]  # auto: bf16 where the device is fast at it
        self.max_len = recipe(model).max_len if max_len is None else max_len  # 0 is checked, not "not given"
        check_max_len(self)
        self.bundle: Bundle | None = None

    @property
    def metrics(self) -> dict | None:
        return self.bundle.metrics if self.bundle else None

    def finetune(self, texts: Sequence[str], labels: Sequence[str], *, epochs: int = 3,
                 batch_size: int | None = None, lr: float | None = None, mode: str = "full",
                 lora: LoRAOptions | None = None,
                 valid: tuple[Sequence[str], Sequence[str]] | None = None,
                 test: tuple[Sequence[str], Sequence[str]] | None = None, seed: int = 0,
                 progress: bool = False) -> TextClassifier:
        """Train on ``texts``/``labels`` (10% held out for the best epoch unless ``valid=(texts, labels)``);
        ``test=(texts, labels)``: also score texts that took no part (``metrics["test_accuracy"]``). ``mode``:
        ``full``, ``head``, ``last-k`` or ``lora`` (low-rank adapters, ``lora``'s rank/alpha/targets; merged into
        the weights when training ends)."""
        ds = dataset_from_lists(texts, labels, valid, seed, test)
        job = job_for(self.model_name, epochs=epochs, batch_size=batch_size, lr=lr, patience=max(2, epochs),
                      seed=seed, device=str(self.device), precision=self.precision, progress=progress,
                      max_len=self.max_len, min_freq=1,
                      model_options=self.options, finetune=mode, lora=lora)
        sizing = None if batch_size is not None else self.largest_batch(len(ds.train), job.max_len)
        run = Runtime(device=self.device, require_test=False, batch_size_for=sizing)
        self.bundle = train_job(ds, job, run=run, log=lambda line: None)
        return self

    def largest_batch(self, n_train: int, max_len: int | None):
        """``(model, device) -> batch size``: the largest that fits in memory (measured on the model train_job
        builds), at most 256 on a GPU and 64 on a CPU (where bigger is not faster), and small enough for ~8
        steps an epoch."""
        largest = min(256 if self.device.type == "cuda" else 64, max(8, n_train // 8))
        return lambda model, device: find_batch_size(model, max_len or 512, device, largest=largest)

    def __call__(self, text: str | Sequence[str]) -> dict[str, float] | list[dict[str, float]]:
        """``{label: probability}`` for one text, a list of them for a list of texts."""
        if self.bundle is None:
            raise RuntimeError("this classifier has not been trained yet: call .finetune(texts, labels) first")
        if isinstance(text, str):
            return self.bundle.predict([text])[0]
        return self.bundle.predict(check_texts(text))

    @property
    def labels(self) -> list[str]:
        return list(self.bundle.labels) if self.bundle else []

    def save(self, directory: str | Path) -> Path:
        """Write the bundle (the files ``textclf predict`` reads) to ``directory``, all-or-nothing."""
        if self.bundle is None:
            raise RuntimeError("nothing to save: call .finetune(texts, labels) first")
        return save_bundle(self.bundle, directory)

    @classmethod
    def load(cls, directory: str | Path, device: str | torch.device = "auto", precision: str = "fp32"
             ) -> TextClassifier:
        """A saved classifier, on ``device`` (a GPU where there is one), predicting in ``precision``."""
        bundle = load_bundle(directory, device, precision)
        clf = cls(bundle.model_name, device=bundle.device, precision=bundle.precision, max_len=bundle.max_len)
        clf.bundle = bundle
        return clf
