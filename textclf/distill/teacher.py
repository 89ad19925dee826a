"""The teacher's logits on the distillation set, computed once and cached in a fingerprinted file.

Labelling 40,000 texts with MiniLM takes minutes on a laptop CPU, and a student is trained many times (seeds,
alpha, T, another student); the logits do not change unless the teacher or the texts do. So they are kept in
a safetensors file whose metadata records fingerprints of both (and the precision they were computed in) and a
digest of the logits themselves (their shape and values). A cache that does not match — another teacher, other
texts, rows or columns missing, values changed, a damaged file — is said so in one line naming the file and
recomputed, never trusted: the cache is derived, so losing it costs time, not work.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from textclf.bundle import Bundle
from textclf.distill.distillation_set import texts_fingerprint
from textclf.files import atomic_write

CACHE_FORMAT = "textclf-teacher-logits"
CACHE_NAME = "teacher_logits.safetensors"  # in the student's folder; kept when the bundle is rewritten


def teacher_fingerprint(teacher: Bundle) -> str:
    """A sha256 of what decides the teacher's logits: its weights, config (model, labels, tokenizer, max_len),
    vocabulary and the precision it predicts in."""
    digest = hashlib.sha256()
    config = teacher.config
    digest.update(json.dumps([config.model, config.model_config, config.labels, config.tokenizer, config.max_len,
                              teacher.precision, teacher.vocab.fingerprint()]).encode("utf-8"))
    for name, tensor in sorted(teacher.model.state_dict().items()):
        digest.update(name.encode("utf-8"))
        digest.update(tensor.detach().float().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def logits_digest(logits: torch.Tensor) -> str:
    """A sha256 of a logits tensor's shape and values: the cache is trusted only if its contents match it."""
    digest = hashlib.sha256(json.dumps(list(logits.shape)).encode())
    digest.update(logits.float().contiguous().numpy().tobytes())
    return digest.hexdigest()


def read_cache(path: Path, expected: dict[str, str], shape: tuple[int, int],
               log: Callable[[str], None]) -> torch.Tensor | None:
    """The cached logits if ``path`` holds them for exactly ``expected`` (fingerprints), with ``shape``
    ``[n_texts, n_classes]`` and the values its digest records; else None (said why, naming the file)."""
    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="pt") as cache:
            found = cache.metadata() or {}
            logits = cache.get_tensor("logits")
    except (SafetensorError, OSError, KeyError, ValueError) as err:
        log(f"teacher logits: {path} is not a readable cache ({err}); computing them again")
        return None
    stale = [key for key, value in expected.items() if found.get(key) != value]
    if stale:
        log(f"teacher logits: {path} was computed for another {' and '.join(stale)}; computing them again")
        return None
    if tuple(logits.shape) != shape:
        log(f"teacher logits: {path} holds {' x '.join(map(str, logits.shape))} logits, expected {shape[0]:,} texts "
            f"x {shape[1]} labels; computing them again")
        return None
    if found.get("digest") != logits_digest(logits):
        log(f"teacher logits: {path} does not match the digest recorded with its logits (changed after they were "
            "written, or written by an older textclf); computing them again")
        return None
    if not torch.isfinite(logits).all():
        log(f"teacher logits: {path} holds non-finite logits; computing them again")
        return None
    return logits


def teacher_logits(teacher: Bundle, texts: list[str], cache: str | Path | None = None, *, batch_size: int = 64,
                   log: Callable[[str], None] = print) -> tuple[torch.Tensor, dict]:
    """``[len(texts), n_classes]`` logits of ``teacher`` (through its inference seam, on its device), read from
    ``cache`` when it holds them for this teacher and these texts, else computed (and written there). Also
    returns the fingerprints and whether the cache was used."""
    expected = {"format": CACHE_FORMAT, "teacher": teacher_fingerprint(teacher), "texts": texts_fingerprint(texts),
                "labels": json.dumps(teacher.labels)}
    path = Path(cache) if cache is not None else None
    shape = (len(texts), len(teacher.labels))
    logits = read_cache(path, expected, shape, log) if path is not None else None
    facts = {"teacher_fingerprint": expected["teacher"], "texts_fingerprint": expected["texts"],
             "cached": logits is not None}
    if logits is not None:
        log(f"teacher logits: {len(texts):,} texts read from {path}")
        return logits, facts
    logits = teacher.logits(texts, batch_size=batch_size).float().cpu()  # [n_texts, n_classes]
    if not torch.isfinite(logits).all():
        raise ValueError(f"the teacher {teacher.path or ''} gave non-finite logits; is it a diverged model?")
    if path is not None:
        written = {**expected, "digest": logits_digest(logits)}
        atomic_write(path, lambda tmp: save_file({"logits": logits.contiguous()}, str(tmp), metadata=written),
                     suffix=".safetensors")
        log(f"teacher logits: {len(texts):,} texts labelled, cached in {path}")
    return logits, facts
