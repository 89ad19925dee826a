"""What every command reads from its arguments: texts (or ``-`` for stdin), whole numbers in a range,
a dataset and its reading options, and the bundle (with a faster backend where the command offers one)."""

from __future__ import annotations

import argparse
import sys

from textclf.data import DataError
from textclf.data.datasets import FORMATS

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
    """The bundle named on the command line, on ``--device`` in ``--precision`` (decided once, said on stderr), with
    ``--quantize``/``--backend`` applied where the command has them (CPU only: ``auto`` then means the CPU, fp32)."""
    from textclf.bundle import load_bundle
    from textclf.devices import choose_precision, pick_device

    cpu_backend = speed and (args.quantize or args.backend != "torch")
    wanted = getattr(args, "device", "cpu")
    device = pick_device("cpu" if cpu_backend and wanted == "auto" else wanted)
    asked = getattr(args, "precision", None)
    precision, why = choose_precision("fp32" if asked is None or (cpu_backend and asked == "auto") else asked, device)
    why = "the default; --precision auto picks bf16 where the device is fast at it" if asked is None else why
    if "device" in args:
        print(f"textclf {args.command}: device {device}, precision {precision} ({why})", file=sys.stderr)
    bundle = load_bundle(args.bundle, device, precision)
    if speed:
        from textclf.speed.backends import with_backend

        with_backend(bundle, quantize=args.quantize, backend=args.backend)
    return bundle
