# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     name: python3
# ---

# %% [markdown]
# # Lesson 8 — Speed: measure first, then make prediction fast
#
# A faster model is only faster if a fair measurement says so, on *your*
# machine, with the accuracy it keeps. This lesson:
#
# 1. times things fairly (warm-up, alternating rounds, medians);
# 2. asks the profiler where the time goes;
# 3. removes wasted work: padding (length-sorted batches) and autograd
#    bookkeeping (`inference_mode`);
# 4. int8 by hand for one layer, then `quantize_dynamic` for a whole model;
# 5. ONNX Runtime, `torch.compile`, bf16 and Intel's extension, each measured;
# 6. ends with one table for your machine (`textclf bench` prints the same).
#
# Exercises: `lessons/exercises/ex08_speed.py` (8.1 a fair timer, 8.2 int8 by
# hand with its error bound, 8.3 length-sorted batches that restore the order).
# Grade with `textclf check 8`.

# %%
import inspect
import time

import torch

from textclf.bundle import Bundle
from textclf.data import load_dataset
from textclf.figures import BLUE, new_figure, show
from textclf.inference import logits, run_batched
from textclf.lesson_utils import smoke_mode, versions
from textclf.models.minilm import minilm
from textclf.speed import bench, hardware
from textclf.speed.quantize import activation_bits, dequantize, int8_dynamic, quantize_tensor
from textclf.speed.timing import compare

print(versions())
SMOKE = smoke_mode("08")
FIGURES = "figures/08_speed"  # where figures go when run as a script (notebooks: inline)
print(f"CPU: {hardware.cpu_capability()}, bf16 hardware: {hardware.bf16_supported()}, "
      f"int8 dot products (VNNI): {hardware.int8_dot_product()}, torch threads: {torch.get_num_threads()}")

ds = load_dataset("rotten_tomatoes")
texts = [ex.text for ex in ds.test][: 96 if SMOKE else 1275]
labels = [ex.label for ex in ds.test][: len(texts)]
model, tokenizer = minilm(n_classes=2)  # the pretrained encoder; the head is new (speed does not care)
bundle = Bundle.of(model, "minilm", tokenizer.vocab, ["negative", "positive"], tokenizer="wordpiece", max_len=128)
encoded = bundle.encode(texts)
print(f"{len(texts)} test reviews, {sum(map(len, encoded)):,} WordPiece tokens")

# %% [markdown]
# ## 1. Timing done right
#
# One `perf_counter()` around one call measures the first call's one-off costs
# and whatever else the machine was doing. `compare` warms every variant up,
# then runs the variants in turn, round after round, and takes each one's
# median: a slow moment hits all variants alike, and one outlier does not move
# a median. (Exercise 8.1 asks you to write it.)

# %%
few = encoded[:32]
once = [time.perf_counter()]
logits(model, few)
once.append(time.perf_counter())
logits(model, few)
once.append(time.perf_counter())
print(f"first call {once[1] - once[0]:.3f}s, second call {once[2] - once[1]:.3f}s")
timings = compare({"batch 8": lambda: logits(model, few, batch_size=8),
                   "batch 32": lambda: logits(model, few, batch_size=32)}, rounds=3 if SMOKE else 5)
for t in timings.values():
    print(f"{t.name}: median {t.median * 1000:.0f} ms, rounds {[round(s * 1000) for s in t.seconds]} ms")

# %% [markdown]
# ### Threads: more is not always faster
#
# torch starts one thread per core. That is right on an idle machine and badly
# wrong on a busy one: when another job already keeps a core busy, torch's
# threads fight it for the cores (*oversubscription*) — each matrix multiply is
# split across threads that wait for each other while the scheduler hands the
# cores back and forth. On a 2-core machine running other work, one epoch of
# the default model took 95 s with 2 threads and 9.7 s with 1.
# `textclf.devices.choose_threads` counts the cores other work keeps busy right
# now and leaves them to it; every command that runs a model takes
# `--threads N` to decide yourself, and says what it chose. The same two
# settings, timed fairly, on this machine as it is now:

# %%
from textclf.devices import busy_cores, choose_threads, cpu_cores

print(f"{cpu_cores()} cores; other work keeps {busy_cores():.1f} busy; auto would pick {choose_threads()}")
threads_before = torch.get_num_threads()


def with_threads(n):
    def run():
        torch.set_num_threads(n)
        bundle.predict(texts)
    return run


thread_timing = compare({f"{n} thread(s)": with_threads(n) for n in sorted({1, cpu_cores()})}, rounds=3)
torch.set_num_threads(threads_before)
for name, t in thread_timing.items():
    print(f"{name:>12}: {len(texts) / t.median:,.0f} texts/s (median of 3 rounds)")

