"""``textclf bench DIR``: every prediction variant of a bundle, side by side, measured in alternating rounds.

Per variant: throughput over the texts (median of the rounds, texts/s), batch-1 latency (p50/p95
over single texts), peak memory while it ran (resident set, Linux), accuracy on the labelled
texts and its delta to fp32 eager, and how many predictions agree with fp32. A variant this
machine cannot run (no ONNX Runtime installed, bf16 without hardware, IPEX
beside the wrong torch) is listed with the reason instead of a number.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from textclf.bundle import Bundle
from textclf.devices import HALF, fast_bf16
from textclf.inference import logits
from textclf.speed import backends
from textclf.speed.hardware import bf16_supported, cpu_capability, int8_dot_product, ipex_status
from textclf.speed.int8_choice import FILE, kept_layers
from textclf.speed.quantize import activation_bits, int8_dynamic
from textclf.speed.timing import compare, latencies

VARIANTS = ("fp32", "fp32 unsorted", "fp32 1 thread", "int8", "int8 7-bit", "int8 per tensor", "torchao int8",
            "onnxruntime", "onnxruntime int8", "bf16", "fp16", "compile", "ipex")
# what runs only on the CPU (a bundle on a GPU lists them with the reason instead of a number)
CPU_ONLY = ("fp32 1 thread", "int8", "int8 7-bit", "int8 per tensor", "torchao int8", "onnxruntime",
            "onnxruntime int8", "ipex")


@dataclass
class Row:
    name: str
    texts_per_s: float | None = None
    spread: float | None = None
    p50_ms: float | None = None
    p95_ms: float | None = None
    peak_mib: float | None = None
    accuracy: float | None = None
    delta: float | None = None
    agreement: float | None = None
    note: str = ""


def peak_reset() -> bool:
    """Reset the process's peak resident set (Linux: write 5 to /proc/self/clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_mib() -> float | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def unsorted_logits(bundle: Bundle, encoded: list[torch.Tensor], batch_size: int) -> torch.Tensor:
    """The old way: batches in input order, each padded to its longest text."""
    from textclf.batching import Collator

    collate, out = Collator(bundle.vocab.pad_index), []
    with torch.inference_mode():
        for start in range(0, len(encoded), batch_size):
            batch = collate([(ids, 0) for ids in encoded[start : start + batch_size]]).to(bundle.device)
            out.append(bundle.model(batch.ids, batch.mask).float().cpu())
    return torch.cat(out)


