"""Commands that score and explain a trained bundle: ``evaluate``, ``predict``, ``explain``, ``report``,
``calibrate``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from textclf.cli.inputs import (
    SPLITS,
    add_dataset_options,
    add_speed_options,
    dataset_for,
    open_bundle,
    texts_from,
    whole_number,
)
from textclf.data import DataError
from textclf.explain.explainer import BASELINES
from textclf.explain.integrated_gradients import METHODS, OUTPUTS
from textclf.text.printable import json_safe, printable


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
    if args.html is not None:
        bundle.check_output(args.html, what="HTML report")
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
    bundle.check_output(out, what="report")  # never onto the bundle's own files (links resolved), FIFOs, devices
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
