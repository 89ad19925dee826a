"""Readers for user files in their original formats.

- CSV / TSV / JSONL with chosen text and label columns (by name, or by
  0-based index for files without a header). The UCI SMS Spam Collection is
  TSV without a header: ``label<TAB>text``, i.e. ``format="sms_spam"``.
- AG News CSV: no header, ``"3","title","description"``, classes 1–4.
- IMDB: an ``aclImdb`` directory or the ``aclImdb_v1.tar.gz`` archive
  (``train|test/pos|neg/<id>_<rating>.txt``).

Each reader returns ``Record`` s (an ``Example`` plus the split it came with,
if any). A bad row raises ``DataError`` naming file, line and what was
expected, or is skipped and recorded by ``ErrorPolicy(on_error="skip")``.
"""

from __future__ import annotations

import csv
import io
import re
import tarfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from textclf import files
from textclf.errors import DataError, ErrorPolicy
from textclf.files import decode_utf8, parse_json, read_capped, read_text, require_exists
from textclf.text_checks import text_problem

AG_NEWS_LABELS = ("World", "Sports", "Business", "Sci/Tech")
IMDB_LABELS = {"neg": "negative", "pos": "positive"}
SMS_LABELS = ("ham", "spam")
Column = str | int
# the values a split column may hold, and the split each names
SPLIT_NAMES = {"train": "train", "valid": "valid", "dev": "valid", "validation": "valid", "val": "valid",
               "test": "test", "": None}


@dataclass(frozen=True)
class Example:
    """One text and its label name."""

    text: str
    label: str


@dataclass(frozen=True)
class Record:
    example: Example
    split: str | None = None
    where: tuple[str, int] | None = None  # (file, line) it came from, for errors found after reading


def checked_example(
    text: object, label: object, where: tuple[str, int], labels: Sequence[str] | None,
    policy: ErrorPolicy, split: str | None = None,
) -> Record | None:
    """The shared row checks: text present and non-empty, label among the allowed ones."""
    path, line = where
    if not isinstance(text, str) or not text.strip():
        found = "" if isinstance(text, str) or text is None else f", found a JSON {json_type(text)}"
        policy.bad_row(path, line, f"empty text; expected a non-empty text string{found}")
        return None
    problem = text_problem(text)
    if problem:  # a lone surrogate (a JSON \ud800 escape): refused here, with the line, not after training
        policy.bad_row(path, line, f"the text {problem}")
        return None
    if isinstance(label, (bool, list, dict)):
        policy.bad_row(path, line, f"expected a label (a string or a whole number), found a JSON {json_type(label)}")
        return None
    label = "" if label is None else str(label).strip()
    if not label:
        policy.bad_row(path, line, "empty label; expected a label")
        return None
    if text_problem(label):
        policy.bad_row(path, line, f"the label {text_problem(label)}")
        return None
    if labels is not None and label not in labels:
        allowed = ", ".join(labels)
        policy.bad_row(path, line, f"unknown label {label!r}; expected one of: {allowed}")
        return None
    if split is not None:
        name = str(split).strip().lower() if isinstance(split, str) else split
        split = SPLIT_NAMES.get(name, name) or None
        if split is not None and split not in SPLIT_NAMES.values():
            policy.bad_row(path, line, f"unknown split {name!r}; expected train, valid (or dev, validation), "
                           "test, or an empty value (split by textclf)")
            return None
    return Record(Example(text, label), split, (str(path), line))


def json_type(value: object) -> str:
    return {bool: "boolean", list: "list", dict: "object", int: "number", float: "number",
            type(None): "null"}.get(type(value), type(value).__name__)


def column_index(column: Column, header: list[str] | None, path: Path) -> int:
    if isinstance(column, int):
        return column
    if header is None:
        raise DataError(path, 1, f"column {column!r} named, but the file has no header; pass a 0-based index")
    if column not in header:
        raise DataError(path, 1, f"no column {column!r} in the header; expected one of: {', '.join(header)}")
    return header.index(column)


