"""The main job: dataset -> vocabulary -> embeddings -> model -> ``fit`` -> test metrics -> a ``Bundle``.

``job_for(model, **overrides)`` turns a model's recipe into a ``JobConfig``; ``train_job`` runs it and
returns the trained model in memory. ``textclf train``, the facade, the lessons and the benchmarks all call
these two; writing the bundle is ``textclf.bundle.save_bundle``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import torch

from textclf.baseline import NAME as BASELINE
from textclf.baseline import linear_baseline
from textclf.batching import EncodedDataset, encode_splits
from textclf.bundle import Bundle, BundleConfig, DataRecord, adapter_record, check_bundle_out, load_bundle
from textclf.config import ConfigError, check_bool, check_choice, check_int, fail
from textclf.data import TextDataset
from textclf.devices import choose_precision, pick_device
from textclf.figures import confusion_figure, png_bytes, training_curves
from textclf.files import recover_directory, remove_stale_temporaries
from textclf.finetune import (
    MODES,
    LoRAOptions,
    count_parameters,
    extend_vocab,
    parameter_groups,
    set_trainable,
    transfer,
)
from textclf.glove import embedding_matrix, load_glove
from textclf.inference import evaluate
from textclf.metrics import format_confusion
from textclf.models import MODELS, Recipe, build_model, check_options, option_names, spec_of
from textclf.models.base import MAX_WIDTH, ClassifierNet
from textclf.models.lora import lora_layers, merge_lora
from textclf.models.losses import Criterion, cross_entropy
from textclf.models.minilm_vectors import minilm_vectors
from textclf.printable import printable
from textclf.text import Tokenizer, Vocab, make_tokenizer, tokenize
from textclf.train_config import TrainConfig, check_layer_lr_decay, check_max_len
from textclf.training import Hooks, fit, prints_epoch_lines

DEFAULT_MODEL = "gru+ngrams"  # what `textclf train` trains with no flags: chosen by benchmarks/accuracy.py


@dataclass
class JobConfig:
    model: str = DEFAULT_MODEL
    embeddings: str = "glove"        # "glove" (bundled subset), "minilm" (distilled), "random", a GloVe file/zip/"kumo"
    freeze_embeddings: bool = False
    embed_dim: int = 100             # for random embeddings; GloVe sets its own
    min_freq: int = 2
    max_len: int | None = 400        # tokens kept per text
    model_options: dict = field(default_factory=dict)  # hidden_dim, num_layers, n_filters, dropout, ...
    train: TrainConfig = field(default_factory=TrainConfig)
    init_from: str | None = None     # a bundle to start from (transfer); its model and vocabulary are used
    finetune: str = "full"           # with init_from or a pretrained model: head | last-k | lora | full
    last_k: int = 1                  # encoder stages trained in last-k mode
    lora: LoRAOptions = field(default_factory=LoRAOptions)  # rank, alpha, targets, dropout of --finetune lora
    layer_lr_decay: float | None = None  # discriminative learning rates: each stage down gets lr * decay^depth
    extend_vocab: bool = True        # with init_from: append the new task's words to the vocabulary
    baseline: bool = True            # with a bundle written: also train the linear baseline (metrics.json, card)

    def __post_init__(self) -> None:
        check_choice(self, "model", MODELS)
        if not isinstance(self.embeddings, str) or not self.embeddings:
            fail(self, "embeddings", "glove, minilm, random, kumo or a GloVe file")
        check_bool(self, "freeze_embeddings")
        check_int(self, "embed_dim", 1, MAX_WIDTH)
        check_int(self, "min_freq", 1)
        check_max_len(self)
        if not isinstance(self.model_options, dict):
            fail(self, "model_options", "a dict of the model's config fields")
        # the options' names and values are checked now, before anything is written (sizes come later)
        check_options(self.model, self.model_options)
        check_choice(self, "finetune", MODES)
        check_int(self, "last_k", 1, 64)
        if isinstance(self.lora, dict):  # a job.json, a checkpoint's identity
            self.lora = LoRAOptions(**self.lora)
        if not isinstance(self.lora, LoRAOptions):
            fail(self, "lora", "LoRAOptions(rank, alpha, targets, dropout)")
        check_layer_lr_decay(self)
        check_bool(self, "extend_vocab")
        check_bool(self, "baseline")


def recipe(model: str) -> Recipe:
    """The training options and ``max_len`` a model trains with by default (its registry entry's recipe:
    from scratch, or fine-tuning for a pretrained model)."""
    return spec_of(model).recipe


TRAIN_FIELDS = {f.name for f in fields(TrainConfig)}
JOB_FIELDS = {f.name for f in fields(JobConfig)} - {"model", "train"}


def job_for(model: str = DEFAULT_MODEL, **overrides) -> JobConfig:
    """The ``JobConfig`` for ``model``: its registry recipe, then ``overrides`` — any ``JobConfig`` field, any
    ``TrainConfig`` field, or any of the model's options (``hidden_dim=128``), by name. ``None`` means "not
    given" (the recipe's value stays); ``grad_clip=0`` means no clipping. A name that is none of these is an
    error, not a silent default. ``textclf train``, the facade and ``default_job`` all come through here."""
    base = recipe(model)
    given = {k: v for k, v in overrides.items() if v is not None}
    if given.get("grad_clip") == 0:
        given["grad_clip"] = None
    model_options = dict(given.pop("model_options", None) or {})
    train = asdict(base.train)
    job = {"embeddings": base.embeddings, "max_len": base.max_len, "layer_lr_decay": base.layer_lr_decay}
    if given.get("finetune") == "lora" and "lr" not in given and base.lora_lr is not None:
        train["lr"] = base.lora_lr  # adapters start at zero and are few: they learn at a larger rate
    for key, value in given.items():
        if key in TRAIN_FIELDS:
            train[key] = value
        elif key in JOB_FIELDS:
            job[key] = value
        elif key in option_names(model):
            model_options[key] = value
        else:
            raise ConfigError(f"job_for({model!r}): unknown option {key!r}; expected a JobConfig or TrainConfig "
                              f"field or one of the model's options ({', '.join(sorted(option_names(model)))})")
    return JobConfig(model=model, train=TrainConfig(**train), model_options=model_options, **job)


def default_job(model: str = DEFAULT_MODEL) -> JobConfig:
    """The job `textclf train --model MODEL` runs when no other option is given."""
    return job_for(model)


def embeddings_for(vocab: Vocab, job: JobConfig, log=print,
                   fit_words: int | None = None) -> tuple[torch.Tensor | None, int]:
    """The pretrained matrix for ``vocab`` (None for random embeddings) and the embedding size (``fit_words``:
    the source vocabulary's size in a transfer, whose directions MiniLM's vectors for new words must share)."""
    if job.embeddings == "random":
        return None, job.embed_dim
    if job.embeddings == "minilm":  # distilled from MiniLM's encoder (models/minilm_vectors.py)
        matrix = minilm_vectors(vocab, fit_words=fit_words, log=log)
        return matrix, matrix.shape[1]
    source = "bundled" if job.embeddings == "glove" else job.embeddings
    matrix, coverage = embedding_matrix(vocab, load_glove(source), seed=job.train.seed)
    log(f"GloVe: {coverage}")
    return matrix, matrix.shape[1]


def tokenizer_name(job: JobConfig, source: Bundle | None) -> str:
    """The source bundle's tokenizer when transferring, else the model's (``wordpiece`` for MiniLM)."""
    if source is not None:
        return source.config.tokenizer
    return spec_of(job.model).tokenizer


def job_vocab(ds: TextDataset, job: JobConfig, source: Bundle | None) -> Vocab:
    """A new vocabulary from the training texts, or the source model's (extended with the new words);
    a pretrained model's subword vocabulary (MiniLM's WordPiece) is fixed."""
    if tokenizer_name(job, source) == "wordpiece":
        return source.vocab if source is not None else spec_of(job.model).vocab()
    tokens = (tokenize(ex.text) for ex in ds.train)
    if source is None:
        return Vocab.build(tokens, min_freq=job.min_freq)
    return extend_vocab(source.vocab, tokens, job.min_freq) if job.extend_vocab else source.vocab


def new_model(vocab: Vocab, ds: TextDataset, job: JobConfig, log=print) -> tuple[ClassifierNet, str]:
    spec = spec_of(job.model)
    if spec.pretrained is not None:  # the pretrained encoder with a new head, frozen by mode
        model = spec.pretrained(len(ds.labels), job.train.seed)
        set_trainable(model, job.finetune, job.last_k, job.lora, job.train.seed)
        log(f"{job.model}: {spec.about}; fine-tuning: {finetune_text(job)}")
        return model, job.model
    if job.finetune != "full":  # nothing pretrained to keep: a from-scratch model learns everything
        raise ValueError(f"--finetune {job.finetune} keeps part of a trained model: it needs --init-from BUNDLE or a "
                         f"pretrained model ({', '.join(n for n, s in MODELS.items() if s.pretrained)}); a "
                         f"{job.model} from scratch trains in full")
    pretrained, dim = embeddings_for(vocab, job, log)
    torch.manual_seed(job.train.seed)
    model, _ = build_model(job.model, pretrained, vocab_size=len(vocab), n_classes=len(ds.labels), embed_dim=dim,
                           pad_index=vocab.pad_index, freeze_embeddings=job.freeze_embeddings, **job.model_options)
    return model, job.model


def where_from(job: JobConfig, source: Bundle) -> str:
    """The bundle a transfer starts from, for the log and the metrics: its folder, or "a bundle in memory"."""
    return str(job.init_from or source.path or "a bundle in memory")


def transferred_model(source: Bundle, vocab: Vocab, ds: TextDataset, job: JobConfig,
                      log=print) -> tuple[ClassifierNet, str]:
    """The source bundle's model with a new head for ``ds.labels``, embedding rows for new words, frozen by mode."""
    name, n_old = source.model_name, len(source.vocab)
    if job.model != name:
        log(f"--init-from: using the source's model ({name}), not {job.model}")
    new_rows = None
    if len(vocab) > n_old and job.embeddings != "random":
        matrix, _ = embeddings_for(vocab, job, log=lambda line: None, fit_words=n_old - 2)  # less <pad>, <unk>
        if matrix is not None and matrix.shape[1] == source.model.config.embed_dim:
            new_rows = matrix[n_old:]  # GloVe vectors for the words the source never saw
    model, parameters = transfer(source.model, len(ds.labels), job.finetune, job.last_k, vocab_size=len(vocab),
                                 new_rows=new_rows, seed=job.train.seed, lora=job.lora)
    log(f"transfer from {where_from(job, source)} ({', '.join(map(printable, source.labels))} -> "
        f"{', '.join(map(printable, ds.labels))}): {len(vocab) - n_old:,} new words, fine-tuning: {finetune_text(job)}")
    return model, name


