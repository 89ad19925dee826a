"""Commands that make a bundle fast and put it to use: ``bench``, ``export``, ``serve``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from textclf.cli.inputs import SPLITS, add_dataset_options, add_speed_options, dataset_for, open_bundle, whole_number
from textclf.data import DataError


def add_bench(commands) -> None:
    bench = commands.add_parser("bench", help="time every prediction variant of a bundle (int8, ONNX, compile, ...)")
    bench.add_argument("bundle", type=Path)
    add_dataset_options(bench, positional=False, default=None)
    bench.add_argument("--split", default="test", choices=SPLITS)
    bench.add_argument("--limit", type=whole_number(1), default=2000, help="at most this many texts")
    bench.add_argument("--rounds", type=whole_number(1, 100), default=3, help="alternating timed rounds")
    bench.add_argument("--batch-size", type=whole_number(1, 4096), default=64)
    bench.add_argument("--variants", nargs="+", default=["fp32", "fp32 unsorted", "fp32 1 thread", "int8",
                                                         "int8 per tensor", "torchao int8", "onnxruntime",
                                                         "onnxruntime int8", "bf16", "compile", "ipex"])
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
    print(f"{args.bundle} ({bundle.model_name}) on {len(examples)} {args.split} texts; "
          f"{describe_machine(bundle.device)}; {args.rounds} alternating rounds")
    texts = [e.text for e in examples]
    print(table(bench(bundle, texts, [e.label for e in examples], variants=variants, rounds=args.rounds,
                      batch_size=args.batch_size)))
    if args.profile:
        print("\nwhere fp32 prediction spends its time (torch.profiler, self CPU time):")
        print(profile_summary(bundle, texts[:500], batch_size=args.batch_size))
    return 0


def add_quantize(commands) -> None:
    quantize = commands.add_parser("quantize", help="measure which layers int8 may touch on the validation split "
                                   "and write DIR/int8.json (--quantize int8 reads it)")
    quantize.add_argument("bundle", type=Path)
    add_dataset_options(quantize, positional=False, default=None)
    quantize.add_argument("--budget", type=float, default=0.5,
                          help="validation accuracy int8 may lose, in points (default 0.5)")
    quantize.add_argument("--limit", type=whole_number(1), default=100_000, help="at most this many texts")
    quantize.set_defaults(run=cmd_quantize)


def cmd_quantize(args: argparse.Namespace) -> int:
    from textclf.speed.int8_choice import choose_int8, save_choice
    from textclf.speed.quantize import activation_bits

    if not 0 <= args.budget <= 100:
        raise ValueError(f"--budget {args.budget}: expected points of accuracy from 0 to 100")
    bundle = open_bundle(args)
    if bundle.device.type != "cpu":
        raise ValueError("int8 runs on the CPU only; use --device cpu")
    examples = dataset_for(args, bundle, "valid").split("valid")[: args.limit]
    if not examples:
        raise DataError(args.bundle, None, "the valid split is empty; expected labelled texts to measure on")
    print(f"{args.bundle} ({bundle.model_name}): each Linear layer alone in int8 on {len(examples):,} validation texts "
          f"({activation_bits()}-bit activations on this CPU)")
    choice = choose_int8(bundle, examples, budget=args.budget / 100)
    print("| layer | accuracy cost (points) | loss cost |\n|---|---:|---:|")
    for cost in sorted(choice.costs, key=lambda c: -c["loss"]):
        print(f"| {cost['layer']} | {100 * cost['accuracy']:+.2f} | {cost['loss']:+.4f} |")
    bundle.check_unchanged()
    path = save_choice(bundle, choice)
    print(f"kept in fp32: {', '.join(choice.keep) or 'none'}; validation accuracy {choice.int8_accuracy:.4f} in int8, "
          f"{choice.fp32_accuracy:.4f} in fp32 -> {path}")
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
    from textclf.graphs.write import check_tolerance, export_bundle, export_path

    bundle = open_bundle(args)
    fmt = args.export_format
    out = export_path(bundle, fmt, args.out)  # checked before any work
    check_tolerance(args.tolerance)
    examples = dataset_for(args, bundle, args.split).split(args.split)[: args.limit]
    if not examples:
        raise DataError(args.bundle, None, f"the {args.split} split is empty; expected texts to check the export on")
    result = export_bundle(bundle, fmt, [e.text for e in examples], out, tolerance=args.tolerance)
    print(f"{result.path}: {fmt}, {result.path.stat().st_size / 1e6:.1f} MB; parity with the PyTorch model "
          f"on {result.texts} {args.split} texts: max |logit difference| {result.max_difference:.2e} "
          f"(at most {args.tolerance:.0e})")
    return 0


SERVE_LIMITS = [  # flag, lowest, highest, default, help (textclf.serving.Limits fields)
    ("--max-texts", 1, 100_000, 64, "texts per /predict request"),
    ("--max-explain-texts", 1, 1000, 4, "texts per /explain"),
    ("--max-chars", 1, 10_000_000, 5000, "characters per text"),
    ("--max-body-bytes", 2, 1 << 30, 1 << 20, "bytes per body"),
    ("--explain-steps", 1, 1000, 50, "integrated-gradients steps for /explain"),
]


def add_serve(commands) -> None:
    serve = commands.add_parser("serve", help="serve a bundle over HTTP: /predict, /explain, /healthz and a demo page")
    serve.add_argument("bundle", type=Path)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine "
                       "only)")
    serve.add_argument("--port", type=whole_number(0, 65535), default=8000, help="0 picks a free port")
    for flag, low, high, default, about in SERVE_LIMITS:
        serve.add_argument(flag, type=whole_number(low, high), default=default, help=about)
    serve.add_argument("--quiet", action="store_true", help="do not log each request")
    serve.add_argument("--no-batching", action="store_true",
                       help="run each /predict request on its own (default: requests waiting together form a batch)")
    add_speed_options(serve)
    serve.set_defaults(run=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    from textclf.serving import Limits, make_server

    limits = Limits(**{flag[2:].replace("-", "_"): getattr(args, flag[2:].replace("-", "_"))
                       for flag, *_ in SERVE_LIMITS})
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
