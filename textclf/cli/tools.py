"""Commands about the pieces rather than a bundle: ``tokenize``, ``data``, ``check``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from textclf.cli.inputs import add_dataset_options, load_from_args, texts_from, whole_number
from textclf.printable import json_safe


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
    check.add_argument("exercises", nargs="*", help="1.1 (one exercise) or 1 (a whole lesson); none: every "
                       "exercise of every lesson, as a progress table")
    check.add_argument("--all", action="store_true", help="every exercise of every lesson, as a progress table")
    check.add_argument("--file", type=Path, help="your exercise file (default: ./lessons/exercises/exNN_*.py, "
                       "else this project's)")
    check.add_argument("-v", "--verbose", action="store_true", help="show each test and why it failed")
    check.set_defaults(run=cmd_check)


def cmd_check(args: argparse.Namespace) -> int:
    from textclf.grading import progress, progress_table, report, run_checks

    if args.all or not args.exercises:
        if args.file or args.exercises:
            raise ValueError("--all grades every lesson's own file; give no exercises and no --file with it")
        rows = progress()
        print(progress_table(rows))
        return 0 if all(status == "passed" for _, status in rows) else 1
    outcomes = run_checks(args.exercises, args.file, verbose=args.verbose)
    print(report(outcomes))
    return 0 if all(o.failed == 0 and o.passed for o in outcomes.values()) else 1