# %% [markdown]
# ## 2. Where the time goes
#
# `torch.profiler` counts the time of every operator. For a transformer
# encoder, the matrix multiplies (`addmm`, `bmm`, `linear`) should dominate: if
# something else does (copies, padding, tokenization), that is the first fix.

# %%
print(bench.profile_summary(bundle, texts[:64], rows=8))

# %% [markdown]
# ## 3. Less wasted work: padding and autograd
#
# A batch is padded to its longest text; with random order, many batches hold
# one long review and many short ones, and the padding is computed like real
# text. Sorting by length first (and putting the answers back in input order)
# removes most of it — textclf's one inference seam does this for every
# prediction path. (Exercise 8.3 asks you to write it.) `torch.inference_mode`
# also skips the bookkeeping autograd would need for a backward pass.

# %%
print(inspect.getsource(run_batched))
subset = encoded[: 64 if SMOKE else 512]


def unsorted(mode):
    with mode():
        return bench.unsorted_logits(bundle, subset, 64)


timings = compare({"unsorted, no_grad": lambda: unsorted(torch.no_grad),
                   "unsorted, inference_mode": lambda: unsorted(torch.inference_mode),
                   "length-sorted, inference_mode": lambda: logits(model, subset, batch_size=64)}, rounds=3)
for t in timings.values():
    print(f"{t.name:32s} {len(subset) / t.median:7.0f} texts/s")

# %% [markdown]
# ## 4. int8 by hand, then for the whole model
#
# Store each weight as an 8-bit integer `q` with one `scale` and `zero_point`
# per tensor: `w ~ (q - zero_point) * scale`. Rounding moves each weight by at
# most `scale / 2`, so a layer's output moves by at most
# `sum(|x|) * scale / 2`. (Exercise 8.2.)

# %%
layer = model.layers[0].ff_in  # the first feed-forward layer: 384 -> 1536
weight = layer.weight.detach()
q, scale, zero_point = quantize_tensor(weight)
error = (dequantize(q, scale, zero_point) - weight).abs().max()
print(f"{tuple(weight.shape)} weights: scale {scale:.2e}, zero point {zero_point}, largest error {error:.2e} "
      f"<= scale/2 = {scale / 2:.2e}; {weight.numel() * 4 / 1e6:.1f} MB as float32, {q.numel() / 1e6:.1f} MB as int8")

# %% [markdown]
# `quantize_dynamic` does this for every `nn.Linear` (per layer), quantizes
# the activations on the fly and runs the matmuls in int8. It lives in
# `torch.ao.quantization`, deprecated in favour of torchao — but on CPUs
# without VNNI torchao's int8 falls back to a slow path (~20x slower in a
# trial), while the old fbgemm kernels are fast: so we measure, and use what
# wins here.

#
# The activations are quantized too, on the fly, one scale per matrix: into
# 0..255 where this CPU adds int8 products up in int32 (VNNI, AMX), else into
# 0..127 — without VNNI two products of 255 x 127 overflow the 16-bit sums
# the kernel uses. `int8_full_range()` checks that with one worst-case
# matmul instead of trusting the CPU's name.

# %%
print(f"activations in {activation_bits()} bits on this CPU (VNNI: {hardware.int8_dot_product()})")
int8 = int8_dynamic(model)
a, b = logits(model, encoded[:64]), logits(model, encoded[:64], forward=int8)
print(f"int8 vs fp32 on 64 reviews: largest logit difference {(a - b).abs().max():.3f}, "
      f"same prediction {float((a.argmax(1) == b.argmax(1)).float().mean()):.0%}")

# %% [markdown]
# ### One scale per row, and which layers to leave alone
#
# One scale for a whole tensor is set by its largest weight: a row of small
# weights then has few levels left. `int8_dynamic` gives each output row its
# own scale (*per channel*, symmetric: `scale_i = max|w_i| / 127.5`) and
# leaves the head in fp32 — two outputs, where every rounding error lands in
# the logits. Which *other* layers to leave alone is measured, not guessed:
# each layer alone in int8, its cost in validation accuracy and loss
# (`textclf quantize DIR` does this, keeps the costliest in fp32 until int8 is
# within half a point of fp32 on validation, and writes `DIR/int8.json`, which
# `--quantize int8` reads).

# %%
from pathlib import Path

from textclf.bundle import holds_bundle, load_bundle
from textclf.speed.int8_choice import layer_costs
from textclf.speed.quantize import quantize_per_channel

rows_q, row_scales = quantize_per_channel(weight)
print(f"mean rounding error of {tuple(weight.shape)}: per tensor "
      f"{(dequantize(q, scale, zero_point) - weight).abs().mean():.2e}, per channel "
      f"{(rows_q.float() * row_scales[:, None] - weight).abs().mean():.2e}")