def read_delimited(
    path: str | Path, *, delimiter: str = ",", text_column: Column = "text",
    label_column: Column = "label", split_column: Column | None = None, header: bool = True,
    labels: Sequence[str] | None = None, policy: ErrorPolicy | None = None,
) -> list[Record]:
    """CSV (``delimiter=","``, RFC 4180 quoting) or TSV (``"\\t"``, no quoting) rows.

    ``text_column`` may be a tuple of columns, joined with a space (AG News: title + description).
    """
    path, policy = Path(path), policy or ErrorPolicy()
    text_columns = text_column if isinstance(text_column, tuple) else (text_column,)
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    text = read_text(path, "delimited text")
    csv.field_size_limit(max(csv.field_size_limit(), len(text)))  # long texts are fine (the default cap is 128 KB)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=quoting, strict=True)
    rows = rows_with_lines(reader, path)
    names = next(rows, (1, None))[1] if header else None
    if header and not names:
        raise DataError(path, 1, "no header row; expected a header naming the columns (or --no-header)")
    text_at = [column_index(c, names, path) for c in text_columns]
    label_at = column_index(label_column, names, path)
    split_at = None
    if isinstance(split_column, int) or (names and split_column in names):  # an optional column
        split_at = column_index(split_column, names, path)
    used = [*text_at, label_at, *([split_at] if split_at is not None else [])]
    n_fields = len(names) if names else None
    if names:
        check_indices(used, n_fields, path, 1)
    records = []
    for line, row in rows:
        if n_fields is None:  # no header: the first row sets the number of fields
            n_fields = len(row)
            check_indices(used, n_fields, path, line)
        if len(row) != n_fields:
            shown = f" (like the header: {delimiter.join(names)})" if names else ""
            policy.bad_row(path, line, f"expected {n_fields} fields{shown}, found {len(row)}")
            continue
        split = row[split_at] if split_at is not None else None
        text = " ".join(row[i] for i in text_at)
        record = checked_example(text, row[label_at], (str(path), line), labels, policy, split)
        if record:
            records.append(record)
    return records


def check_indices(indices: list[int], n_fields: int, path: Path, line: int) -> None:
    """Columns given by 0-based index must exist in the rows."""
    for index in indices:
        if not 0 <= index < n_fields:
            raise DataError(path, line, f"column index {index} does not exist: the rows have {n_fields} fields, "
                            f"expected an index from 0 to {n_fields - 1}")


def rows_with_lines(reader, path: Path) -> Iterable[tuple[int, list[str]]]:
    """Yield ``(first line of the record, fields)``, skipping blank lines."""
    start = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            if "end of data" in str(err) or "EOF" in str(err):
                raise DataError(path, start, "unterminated quote: this record's quoted field never "
                                "closes before the end of the file; expected a closing '\"'") from None
            raise DataError(path, start, f"malformed row ({err}); expected delimited fields") from None
        if row:
            yield start, row
        start = reader.line_num + 1


def read_jsonl(
    path: str | Path, *, text_column: str = "text", label_column: str = "label",
    split_column: str | None = "split", labels: Sequence[str] | None = None,
    policy: ErrorPolicy | None = None,
) -> list[Record]:
    """One JSON object per line, e.g. ``{"text": "...", "label": "spam"}``."""
    path, policy = Path(path), policy or ErrorPolicy()
    records = []
    for line, raw in enumerate(read_text(path, "JSON Lines").split("\n"), start=1):
        if not raw.strip():
            continue
        try:
            obj = parse_json(raw, path, "one JSON object per line", line)
        except DataError as err:  # invalid, or nested too deeply for the parser
            policy.bad_row(path, line, err.message)
            continue
        if not isinstance(obj, dict) or text_column not in obj or label_column not in obj:
            found = f"keys {sorted(obj)}" if isinstance(obj, dict) else type(obj).__name__
            policy.bad_row(path, line, f"expected an object with {text_column!r} and {label_column!r} "
                           f"fields, found {found}")
            continue
        split = obj.get(split_column) if split_column else None
        record = checked_example(obj[text_column], obj[label_column], (str(path), line), labels, policy, split)
        if record:
            records.append(record)
    return records


