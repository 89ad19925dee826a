"""``load_dataset``: the bundled datasets by name, or a user file in one of the reader formats.

>>> ds = load_dataset("rotten_tomatoes")
>>> ds.labels, len(ds.train) > 10_000
(['negative', 'positive'], True)

A file that carries a split per example (the bundled ones, a CSV with a
``split`` column, aclImdb's train/test) keeps it; examples without one are
split into train/valid/test with the seeded, stratified ``stratified_split``.
"""

from __future__ import annotations

import hashlib
import json
import random
import warnings
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from textclf.data import readers
from textclf.data.readers import Column, Example, Record
from textclf.data.splits import SPLITS, stratified_split
from textclf.errors import DataError, ErrorPolicy, Problem
from textclf.files import require_exists
from textclf.printable import printable

BUNDLED_DIR = Path(__file__).parent / "bundled"
BUNDLED = {"rotten_tomatoes": "rotten_tomatoes.jsonl.gz", "bbc_news": "bbc_news.jsonl.gz"}
FORMATS = ("csv", "tsv", "jsonl", "sms_spam", "ag_news", "aclimdb")


@dataclass
class TextDataset:
    """Labelled texts in fixed train/valid/test splits; ``labels[i]`` is class id ``i``."""

    name: str
    labels: list[str]
    train: list[Example]
    valid: list[Example]
    test: list[Example]
    skipped: list[Problem] = field(default_factory=list)
    # How to load it again: load_dataset's arguments (an absolute path), plus any subsample taken.
    source: dict | None = None

    def split(self, name: str) -> list[Example]:
        if name not in SPLITS:
            raise KeyError(f"unknown split {name!r}; expected one of {', '.join(SPLITS)}")
        return getattr(self, name)

    def label_index(self, label: str) -> int:
        return self.labels.index(label)

    def counts(self) -> dict[str, Counter]:
        return {s: Counter(ex.label for ex in self.split(s)) for s in SPLITS}

    def summary(self) -> str:
        """A table of examples per label and split."""
        counts = self.counts()
        shown = {y: printable(y) for y in self.labels}  # a label from a file may hold control characters
        width = max(len(y) for y in [*shown.values(), "label"])
        lines = [f"{'label':<{width}} " + " ".join(f"{s:>7}" for s in SPLITS)]
        for y in self.labels:
            lines.append(f"{shown[y]:<{width}} " + " ".join(f"{counts[s][y]:>7}" for s in SPLITS))
        lines.append(f"{'total':<{width}} " + " ".join(f"{len(self.split(s)):>7}" for s in SPLITS))
        return "\n".join(lines)

    def subsample(self, per_split: int, seed: int = 0) -> TextDataset:
        """A smaller copy (at most ``per_split`` examples per split), for quick runs and CI."""
        rng = random.Random(seed)
        parts = {s: rng.sample(self.split(s), min(per_split, len(self.split(s)))) for s in SPLITS}
        source = {**self.source, "subsample": [per_split, seed]} if self.source else None
        return TextDataset(self.name, list(self.labels), **parts, skipped=list(self.skipped), source=source)

    def fingerprints(self) -> dict[str, str]:
        """A sha256 of each split's texts and labels (and the label list): equal only for the same data."""
        def digest(examples: list[Example]) -> str:
            payload = json.dumps([self.labels, [[ex.text, ex.label] for ex in examples]], ensure_ascii=False)
            return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]
        return {s: digest(self.split(s)) for s in SPLITS}

    def where(self) -> str:
        """The file it came from (for error messages), else its name."""
        return (self.source or {}).get("name_or_path", self.name)

    def check_trainable(self, require_test: bool = True) -> None:
        """Refuse data no classifier can learn or be scored on: fewer than two classes, an empty split (the
        test split may be empty when not ``require_test``)."""
        seen = sorted({ex.label for ex in self.train})
        if len(self.labels) < 2 or len(seen) < 2:
            found = ", ".join(repr(y) for y in (seen or self.labels)) or "none"
            raise DataError(self.where(), None, f"the training split has {len(seen)} class(es) ({found}); expected "
                            "at least two labels (a one-class classifier is always 'right')")
        untrained = [y for y in self.labels if y not in seen]
        if untrained:
            counts = self.counts()
            elsewhere = ", ".join(f"{s} {counts[s][untrained[0]]}" for s in ("valid", "test"))
            raise DataError(self.where(), None, f"label {untrained[0]!r} has no training examples ({elsewhere}); "
                            "expected every label in the training split (a model cannot learn a class it never sees)")
        sizes = {s: len(self.split(s)) for s in SPLITS}
        empty = [s for s, n in sizes.items() if n == 0 and (require_test or s != "test")]
        if empty:
            counts = ", ".join(f"{s} {n}" for s, n in sizes.items())
            raise DataError(self.where(), None, f"the {' and '.join(empty)} split is empty ({counts} examples); "
                            "expected examples in train, valid and test (use more rows, or give a split column)")
        for split in ("valid", "test"):
            examples = self.split(split)
            missing = sorted(set(self.labels) - {ex.label for ex in examples})
            if examples and (len(examples) < MIN_MEANINGFUL or missing):
                why = (f"only {len(examples)} texts" if len(examples) < MIN_MEANINGFUL else "")
                why += (" and " if why and missing else "") + (f"no {', '.join(map(repr, missing[:3]))}" if missing
                                                                 else "")
                warnings.warn(f"{self.where()}: the {split} split has {why}; its figures will not mean much "
                              f"(expected at least {MIN_MEANINGFUL} texts and every label)", stacklevel=2)
        for a, b in case_twins(self.labels):
            warnings.warn(f"{self.where()}: labels {a!r} and {b!r} differ only by case; they train as two separate "
                          "classes (fix the labels if they mean the same)", stacklevel=2)