def check_variants(variants: Sequence[str], *, quantize: str | None = None, backend: str = "torch") -> list[str]:
    """The variants to time: ``variants``, or (``quantize``/``backend`` given) that one variant against fp32."""
    if quantize or backend != "torch":
        chosen = ("onnxruntime" if backend == "onnxruntime" else "") + (" int8" if quantize else "")
        variants = ["fp32", chosen.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown variant(s) {unknown}; expected some of: {', '.join(VARIANTS)}")
    return list(variants)


def describe_machine(device: torch.device | None = None) -> str:
    """torch, threads and the CPU features the variants depend on (and the GPU, for a bundle on one)."""
    gpu = f"{torch.cuda.get_device_name(device)}, " if device is not None and device.type == "cuda" else ""
    return (f"{gpu}torch {torch.__version__}, {torch.get_num_threads()} threads, CPU {cpu_capability()}, bf16 "
            f"hardware: {bf16_supported()}, int8 dot products (VNNI): {int8_dot_product()}")


def make_forward(bundle: Bundle, name: str) -> tuple[Callable | None, str]:
    """``(forward, note)`` of a variant; ``forward`` None (with the reason in ``note``) where it cannot run."""
    model_name = bundle.model_name
    if name in CPU_ONLY and bundle.device.type != "cpu":
        return None, f"CPU only (the bundle is on {bundle.device}; time it with --device cpu)"
    try:
        if name in ("fp32", "fp32 unsorted"):
            return bundle.model, ""
        if name == "fp32 1 thread":
            return backends.one_thread(bundle.model), f"of {torch.get_num_threads()}"
        if name == "int8":
            keep = kept_layers(bundle)
            note = f"{len(keep)} layer(s) fp32 ({FILE})" if keep is not None else "per channel, head fp32"
            return (backends.fast_forward(bundle.model, model_name, quantize="int8", keep=keep),
                    f"{note}, {activation_bits()}-bit activations")
        if name == "int8 7-bit":  # the same layers with torch's reduce_range activations: what 8 bits buy
            keep = kept_layers(bundle)
            return int8_dynamic(bundle.model, keep=keep, bits=7), "as int8, activations 0..127"
        if name == "int8 per tensor":  # the plain quantize_dynamic: every Linear layer, one scale per tensor
            return int8_dynamic(bundle.model, keep=[], per_channel=False), "every layer, the head too"
        if name == "torchao int8":
            return backends.torchao_int8(bundle.model), ""
        if name.startswith("onnxruntime"):
            start = time.perf_counter()
            forward = backends.fast_forward(bundle.model, model_name, backend="onnxruntime",
                                            quantize="int8" if name.endswith("int8") else None)
            return forward, f"export {time.perf_counter() - start:.1f}s"
        if name in ("bf16", "fp16"):
            fast, why = fast_bf16(bundle.device) if name == "bf16" else (bundle.device.type != "cpu", "")
            if not fast:
                return None, (why if name == "bf16" else "the CPU has no fast fp16 path") + ": emulated, slower"
            return bundle.model, ""  # run under autocast by the inference seam (``precision``, in ``bench``)
        if name == "compile":
            return backends.compiled_forward(bundle.model), ""
        if name == "ipex":
            usable, why = ipex_status()
            if not usable:
                return None, why
            import intel_extension_for_pytorch as ipex

            return ipex.optimize(bundle.model.eval()), why
    except (ModuleNotFoundError, ValueError, RuntimeError) as err:
        return None, str(err).splitlines()[0]
    raise ValueError(f"unknown variant {name!r}; expected one of: {', '.join(VARIANTS)}")


def precision_of(variant: str) -> str:
    """The arithmetic a variant runs in: bf16/fp16 under autocast, everything else as its forward computes."""
    return variant if variant in HALF else "fp32"


def bench(bundle: Bundle, texts: Sequence[str], labels: Sequence[str] | None = None,
          variants: Sequence[str] = VARIANTS, rounds: int = 3, batch_size: int = 64,
          latency_texts: int = 50, log=print) -> list[Row]:
    """Measure ``variants`` of ``bundle`` on ``texts`` (accuracy where ``labels`` are given)."""
    encoded = bundle.encode(list(texts))
    truth = torch.tensor([bundle.labels.index(y) for y in labels]) if labels is not None else None
    rows, runs, forwards = [], {}, {}
    for name in variants:
        start = time.perf_counter()
        forward, note = make_forward(bundle, name)
        row = Row(name, note=note)
        rows.append(row)
        if forward is None:
            continue
        forwards[name] = forward
        if name == "fp32 unsorted":
            runs[name] = lambda: unsorted_logits(bundle, encoded, batch_size)
        else:
            precision = precision_of(name)
            runs[name] = lambda f=forward, p=precision: logits(
                bundle.model, encoded, batch_size=batch_size, forward=f, pad_index=bundle.vocab.pad_index, precision=p)
        if name == "compile":  # the first calls compile: time them apart
            first = time.perf_counter()
            runs[name]()
            row.note = f"first run (compiling) {time.perf_counter() - first:.1f}s"
        log(f"  ready: {name} ({time.perf_counter() - start:.1f}s)")
    timings = compare(runs, rounds=rounds)
    if "compile" in runs:
        graphs = backends.compiled_graphs()
        if graphs is not None:
            next(r for r in rows if r.name == "compile").note += f"; {graphs} graph(s) compiled in all"
    reference = None
    for row in rows:
        if row.name not in runs:
            continue
        timing = timings[row.name]
        row.texts_per_s, row.spread = len(texts) / timing.median, timing.spread
        peak_reset()
        outputs = runs[row.name]()  # [n, n_classes], input order
        row.peak_mib = peak_mib()
        predictions = outputs.argmax(dim=1)
        if reference is None:
            reference = predictions
        row.agreement = float((predictions == reference).float().mean())
        if truth is not None:
            row.accuracy = float((predictions == truth).float().mean())
        if row.name != "fp32 unsorted":
            single = [[e] for e in encoded[:latency_texts]]
            forward, precision = forwards[row.name], precision_of(row.name)
            seconds = latencies(lambda one, f=forward, p=precision: logits(
                bundle.model, one, forward=f, pad_index=bundle.vocab.pad_index, precision=p), single)
            seconds.sort()
            row.p50_ms = 1000 * seconds[len(seconds) // 2]
            row.p95_ms = 1000 * seconds[min(len(seconds) - 1, int(0.95 * len(seconds)))]
    base = next((r.accuracy for r in rows if r.name == "fp32"), None)
    for row in rows:
        if row.accuracy is not None and base is not None:
            row.delta = 100 * (row.accuracy - base)
    return rows


def table(rows: list[Row]) -> str:
    def fmt(value, spec: str) -> str:
        return "-" if value is None else format(value, spec)
    lines = ["| variant | texts/s | spread | batch-1 p50 (ms) | p95 (ms) | peak RSS (MiB) | accuracy | "
             "vs fp32 (pt) | agrees with fp32 | note |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        lines.append(f"| {r.name} | {fmt(r.texts_per_s, ',.0f')} | {fmt(r.spread, '.0%')} | {fmt(r.p50_ms, '.2f')} | "
                     f"{fmt(r.p95_ms, '.2f')} | {fmt(r.peak_mib, ',.0f')} | "
                     f"{'-' if r.accuracy is None else f'{100 * r.accuracy:.2f}%'} | {fmt(r.delta, '+.2f')} | "
                     f"{'-' if r.agreement is None else f'{100 * r.agreement:.1f}%'} | {r.note} |")
    return "\n".join(lines)


def profile_summary(bundle: Bundle, texts: Sequence[str], rows: int = 8, batch_size: int = 64) -> str:
    """Where the fp32 prediction time goes: torch.profiler's operators by self CPU time."""
    from torch.profiler import ProfilerActivity, profile

    encoded = bundle.encode(list(texts))
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        logits(bundle.model, encoded, batch_size=batch_size, pad_index=bundle.vocab.pad_index)
    return prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows)