def read_ag_news(path: str | Path, *, policy: ErrorPolicy | None = None) -> list[Record]:
    """AG News ``train.csv``/``test.csv``: ``"class index","title","description"``, classes 1–4."""
    policy = policy or ErrorPolicy()
    rows = read_delimited(path, text_column=(1, 2), label_column=0, header=False,
                          labels=[str(i) for i in range(1, len(AG_NEWS_LABELS) + 1)], policy=policy)
    return [Record(Example(ag_news_text(r.example.text), AG_NEWS_LABELS[int(r.example.label) - 1]))
            for r in rows]


def ag_news_text(title_and_description: str) -> str:
    """AG News writes a line break inside a description as a backslash: make it a space."""
    return re.sub(r"\\+", " ", title_and_description)


def read_sms_spam(path: str | Path, *, policy: ErrorPolicy | None = None) -> list[Record]:
    """The UCI SMS Spam Collection file: ``ham<TAB>text`` per line, no header."""
    return read_delimited(path, delimiter="\t", text_column=1, label_column=0, header=False,
                          labels=SMS_LABELS, policy=policy)


IMDB_MEMBER = re.compile(r"(?:^|/)(train|test)/(pos|neg)/[^/]+\.txt$")


def read_aclimdb(path: str | Path, *, policy: ErrorPolicy | None = None) -> list[Record]:
    """An extracted ``aclImdb`` directory or the ``aclImdb_v1.tar.gz`` archive (``unsup`` is ignored)."""
    path, policy = require_exists(path), policy or ErrorPolicy()
    files = imdb_tar_members(path) if path.is_file() else imdb_dir_files(path)
    records = []
    for name, raw in files:
        match = IMDB_MEMBER.search(name)
        split, polarity = match.group(1), match.group(2)
        text = decode_utf8(raw, name).strip()
        record = checked_example(text, IMDB_LABELS[polarity], (name, 1), None, policy, split)
        if record:
            records.append(record)
    if not records:
        raise DataError(path, None, "no reviews found; expected train/pos, train/neg, test/pos, "
                        "test/neg folders of .txt files (the aclImdb layout)")
    return records


# A review is a few kilobytes (aclImdb's longest: 14 KB); a "review" of more is not one.
MAX_REVIEW_BYTES = 1 << 20


def imdb_dir_files(root: Path) -> Iterable[tuple[str, bytes]]:
    """The review files under ``root``; a symbolic link that leads out of the folder is refused, not followed."""
    inside = root.resolve()
    for file in sorted(root.rglob("*.txt")):
        if not IMDB_MEMBER.search(file.relative_to(root).as_posix()):
            continue
        if file.is_symlink() and not file.resolve().is_relative_to(inside):
            raise DataError(file, None, f"is a symbolic link to {file.resolve()}, outside the dataset folder; "
                            "refused (expected the review files themselves)")
        if file.is_file():
            with open(file, "rb") as stream:
                yield str(file), read_capped(stream, MAX_REVIEW_BYTES, file, "a review, at most 1 MiB", "")


def imdb_tar_members(archive: Path) -> Iterable[tuple[str, bytes]]:
    """The review members of the archive; the bytes read are counted against ``MAX_DECOMPRESSED`` in all and
    ``MAX_REVIEW_BYTES`` each (a member's declared size is not trusted)."""
    total = 0
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                if member.isfile() and IMDB_MEMBER.search(member.name):
                    where = f"{archive}:{member.name}"
                    raw = read_capped(tar.extractfile(member), MAX_REVIEW_BYTES, where, "a review, at most 1 MiB", "")
                    total += len(raw)
                    if total > files.MAX_DECOMPRESSED:
                        raise files.too_big(archive, files.MAX_DECOMPRESSED, "compressed reviews")
                    yield where, raw
    except (tarfile.TarError, EOFError, OSError) as err:
        raise DataError(archive, None, f"cannot read the archive ({err}); expected aclImdb_v1.tar.gz") from None
