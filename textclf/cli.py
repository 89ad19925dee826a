"""The ``textclf`` command.

    textclf data [NAME_OR_PATH]     load a dataset, show its splits, tokens, vocabulary, GloVe coverage, padding
    textclf check 1.1 [--file F]    grade a lesson exercise

Bad input files end with one line naming the file, the line and what was
expected (exit status 2), never with a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from textclf.data import DataError


def column(value: str) -> str | int:
    return int(value) if value.isdigit() else value


def add_dataset_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", nargs="?", default="rotten_tomatoes",
                        help="bundled name (rotten_tomatoes, bbc_news) or a csv/tsv/jsonl file, aclImdb dir/archive")
    parser.add_argument("--format", choices=["csv", "tsv", "jsonl", "sms_spam", "ag_news", "aclimdb"])
    parser.add_argument("--text-column", type=column, default="text", help="name, or 0-based index without header")
    parser.add_argument("--label-column", type=column, default="label")
    parser.add_argument("--no-header", action="store_true", help="the csv/tsv file has no header row")
    parser.add_argument("--labels", help="comma-separated allowed labels; others are errors")
    parser.add_argument("--skip-bad", action="store_true", help="skip bad rows and report them instead of stopping")


def load_from_args(args: argparse.Namespace):
    from textclf.data import load_dataset

    ds = load_dataset(args.dataset, format=args.format, text_column=args.text_column,
                      label_column=args.label_column, header=not args.no_header,
                      labels=args.labels.split(",") if args.labels else None,
                      on_error="skip" if args.skip_bad else "raise")
    if ds.skipped:
        print(f"skipped {len(ds.skipped)} bad rows:", file=sys.stderr)
        for problem in ds.skipped[:20]:
            print(f"  {problem}", file=sys.stderr)
        if len(ds.skipped) > 20:
            print(f"  ... and {len(ds.skipped) - 20} more", file=sys.stderr)
    return ds


def cmd_data(args: argparse.Namespace) -> int:
    from textclf.data_report import describe

    print(describe(load_from_args(args), batch_size=args.batch_size, glove=args.glove))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from textclf.grading import report, run_checks

    outcomes = run_checks(args.exercises, args.file, verbose=args.verbose)
    print(report(outcomes))
    return 0 if all(o.failed == 0 and o.passed for o in outcomes.values()) else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="textclf", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    data = commands.add_parser("data", help="load a dataset and show what the pipeline makes of it")
    add_dataset_options(data)
    data.add_argument("--batch-size", type=int, default=64)
    data.add_argument("--glove", default="bundled", help="GloVe source for the coverage report ('none' to skip)")
    data.set_defaults(run=cmd_data)

    check = commands.add_parser("check", help="grade lesson exercises, e.g. textclf check 1.1")
    check.add_argument("exercises", nargs="+", help="1.1 (one exercise) or 1 (a whole lesson)")
    check.add_argument("--file", type=Path, help="your exercise file (default: lessons/exercises/exNN_*.py)")
    check.add_argument("-v", "--verbose", action="store_true", help="show each test and why it failed")
    check.set_defaults(run=cmd_check)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (DataError, FileNotFoundError, ValueError, ModuleNotFoundError) as err:
        print(f"textclf {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"textclf {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