TUNED = Path("runs/minilm")  # a fine-tuned MiniLM: textclf train --model minilm --out runs/minilm
if holds_bundle(TUNED) and not SMOKE:
    tuned = load_bundle(TUNED, "cpu")
    fp32_accuracy, _, costs = layer_costs(tuned, ds.valid[:400])
    print(f"fp32 validation accuracy on 400 reviews {fp32_accuracy:.4f}; the 8 layers whose int8 raises the "
          "validation loss most, each alone in int8:")
    for cost in sorted(costs, key=lambda c: -c["loss"])[:8]:
        change = round(-100 * cost["accuracy"], 2) + 0.0  # (+ 0.0 turns -0.00 into 0.00)
        print(f"  {cost['layer']:<28} accuracy change {change:+.2f} points, loss change {cost['loss']:+.4f}")
else:
    print(f"(the per-layer costs need a trained classifier: {TUNED} is {'there' if holds_bundle(TUNED) else 'absent'}; "
          "full mode measures it when present)")

# %% [markdown]
# ## 5. ONNX Runtime, compile, bf16, IPEX — and the table for your machine
#
# * **ONNX Runtime** (`pip install 'textclf[onnx]'`): the model exported as a
#   graph and run by Microsoft's runtime; int8 there needs per-channel weights
#   with `reduce_range` (7 bits) on CPUs without VNNI (its defaults flipped 16% of
#   predictions in a trial).
# * **torch.compile**: fuses operators; the first call compiles (seconds), new
#   shapes may recompile; on a CPU the gain for this encoder is small.
# * **bf16**: half the memory traffic, fast only where the CPU has bf16
#   arithmetic (AVX512_BF16 or AMX); elsewhere it is emulated and slower.
# * **IPEX** (Intel Extension for PyTorch): `ipex.optimize(model)` swapped in
#   Intel-tuned kernels. Its last release, 2.8, is built for torch 2.8 only,
#   and Intel has announced its end of life (its work moved into PyTorch
#   itself). Beside any other torch it is not imported (it would crash);
#   on an AVX2 AMD CPU a trial measured about 1.0x. `textclf.speed.hardware`
#   says what it can do here:

# %%
print("IPEX:", hardware.ipex_status()[1])
variants = ["fp32", "fp32 unsorted", "int8", "int8 7-bit", "torchao int8", "onnxruntime", "onnxruntime int8", "bf16",
            "ipex"]
if not SMOKE:
    variants.insert(variants.index("bf16"), "compile")
rows = bench.bench(bundle, texts, labels, variants=variants, rounds=2 if SMOKE else 3,
                   latency_texts=10 if SMOKE else 50)
print(bench.table(rows))
measured = [r for r in rows if r.texts_per_s is not None]
fig, ax = new_figure(size=(7, 3.4))
ax.barh([r.name for r in measured], [r.texts_per_s for r in measured], color=BLUE)
ax.invert_yaxis()
ax.set_xlabel("texts per second (median of the rounds)")
ax.set_title("MiniLM prediction on this machine")
show(fig, "speed", FIGURES)

# %% [markdown]
# The accuracy column is a new, untrained head's (near chance) — what matters
# here is the *delta* and the agreement with fp32. `textclf bench runs/minilm`
# prints the same table for a trained bundle, and
# `with_backend(load_bundle(path), quantize="int8", backend="onnxruntime")`
# (`textclf.speed.backends`; CLI: `--quantize int8 --backend onnxruntime` on
# `predict`, `evaluate` and `serve`) uses what won.

# %% [markdown]
# ### The frontier: every model and backend at once
#
# Speed alone picks nothing; what a model costs in accuracy for what it gains
# in speed does. `python benchmarks/frontier.py --minilm runs/minilm` trains
# the classic models for three seeds, takes a MiniLM bundle through each
# backend above, and draws them all as points — test accuracy against texts
# per second end to end, on a log axis, with the seeds' spread and the rounds'
# spread as bars. docs/results.md quotes the machine it ran on:
#
# ![accuracy against speed, every model and backend](../docs/frontier.png)