# Fewer texts than this in the valid or test split: its accuracy moves by 3+ points per text.
MIN_MEANINGFUL = 30


def case_twins(labels: list[str]) -> list[tuple[str, str]]:
    """Pairs of labels equal but for case (``Positive``, ``positive``)."""
    first: dict[str, str] = {}
    twins = []
    for label in labels:
        key = label.casefold()
        if key in first:
            twins.append((first[key], label))
        else:
            first[key] = label
    return twins


def load_dataset(
    name_or_path: str | Path,
    *,
    format: str | None = None,
    text_column: Column | tuple[Column, ...] = "text",
    label_column: Column = "label",
    split_column: Column | None = "split",
    header: bool = True,
    labels: Sequence[str] | None = None,
    on_error: str = "raise",
    valid_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int = 0,
) -> TextDataset:
    """Load a bundled dataset (``rotten_tomatoes``, ``bbc_news``) or a user file/directory.

    ``format`` is guessed from the name when omitted (``.csv``, ``.tsv``, ``.jsonl``
    with optional ``.gz``; a directory or ``.tar.gz`` holding aclImdb). ``labels``
    lists the allowed label names (any others are an error, or skipped with
    ``on_error="skip"``; the skipped rows are in ``dataset.skipped``).
    """
    policy = ErrorPolicy(on_error)
    source = {"name_or_path": str(name_or_path), "format": format, "text_column": text_column,
              "label_column": label_column, "split_column": split_column, "header": header,
              "labels": list(labels) if labels else None, "on_error": on_error,
              "valid_fraction": valid_fraction, "test_fraction": test_fraction, "seed": seed}
    if str(name_or_path) in BUNDLED:
        given = {"format": format, "text_column": text_column, "label_column": label_column, "header": header}
        ignored = [k for k, v in given.items() if v != {"format": None, "text_column": "text", "label_column": "label",
                                                         "header": True}[k]]
        if ignored:
            raise DataError(name_or_path, None, f"{', '.join(ignored)} given, but {name_or_path} is a bundled "
                            "dataset with its own columns; expected those options only with a csv/tsv/jsonl file")
        path, name = BUNDLED_DIR / BUNDLED[str(name_or_path)], str(name_or_path)
        records = readers.read_jsonl(path)
    else:
        path = require_exists(unknown_name_check(name_or_path))
        name, source["name_or_path"] = path.name, str(path.resolve())
        fmt = format or guess_format(path)
        records = read_records(path, fmt, text_column, label_column, split_column, header, labels, policy)
    if not records:
        raise DataError(path, None, "no usable examples; expected at least one row with a text and a label")
    check_label_spellings(records)
    ds = assemble(name, records, labels, policy.problems, valid_fraction, test_fraction, seed)
    ds.source = source
    return ds


def load_source(source: dict) -> TextDataset:
    """The dataset a ``TextDataset.source`` describes, loaded again (with its subsample, if any)."""
    options = dict(source)
    subsample = options.pop("subsample", None)
    if isinstance(options.get("text_column"), list):  # a tuple of columns, after a JSON round trip
        options["text_column"] = tuple(options["text_column"])
    ds = load_dataset(options.pop("name_or_path"), **options)
    return ds.subsample(*subsample) if subsample else ds


