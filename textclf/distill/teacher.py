"""The teacher's logits on the distillation set, computed once and cached in a fingerprinted file.

Labelling 40,000 texts with MiniLM takes minutes on a laptop CPU, and a student is trained many times (seeds,
alpha, T, another student); the logits do not change unless the teacher or the texts do. So they are kept in
a safetensors file (``textclf.tensor_cache``) whose metadata records fingerprints of both (and the precision
they were computed in) and a digest of the logits themselves (their shape and values). A cache that does not
match — another teacher, other texts, rows or columns missing, values changed, a damaged file — is said so in
one line naming the file and recomputed, never trusted: the cache is derived, so losing it costs time, not work.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path

import torch

from textclf.bundle import Bundle
from textclf.distill.distillation_set import texts_fingerprint
from textclf.tensor_cache import CacheKind, read_cached, write_cached

CACHE_FORMAT = "textclf-teacher-logits"
CACHE_NAME = "teacher_logits.safetensors"  # in the student's folder; kept when the bundle is rewritten
KIND = CacheKind("teacher logits", "logits", "texts", "labels")


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


CHUNK = 4096  # texts per progress line while the teacher labels


def labelled_in_chunks(teacher: Bundle, texts: list[str], batch_size: int,
                       log: Callable[[str], None]) -> torch.Tensor:
    """The teacher's logits, ``CHUNK`` texts at a time, with a line after each (minutes of work otherwise silent)."""
    if len(texts) <= CHUNK:  # one call, nothing to report (no texts included: an empty [0, n_classes])
        return teacher.logits(texts, batch_size=batch_size).float().cpu()
    parts, start = [], time.perf_counter()
    for begin in range(0, len(texts), CHUNK):
        parts.append(teacher.logits(texts[begin : begin + CHUNK], batch_size=batch_size).float().cpu())
        done = min(begin + CHUNK, len(texts))
        log(f"teacher logits: {done:,}/{len(texts):,} texts ({time.perf_counter() - start:.0f}s)")
    return torch.cat(parts)


def teacher_logits(teacher: Bundle, texts: list[str], cache: str | Path | None = None, *, batch_size: int = 64,
                   log: Callable[[str], None] = print) -> tuple[torch.Tensor, dict]:
    """``[len(texts), n_classes]`` logits of ``teacher`` (through its inference seam, on its device), read from
    ``cache`` when it holds them for this teacher and these texts, else computed (and written there). Also
    returns the fingerprints and whether the cache was used."""
    expected = {"format": CACHE_FORMAT, "teacher": teacher_fingerprint(teacher), "texts": texts_fingerprint(texts),
                "labels": json.dumps(teacher.labels)}
    path = Path(cache) if cache is not None else None
    shape = (len(texts), len(teacher.labels))
    logits = read_cached(path, expected, shape, KIND, log) if path is not None else None
    facts = {"teacher_fingerprint": expected["teacher"], "texts_fingerprint": expected["texts"],
             "cached": logits is not None}
    if logits is not None:
        log(f"teacher logits: {len(texts):,} texts read from {path}")
        return logits, facts
    logits = labelled_in_chunks(teacher, texts, batch_size, log)  # [n_texts, n_classes]
    if not torch.isfinite(logits).all():
        raise ValueError(f"the teacher {teacher.path or ''} gave non-finite logits; is it a diverged model?")
    if path is not None:
        write_cached(path, logits, expected, KIND)
        log(f"teacher logits: {len(texts):,} texts labelled, cached in {path}")
    return logits, facts
