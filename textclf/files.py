"""Files, safely: reading checked input files, and writing files and folders atomically (one place).

Reading: missing, empty, compressed, special and non-UTF-8 files. Every reader in textclf gets its
bytes from ``read_bytes`` here, so the same rules hold for a dataset, a vocabulary, a bundle's config
or a GloVe file:

- only regular files are read (a FIFO or ``/dev/zero`` would block or exhaust memory);
- ``.gz`` files are decompressed up to ``MAX_DECOMPRESSED`` bytes (a 220 KB "zip bomb" can
  expand to gigabytes), and a truncated or non-gzip file is a located error;
- text is UTF-8 (a leading BOM is dropped); the first bad byte's line is named.

Writing: a file, or a whole folder, is built beside its target and then renamed over it. A crash
or Ctrl-C mid-write leaves either the old file (folder) or the new one, never half of one, so a
learner's saved work is never lost to a partial write.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import stat
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from textclf.errors import DataError, DataFileNotFoundError

# Bytes a compressed dataset (.gz, or the review files read from a .tar.gz) may expand to, counted as they
# are read and before anything is parsed: 256 MiB, above any corpus here (aclImdb's reviews: ~130 MB; set
# TEXTCLF_MAX_DECOMPRESSED_BYTES for a bigger one). Parsing holds the text about twice (bytes, then str), so a
# 220 KB "zip bomb" that expands to gigabytes is refused instead of filling memory.
MAX_DECOMPRESSED = int(os.environ.get("TEXTCLF_MAX_DECOMPRESSED_BYTES", 256 << 20))
# Word vectors are bigger (glove.6B.300d.txt: 1.04 GB): their own cap, TEXTCLF_MAX_VECTORS_BYTES.
MAX_VECTORS = int(os.environ.get("TEXTCLF_MAX_VECTORS_BYTES", 1200 << 20))


def require_exists(path: str | Path) -> Path:
    path = Path(path)
    if not path.exists():
        if path.is_symlink():  # the link itself is there: a loop, or its target is gone
            try:
                path.stat()
            except OSError as err:
                raise DataError(path, None, f"is a symbolic link that cannot be followed ({err.strerror}); "
                                "expected a file or folder") from None
        raise DataFileNotFoundError(path, None, "no such file or directory")
    return path


def file_kind(mode: int) -> str:
    """What a ``stat`` mode is, in words: "a directory", "a FIFO (named pipe)", ..."""
    return ("a directory" if stat.S_ISDIR(mode) else "a FIFO (named pipe)" if stat.S_ISFIFO(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a regular file" if stat.S_ISREG(mode) else "not a regular file")


def require_file(path: str | Path, what: str = "file") -> Path:
    """``path`` as a regular file: not missing, not a folder, not a FIFO, device or socket."""
    path = require_exists(path)
    try:
        mode = path.stat().st_mode
    except OSError as err:  # a symbolic link loop, or a link whose target went away
        raise DataError(path, None, f"cannot be read ({err.strerror}); expected a regular {what} file") from None
    if stat.S_ISDIR(mode):
        raise DataError(path, None, f"is a directory; expected a {what} file")
    if not stat.S_ISREG(mode):
        raise DataError(path, None, f"is {file_kind(mode)}; expected a regular {what} file")
    return path


def check_output(path: str | Path, protected: Iterable[str | Path] = (), what: str = "output") -> Path:
    """``path`` if a command may write ``what`` there: a new path or an existing regular file, and none of the
    ``protected`` files (a bundle's own, which the command is reading). Symbolic links are resolved first, so
    a link to a protected file is refused too; nothing is written by this check."""
    path = Path(path)
    target = path.resolve()
    if target.exists() or path.is_symlink():
        try:
            mode = target.stat().st_mode
        except OSError as err:
            raise DataError(path, None, f"cannot be written ({err.strerror}); expected a new file name") from None
        if not stat.S_ISREG(mode):
            raise DataError(path, None, f"is {file_kind(mode)}; expected a new path or a regular file to write "
                            f"the {what} to")
    for kept in protected:
        if target == Path(kept).resolve():
            raise DataError(path, None, f"is {Path(kept).name} of the bundle this command reads; writing the {what} "
                            "there would destroy the bundle. Expected another file name")
    return path


def too_big(path: str | Path, limit: int, what: str, variable: str | None = None) -> DataError:
    """The error for compressed input past its cap (``variable``: the environment variable that raises it)."""
    if variable is None:
        variable = "TEXTCLF_MAX_VECTORS_BYTES" if limit == MAX_VECTORS else "TEXTCLF_MAX_DECOMPRESSED_BYTES"
    within = f" within {variable}" if variable else ""
    return DataError(path, None, f"decompresses to more than {limit:,} bytes; refused (expected {what}{within})")


def gunzip(raw: bytes, path: str | Path, what: str = "data", limit: int | None = None) -> bytearray:
    """Decompress gzip bytes, refusing more than ``limit`` (default ``MAX_DECOMPRESSED``) bytes of output
    (counted as they come out; one buffer, not a list of chunks joined at the end)."""
    limit = MAX_DECOMPRESSED if limit is None else limit
    out, data = bytearray(), raw
    size = 0
    try:
        while data:
            stream = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # one gzip member (files may hold several)
            while data:
                chunk = stream.decompress(data, limit - size + 1)
                size += len(chunk)
                if size > limit:
                    raise too_big(path, limit, f"gzip-compressed {what}")
                out += chunk
                data = stream.unconsumed_tail
                if stream.eof:
                    break
            if not stream.eof:
                raise EOFError("the compressed stream ends early (truncated download?)")
            data = stream.unused_data.lstrip(b"\0")  # trailing zero padding is allowed, as gzip allows it
    except (zlib.error, EOFError) as err:
        raise DataError(path, None, f"not a valid gzip file ({err}); expected gzip-compressed {what}") from None
    return out


def read_capped(stream, limit: int, where: str | Path, what: str = "data", variable: str | None = None) -> bytes:
    """Read a decompressing stream (a zip or tar member) to its end, refusing more than ``limit`` bytes: the
    size its header declares is not trusted, the bytes read are counted."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise too_big(where, limit, what, variable)
    return data


def read_bytes(path: str | Path, what: str = "data", limit: int | None = None) -> bytes | bytearray:
    """The bytes of a regular file; ``.gz`` files are decompressed (capped at ``limit``, default
    ``MAX_DECOMPRESSED``)."""
    path = require_file(path, what)
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gunzip(raw, path, what, limit)
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


def current_umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def atomic_write(path: str | Path, write: Callable[[Path], None], suffix: str = "") -> None:
    """Call ``write(tmp_path)`` then atomically move ``tmp_path`` to ``path`` (``suffix``: the temporary
    file's name ends with it, for writers that insist on an extension)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp" + suffix)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes 0600 files; give the usual permissions
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    atomic_write(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


# Whole folders (a bundle is several files that must agree): build the new folder beside the
# target, then swap it in with two renames. A crash before the swap leaves the old folder as it
# was; a crash between the two renames leaves the old folder under ``.NAME.old-*`` and no NAME,
# which ``recover_directory`` (called before every write, and by readers) renames back.
NEW, OLD = ".new-", ".old-"


def _siblings(path: Path, kind: str) -> list[Path]:
    return sorted(path.parent.glob(f".{glob.escape(path.name)}{kind}*"), key=lambda p: p.stat().st_mtime)


def recover_directory(path: str | Path, clean: bool = True) -> None:
    """Undo what a crash mid-swap left: restore ``.NAME.old-*`` if NAME is gone; with ``clean``, also drop
    unfinished copies (only a writer should: a reader must not delete a save in progress)."""
    path = Path(path)
    if not path.parent.is_dir():
        return
    old = _siblings(path, OLD)
    if old and not path.exists():
        os.rename(old[-1], path)
        old = old[:-1]
    if clean:
        for leftover in [*old, *_siblings(path, NEW)]:
            shutil.rmtree(leftover, ignore_errors=True)


@contextmanager
def atomic_directory(path: str | Path, keep: Callable[[str], bool] = lambda name: True) -> Iterator[Path]:
    """Yield an empty folder beside ``path``; if the block ends without an error, it replaces ``path``.

    Entries of the old ``path`` that the new folder does not have and ``keep(name)`` accepts
    (a learner's own files) are carried over as hard links, so nothing already saved is lost.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    recover_directory(path)
    if path.exists() and not path.is_dir():
        raise FileExistsError(f"{path}: exists and is not a folder; expected a folder to write the bundle into")
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}{NEW}"))
    try:
        os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes 0700 folders
        yield tmp
        if path.exists():
            for entry in path.iterdir():
                if keep(entry.name) and not (tmp / entry.name).exists():
                    _link_copy(entry, tmp / entry.name)
        _swap(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _link_copy(source: Path, target: Path) -> None:
    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:  # another file system, or links not allowed
            shutil.copy2(src, dst)

    if source.is_dir() and not source.is_symlink():
        shutil.copytree(source, target, copy_function=link, symlinks=True)
    elif source.is_symlink():
        os.symlink(os.readlink(source), target)
    else:
        link(str(source), str(target))


def _swap(new: Path, path: Path) -> None:
    if not path.exists():
        os.rename(new, path)
        return
    old = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}{OLD}"))
    os.rmdir(old)  # a unique name; the rename below takes it
    os.rename(path, old)
    os.rename(new, path)
    shutil.rmtree(old, ignore_errors=True)


def remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """Delete the ``.NAME.*.tmp`` files a killed ``atomic_write`` left in ``folder``; return them."""
    folder = Path(folder)
    stale = [p for p in folder.glob(".*.tmp") if p.is_file()] if folder.is_dir() else []
    for p in stale:
        p.unlink(missing_ok=True)
    return stale