# %% [markdown]
# ## 6. On a GPU: autocast, the gradient scaler, and why small models barely gain
#
# Everything above runs unchanged on a GPU: `--device cuda` (or `auto`, the
# default, which takes a GPU where there is one) on every command, and
# `load_bundle(path, device="cuda")`. The GPU's own speed-up is *mixed
# precision*: `torch.autocast` runs the matrix products in a 16-bit format on
# the tensor cores and keeps the weights, the optimizer and the reductions in
# fp32. `--precision bf16|fp16|auto` (training and prediction) turns it on;
# `auto` is bf16 where the device has fast bf16 arithmetic (a GPU from Ampere
# on, a CPU with AMX or AVX512_BF16), else fp32 — decided once, and recorded in
# the bundle and the checkpoint.
#
# bf16 keeps fp32's exponent range and drops mantissa bits; fp16 keeps more
# mantissa but overflows above 65,504 and loses gradients below ~6e-8. So
# fp16 training multiplies the loss by a large scale before `backward`, divides
# the gradients back before the step, and *skips* a step whose gradients
# overflowed (lowering the scale): that is `torch.amp.GradScaler`, which
# `fit` uses for fp16 only. Here it is on one tiny step, on this machine's
# device:

# %%
from textclf.devices import autocast, choose_precision, grad_scaler, pick_device

device = pick_device("auto")
print(f"device {device}; --precision auto here: {choose_precision('auto', device)}")
x = torch.randn(4, 8, device=device)
w = torch.randn(8, 2, device=device, requires_grad=True)
with autocast(device, "bf16"):
    product = x @ w  # a bf16 matmul under autocast
print(f"under autocast: {product.dtype}; the weight stays {w.dtype}")
scaler = grad_scaler(device, "fp16")
with autocast(device, "fp16"):
    loss = (x @ w).float().pow(2).mean()
scaled = scaler.scale(loss)
print(f"fp16 loss {loss.item():.4f} is scaled to {scaled.item():.4g} (x{scaler.get_scale():.0f}) before backward, "
      "so small gradients do not flush to zero; step() unscales them and skips a step that overflowed")

# %% [markdown]
# **Why the small models barely gain on a GPU.** A GPU runs a kernel fast, but
# every kernel costs a launch from Python (~5–20 µs). The default GRU+n-grams
# model does a few million multiply-adds per batch: its steps are a chain of
# small kernels, so the time is launch overhead, not arithmetic, and neither a
# bigger GPU nor bf16 helps much. MiniLM (22M parameters, ~15 GFLOP per batch of
# 32 x 128 tokens) should be big enough for the tensor cores to matter — and
# yet, measured on one NVIDIA H100 (the cell below; docs/shipping.md "On a GPU"), one
# training step on 32 x 128 tokens took:
#
# | model | fp32 | bf16 autocast | all weights bf16, no autocast | fp32 + TF32 |
# |---|---:|---:|---:|---:|
# | gru+ngrams | 16.3 ms | 18.6 ms | | |
# | MiniLM | 13.8 ms | 19.7 ms | 10.9 ms | 11.3 ms |
#
# bf16 autocast is *slower* here: it casts every weight to bf16 in every
# forward and backward, a few dozen extra kernels per step, and at this size
# the step is launch-bound (MiniLM fine-tuning used 16% of the H100's measured
# fp32 peak, 0.5% of its bf16 peak). The same model with its weights stored in
# bf16 (no casts) is faster than fp32, and so are TF32 matrix products. The
# lesson: measure on your model and batch size; mixed precision pays on big
# matrices, not on small ones. (`benchmarks/gpu.py` measures the same against
# Hugging Face's `Trainer`, whose `bf16=True` slows down alike.)
#
# If this machine has a GPU, the cell below times a training step of both kinds
# of model in fp32 and bf16 (else it says so and does nothing):

# %%
if device.type == "cuda":
    from textclf.models import build_model

    def step_seconds(net, ids, precision, steps=20):
        optimizer = torch.optim.AdamW(net.parameters(), lr=1e-5)
        mask, labels = ids != 0, torch.zeros(len(ids), dtype=torch.long, device=device)
        for i in range(steps + 5):
            if i == 5:  # the first steps warm up (kernels chosen, memory pooled)
                torch.cuda.synchronize()
                start = time.perf_counter()
            with autocast(device, precision):
                loss = net(ids, mask, labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        torch.cuda.synchronize()
        return (time.perf_counter() - start) / steps

    small, _ = build_model("gru+ngrams", vocab_size=20_000, n_classes=2)
    big, _ = minilm(n_classes=2)
    for name, net, vocab in (("gru+ngrams", small.to(device), 20_000), ("minilm", big.to(device), 30_000)):
        ids = torch.randint(1, vocab, (32, 128), device=device)
        fp32, bf16 = step_seconds(net, ids, "fp32"), step_seconds(net, ids, "bf16")
        print(f"{name:10s} one training step (32 x 128 tokens): fp32 {1000 * fp32:.1f} ms, bf16 {1000 * bf16:.1f} ms "
              f"({fp32 / bf16:.1f}x)")
else:
    print("no CUDA GPU here: the figures measured on one are in docs/shipping.md's 'On a GPU' section")
