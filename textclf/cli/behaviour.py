"""``textclf behaviour DIR``: behavioural tests of a trained bundle (what accuracy does not tell you)."""

from __future__ import annotations

import argparse
from pathlib import Path

from textclf.cli.inputs import SPLITS, add_dataset_options, add_speed_options, dataset_for, open_bundle, whole_number
from textclf.cli.scoring import check_output_file


def add_behaviour(commands) -> None:
    behaviour = commands.add_parser(
        "behaviour", help="behavioural tests: failure rates on negation, contrast, typos, name swaps, ...")
    behaviour.add_argument("bundle", type=Path)
    behaviour.add_argument("--suite", type=Path, help="a suite file (JSON Lines; default: the one that ships for "
                           "the model's labels, English sentiment or BBC topics)")
    behaviour.add_argument("--html", type=Path, help="also write a self-contained HTML report here")
    add_dataset_options(behaviour, positional=False, default=None)
    behaviour.add_argument("--split", default="test", choices=SPLITS,
                           help="the real texts the invariance and directional tests edit (default test)")
    behaviour.add_argument("--seed", type=whole_number(0, 2**31 - 1), default=0, help="which cases are sampled")
    behaviour.add_argument("--examples", type=whole_number(0, 100), default=2,
                           help="the worst failures printed per test (default 2)")
    add_speed_options(behaviour)
    behaviour.set_defaults(run=cmd_behaviour)


def cmd_behaviour(args: argparse.Namespace) -> int:
    from textclf.behaviour import bundle_model, load_suite, run_suite, shipped_suite
    from textclf.behaviour.report import html_report, table, worst_examples
    from textclf.files import atomic_write_text
    from textclf.printable import printable

    check_output_file(args.html, ".html")
    suite = load_suite(args.suite) if args.suite else None  # a bad suite file is refused before any model loads
    bundle = open_bundle(args, speed=True)
    if args.html is not None:
        bundle.check_output(args.html, what="HTML report")  # never over one of the bundle's own files
    suite = suite or load_suite(shipped_suite(bundle.labels))
    suite.check_labels(bundle.labels)
    texts = [ex.text for ex in dataset_for(args, bundle, args.split).split(args.split)]
    results = run_suite(suite, bundle_model(bundle), bundle.labels, texts, seed=args.seed, n_worst=args.examples)
    print(f"{printable(suite.name)} suite on {printable(str(args.bundle))} ({bundle.model_name}; invariance and "
          f"directional tests edit {len(texts):,} {args.split} texts; failure rates with 95% Wilson intervals)")
    print(table(results))
    if args.examples and any(r.worst for r in results):
        print("\nworst failures:\n" + worst_examples(results))
    if args.html:
        atomic_write_text(args.html, html_report(results, f"Behavioural tests: {suite.name} on {args.bundle}"))
        print(f"report written to {args.html}")
    return 0
