"""``textclf train``: its options, the job they make (``job_for``), and the run (one process or torchrun)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from pathlib import Path

from textclf.cli.inputs import add_dataset_options, load_from_args
from textclf.finetune import MODES, LoRAOptions
from textclf.models import FROM_SCRATCH, MODELS, CNNConfig, Recipe, RNNConfig, TransformerConfig
from textclf.models.transformer import NORMS, POOLINGS, POSITIONS
from textclf.pipeline import DEFAULT_MODEL, TRAIN_FIELDS
from textclf.printable import printable
from textclf.train_config import MONITORS, OPTIMIZERS, SCHEDULES


def shown(value) -> str:
    return "none" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def recipe_default(name: str, about: str = "") -> str:
    """A help text's default, read from the registry's recipes (``TrainConfig`` fields, ``max_len``,
    ``layer_lr_decay``): "default 15 (minilm: 4)" — the from-scratch recipe's, and every model's that differs."""
    def value(recipe: Recipe):
        return getattr(recipe.train, name) if name in TRAIN_FIELDS else getattr(recipe, name)

    default = value(FROM_SCRATCH)
    others = "".join(f" ({model}: {shown(value(spec.recipe))})" for model, spec in MODELS.items()
                     if value(spec.recipe) != default)
    return f"{about}{', ' if about else ''}default {shown(default)}{others}"


def names(text: str) -> list[str]:
    """``"query,value"`` -> ``["query", "value"]``."""
    found = [part.strip() for part in text.split(",")]
    if not all(part.isidentifier() for part in found):
        raise argparse.ArgumentTypeError(f"expected layer names separated by commas, such as query,value; not {text!r}")
    return found


def config_default(config_class: type, name: str, about: str) -> str:
    """A help text's default read from a model config's field."""
    default = next(f.default for f in fields(config_class) if f.name == name)
    return f"{about} (default {shown(default)})"


# textclf train's options that override the model's recipe (None: not given), and the model's own options;
# every default and every list of choices is read from where the option is defined
TRAIN_OPTIONS = [
    ("--epochs", int, recipe_default("epochs")), ("--batch-size", int, recipe_default("batch_size")),
    ("--lr", float, recipe_default("lr", "learning rate") + "; with --finetune lora: " + ", ".join(
        f"{model} {shown(spec.recipe.lora_lr)}" for model, spec in MODELS.items() if spec.recipe.lora_lr)
        + " (the others: their lr)"),
    ("--optimizer", list(OPTIMIZERS), recipe_default("optimizer")),
    ("--weight-decay", float, recipe_default("weight_decay")),
    ("--warmup", float, recipe_default("warmup", "share of steps for learning-rate warm-up")),
    ("--schedule", list(SCHEDULES), recipe_default("schedule", "after warm-up")),
    ("--grad-clip", float, recipe_default("grad_clip", "max gradient norm, 0 for none")),
    ("--patience", int, recipe_default("patience", "epochs without improvement before stopping")),
    ("--monitor", list(MONITORS), recipe_default("monitor", "the validation metric that picks the best epoch")),
    ("--max-len", int, recipe_default("max_len", "tokens kept per text")),
    ("--hidden-dim", int, config_default(RNNConfig, "hidden_dim", "RNN hidden size per direction")),
    ("--num-layers", int, config_default(RNNConfig, "num_layers", "RNN layers")),
    ("--n-filters", int, config_default(CNNConfig, "n_filters", "CNN filters per kernel size")),
    ("--dropout", float, None),
    ("--model-dim", int, config_default(TransformerConfig, "model_dim", "transformer width")),
    ("--n-heads", int, config_default(TransformerConfig, "n_heads", "transformer attention heads")),
    ("--ff-dim", int, config_default(TransformerConfig, "ff_dim", "transformer feed-forward width")),
    ("--positions", list(POSITIONS), config_default(TransformerConfig, "positions", "transformer positional encoding")),
    ("--norm", list(NORMS), config_default(TransformerConfig, "norm", "transformer LayerNorm placement")),
    ("--pooling", list(POOLINGS), config_default(TransformerConfig, "pooling", "transformer pooling")),
]


def add_train(commands) -> None:
    train = commands.add_parser("train", help="train a model on a dataset and write a bundle directory")
    add_dataset_options(train, positional=False)
    train.add_argument("--model", default=DEFAULT_MODEL, choices=list(MODELS))
    add_job_options(train, default_out="runs/model")
    train.set_defaults(run=cmd_train)


def add_job_options(parser: argparse.ArgumentParser, default_out: str) -> None:
    """What ``textclf train`` and ``textclf distill`` share: how the model is built and trained, where it goes."""
    parser.add_argument("--embeddings",
                        help="glove (bundled 50d subset), minilm (word vectors distilled from MiniLM's encoder, "
                        "256d; needs MiniLM's files), random, or a GloVe .txt/.zip file or 'kumo' (default: the "
                        "model's recipe: glove; static: minilm)")
    parser.add_argument("--freeze-embeddings", action="store_true", help="keep the embedding layer fixed")
    parser.add_argument("--min-freq", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path(default_out), help=f"bundle directory (default {default_out})")
    for flag, kind, about in TRAIN_OPTIONS:
        parser.add_argument(flag, **({"choices": kind} if isinstance(kind, list) else {"type": kind}), help=about)
    transfer = parser.add_argument_group("transfer (start from a trained bundle)")
    transfer.add_argument("--init-from", type=Path, help="bundle directory to start from (its model and vocabulary)")
    transfer.add_argument("--finetune", choices=MODES, default="full",
                          help="what learns (with --init-from or a pretrained model such as minilm): the new head "
                               "only, the head + last k stages, the head + low-rank adapters (lora), or everything")
    transfer.add_argument("--last-k", type=int, default=1, help="encoder stages trained with --finetune last-k")
    transfer.add_argument("--lora-rank", type=int, help=config_default(LoRAOptions, "rank", "--finetune lora: rank"))
    transfer.add_argument("--lora-alpha", type=float,
                          help=config_default(LoRAOptions, "alpha", "--finetune lora: the change is scaled by "
                                              "alpha / rank"))
    transfer.add_argument("--lora-targets", type=names,
                          help="--finetune lora: comma-separated Linear layer names (default: the model's, "
                               "attention's query and value)")
    transfer.add_argument("--lora-dropout", type=float, help=config_default(
        LoRAOptions, "dropout", "--finetune lora: dropout on the adapters' input"))
    transfer.add_argument("--adapter-only", action="store_true",
                          help="--finetune lora: write only the adapters and the head (and the base weights' name "
                               "and fingerprint; they load back onto those weights) instead of the merged model")
    transfer.add_argument("--layer-lr-decay", type=float,
                          help=recipe_default("layer_lr_decay", "discriminative learning rates: each stage down "
                                              "trains at lr x this; 1 turns it off"))
    transfer.add_argument("--no-extend-vocab", action="store_true",
                          help="keep the source vocabulary as is (new words read as <unk>)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", help="auto (cuda, then mps, then cpu), cpu, cuda[:N], mps")
    parser.add_argument("--resume", action="store_true", help="continue from DIR/checkpoint.pt")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the TF-IDF + SVM baseline (metrics.json and the model card compare with it)")


def job_from_args(args: argparse.Namespace, progress: bool = True):
    """The ``JobConfig`` that ``textclf train`` runs: the model's recipe, then the options given."""
    from textclf.pipeline import job_for

    trained = ("seed", "device", "precision", "embeddings", "freeze_embeddings", "min_freq", "finetune",
               "last_k", "layer_lr_decay", *(flag[2:].replace("-", "_") for flag, _, _ in TRAIN_OPTIONS))
    lora = {k: getattr(args, f"lora_{k}") for k in ("rank", "alpha", "targets", "dropout")}
    if args.finetune != "lora" and any(v is not None for v in lora.values()):
        given = next(f"--lora-{k}" for k, v in lora.items() if v is not None)
        raise ValueError(f"{given} is an option of --finetune lora (this run fine-tunes: {args.finetune})")
    if args.adapter_only and args.finetune != "lora":
        raise ValueError(f"--adapter-only writes a LoRA model's adapters: it needs --finetune lora (this run "
                         f"fine-tunes: {args.finetune})")
    return job_for(args.model, **{k: getattr(args, k) for k in trained}, progress=progress and not args.quiet,
                   init_from=str(args.init_from) if args.init_from else None,
                   extend_vocab=not args.no_extend_vocab, baseline=not args.no_baseline,
                   lora=LoRAOptions(**{k: v for k, v in lora.items() if v is not None}))


