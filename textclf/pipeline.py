"""The main job: dataset -> vocabulary -> embeddings -> model -> ``fit`` -> test metrics -> bundle.

``textclf train`` and ``benchmarks/accuracy.py`` both call ``train_job``.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from textclf.batching import encode_splits
from textclf.data import TextDataset
from textclf.export import save_bundle
from textclf.glove import embedding_matrix, load_glove
from textclf.io import atomic_write_text
from textclf.metrics import format_confusion
from textclf.models import build_model
from textclf.text import Vocab, tokenize
from textclf.training import TrainConfig, evaluate, fit, pick_device


@dataclass
class JobConfig:
    model: str = "cnn"
    embeddings: str = "glove"        # "glove" (bundled subset), "random", or a GloVe file/zip/"kumo"
    freeze_embeddings: bool = False
    embed_dim: int = 100             # for random embeddings; GloVe sets its own
    min_freq: int = 2
    max_len: int | None = 400        # tokens kept per text
    model_options: dict = field(default_factory=dict)  # hidden_dim, num_layers, n_filters, dropout, ...
    train: TrainConfig = field(default_factory=TrainConfig)


def embeddings_for(vocab: Vocab, job: JobConfig, log=print) -> tuple[torch.Tensor | None, int]:
    """The pretrained matrix for ``vocab`` (None for random embeddings) and the embedding size."""
    if job.embeddings == "random":
        return None, job.embed_dim
    source = "bundled" if job.embeddings == "glove" else job.embeddings
    matrix, coverage = embedding_matrix(vocab, load_glove(source), seed=job.train.seed)
    log(f"GloVe: {coverage}")
    return matrix, matrix.shape[1]


def train_job(ds: TextDataset, job: JobConfig, out: str | Path | None = None, *, resume: bool = False,
              log=print) -> dict:
    """Train and test one model; write the bundle to ``out`` if given. Returns the metrics dict."""
    out = Path(out) if out else None
    # The vocabulary a checkpoint was trained with stays beside it; the bundle's own files
    # (an earlier model's, perhaps) are replaced only once the new model is complete.
    checkpoint_vocab = out / "checkpoint.vocab.json" if out else None
    if resume and checkpoint_vocab and checkpoint_vocab.exists():
        vocab = Vocab.load(checkpoint_vocab)
    else:
        vocab = Vocab.build((tokenize(ex.text) for ex in ds.train), min_freq=job.min_freq)
        if checkpoint_vocab:
            vocab.save(checkpoint_vocab)
    pretrained, dim = embeddings_for(vocab, job, log)
    encode = encode_splits(ds, vocab, job.max_len)
    torch.manual_seed(job.train.seed)
    model, model_config = build_model(job.model, pretrained, vocab_size=len(vocab), n_classes=len(ds.labels),
                                      embed_dim=dim, pad_index=vocab.pad_index,
                                      freeze_embeddings=job.freeze_embeddings, **job.model_options)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    log(f"{job.model}: {trainable:,} trainable parameters of {sum(p.numel() for p in model.parameters()):,}; "
        f"{len(ds.train):,} train / {len(ds.valid):,} valid / {len(ds.test):,} test texts; "
        f"device {pick_device(job.train.device)}")
    start = time.perf_counter()
    history = fit(model, encode["train"], encode["valid"], job.train,
                  checkpoint=out / "checkpoint.pt" if out else None, resume=resume, log=log)
    seconds = time.perf_counter() - start
    log(history.table())
    test = evaluate(model, encode["test"], device=pick_device(job.train.device))
    metrics = {"dataset": ds.name, "model": job.model, "test_accuracy": test.accuracy, "test_f1": test.f1,
               "test_loss": test.loss, "best_epoch": history.best_epoch, "train_seconds": round(seconds, 1),
               "stopped_early": history.stopped_early, "history": history.epochs}
    log(f"test accuracy {test.accuracy:.4f}  test F1 {test.f1:.4f}  (best epoch {history.best_epoch}, "
        f"{seconds:.0f}s)")
    log(format_confusion(test.confusion(len(ds.labels)), ds.labels))
    if out:
        save_bundle(out, model.cpu(), job.model, vocab, ds.labels, max_len=job.max_len, metrics=metrics,
                    extra={"dataset": ds.name, "embeddings": job.embeddings, "train_config": asdict(job.train)})
        (out / "checkpoint.pt").unlink(missing_ok=True)
        checkpoint_vocab.unlink(missing_ok=True)
        atomic_write_text(out / "job.json", json.dumps(asdict(job), indent=2))
    return metrics
