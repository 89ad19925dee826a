"""The ``textclf`` command: it parses, calls the package and prints; the work is in the modules it calls.

    textclf train [--dataset D] [--model cnn] [--embeddings glove] [--out DIR]   train, test, write a bundle
    textclf train --init-from DIR --finetune head|last-k|full ...               transfer to a new task
    textclf distill --teacher DIR [--student cnn] [--alpha A --temperature T --copies N]  a fast student
    textclf evaluate DIR [--dataset D]      score a bundle on a dataset's test split
    textclf predict DIR "text" ... | -      label probabilities, one JSON object per text
    textclf explain DIR "text" ... [--method M] which words mattered (IG, occlusion, Shapley, LIME, attention...)
    textclf explain DIR --compare            which explanation to trust: faithfulness of every method
    textclf report DIR                      one HTML page: metrics vs baseline, curves, calibration, mistakes
    textclf calibrate DIR                   fit a softmax temperature on the validation split (ECE, NLL)
    textclf behaviour DIR [--suite FILE]    behavioural tests: negation, contrast, typos, names (failure rates)
    textclf bench DIR [--variants ...]      time prediction variants: int8, ONNX Runtime, compile, bf16
    textclf export DIR --format onnx|torch-export   a portable graph (model.onnx / model.pt2), parity-checked
    textclf serve DIR [--port 8000]         HTTP: POST /predict, POST /explain, GET /healthz, GET / (a demo page)
    textclf tokenize [--tokenizer minilm] TEXT ...  WordPiece tokens and ids
    textclf data [NAME_OR_PATH]             load a dataset, show its splits, tokens, vocabulary, GloVe coverage
    textclf check 1.1 [--file F]            grade a lesson exercise

Each command is one ``add_NAME`` (its arguments) beside its ``cmd_NAME`` (parse, call, print), in
``train.py``, ``scoring.py``, ``behaviour.py``, ``shipping.py`` and ``tools.py``; ``inputs.py`` reads what
they share. Bad input files end with one line naming the file, the line and what was expected (exit status
2), never with a traceback.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import warnings

from textclf.cli.behaviour import add_behaviour
from textclf.cli.distill import add_distill
from textclf.cli.inputs import whole_number
from textclf.cli.scoring import add_calibrate, add_evaluate, add_explain, add_predict, add_report
from textclf.cli.shipping import add_bench, add_export, add_quantize, add_serve
from textclf.cli.tools import add_check, add_data, add_tokenize
from textclf.cli.train import add_train, job_from_args
from textclf.data import DataError
from textclf.devices import DEVICES, PRECISIONS
from textclf.printable import printable

__all__ = ["build_parser", "job_from_args", "main"]

COMMANDS = (add_train, add_distill, add_evaluate, add_predict, add_explain, add_report, add_calibrate, add_behaviour,
            add_bench, add_quantize, add_export, add_serve, add_tokenize, add_data, add_check)


# The commands that run a model: each takes --threads (textclf.devices.choose_threads decides without it).
MODEL_COMMANDS = ("train", "distill", "evaluate", "predict", "explain", "report", "calibrate", "behaviour", "bench",
                  "export", "serve")
# Those that load a bundle and run it where --device says, in --precision (export traces a portable graph on the
# CPU in fp32, whatever machine it runs on; train has its own --device).
DEVICE_COMMANDS = ("evaluate", "predict", "explain", "report", "calibrate", "behaviour", "bench", "serve")
PRECISION_HELP = ("fp32 (the default), bf16, fp16 or auto: bf16 where the device has fast bf16 hardware (a GPU from "
                  "Ampere on, a CPU with AMX or AVX512_BF16), else fp32")


def usage_text() -> str:
    """What ``textclf --help`` shows: the commands at a glance (the module's developer notes left out, and no
    RST markup)."""
    commands = __doc__.split("\n\n")[1]
    return ("Text classification in plain PyTorch, lesson by lesson (textclf " + version() + ").\n\n" + commands
            + "\n\nEach command has --help. Bad input ends with one line naming the file, the line and what was "
            "expected (exit status 2).")


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("textclf")
    except PackageNotFoundError:
        return "not installed"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="textclf", description=usage_text(),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"textclf {version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    for add in COMMANDS:
        add(commands)
    for name in MODEL_COMMANDS:
        commands.choices[name].add_argument(
            "--threads", type=whole_number(1, 1024), help="CPU threads for torch (default: the cores other work "
            "leaves free, or OMP_NUM_THREADS; too many threads on busy cores can be 10x slower)")
    for name in DEVICE_COMMANDS:
        commands.choices[name].add_argument("--device", default="auto", type=device_name,
                                            help=f"where the model runs: {DEVICES} (auto: a GPU where there is one)")
    for name in (*DEVICE_COMMANDS, "train", "distill"):
        commands.choices[name].add_argument("--precision", choices=PRECISIONS, help=PRECISION_HELP)
    return parser


def device_name(text: str) -> str:
    """An argparse type: a device name of the right form (whether it exists here is checked when it is used)."""
    from textclf.devices import DEVICE

    if not DEVICE.fullmatch(text):
        raise argparse.ArgumentTypeError(f"expected {DEVICES}, not {text!r}")
    return text


def apply_threads(args: argparse.Namespace) -> None:
    """The thread decision, once, before the command runs (under torchrun, distributed.setup shares the cores
    out instead); what was chosen goes to stderr."""
    from textclf.devices import set_threads
    from textclf.distributed import launched_by_torchrun

    if "threads" not in args or (launched_by_torchrun() and args.threads is None):
        return
    threads, why = set_threads(args.threads)
    print(f"textclf {args.command}: {threads} CPU thread{'s' if threads > 1 else ''} ({why})", file=sys.stderr)


def quiet_rank() -> bool:
    """A torchrun worker other than rank 0 (a bad WORLD_SIZE is reported by the command itself)."""
    try:
        from textclf.distributed import is_quiet_rank

        return is_quiet_rank()
    except ValueError:
        return False


def one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings on the command line as one line for the learner, not Python's file:line and source."""
    print(f"warning: {printable(str(message))}", file=sys.stderr)


