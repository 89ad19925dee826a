"""Reading raw bytes into text safely: missing, empty, compressed and non-UTF-8 files."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from textclf.data.errors import DataError, DataFileNotFoundError


def require_exists(path: str | Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise DataFileNotFoundError(path, None, "no such file or directory")
    return path


def decode_utf8(raw: bytes, path: str | Path, first_line: int = 1) -> str:
    """Decode ``raw`` as UTF-8 (a leading BOM is dropped); name the line of the first bad byte."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = first_line + raw[: err.start].count(b"\n")
        raise DataError(
            path, line,
            f"invalid UTF-8 (byte 0x{raw[err.start]:02x} at offset {err.start}); expected UTF-8 text "
            "(re-save the file as UTF-8)",
        ) from None


def read_text(path: str | Path, what: str = "text") -> str:
    """The whole file as text; ``.gz`` files are decompressed. Raises ``DataError`` when empty."""
    path = require_exists(path)
    if path.is_dir():
        raise DataError(path, None, f"is a directory; expected a {what} file")
    raw = path.read_bytes()
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise DataError(path, None, f"not a valid gzip file ({err}); expected gzip-compressed {what}") from None
    text = decode_utf8(raw, path)
    if not text.strip():
        raise DataError(path, 1, f"the file is empty; expected {what}")
    return text


def read_json(path: Path, what: str) -> dict:
    try:
        data = json.loads(read_text(path, what))
    except json.JSONDecodeError as err:
        raise DataError(path, err.lineno, f"invalid JSON: {err.msg}; expected {what}") from None
    if not isinstance(data, dict):
        raise DataError(path, 1, f"expected a JSON object ({what})")
    return data
