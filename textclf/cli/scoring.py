"""Commands that score and explain a trained bundle: ``evaluate``, ``predict``, ``explain``, ``report``,
``calibrate``."""

from __future__ import annotations

import argparse
import json
import sys
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
from textclf.explain.integrated_gradients import MAX_STEPS, OUTPUTS, RULES
from textclf.explain.methods import BASELINES, ENGINES, MAX_SAMPLES, METHODS, MODES, OPTIONS
from textclf.printable import json_safe, printable


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
    predict.add_argument("--digits", type=digits, default=6,
                         help="decimal places of the printed probabilities (default 6: 0.99997 stays 0.99997, not "
                              "1.0; up to 17)")
    add_speed_options(predict)
    predict.set_defaults(run=cmd_predict)


def digits(text: str) -> int:
    """``--digits``: a whole number of decimal places from 1 to 17."""
    if not text.isdigit() or not 1 <= int(text) <= 17:
        raise argparse.ArgumentTypeError(f"expected a whole number of decimal places from 1 to 17, not {text!r}")
    return int(text)


def cmd_predict(args: argparse.Namespace) -> int:
    texts = texts_from(args.texts)
    bundle = open_bundle(args, speed=True)
    for text, probs in zip(texts, bundle.predict(texts)):
        label = max(probs, key=probs.get)
        probs = {name: round(p, args.digits) for name, p in probs.items()}  # 3e-05, not 2.99163020827109e-05
        print(json_safe(json.dumps({"text": text, "label": label, "probabilities": probs}, ensure_ascii=False)))
    return 0


# ---- explain, report, calibrate ----------------------------------------------------------------------------------

def add_explain(commands) -> None:
    explain = commands.add_parser("explain", help="which words mattered (integrated gradients, occlusion, Shapley, "
                                                  "LIME, attention, ...); --compare scores the methods")
    explain.add_argument("bundle", type=Path)
    explain.add_argument("texts", nargs="*", help="texts to explain, or - to read one per line from stdin")
    explain.add_argument("--method", action="append", choices=list(METHODS),
                         help="attribution method (default ig); with --compare, give it again for each method "
                              "to compare (default: all but kernelshap; attention and rollout where the model "
                              "has attention)")
    explain.add_argument("--compare", action="store_true",
                         help="score the methods for faithfulness on --split (default test): a table and a figure")
    explain.add_argument("--figure", type=Path, default=Path("faithfulness.png"),
                         help="with --compare: where the figure goes (default faithfulness.png)")
    explain.add_argument("--json", type=Path, help="with --compare: also write the numbers as JSON here")
    explain.add_argument("--html", type=Path, help="also write a self-contained HTML report here")
    explain.add_argument("--baseline", choices=BASELINES, default="pad", help="what a switched-off word becomes")
    explain.add_argument("--output", choices=OUTPUTS, default="probability", help="explain the probability or logit")
    explain.add_argument("--steps", type=whole_number(1, MAX_STEPS), help="ig: points on the path (default 50)")
    explain.add_argument("--rule", choices=RULES, help="ig: the Riemann rule (default trapezoid)")
    explain.add_argument("--engine", choices=list(ENGINES), help="ig: ours (textclf, the default) or Captum's")
    explain.add_argument("--mode", choices=MODES, help="occlusion: replace the word by the baseline (default) "
                                                      "or delete it")
    explain.add_argument("--samples", type=whole_number(1, MAX_SAMPLES),
                         help="shapley: random orders (default 20); lime, kernelshap: perturbed texts (default 200)")
    explain.add_argument("--seed", type=whole_number(0), help="the sampling methods' and --compare's random seed")
    explain.add_argument("--target", help="explain this label instead of the predicted one")
    explain.add_argument("--no-color", action="store_true", help="mark scores as word(+0.12) instead of colours")
    add_dataset_options(explain, positional=False, default=None)
    explain.add_argument("--split", choices=SPLITS, help="explain texts of this dataset split")
    explain.add_argument("--limit", type=whole_number(1),
                         help="how many texts of --split (default 5; 100 with --compare)")
    explain.add_argument("--wrong-only", action="store_true", help="only texts of --split the model gets wrong")
    explain.set_defaults(run=cmd_explain)