# a negative number as argparse does not know one: "-inf", "-nan", "-1e-3", "-.5" (it takes them for options)
NEGATIVE_NUMBER = re.compile(r"-(inf(inity)?|nan|(\d+\.?\d*|\.\d+)(e[-+]?\d+)?)", re.IGNORECASE)


def joined_negatives(argv: list[str]) -> list[str]:
    """``["--alpha", "-inf"]`` as ``["--alpha=-inf"]``, so that the option's own check names the value (argparse
    would say "expected one argument"). Only a ``--long`` option without ``=`` followed by a negative number."""
    out: list[str] = []
    for token in argv:
        previous = out[-1] if out else ""
        if NEGATIVE_NUMBER.fullmatch(token) and previous.startswith("--") and "=" not in previous:
            out[-1] = f"{previous}={token}"
        else:
            out.append(token)
    return out


def main(argv: list[str] | None = None) -> int:
    quiet = quiet_rank()
    if quiet:  # under torchrun every rank would print the same usage error: rank 0 speaks for all
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (for the life of this worker)
    args = build_parser().parse_args(joined_negatives(sys.argv[1:] if argv is None else list(argv)))
    warnings.showwarning = one_line_warning
    try:
        apply_threads(args)
        return args.run(args)
    except BrokenPipeError:  # output piped into `head` and cut short: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (DataError, OSError, ValueError, ModuleNotFoundError) as err:  # OSError: a path that cannot be written
        print(f"textclf {args.command}: error: {printable(err)}", file=sys.stderr)
        return 2
    except RuntimeError as err:
        if "could not join the others" not in str(err):  # a bug: keep its traceback
            raise
        print(f"textclf {args.command}: error: {printable(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"textclf {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