def check_label_spellings(records: list[Record]) -> None:
    """Labels that are one number spelt two ways (``1`` and ``1.0``) would become two classes: refuse."""
    by_value: dict[float, dict[str, tuple]] = defaultdict(dict)
    for r in records:
        try:
            value = float(r.example.label)
        except ValueError:
            continue
        by_value[value].setdefault(r.example.label, r.where)
    for spellings in by_value.values():
        if len(spellings) > 1:
            (first, at_first), (second, at_second) = list(spellings.items())[:2]
            path, line = at_second or ("?", None)
            raise DataError(path, line, f"label {second!r} is the number {first!r} "
                            f"(line {at_first[1] if at_first else '?'}) spelt differently; expected one spelling "
                            "per label, or they become two classes")


def unknown_name_check(name_or_path: str | Path) -> Path:
    path = Path(name_or_path)
    if not path.exists() and path.suffix == "" and "/" not in str(name_or_path):
        names = ", ".join(BUNDLED)
        raise DataError(path, None, f"no such file, and not a bundled dataset; expected one of: {names}, "
                        "or a path to a csv/tsv/jsonl file, an aclImdb directory or archive")
    return path


def guess_format(path: Path) -> str:
    name = path.name.lower().removesuffix(".gz")
    if path.is_dir():
        if (path / "train.csv").exists():
            return "ag_news"
        return "aclimdb"
    if name.endswith(".tar") or path.name.lower().endswith(".tgz"):
        return "aclimdb"
    for fmt in ("csv", "tsv", "jsonl"):
        if name.endswith("." + fmt):
            return fmt
    raise DataError(path, None, f"cannot tell the format from the name; pass format= one of: {', '.join(FORMATS)}")


def read_records(path, fmt, text_column, label_column, split_column, header, labels, policy) -> list[Record]:
    if fmt in ("csv", "tsv"):
        return readers.read_delimited(path, delimiter="," if fmt == "csv" else "\t", text_column=text_column,
                                      label_column=label_column, split_column=split_column, header=header,
                                      labels=labels, policy=policy)
    if fmt == "jsonl":
        return readers.read_jsonl(path, text_column=text_column, label_column=label_column,
                                  split_column=split_column, labels=labels, policy=policy)
    if fmt == "sms_spam":
        return readers.read_sms_spam(path, policy=policy)
    if fmt == "aclimdb":
        return readers.read_aclimdb(path, policy=policy)
    if fmt == "ag_news":
        if path.is_dir():
            return ag_news_dir(path, policy)
        return readers.read_ag_news(path, policy=policy)
    raise DataError(path, None, f"unknown format {fmt!r}; expected one of: {', '.join(FORMATS)}")


def ag_news_dir(path: Path, policy: ErrorPolicy) -> list[Record]:
    """The extracted ``ag_news_csv`` folder: ``train.csv`` and ``test.csv``."""
    train = readers.read_ag_news(path / "train.csv", policy=policy)
    test = readers.read_ag_news(path / "test.csv", policy=policy) if (path / "test.csv").exists() else []
    return [Record(r.example, None) for r in train] + [Record(r.example, "test") for r in test]


def assemble(name, records, labels, problems, valid_fraction, test_fraction, seed) -> TextDataset:
    """Keep given splits (``train`` without ``valid`` gets one carved out), split the rest."""
    label_names = list(labels) if labels else sorted({r.example.label for r in records})
    if all(r.example.label in readers.AG_NEWS_LABELS for r in records) and not labels:
        label_names = [y for y in readers.AG_NEWS_LABELS if y in label_names]
    given = {r.split for r in records if r.split in SPLITS}
    parts: dict[str, list[Example]] = {s: [] for s in SPLITS}
    unsplit = []
    for r in records:
        (parts[r.split] if r.split in SPLITS else unsplit).append(r.example)
    if "valid" not in given and parts["train"]:
        unsplit, parts["train"] = unsplit + parts["train"], []
    fractions = (valid_fraction, 0.0 if "test" in given else test_fraction)
    assignment = stratified_split([ex.label for ex in unsplit], *fractions, seed=seed)
    for example, split in zip(unsplit, assignment):
        parts[split].append(example)
    return TextDataset(name, label_names, **parts, skipped=list(problems))
