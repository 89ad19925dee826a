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
# # Lesson 15 — The third way: low-rank adapters (LoRA)
#
# Lesson 6 fine-tuned a pretrained transformer three ways: the head only
# (fast, but the encoder cannot adapt), the head and the last k blocks, or
# everything (the most accurate, and every weight changes: a whole model per
# task). Hu et al. (2021, "LoRA: Low-Rank Adaptation of Large Language
# Models") keep every pretrained weight frozen and learn, beside chosen
# layers, a *small change* to the weight: `ΔW = (α/r) · B A`, with `A` of
# shape `[r, in]` and `B` of shape `[out, r]` for a rank r of 4 to 16. The
# change has r·(in + out) numbers instead of in·out.
#
# We write it for one layer, then fine-tune MiniLM (lesson 7) six ways on the
# same reviews and put accuracy beside what each way trains.
#
# Exercises: `lessons/exercises/ex15_lora.py` (15.1 the LoRA forward, 15.2
# merging the adapter into the weight, 15.3 counting what LoRA trains). Grade
# with `textclf check 15`.

# %%
import inspect
import time

import torch
from matplotlib.ticker import FuncFormatter
from torch import nn

import textclf
from textclf.data import load_dataset
from textclf.figures import new_figure, show
from textclf.finetune import LoRAOptions
from textclf.lesson_utils import show_table, smoke_mode, versions
from textclf.models.lora import LoRALinear

print(versions())
SMOKE = smoke_mode("15")
FIGURES = "figures/15_lora"  # where figures go when run as a script (notebooks: inline)
_ = torch.manual_seed(0)  # (a notebook would print the generator it returns)

# %% [markdown]
# ## 1. One layer, by hand
#
# MiniLM's attention projections are `nn.Linear(384, 384)`: 147,840 numbers
# each. A rank-8 adapter beside one has 8 · (384 + 384) = 6,144. Two choices
# make it work:
#
# - **B starts at zero**, so `B A = 0`: before the first step the adapted
#   model *is* the pretrained one, and fine-tuning starts where pretraining
#   ended. (A starts small and random: with both at zero, no gradient would
#   ever reach either.)
# - **The scale α/r**: the change is multiplied by α/r, so that trying another
#   rank does not also change how big the change is — α stays, r varies.

# %%
base = nn.Linear(384, 384)
layer = LoRALinear(base, rank=8, alpha=16)
x = torch.randn(2, 5, 384)  # [batch, seq_len, dim]
print("trainable:", sum(p.numel() for p in layer.parameters() if p.requires_grad), "of",
      sum(p.numel() for p in layer.parameters()), "numbers")
print("B = 0, so the output is the frozen layer's:", torch.equal(layer(x), base(x)))
print(inspect.getsource(LoRALinear.forward))

# %% [markdown]
# After training, `merged()` folds the change into the weight: `W + (α/r) B A`
# is one matrix, so the model that predicts is an ordinary one — no adapter
# left, nothing slower, and every later lesson's tool (export, int8, serve,
# explain) works on it unchanged.

# %%
with torch.no_grad():
    layer.lora_B.normal_(std=0.02)  # as if trained: B is no longer zero
    merged = layer.merged()
    print(type(merged).__name__, "| same outputs:", torch.allclose(merged(x), layer(x), atol=1e-5),
          f"| max |difference| {float((merged(x) - layer(x)).abs().max()):.1e}")
print(inspect.getsource(LoRALinear.merged))

# %% [markdown]
# ## 2. MiniLM on Rotten Tomatoes, six ways
#
# The same reviews, the same seed, two epochs each, through the facade of
# lesson 7 (`finetune(..., mode=...)`; `textclf train --model minilm
# --finetune lora --lora-rank 8` is the same from the shell). Each way has its
# own learning rate, because they train very different amounts: the head alone
# 1e-3, LoRA's adapters 5e-4 (Hu et al.: 4e-4 to 5e-4 for RoBERTa-base),
# last-k and full 8e-5 (lesson 7's choice for this many steps). LoRA wraps
# attention's query and value projections in all six blocks (`lora_targets`,
# declared by the model) and trains the head in full.

