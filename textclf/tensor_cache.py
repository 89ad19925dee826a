"""A derived tensor kept in a fingerprinted safetensors file, read back only when it was made from the same inputs.

The teacher's logits (``distill/teacher.py``) and MiniLM's word vectors (``models/minilm_vectors.py``) take
minutes to make and do not change unless their inputs do. So the tensor is written with metadata recording
fingerprints of its inputs (``expected``) and a digest of the tensor itself (shape and values). A file that does
not match — made from other inputs, the tensor changed or cut, a damaged file — is said so in one line naming
the file, and the tensor is made again: a cache is derived, so losing it costs time, not work.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from textclf.files import atomic_write


@dataclass(frozen=True)
class CacheKind:
    """How a cache's messages name what it holds: ``teacher logits: ... holds 3 x 2 logits, expected 4 texts x
    2 labels``."""

    what: str    # "teacher logits"
    values: str  # "logits"
    rows: str    # "texts"
    columns: str  # "labels"


def tensor_digest(tensor: torch.Tensor) -> str:
    """A sha256 of a tensor's shape and values (as float32): the cache is trusted only if its contents match it."""
    digest = hashlib.sha256(json.dumps(list(tensor.shape)).encode())
    digest.update(tensor.float().contiguous().numpy().tobytes())
    return digest.hexdigest()


def read_cached(path: Path, expected: dict[str, str], shape: tuple[int, int], kind: CacheKind,
                log: Callable[[str], None]) -> torch.Tensor | None:
    """The tensor in ``path`` if it was written for exactly ``expected`` (the inputs' fingerprints), has
    ``shape`` and the values its digest records; else None, said why in one line naming the file."""
    if not path.is_file():
        return None
    again = "computing them again"
    try:
        with safe_open(str(path), framework="pt") as cache:
            found = cache.metadata() or {}
            tensor = cache.get_tensor(kind.values)
    except (SafetensorError, OSError, KeyError, ValueError) as err:
        log(f"{kind.what}: {path} is not a readable cache ({err}); {again}")
        return None
    stale = [key for key, value in expected.items() if found.get(key) != value]
    if stale:
        log(f"{kind.what}: {path} was computed for another {' and '.join(stale)}; {again}")
        return None
    if tuple(tensor.shape) != shape:
        log(f"{kind.what}: {path} holds {' x '.join(map(str, tensor.shape))} {kind.values}, expected "
            f"{shape[0]:,} {kind.rows} x {shape[1]} {kind.columns}; {again}")
        return None
    if found.get("digest") != tensor_digest(tensor):
        log(f"{kind.what}: {path} does not match the digest recorded with its {kind.values} (changed after they "
            f"were written, or written by an older textclf); {again}")
        return None
    if not torch.isfinite(tensor).all():
        log(f"{kind.what}: {path} holds non-finite {kind.values}; {again}")
        return None
    return tensor


def write_cached(path: Path, tensor: torch.Tensor, expected: dict[str, str], kind: CacheKind) -> None:
    """Write ``tensor`` to ``path`` (atomically) with ``expected`` and its digest as metadata."""
    written = {**expected, "digest": tensor_digest(tensor)}
    atomic_write(path, lambda tmp: save_file({kind.values: tensor.contiguous()}, str(tmp), metadata=written),
                 suffix=".safetensors")


def cache_dir() -> Path:
    """Where derived tensors that belong to no one folder are kept: ``$TEXTCLF_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/textclf``, else ``~/.cache/textclf``."""
    if os.environ.get("TEXTCLF_CACHE_DIR"):
        return Path(os.environ["TEXTCLF_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "textclf"
