"""The ``textclf`` command: it parses, calls the package and prints; the work is in the modules it calls.

    textclf train [--dataset D] [--model cnn] [--embeddings glove] [--out DIR]   train, test, write a bundle
    textclf train --init-from DIR --finetune head|last-k|full ...               transfer to a new task
    textclf evaluate DIR [--dataset D]      score a bundle on a dataset's test split
    textclf predict DIR "text" ... | -      label probabilities, one JSON object per text
    textclf explain DIR "text" ... [--html F]  which words mattered (integrated gradients)
    textclf report DIR                      one HTML page: metrics vs baseline, curves, calibration, mistakes
    textclf calibrate DIR                   fit a softmax temperature on the validation split (ECE, NLL)
    textclf bench DIR [--variants ...]      time prediction variants: int8, ONNX Runtime, compile, bf16
    textclf export DIR --format onnx|torch-export   a portable graph (model.onnx / model.pt2), parity-checked
    textclf serve DIR [--port 8000]         HTTP: POST /predict, POST /explain, GET /healthz, GET / (a demo page)
    textclf tokenize [--tokenizer minilm] TEXT ...  WordPiece tokens and ids
    textclf data [NAME_OR_PATH]             load a dataset, show its splits, tokens, vocabulary, GloVe coverage
    textclf check 1.1 [--file F]            grade a lesson exercise

Each command is one ``add_NAME`` (its arguments) beside its ``cmd_NAME`` (parse, call, print). Bad input
files end with one line naming the file, the line and what was expected (exit status 2), never with a
traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from textclf.data import DataError
from textclf.data.datasets import FORMATS
from textclf.explain.explainer import BASELINES
from textclf.explain.integrated_gradients import METHODS, OUTPUTS
from textclf.finetune import MODES
from textclf.models import MODELS
from textclf.pipeline import DEFAULT_MODEL
from textclf.text.printable import json_safe, printable

MODEL_OPTIONS = ("hidden_dim", "num_layers", "n_filters", "dropout", "model_dim", "n_heads", "ff_dim", "positions",
                 "norm", "pooling")
SPLITS = ["train", "valid", "test"]


def texts_from(texts: list[str]) -> list[str]:
    """The texts given on the command line, or ``-``: one per non-empty line of standard input (UTF-8;
    a line that is not UTF-8 is an error naming it, never a traceback or invalid JSON downstream)."""
    if texts != ["-"]:
        return texts
    stream = getattr(sys.stdin, "buffer", None)
    lines = stream if stream is not None else (line.encode("utf-8", "surrogateescape") for line in sys.stdin)
    found = []
    for number, raw in enumerate(lines, start=1):
        try:
            line = raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as err:
            raise DataError("<stdin>", number, f"not valid UTF-8 (byte {raw[err.start]:#04x} at column "
                            f"{err.start + 1}); expected UTF-8 text, one text per line") from None
        if line.strip():
            found.append(line)
    return found


def whole_number(low: int, high: int = 1 << 31):
    """An argparse type: a whole number from ``low`` to ``high`` (else argparse's usage error, exit 2)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected a whole number from {low} to {high:,}, not {value}")
        return value
    return parse


def column(value: str) -> str | int:
    return int(value) if value.isdigit() else value


def add_dataset_options(parser: argparse.ArgumentParser, positional: bool = True, default="rotten_tomatoes",
                        format_flag: str = "--format") -> None:
    names = ["dataset"] if positional else ["--dataset"]
    parser.add_argument(*names, nargs="?" if positional else None, default=default,
                        help="bundled name (rotten_tomatoes, bbc_news) or a csv/tsv/jsonl file, aclImdb dir/archive")
    parser.add_argument(format_flag, dest="format", choices=FORMATS, help="the dataset file's format")
    parser.add_argument("--text-column", type=column, default="text", help="name, or 0-based index without header")
    parser.add_argument("--label-column", type=column, default="label")
    parser.add_argument("--no-header", action="store_true", help="the csv/tsv file has no header row")
    parser.add_argument("--labels", help="comma-separated allowed labels; others are errors")
    parser.add_argument("--skip-bad", action="store_true", help="skip bad rows and report them instead of stopping")


def load_from_args(args: argparse.Namespace):
    from textclf.data import load_dataset

    labels = None
    if args.labels is not None:
        labels = [y.strip() for y in args.labels.split(",")]
        if not all(labels) or len(set(labels)) != len(labels):
            raise ValueError(f"--labels {args.labels!r}: expected distinct, non-empty label names separated by commas")
    ds = load_dataset(args.dataset, format=args.format, text_column=args.text_column,
                      label_column=args.label_column, header=not args.no_header, labels=labels,
                      on_error="skip" if args.skip_bad else "raise")
    if ds.skipped:
        print(f"skipped {len(ds.skipped)} bad rows:", file=sys.stderr)
        for problem in ds.skipped[:20]:
            print(f"  {problem}", file=sys.stderr)
        if len(ds.skipped) > 20:
            print(f"  ... and {len(ds.skipped) - 20} more", file=sys.stderr)
    return ds




def dataset_for(args: argparse.Namespace, bundle, split: str):
    """``--dataset`` if given; else the dataset the bundle records (checked against its fingerprint)."""
    return load_from_args(args) if args.dataset else bundle.recorded_dataset(split)


def add_speed_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quantize", choices=["int8"], help="int8 weights for the Linear layers (CPU)")
    parser.add_argument("--backend", choices=["torch", "onnxruntime"], default="torch",
                        help="run the model with PyTorch or ONNX Runtime (pip install 'textclf[onnx]')")


def open_bundle(args: argparse.Namespace, speed: bool = False):
    """The bundle named on the command line (with ``--quantize``/``--backend`` applied where the command has them)."""
    from textclf.bundle import load_bundle

    bundle = load_bundle(args.bundle)
    if speed:
        from textclf.speed.backends import with_backend

        with_backend(bundle, quantize=args.quantize, backend=args.backend)
    return bundle


# ---- train -------------------------------------------------------------------------------------------------------

def add_train(commands) -> None:
    train = commands.add_parser("train", help="train a model on a dataset and write a bundle directory")
    add_dataset_options(train, positional=False)
    train.add_argument("--model", default=DEFAULT_MODEL, choices=list(MODELS))
    train.add_argument("--embeddings", default="glove",
                       help="glove (bundled 50d subset), random, or a GloVe .txt/.zip file or 'kumo'")
    train.add_argument("--freeze-embeddings", action="store_true", help="keep the embedding layer fixed")
    train.add_argument("--out", type=Path, default=Path("runs/model"), help="bundle directory (default runs/model)")
    train.add_argument("--epochs", type=int, help="default 15 (minilm: 3)")
    train.add_argument("--batch-size", type=int, help="default 64 (minilm: 32)")
    train.add_argument("--lr", type=float, help="learning rate, default 1e-3 (minilm: 5e-5)")
    train.add_argument("--optimizer", choices=["adam", "adamw"], help="default adam (minilm: adamw)")
    train.add_argument("--weight-decay", type=float, help="default 0 (minilm: 0.01)")
    train.add_argument("--warmup", type=float, help="share of steps for learning-rate warm-up (minilm: 0.1)")
    train.add_argument("--schedule", choices=["constant", "linear"], help="after warm-up (minilm: linear decay)")
    train.add_argument("--grad-clip", type=float, help="max gradient norm, 0 for none (default 5; minilm: 1)")
    train.add_argument("--patience", type=int, help="epochs without improvement before stopping (default 3)")
    train.add_argument("--monitor", choices=["accuracy", "f1"], default="accuracy")
    train.add_argument("--min-freq", type=int, default=2)
    train.add_argument("--max-len", type=int, help="tokens kept per text (default 400; minilm: 128)")
    train.add_argument("--hidden-dim", type=int, help="RNN hidden size per direction (default 64)")
    train.add_argument("--num-layers", type=int, help="RNN layers (default 1)")
    train.add_argument("--n-filters", type=int, help="CNN filters per kernel size (default 100)")
    train.add_argument("--dropout", type=float)
    train.add_argument("--model-dim", type=int, help="transformer width (default 128)")
    train.add_argument("--n-heads", type=int, help="transformer attention heads (default 4)")
    train.add_argument("--ff-dim", type=int, help="transformer feed-forward width (default 256)")
    train.add_argument("--positions", choices=["sinusoidal", "learned"], help="transformer positional encoding")
    train.add_argument("--norm", choices=["pre", "post"], help="transformer LayerNorm placement (default pre)")
    train.add_argument("--pooling", choices=["mean", "cls"], help="transformer pooling (default mean)")
    transfer = train.add_argument_group("transfer (start from a trained bundle)")
    transfer.add_argument("--init-from", type=Path, help="bundle directory to start from (its model and vocabulary)")
    transfer.add_argument("--finetune", choices=MODES, default="full",
                          help="what learns: the new head only, the head + last k stages, or everything")
    transfer.add_argument("--last-k", type=int, default=1, help="encoder stages trained with --finetune last-k")
    transfer.add_argument("--layer-lr-decay", type=float,
                          help="discriminative learning rates: each stage down trains at lr x this")
    transfer.add_argument("--no-extend-vocab", action="store_true",
                          help="keep the source vocabulary as is (new words read as <unk>)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--device", default="auto", help="auto (cuda, then mps, then cpu), cpu, cuda, mps")
    train.add_argument("--resume", action="store_true", help="continue from DIR/checkpoint.pt")
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    train.add_argument("--no-baseline", action="store_true",
                       help="skip the TF-IDF + SVM baseline (metrics.json and the model card compare with it)")
    train.set_defaults(run=cmd_train)


def job_from_args(args: argparse.Namespace, progress: bool = True):
    """The ``JobConfig`` that ``textclf train`` runs: the model's recipe, then the options given."""
    from textclf.pipeline import job_for

    trained = ("epochs", "batch_size", "lr", "patience", "seed", "device", "monitor", "optimizer", "warmup",
               "schedule", "weight_decay", "grad_clip", "embeddings", "freeze_embeddings", "min_freq", "max_len",
               "finetune", "last_k", "layer_lr_decay", *MODEL_OPTIONS)
    return job_for(args.model, **{k: getattr(args, k) for k in trained}, progress=progress and not args.quiet,
                   init_from=str(args.init_from) if args.init_from else None,
                   extend_vocab=not args.no_extend_vocab, baseline=not args.no_baseline)


def cmd_train(args: argparse.Namespace) -> int:
    """Train in this process, or (started by torchrun) as one of N data-parallel processes."""
    from textclf import distributed

    if not distributed.launched_by_torchrun():
        return train(args)
    cluster = distributed.setup(args.device)
    try:
        return train(args, cluster)
    finally:
        distributed.teardown()


def train(args: argparse.Namespace, cluster=None) -> int:
    from textclf.bundle import save_bundle
    from textclf.devices import pick_device
    from textclf.distributed import ddp_hooks, restart_count
    from textclf.pipeline import train_job
    from textclf.training import TrainingDiverged, TrainingInterrupted

    main = cluster is None or cluster.is_main
    say = print if main else (lambda *a, **k: None)  # only rank 0 talks
    ds = load_from_args(args)
    job = job_from_args(args, progress=main)
    device = cluster.device if cluster is not None else pick_device(job.train.device)  # the one decision
    checkpoint = args.out / "checkpoint.pt"
    resume = args.resume or (restart_count() > 0 and checkpoint.is_file())  # torchrun restarted the workers
    if resume and not args.resume:
        say(f"restart {restart_count()}: resuming from {checkpoint}")
    say(f"training {args.model} on {printable(ds.name)} -> {args.out}")
    if cluster is not None:
        say(f"distributed: {cluster.describe()}; batch size {job.train.batch_size} per process, "
            f"{job.train.batch_size * cluster.world_size} per step")
    hooks = ddp_hooks(cluster) if cluster is not None else None
    try:
        bundle = train_job(ds, job, args.out, resume=resume, log=say, hooks=hooks, device=device)
        if main:  # one swap writes the bundle and drops the checkpoint files
            save_bundle(bundle, args.out)
        if hooks is not None:
            hooks.barrier()
    except (TrainingDiverged, TrainingInterrupted) as err:
        say(f"textclf train: {err}", file=sys.stderr)
        return 130 if isinstance(err, TrainingInterrupted) else 3
    except KeyboardInterrupt:  # outside the epoch loop: before training, or while testing/saving
        hint = f"; resume with the checkpoint {checkpoint} (--resume)" if checkpoint.exists() else ""
        say(f"textclf train: interrupted{hint}", file=sys.stderr)
        return 130
    say(f"bundle written to {args.out}: model.safetensors config.json vocab.json metrics.json "
        "README.md (the model card)")
    say(f"test_accuracy={bundle.metrics['test_accuracy']:.4f} test_f1={bundle.metrics['test_f1']:.4f}")
    return 0


# ---- evaluate, predict -------------------------------------------------------------------------------------------

def add_evaluate(commands) -> None:
    evaluate = commands.add_parser("evaluate", help="score a trained bundle on a dataset split")
    evaluate.add_argument("bundle", type=Path)
    add_dataset_options(evaluate, positional=False, default=None)
    evaluate.add_argument("--split", default="test", choices=SPLITS)
    add_speed_options(evaluate)
    evaluate.set_defaults(run=cmd_evaluate)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from textclf.calibration import expected_calibration_error
    from textclf.metrics import format_confusion

    bundle = open_bundle(args, speed=True)
    ds = dataset_for(args, bundle, args.split)
    if sorted(ds.labels) != sorted(bundle.labels):
        raise ValueError(f"the dataset's labels {ds.labels} are not the model's {bundle.labels}")
    examples = ds.split(args.split)
    if not examples:
        raise DataError(ds.where(), None, f"the {args.split} split is empty; expected examples to score")
    result = bundle.evaluate(examples)  # the bundle's own tokenizer (WordPiece for MiniLM) and temperature
    ece = expected_calibration_error(result.probabilities, result.targets)
    print(f"{printable(ds.name)} {args.split}: accuracy {result.accuracy:.4f}  F1 {result.f1:.4f}  "
          f"loss {result.loss:.4f}  ECE {ece:.4f}"
          + (f" (temperature {bundle.temperature:.3f})" if bundle.temperature != 1.0 else "")
          + f"  ({len(examples)} texts)")
    if bundle.forward is not None:  # a faster variant: what it costs in accuracy
        from textclf.inference import evaluate

        plain = evaluate(bundle.model, bundle.dataset(examples))
        print(f"{args.backend}{' int8' if args.quantize else ''} vs fp32 PyTorch: accuracy "
              f"{100 * (result.accuracy - plain.accuracy):+.2f} points ({plain.accuracy:.4f}), predictions agree on "
              f"{float((result.predictions == plain.predictions).float().mean()):.1%}")
    print(format_confusion(result.confusion(len(bundle.labels)), bundle.labels))
    return 0


def add_predict(commands) -> None:
    predict = commands.add_parser("predict", help="label probabilities for texts (- reads them from stdin)")
    predict.add_argument("bundle", type=Path)
    predict.add_argument("texts", nargs="+", help="texts to classify, or - to read one per line from stdin")
    add_speed_options(predict)
    predict.set_defaults(run=cmd_predict)


def cmd_predict(args: argparse.Namespace) -> int:
    texts = texts_from(args.texts)
    bundle = open_bundle(args, speed=True)
    for text, probs in zip(texts, bundle.predict(texts)):
        label = max(probs, key=probs.get)
        print(json_safe(json.dumps({"text": text, "label": label, "probabilities": probs}, ensure_ascii=False)))
    return 0


# ---- explain, report, calibrate ----------------------------------------------------------------------------------

def add_explain(commands) -> None:
    explain = commands.add_parser("explain", help="which words mattered: integrated gradients for texts")
    explain.add_argument("bundle", type=Path)
    explain.add_argument("texts", nargs="*", help="texts to explain, or - to read one per line from stdin")
    explain.add_argument("--html", type=Path, help="also write a self-contained HTML report here")
    explain.add_argument("--baseline", choices=BASELINES, default="pad", help="what the words are compared with")
    explain.add_argument("--steps", type=whole_number(1, 10_000), default=50,
                         help="points on the path (more: smaller delta)")
    explain.add_argument("--method", choices=METHODS, default="trapezoid", help="Riemann rule")
    explain.add_argument("--output", choices=OUTPUTS, default="probability", help="explain the probability or logit")
    explain.add_argument("--target", help="explain this label instead of the predicted one")
    explain.add_argument("--engine", choices=["textclf", "captum"], default="textclf")
    explain.add_argument("--no-color", action="store_true", help="mark scores as word(+0.12) instead of colours")
    add_dataset_options(explain, positional=False, default=None)
    explain.add_argument("--split", choices=SPLITS, help="explain texts of this dataset split")
    explain.add_argument("--limit", type=whole_number(1), default=5, help="how many texts of --split")
    explain.add_argument("--wrong-only", action="store_true", help="only texts of --split the model gets wrong")
    explain.set_defaults(run=cmd_explain)


def explain_inputs(args: argparse.Namespace, bundle) -> tuple[list[str], list[str] | None]:
    """The texts to explain: from the command line / stdin, or (``--split``) from a dataset, with true labels."""
    from textclf.explain import dataset_texts

    if args.split is None:
        if not args.texts:
            raise ValueError("give texts to explain (or - to read them from stdin), or --split to take a dataset's")
        return texts_from(args.texts), None
    examples = dataset_for(args, bundle, args.split).split(args.split)
    return dataset_texts(bundle, examples, limit=args.limit, wrong_only=args.wrong_only)


def cmd_explain(args: argparse.Namespace) -> int:
    from textclf.explain import explain, render_terminal, save_html

    if args.html is not None and (args.html.is_dir() or not args.html.parent.is_dir()):
        problem = ("is a folder; expected the name of an .html file to write" if args.html.is_dir()
                   else "its folder does not exist; expected a file name in an existing folder")
        raise DataError(args.html, None, problem)
    bundle = open_bundle(args)
    texts, truth = explain_inputs(args, bundle)
    explanations = explain(bundle, texts, true_labels=truth, target=args.target, baseline=args.baseline,
                           steps=args.steps, method=args.method, output=args.output, engine=args.engine)
    print(render_terminal(explanations, color=False if args.no_color else None))
    if args.html:
        save_html(args.html, explanations, title=f"Which words mattered: {args.bundle}")
        print(f"HTML report written to {args.html}")
    return 0


def add_report(commands) -> None:
    report = commands.add_parser("report", help="one self-contained HTML page: metrics, curves, calibration, mistakes")
    report.add_argument("bundle", type=Path)
    report.add_argument("--out", type=Path, help="the HTML file (default DIR/report.html)")
    report.add_argument("--mistakes", type=whole_number(0, 100), default=5, help="confident mistakes to explain")
    report.add_argument("--no-baseline", action="store_true", help="skip training the linear baseline")
    add_dataset_options(report, positional=False, default=None)
    report.set_defaults(run=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    from textclf.report import build_report, write_report

    out = args.out or args.bundle / "report.html"
    if out.is_dir():
        raise DataError(out, None, "is a folder; expected the name of an .html file to write")
    bundle = open_bundle(args)
    ds = dataset_for(args, bundle, "test")
    own_data = args.dataset is None  # the bundle's recorded data (checked against its fingerprint)
    write_report(out, build_report(bundle, ds, mistakes=args.mistakes, baseline=not args.no_baseline,
                                   own_data=own_data))
    print(f"report written to {out}")
    return 0


def add_calibrate(commands) -> None:
    calibrate = commands.add_parser("calibrate", help="fit a softmax temperature on the validation split")
    calibrate.add_argument("bundle", type=Path)
    add_dataset_options(calibrate, positional=False, default=None)
    calibrate.set_defaults(run=cmd_calibrate)


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Fit the softmax temperature on the validation split and write it into the bundle's config.json."""
    from textclf.calibration import calibrate

    bundle = open_bundle(args)
    ds = dataset_for(args, bundle, "valid")
    result = calibrate(bundle, {"valid": ds.valid, "test": ds.test})
    print(result.table())
    bundle.set_temperature(result.temperature)
    written = bundle.save_config()
    print(f"temperature {result.temperature:.4f} fitted on the validation split, written to {written} "
          "(predict, evaluate and the facade apply it; accuracy and the ranking of labels do not change)")
    return 0


# ---- bench, export, serve ----------------------------------------------------------------------------------------

def add_bench(commands) -> None:
    bench = commands.add_parser("bench", help="time every prediction variant of a bundle (int8, ONNX, compile, ...)")
    bench.add_argument("bundle", type=Path)
    add_dataset_options(bench, positional=False, default=None)
    bench.add_argument("--split", default="test", choices=SPLITS)
    bench.add_argument("--limit", type=whole_number(1), default=2000, help="at most this many texts")
    bench.add_argument("--rounds", type=whole_number(1, 100), default=3, help="alternating timed rounds")
    bench.add_argument("--batch-size", type=whole_number(1, 4096), default=64)
    bench.add_argument("--variants", nargs="+", default=["fp32", "fp32 unsorted", "fp32 1 thread", "int8",
                                                         "torchao int8", "onnxruntime", "onnxruntime int8", "bf16",
                                                         "compile", "ipex"])
    bench.add_argument("--profile", action="store_true", help="also show where fp32 spends its time")
    add_speed_options(bench)  # --quantize/--backend: that one variant against fp32
    bench.set_defaults(run=cmd_bench)


def cmd_bench(args: argparse.Namespace) -> int:
    from textclf.speed.bench import bench, check_variants, describe_machine, profile_summary, table

    variants = check_variants(args.variants, quantize=args.quantize, backend=args.backend)
    bundle = open_bundle(args)
    examples = dataset_for(args, bundle, args.split).split(args.split)[: args.limit]
    if not examples:
        raise DataError(args.bundle, None, f"the {args.split} split is empty; expected texts to time")
    print(f"{args.bundle} ({bundle.model_name}) on {len(examples)} {args.split} texts; {describe_machine()}; "
          f"{args.rounds} alternating rounds")
    texts = [e.text for e in examples]
    print(table(bench(bundle, texts, [e.label for e in examples], variants=variants, rounds=args.rounds,
                      batch_size=args.batch_size)))
    if args.profile:
        print("\nwhere fp32 prediction spends its time (torch.profiler, self CPU time):")
        print(profile_summary(bundle, texts[:500], batch_size=args.batch_size))
    return 0


def add_export(commands) -> None:
    export = commands.add_parser("export", help="write a portable graph of the model (ONNX or torch.export), "
                                 "checked against the PyTorch model")
    export.add_argument("bundle", type=Path)
    export.add_argument("--format", dest="export_format", choices=["onnx", "torch-export"], default="onnx",
                        help="onnx: DIR/model.onnx (ONNX Runtime, ...); torch-export: DIR/model.pt2 "
                        "(TorchScript is deprecated and not offered)")
    export.add_argument("--out", type=Path, help="the file to write (default DIR/model.onnx or DIR/model.pt2)")
    add_dataset_options(export, positional=False, default=None, format_flag="--data-format")
    export.add_argument("--split", default="test", choices=SPLITS, help="texts to check parity on")
    export.add_argument("--limit", type=whole_number(1), default=100_000, help="at most this many texts")
    export.add_argument("--tolerance", type=float, default=1e-4, help="largest logit difference accepted")
    export.set_defaults(run=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    from textclf.export import check_tolerance, export_bundle, export_path

    bundle = open_bundle(args)
    fmt = args.export_format
    out = export_path(args.bundle, fmt, args.out)  # checked before any work
    check_tolerance(args.tolerance)
    examples = dataset_for(args, bundle, args.split).split(args.split)[: args.limit]
    if not examples:
        raise DataError(args.bundle, None, f"the {args.split} split is empty; expected texts to check the export on")
    result = export_bundle(bundle, fmt, [e.text for e in examples], out, tolerance=args.tolerance)
    print(f"{result.path}: {fmt}, {result.path.stat().st_size / 1e6:.1f} MB; parity with the PyTorch model "
          f"on {result.texts} {args.split} texts: max |logit difference| {result.max_difference:.2e} "
          f"(at most {args.tolerance:.0e})")
    return 0


def add_serve(commands) -> None:
    serve = commands.add_parser("serve", help="serve a bundle over HTTP: /predict, /explain, /healthz and a demo page")
    serve.add_argument("bundle", type=Path)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine "
                       "only)")
    serve.add_argument("--port", type=whole_number(0, 65535), default=8000, help="0 picks a free port")
    serve.add_argument("--max-texts", type=whole_number(1, 100_000), default=64, help="texts per /predict request")
    serve.add_argument("--max-explain-texts", type=whole_number(1, 1000), default=4, help="texts per /explain")
    serve.add_argument("--max-chars", type=whole_number(1, 10_000_000), default=5000, help="characters per text")
    serve.add_argument("--max-body-bytes", type=whole_number(2, 1 << 30), default=1 << 20, help="bytes per body")
    serve.add_argument("--explain-steps", type=whole_number(1, 1000), default=50,
                       help="integrated-gradients steps for /explain")
    serve.add_argument("--quiet", action="store_true", help="do not log each request")
    serve.add_argument("--no-batching", action="store_true",
                       help="run each /predict request on its own (default: requests waiting together form a batch)")
    add_speed_options(serve)
    serve.set_defaults(run=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    from textclf.serving import Limits, make_server

    limits = Limits(max_texts=args.max_texts, max_explain_texts=args.max_explain_texts, max_chars=args.max_chars,
                    max_body_bytes=args.max_body_bytes, explain_steps=args.explain_steps)
    bundle = open_bundle(args, speed=True)  # once, before serving
    try:
        server = make_server(bundle, args.host, args.port, limits, quiet=args.quiet, batching=not args.no_batching)
    except OSError as err:
        raise OSError(f"cannot listen on {args.host}:{args.port} ({err.strerror}); pick another --port "
                      "(0: any free port)") from None
    host, port = server.server_address[:2]
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: listening on {args.host}: anyone who can reach this machine can use the model "
              "(no authentication)", file=sys.stderr)
    variant = f"{args.backend}{' int8' if args.quantize else ''}"
    print(f"serving {args.bundle} ({bundle.model_name}, {variant}) on http://{host}:{port}/  "
          "(POST /predict, POST /explain, GET /healthz; Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    finally:
        server.server_close()
    return 0


# ---- tokenize, data, check ---------------------------------------------------------------------------------------

def add_tokenize(commands) -> None:
    tok = commands.add_parser("tokenize", help="show the tokens (and ids) a tokenizer makes of texts")
    tok.add_argument("texts", nargs="+", help="texts, or - to read one per line from stdin")
    tok.add_argument("--tokenizer", choices=["minilm", "basic"], default="minilm",
                     help="minilm: WordPiece with MiniLM's vocab.txt ([CLS] ... [SEP]); basic: the classic models'")
    tok.add_argument("--max-len", type=whole_number(2, 1_000_000), default=512, help="WordPiece: at most this many ids")
    tok.set_defaults(run=cmd_tokenize)


def cmd_tokenize(args: argparse.Namespace) -> int:
    from textclf.text import tokenize

    texts = texts_from(args.texts)
    if args.tokenizer == "minilm":
        from textclf.models.minilm import minilm_tokenizer

        wordpiece = minilm_tokenizer()
        rows = [{"text": t, "tokens": wordpiece.vocab.decode(ids), "ids": ids}
                for t, ids in ((t, wordpiece.encode(t, args.max_len)) for t in texts)]
    else:
        rows = [{"text": t, "tokens": tokenize(t)} for t in texts]
    for row in rows:
        print(json_safe(json.dumps(row, ensure_ascii=False)))
    return 0


def add_data(commands) -> None:
    data = commands.add_parser("data", help="load a dataset and show what the pipeline makes of it")
    add_dataset_options(data)
    data.add_argument("--batch-size", type=whole_number(1, 1 << 20), default=64)
    data.add_argument("--glove", default="bundled", help="GloVe source for the coverage report ('none' to skip)")
    data.set_defaults(run=cmd_data)


def cmd_data(args: argparse.Namespace) -> int:
    from textclf.data_report import describe

    print(describe(load_from_args(args), batch_size=args.batch_size, glove=args.glove))
    return 0


def add_check(commands) -> None:
    check = commands.add_parser("check", help="grade lesson exercises, e.g. textclf check 1.1")
    check.add_argument("exercises", nargs="+", help="1.1 (one exercise) or 1 (a whole lesson)")
    check.add_argument("--file", type=Path, help="your exercise file (default: lessons/exercises/exNN_*.py)")
    check.add_argument("-v", "--verbose", action="store_true", help="show each test and why it failed")
    check.set_defaults(run=cmd_check)


def cmd_check(args: argparse.Namespace) -> int:
    from textclf.grading import report, run_checks

    outcomes = run_checks(args.exercises, args.file, verbose=args.verbose)
    print(report(outcomes))
    return 0 if all(o.failed == 0 and o.passed for o in outcomes.values()) else 1


COMMANDS = (add_train, add_evaluate, add_predict, add_explain, add_report, add_calibrate, add_bench, add_export,
            add_serve, add_tokenize, add_data, add_check)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="textclf", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    for add in COMMANDS:
        add(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except BrokenPipeError:  # output piped into `head` and cut short: not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (DataError, OSError, ValueError, ModuleNotFoundError) as err:  # OSError: a path that cannot be written
        print(f"textclf {args.command}: error: {printable(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"textclf {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