def cmd_train(args: argparse.Namespace) -> int:
    """Train in this process, or (started by torchrun) as one of N data-parallel processes."""
    from textclf import distributed

    if not distributed.launched_by_torchrun():
        return train(args)
    cluster = distributed.setup(args.device, args.threads)
    try:
        return train(args, cluster)
    finally:
        distributed.teardown()


def train(args: argparse.Namespace, cluster=None) -> int:
    from textclf.devices import pick_device
    from textclf.distributed import ddp_hooks, restart_count
    from textclf.pipeline import Runtime, train_job
    from textclf.training import Hooks

    main = cluster is None or cluster.is_main
    say = print if main else (lambda *a, **k: None)  # only rank 0 talks
    job = job_from_args(args, progress=main)
    device = cluster.device if cluster is not None else pick_device(job.train.device)  # first: before the data
    ds = load_from_args(args)
    checkpoint = args.out / "checkpoint.pt"
    resume = args.resume or (restart_count() > 0 and checkpoint.is_file())  # torchrun restarted the workers
    if resume and not args.resume:
        say(f"restart {restart_count()}: resuming from {checkpoint}")
    say(f"training {args.model} on {printable(ds.name)} -> {args.out}")
    if cluster is not None:
        say(f"distributed: {cluster.describe()}; batch size {job.train.batch_size} per process, "
            f"{job.train.batch_size * cluster.world_size} per step")
    hooks = ddp_hooks(cluster) if cluster is not None else Hooks()
    run = Runtime(resume=resume, hooks=hooks, device=device)
    return write_bundle(args, lambda: train_job(ds, job, args.out, run=run, log=say), say, main, hooks)