def finetune_text(job: JobConfig) -> str:
    """The fine-tuning mode as the log says it: ``last-k (k=2)``, ``lora (rank 8, alpha 16, query, value)``."""
    if job.finetune == "last-k":
        return f"last-k (k={job.last_k})"
    if job.finetune == "lora":
        targets = ", ".join(job.lora.targets) if job.lora.targets else "the model's default targets"
        return f"lora (rank {job.lora.rank}, alpha {job.lora.alpha:g}, {targets}; merged into the weights after)"
    return job.finetune


@dataclass
class Runtime:
    """Where and how a job runs — not what it trains (that is the ``JobConfig``).

    ``resume``: continue from the checkpoint in the job's folder. ``hooks``: ``fit``'s hooks
    (``textclf.distributed.ddp_hooks`` under torchrun); only their writer (rank 0) writes checkpoints.
    ``device``: decided by the caller (default: ``job.train.device``). ``require_test=False``: an empty test
    split is allowed (the metrics then have valid figures only). ``batch_size_for(model, device)``: picks the
    batch size once the model is built (the facade measures what fits, ``textclf.batch_size``); it replaces
    ``job.train.batch_size`` (the bundle records the choice).
    """

    resume: bool = False
    hooks: Hooks = field(default_factory=Hooks)
    device: torch.device | None = None
    require_test: bool = True
    batch_size_for: Callable[[ClassifierNet, torch.device], int] | None = None


