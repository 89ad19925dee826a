"""Reading raw bytes into text safely: missing, empty, compressed, special and non-UTF-8 files.

Every reader in textclf gets its bytes from ``read_bytes`` here, so the same rules hold for a
dataset, a vocabulary, a bundle's config or a GloVe file:

- only regular files are read (a FIFO or ``/dev/zero`` would block or exhaust memory);
- ``.gz`` files are decompressed up to ``MAX_DECOMPRESSED`` bytes (a 220 KB "zip bomb" can
  expand to gigabytes), and a truncated or non-gzip file is a located error;
- text is UTF-8 (a leading BOM is dropped); the first bad byte's line is named.
"""

from __future__ import annotations

import json
import os
import stat
import zlib
from pathlib import Path

from textclf.data.errors import DataError, DataFileNotFoundError

# Bytes a .gz file may expand to: 1 GiB, far above any dataset here (set TEXTCLF_MAX_DECOMPRESSED_BYTES
# for a bigger corpus). A 220 KB "zip bomb" that expands to 2 GB is refused instead of filling memory.
MAX_DECOMPRESSED = int(os.environ.get("TEXTCLF_MAX_DECOMPRESSED_BYTES", 1 << 30))


def require_exists(path: str | Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise DataFileNotFoundError(path, None, "no such file or directory")
    return path


def require_file(path: str | Path, what: str = "file") -> Path:
    """``path`` as a regular file: not missing, not a folder, not a FIFO, device or socket."""
    path = require_exists(path)
    mode = path.stat().st_mode
    if stat.S_ISDIR(mode):
        raise DataError(path, None, f"is a directory; expected a {what} file")
    if not stat.S_ISREG(mode):
        kind = ("a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or
                stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
        raise DataError(path, None, f"is {kind}; expected a regular {what} file")
    return path


def gunzip(raw: bytes, path: str | Path, what: str = "data", limit: int | None = None) -> bytes:
    """Decompress gzip bytes, refusing more than ``limit`` (default ``MAX_DECOMPRESSED``) bytes of output."""
    limit = MAX_DECOMPRESSED if limit is None else limit
    out, data = [], raw
    size = 0
    try:
        while data:
            stream = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # one gzip member (files may hold several)
            while data:
                chunk = stream.decompress(data, limit - size + 1)
                size += len(chunk)
                out.append(chunk)
                if size > limit:
                    raise DataError(path, None, f"decompresses to more than {limit:,} bytes; refused (expected "
                                    f"gzip-compressed {what} within TEXTCLF_MAX_DECOMPRESSED_BYTES)")
                data = stream.unconsumed_tail
                if stream.eof:
                    break
            if not stream.eof:
                raise EOFError("the compressed stream ends early (truncated download?)")
            data = stream.unused_data.lstrip(b"\0")  # trailing zero padding is allowed, as gzip allows it
    except (zlib.error, EOFError) as err:
        raise DataError(path, None, f"not a valid gzip file ({err}); expected gzip-compressed {what}") from None
    return b"".join(out)


def read_bytes(path: str | Path, what: str = "data") -> bytes:
    """The bytes of a regular file; ``.gz`` files are decompressed (capped)."""
    path = require_file(path, what)
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gunzip(raw, path, what)
    return raw


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
    text = decode_utf8(read_bytes(path, what), path)
    if not text.strip():
        raise DataError(path, 1, f"the file is empty; expected {what}")
    return text


def parse_json(text: str, path: str | Path, what: str, line: int | None = None):
    """``json.loads`` with located errors: invalid JSON, and nesting too deep for the parser
    (100k ``[`` end in a RecursionError that must not escape as a traceback)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        at = (line or 1) + err.lineno - 1
        raise DataError(path, at, f"invalid JSON: {err.msg} (column {err.colno}); expected {what}") from None
    except RecursionError:
        raise DataError(path, line, f"JSON nested too deeply to read; expected {what}") from None


def read_json(path: str | Path, what: str) -> dict:
    data = parse_json(read_text(path, what), path, what)
    if not isinstance(data, dict):
        raise DataError(path, 1, f"expected a JSON object ({what}), found {type(data).__name__}")
    return data