def write_bundle(args: argparse.Namespace, make, say=print, main: bool = True, hooks=None, reads=()) -> int:
    """Run ``make()`` (a training job returning a ``Bundle``), write the bundle to ``--out`` (rank 0), say what
    was written; a diverged run exits 3, Ctrl-C 130 with the checkpoint to resume from. ``--out`` is checked
    first, before any work: a folder, and none of the bundles the command ``reads`` (``check_bundle_out``)."""
    from textclf.bundle import BUNDLE_FILES, check_bundle_out, save_bundle
    from textclf.training import TrainingDiverged, TrainingInterrupted

    check_bundle_out(args.out, [*reads, *([args.init_from] if args.init_from else [])])

    checkpoint = args.out / "checkpoint.pt"
    try:
        bundle = make()
        if main:  # one swap writes the bundle and drops the checkpoint files
            save_bundle(bundle, args.out, adapter_only=args.adapter_only)
        if hooks is not None:
            hooks.barrier()
    except (TrainingDiverged, TrainingInterrupted) as err:
        say(f"textclf {args.command}: {err}", file=sys.stderr)
        return 130 if isinstance(err, TrainingInterrupted) else 3
    except KeyboardInterrupt:  # outside the epoch loop: before training, or while testing/saving
        hint = f"; resume with the checkpoint {checkpoint} (--resume)" if checkpoint.exists() else ""
        say(f"textclf {args.command}: interrupted{hint}", file=sys.stderr)
        return 130
    written = sorted(name for name in BUNDLE_FILES if (args.out / name).is_file())
    say(f"bundle written to {args.out}: {' '.join(written)} (README.md: the model card)")
    say(f"test_accuracy={bundle.metrics['test_accuracy']:.4f} test_f1={bundle.metrics['test_f1']:.4f}")
    return 0