# %%
rt = load_dataset("rotten_tomatoes")
n = 300 if SMOKE else 2000  # small mode: 30 held out, the fewest that give a meaningful figure
train, test = rt.train[:n], (rt.test[:100] if SMOKE else rt.test)
texts, labels = [ex.text for ex in train], [ex.label for ex in train]
held_out = ([ex.text for ex in test], [ex.label for ex in test])
ways = {"head": dict(mode="head", lr=1e-3), "last-k (k=2)": dict(mode="last-k", lr=8e-5),
        "LoRA r=4": dict(mode="lora", lr=5e-4, lora=LoRAOptions(rank=4, alpha=8)),
        "LoRA r=8": dict(mode="lora", lr=5e-4, lora=LoRAOptions(rank=8, alpha=16)),
        "LoRA r=16": dict(mode="lora", lr=5e-4, lora=LoRAOptions(rank=16, alpha=32)),
        "full": dict(mode="full", lr=8e-5)}
if SMOKE:
    ways = {name: ways[name] for name in ("head", "LoRA r=8", "full")}
results = {}
for name, options in ways.items():
    print(f"--- {name}")
    start = time.perf_counter()
    clf = textclf.TextClassifier("minilm", max_len=64).finetune(texts, labels, epochs=1 if SMOKE else 2,
                                                                 test=held_out, progress=True, **options)
    m = clf.metrics
    results[name] = dict(accuracy=m["test_accuracy"], trainable=m["trainable_parameters"],
                         total=m["total_parameters"], seconds=time.perf_counter() - start)

# %%
rows = ["| way | test accuracy | trained parameters | share | seconds (training + testing) |",
        "|---|---:|---:|---:|---:|"]
rows += [f"| {name} | {r['accuracy']:.4f} | {r['trainable']:,} | {100 * r['trainable'] / r['total']:.3g}% "
         f"| {r['seconds']:.0f} |" for name, r in results.items()]
show_table("\n".join(rows))

# %%
fig, ax = new_figure(size=(8, 4.5))
for i, (name, r) in enumerate(results.items()):
    ax.scatter(r["trainable"], 100 * r["accuracy"], s=60, color=f"C{i}")
    ax.annotate(name, (r["trainable"], 100 * r["accuracy"]), textcoords="offset points", xytext=(6, 6), fontsize=9)
ax.set_xscale("log")
trained = [r["trainable"] for r in results.values()]
ax.set_xlim(min(trained) / 3, max(trained) * 5)  # room for the names
ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
ax.set_xlabel("parameters trained (log scale; MiniLM has 22.6 million)")
ax.set_ylabel(f"test accuracy (%, {len(test):,} reviews)")
ax.set_title(f"Accuracy against what is trained ({n:,} reviews, 10% held out; one seed)")
show(fig, "accuracy_vs_trained", FIGURES)

# %% [markdown]
# Read it from left to right: the head alone trains a few hundred numbers and
# cannot change what the encoder sees; LoRA trains about 0.1–0.3% of MiniLM
# and lets every block adapt; full fine-tuning trains all of it. Note the
# seconds: on a CPU a LoRA step is no faster than a full one — the backward
# pass still runs through every block to reach the adapters in the lower ones;
# what LoRA saves is the frozen weights' gradients and optimizer state.
#
# And note the budget: two epochs of 1,800 reviews are about 120 steps. The
# adapters start at zero; on a budget this small they can lag full
# fine-tuning by several points (Hu et al. match it on GLUE, with many
# epochs). One seed on a slice of the data is one draw: `benchmarks/lora.py`
# runs every way over three seeds on the whole training split, with each run's
# peak memory and seconds per epoch. In small mode (300 reviews, one epoch,
# three ways) the accuracies sit near chance: the table shows what each way
# trains, not what it achieves.
#
# ## 3. What you ship
#
# `textclf train --finetune lora` merges the adapters into the weights when
# training ends: the bundle holds an ordinary MiniLM, as big as a full
# fine-tune's (about 90 MB), and predicts, exports and serves exactly as one.
# Keeping only the adapters and the head — a few hundred kilobytes per task,
# loaded onto the one pretrained model they were trained from — is what makes
# LoRA cheap to store for many tasks; textclf does not write such bundles yet.
#
# ## 4. What to take away
#
# - **A low-rank change can be enough** when the pretrained model already
#   knows the language (Hu et al. match full fine-tuning on GLUE) — but measure
#   it on your task and your budget: with few steps it lags.
# - **B = 0 at the start** means fine-tuning starts at the pretrained model;
#   **α/r** keeps the change's size when you change the rank.
# - **Merge before you ship**: then the model is an ordinary one.
# - **Memory**: frozen weights need no gradients and no optimizer state (AdamW
#   keeps two numbers per trained parameter), which is where LoRA saves most on
#   a big model; on MiniLM and a CPU, the activations dominate.