def explain_inputs(args: argparse.Namespace, bundle) -> tuple[list[str], list[str] | None]:
    """The texts to explain: from the command line / stdin, or (``--split``) from a dataset, with true labels."""
    from textclf.explain import dataset_texts

    if args.split is not None and args.texts:
        raise ValueError("give texts to explain or --split to take a dataset's, not both (the texts would be left "
                         "out)")
    for flag, value in (("--wrong-only", args.wrong_only), ("--limit", args.limit), ("--dataset", args.dataset)):
        if value and args.split is None:
            raise ValueError(f"{flag} chooses texts of a dataset split; give --split (train, valid or test) with it")
    if args.split is None:
        if not args.texts:
            raise ValueError("give texts to explain (or - to read them from stdin), or --split to take a dataset's")
        return texts_from(args.texts), None
    examples = dataset_for(args, bundle, args.split).split(args.split)
    limit = args.limit or (100 if args.compare else 5)
    return dataset_texts(bundle, examples, limit=limit, wrong_only=args.wrong_only)


def check_output_file(path: Path | None, suffix: str) -> None:
    if path is not None and (path.is_dir() or not path.absolute().parent.is_dir()):
        article = "an" if suffix == ".html" else "a"
        problem = (f"is a folder; expected the name of {article} {suffix} file to write" if path.is_dir()
                   else "its folder does not exist; expected a file name in an existing folder")
        raise DataError(path, None, problem)


def cmd_explain(args: argparse.Namespace) -> int:
    from textclf.explain import ExplainSettings

    # a method's own options are passed only when given: each method refuses an option it does not use
    given = {k: getattr(args, k) for k in OPTIONS if getattr(args, k) is not None}
    shared = dict(baseline=args.baseline, output=args.output)
    for path, suffix in ((args.html, ".html"), (args.figure if args.compare else None, ".png"), (args.json, ".json")):
        check_output_file(path, suffix)
    if not args.compare:
        if args.method is not None and len(args.method) > 1:
            raise ValueError("give one --method to explain with (several only with --compare)")
        method = (args.method or ["ig"])[0]
        ExplainSettings.of(method, **shared, **given)  # a bad option stops here, before anything loads
        return explain_texts(args, method, {**shared, **given})
    seed = given.pop("seed", 0)
    chosen = args.method or list(METHODS)
    unused = sorted(set(given) - {o for m in chosen for o in METHODS[m].options})
    if unused:
        raise ValueError(f"--{unused[0]} is used by none of the methods compared ({', '.join(chosen)})")
    per_method = {m: {**shared, **{k: v for k, v in {**given, "seed": seed}.items() if k in METHODS[m].options}}
                  for m in chosen}
    if args.split is None and not args.texts:
        args.split = "test"
    return compare_methods(args, args.method, per_method, seed)


def explain_texts(args: argparse.Namespace, method: str, options: dict) -> int:
    from textclf.explain import explain, render_terminal, save_html

    bundle = open_bundle(args)
    if args.html is not None:
        bundle.check_output(args.html, what="HTML report")
    texts, truth = explain_inputs(args, bundle)
    explanations = explain(bundle, texts, true_labels=truth, target=args.target, method=method, **options)
    print(render_terminal(explanations, color=False if args.no_color else None))
    if args.html:
        save_html(args.html, explanations, title=f"Which words mattered: {args.bundle}")
        print(f"HTML report written to {args.html}")
    return 0


def compare_methods(args: argparse.Namespace, methods: list[str] | None, options: dict, seed: int) -> int:
    from textclf.explain import compare, comparison_figure
    from textclf.figures import save
    from textclf.files import atomic_write_text

    if args.target is not None or args.html is not None:
        raise ValueError("--compare explains each text's predicted class and writes a figure; "
                         "leave out --target and --html")
    bundle = open_bundle(args)
    for path, what in ((args.figure, "figure"), (args.json, "JSON")):
        if path is not None:
            bundle.check_output(path, what=what)
    texts, _ = explain_inputs(args, bundle)
    result = compare(bundle, texts, methods=methods, seed=seed, options=options,
                     progress=lambda line: print(line, file=sys.stderr, flush=True))
    print(result.table())
    print("\nagreement (mean rank correlation of word scores per text):")
    print(result.agreement_table())
    print("\n" + result.verdict())
    save(comparison_figure(result), args.figure)
    print(f"figure written to {args.figure}")
    if args.json is not None:
        atomic_write_text(args.json, json.dumps(result.as_dict(), indent=2) + "\n")
        print(f"JSON written to {args.json}")
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