@dataclass
class Work:
    """A training job under way, step by step (``prepare`` fills it in; distillation changes ``train``,
    ``criterion`` and ``identity`` before ``finish``)."""

    ds: TextDataset
    job: JobConfig
    out: Path | None
    run: Runtime
    device: torch.device
    source: Bundle | None
    vocab: Vocab
    tokenizer: Tokenizer         # the one text tokenizer of the job (WordPiece's word cache serves every split)
    encoded: dict[str, EncodedDataset]
    model: ClassifierNet
    model_name: str
    train: EncodedDataset        # what the model trains on: the training split, or a distillation set
    criterion: Criterion = cross_entropy
    identity: dict = field(default_factory=dict)  # what a resumed run must share with the checkpoint


def train_job(ds: TextDataset, job: JobConfig, out: str | Path | None = None, *, run: Runtime | None = None,
              log=print, source: Bundle | None = None) -> Bundle:
    """Train and test one model; return it as a ``Bundle`` in memory (``save_bundle`` writes it).

    ``out``: where the loop keeps ``checkpoint.pt`` (and the vocabulary it was trained with) after every epoch,
    for ``run.resume``; ``textclf train`` uses the bundle's own folder, and ``save_bundle`` there drops them.
    ``run``: where and how (``Runtime``: resume, hooks, device, ...). ``source``: a bundle in memory to
    transfer from (else ``job.init_from``, a bundle folder, is loaded).
    """
    work = prepare(ds, job, out, run or Runtime(), log, source)  # folder, device, vocabulary, encoding, model
    return finish(work, log)                                      # fit, test, bundle


def prepare(ds: TextDataset, job: JobConfig, out: str | Path | None, run: Runtime, log=print,
            source: Bundle | None = None) -> Work:
    """The steps before training: the folder checked and recovered, the device and precision decided once,
    the vocabulary, the encoded splits and the model (``Work``)."""
    out, hooks = (check_bundle_out(out, [job.init_from] if job.init_from else []) if out else None), run.hooks
    ds.check_trainable(run.require_test)
    device = run.device if run.device is not None else pick_device(job.train.device)
    precision, why = choose_precision(job.train.precision, device)  # decided once; fit and the bundle get it
    if job.train.precision == "auto":
        log(f"precision: {precision} ({why})")
    job = replace(job, train=replace(job.train, precision=precision))
    if out and hooks.is_writer:
        recover_directory(out)  # what a run killed mid-save or mid-checkpoint left behind
        remove_stale_temporaries(out)
    hooks.barrier()
    if run.resume and (out is None or not (out / "checkpoint.pt").is_file()):  # before anything is written
        raise FileNotFoundError(f"{out / 'checkpoint.pt' if out else 'no --out'}: no checkpoint to resume from")
    source = source or (load_bundle(job.init_from) if job.init_from else None)
    vocab = checkpoint_vocab(ds, job, source, out, run.resume)
    text_tokenizer = make_tokenizer(tokenizer_name(job, source), vocab)
    encoded = encode_splits(ds, vocab, job.max_len, text_tokenizer)
    model, model_name = (transferred_model(source, vocab, ds, job, log) if source else new_model(vocab, ds, job, log))
    save_vocab(vocab, out, run.resume, hooks)
    if run.batch_size_for is not None:
        job = replace(job, train=replace(job.train, batch_size=run.batch_size_for(model, device)))
    identity = {"job": {k: v for k, v in asdict(job).items() if k != "train"}, "labels": ds.labels}
    return Work(ds, job, out, run, device, source, vocab, text_tokenizer, encoded, model, model_name,
                encoded["train"], identity=identity)


def finish(work: Work, log=print) -> Bundle:
    """The steps after ``prepare``: fit (``fit_work``), test, and the ``Bundle`` in memory."""
    history, seconds = fit_work(work, log)
    return bundle_of(work, history, seconds, log)


def fit_work(work: Work, log=print):
    """``fit`` on the work's training set with its criterion; returns the history and the seconds it took."""
    job, model = work.job, work.model
    log(f"{work.model_name}: {count_parameters(model)}; {len(work.ds.train):,} train / {len(work.ds.valid):,} valid "
        f"/ {len(work.ds.test):,} test texts; device {work.device}, {job.train.precision}")
    start = time.perf_counter()
    history = fit(model, work.train, work.encoded["valid"], job.train,
                  checkpoint=work.out / "checkpoint.pt" if work.out else None, resume=work.run.resume, log=log,
                  hooks=work.run.hooks, param_groups=parameter_groups(model, job.train.lr, job.layer_lr_decay),
                  device=work.device, identity=work.identity, criterion=work.criterion)
    if not prints_epoch_lines(job.train):  # else each epoch's line is already there: no second copy
        log(history.table())
    return history, time.perf_counter() - start


def bundle_of(work: Work, history, seconds: float, log=print) -> Bundle:
    """Test the trained model and put it, its vocabulary, config and metrics into a ``Bundle``."""
    ds, job, model, model_name, source = work.ds, work.job, work.model, work.model_name, work.source
    parameters, precision = count_parameters(model), job.train.precision  # what the optimizer trained
    adapter = lora_adapter(work) if job.finetune == "lora" else None  # before merging: what --adapter-only ships
    if job.finetune == "lora":  # the adapters folded into their layers: the bundle holds an ordinary model
        merge_lora(model)
    best = next(e for e in history.epochs if e["epoch"] == history.best_epoch)
    metrics = {"dataset": ds.name, "model": model_name, "valid_accuracy": best["valid_accuracy"],
               "valid_f1": best["valid_f1"], "best_epoch": history.best_epoch, "train_seconds": round(seconds, 1),
               "stopped_early": history.stopped_early, "trainable_parameters": parameters.trainable,
               "total_parameters": parameters.total, "history": history.epochs}
    # the facade may train without a test split
    test = evaluate(model, work.encoded["test"], precision=precision) if ds.test else None
    if test is not None:
        metrics.update(test_accuracy=test.accuracy, test_f1=test.f1, test_loss=test.loss)
        if job.baseline and work.run.hooks.is_writer:  # for the bundle's metrics.json and model card
            metrics["baseline"] = {"name": BASELINE, **linear_baseline(ds)}
    if source:
        metrics["transfer"] = {"init_from": where_from(job, source), "finetune": job.finetune, "last_k": job.last_k,
                               "layer_lr_decay": job.layer_lr_decay}
    if job.finetune == "lora":  # what was trained: the adapters (merged into the bundle's weights) and the head
        metrics["lora"] = {**asdict(job.lora), "targets": job.lora.targets_of(model)}
    log_test(test, metrics, best, history.best_epoch, seconds, ds.labels, log)
    config = BundleConfig(model_name, asdict(model.config), list(ds.labels), tokenizer=tokenizer_name(job, source),
                          max_len=job.max_len, dataset=ds.name, embeddings=job.embeddings,
                          train_config=asdict(job.train), data=DataRecord(ds.source, ds.fingerprints()))
    bundle = Bundle(model.eval(), work.vocab, config, metrics, precision=precision,  # predicts as it was trained
                    adapter=adapter)
    if work.run.hooks.is_writer:
        bundle.files = job_files(job, metrics, test, ds, f"{model_name} on {ds.name}")
    return bundle


def lora_adapter(work: Work):
    """A LoRA model's adapters apart from the base they were trained beside, named: the ``--init-from`` bundle's
    folder, or the pretrained model's name (None for a source bundle in memory only: no base to name)."""
    job, source = work.job, work.source
    if source is not None and source.path is None and not job.init_from:
        return None
    base = str(Path(job.init_from or source.path).resolve()) if source is not None else job.model
    rows = (source.model if source is not None else work.model).embedding.weight.shape[0]
    return adapter_record(work.model, base, rows, job.lora.rank, job.lora.alpha,
                          lora_layers(work.model))


def checkpoint_vocab(ds: TextDataset, job: JobConfig, source: Bundle | None, out: Path | None,
                     resume: bool) -> Vocab:
    """The vocabulary to train with: the one a checkpoint was trained with when resuming (it stays beside the
    checkpoint), else a new one (the same on every process: built from the same data; ``save_vocab`` puts it
    beside the checkpoint once the model is built)."""
    saved = out / "checkpoint.vocab.json" if out else None
    if resume and saved and saved.exists():
        return Vocab.load(saved)
    return job_vocab(ds, job, source)


def save_vocab(vocab: Vocab, out: Path | None, resume: bool, hooks: Hooks) -> None:
    """A new run's vocabulary beside its checkpoint (written after the model is built: an option only the model
    can check, such as ``--lora-targets``, is refused before the folder holds anything)."""
    if out and not resume and hooks.is_writer:
        vocab.save(out / "checkpoint.vocab.json")


def log_test(test, metrics: dict, best: dict, best_epoch: int, seconds: float, labels: list[str], log) -> None:
    if test is None:
        log(f"no test split: valid accuracy {best['valid_accuracy']:.4f} (the split that chose the epoch)")
        return
    log(f"test accuracy {test.accuracy:.4f}  test F1 {test.f1:.4f}  (best epoch {best_epoch}, {seconds:.0f}s)"
        + (f"; linear baseline {metrics['baseline']['accuracy']:.4f}" if "baseline" in metrics else ""))
    log(format_confusion(test.confusion(len(labels)), labels))


def job_files(job: JobConfig, metrics: dict, test, ds: TextDataset, title: str) -> dict[str, bytes]:
    """The files written beside the bundle: the job (``job.json``), the training curves, the test confusion."""
    files = {"job.json": job_json(job),
             "curves.png": png_bytes(training_curves(metrics["history"], metrics["best_epoch"], title))}
    if test is not None:
        files["confusion.png"] = png_bytes(confusion_figure(test.confusion(len(ds.labels)), ds.labels))
    return files


def job_json(job: JobConfig) -> bytes:
    """``job.json``: the job a bundle was trained with."""
    return json.dumps(asdict(job), indent=2).encode("utf-8")
