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
# 1e-3, LoRA's adapters 2e-3 (MiniLM's recipe: chosen on the validation split
# from 5e-4, 1e-3, 2e-3 and 4e-3 by `benchmarks/lora.py --lr`; Hu et al. used
# 4e-4 to 5e-4 for RoBERTa-base over many more steps), last-k and full 8e-5
# (lesson 7's choice for this many steps). LoRA wraps
# attention's query and value projections in all six blocks (`lora_targets`,
# declared by the model) and trains the head in full.

# %%
rt = load_dataset("rotten_tomatoes")
n = 300 if SMOKE else 2000  # small mode: 30 held out, the fewest that give a meaningful figure
train, test = rt.train[:n], (rt.test[:100] if SMOKE else rt.test)
texts, labels = [ex.text for ex in train], [ex.label for ex in train]
held_out = ([ex.text for ex in test], [ex.label for ex in test])
ways = {"head": dict(mode="head", lr=1e-3), "last-k (k=2)": dict(mode="last-k", lr=8e-5),
        "LoRA r=4": dict(mode="lora", lr=2e-3, lora=LoRAOptions(rank=4, alpha=8)),
        "LoRA r=8": dict(mode="lora", lr=2e-3, lora=LoRAOptions(rank=8, alpha=16)),
        "LoRA r=16": dict(mode="lora", lr=2e-3, lora=LoRAOptions(rank=16, alpha=32)),
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
    if name == "LoRA r=8":
        adapted = clf  # section 3 ships it

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
# seconds: the backward pass still runs through every block to reach the
# adapters in the lower ones, but the frozen weights need no gradients of
# their own and the optimizer updates thousands of numbers, not millions — on
# the whole split an epoch took half the full fine-tune's time here
# (docs/results.md).
#
# And note the budget: two epochs of 1,800 reviews are about 120 steps. The
# adapters start at zero; on a budget this small they can lag full
# fine-tuning (Hu et al. match it on GLUE, with many epochs; on the whole RT
# split, 4 epochs, three seeds, rank 8 came within 0.8 points of it). One
# seed on a slice of the data is one draw: `benchmarks/lora.py` runs every
# way over three seeds on the whole training split, with each run's
# peak memory and seconds per epoch. In small mode (300 reviews, one epoch,
# three ways) the accuracies sit near chance: the table shows what each way
# trains, not what it achieves.
#
# ## 3. What you ship
#
# `textclf train --finetune lora` merges the adapters into the weights when
# training ends: the bundle holds an ordinary MiniLM, as big as a full
# fine-tune's (about 90 MB), and predicts, exports and serves exactly as one.
# With `--adapter-only` it writes only what LoRA trained — the adapters and the
# head — and the name and a fingerprint of the base weights they were trained
# beside. Loading it rebuilds MiniLM, checks the fingerprint (other weights are
# refused: the adapters would fold into the wrong matrices), and folds each
# adapter in with the same formula as `merged()`: the same model, bit for bit.
# One pretrained model on disk, a few hundred kilobytes per task.

# %%
import tempfile
from pathlib import Path

from textclf.bundle import load_bundle, save_bundle
from textclf.models.lora import apply_adapters


def folder_mb(folder: str) -> float:
    return sum(f.stat().st_size for f in Path(folder).iterdir()) / 2**20


print(inspect.getsource(apply_adapters))
with tempfile.TemporaryDirectory() as tmp:
    save_bundle(adapted.bundle, f"{tmp}/merged")                       # the default: an ordinary model
    save_bundle(adapted.bundle, f"{tmp}/adapters", adapter_only=True)  # textclf train ... --adapter-only
    merged, adapters = load_bundle(f"{tmp}/merged"), load_bundle(f"{tmp}/adapters")
    print(f"merged bundle {folder_mb(f'{tmp}/merged'):.1f} MB; adapter-only {folder_mb(f'{tmp}/adapters'):.2f} MB "
          f"(of which vocab.json {Path(tmp, 'adapters', 'vocab.json').stat().st_size / 2**20:.2f} MB)")
    print("it names its base:", adapters.config.adapter.base, "with fingerprint", adapters.config.adapter.fingerprint)
    sample = held_out[0][:200]
    print("the same logits, bit for bit:", torch.equal(merged.logits(sample), adapters.logits(sample)))

# %% [markdown]
# ## 4. Lesson 6's transfer, with adapters
#
# Lesson 6 pretrained a small transformer on BBC news topics and fine-tuned
# it on sentiment: the head alone stayed well below a model trained on
# reviews; full fine-tuning closed the gap. LoRA is the third way there too:
# adapters beside each block's attention projection (`qkv`, the transformer's
# `lora_targets`) and the new head in full. The same pretraining and budget
# as lesson 6 (up to 8 epochs, patience 2). The adapters start at zero and are
# few, so they get a larger learning rate than the whole model's 3e-4; which
# one is a choice, so we try two and choose on the *validation* split.

# %%
from textclf.pipeline import JobConfig, train_job
from textclf.training import TrainConfig

bbc = load_dataset("bbc_news")
small = dict(model_dim=128, n_heads=4, num_layers=2, ff_dim=256)
reviews = rt
if SMOKE:
    bbc, reviews = bbc.subsample(150), rt.subsample(300)
    small = dict(model_dim=32, n_heads=2, num_layers=2, ff_dim=64)
news = train_job(bbc, JobConfig(model="transformer", max_len=64 if SMOKE else 256, model_options=small,
                                train=TrainConfig(epochs=1 if SMOKE else 10, batch_size=16, lr=5e-4)),
                 log=lambda line: None)
print(f"pretrained on BBC News: test accuracy {news.metrics['test_accuracy']:.4f}")
transfer_ways = {"head": dict(finetune="head", lr=3e-4),
                 "LoRA r=8, lr 1e-3": dict(finetune="lora", lr=1e-3),
                 "LoRA r=8, lr 3e-3": dict(finetune="lora", lr=3e-3),
                 "full": dict(finetune="full", lr=3e-4)}
if SMOKE:  # one learning rate for the adapters: the code path, not the choice
    transfer_ways.pop("LoRA r=8, lr 1e-3")
transferred = {}
for name, options in transfer_ways.items():
    options = dict(options)
    train = TrainConfig(epochs=1 if SMOKE else 8, patience=2, lr=options.pop("lr"))
    job = JobConfig(model="transformer", max_len=None, model_options=small, train=train,
                    lora=LoRAOptions(rank=8, alpha=16), **options)
    transferred[name] = train_job(reviews, job, log=lambda line: None, source=news).metrics
    print(f"{name}: valid {transferred[name]['valid_accuracy']:.4f}", flush=True)

# %%
rows = ["| news encoder, then | valid accuracy | test accuracy | trained parameters | share | seconds |",
        "|---|---:|---:|---:|---:|---:|"]
rows += [f"| {name} | {m['valid_accuracy']:.4f} | {m['test_accuracy']:.4f} | {m['trainable_parameters']:,} | "
         f"{100 * m['trainable_parameters'] / m['total_parameters']:.3g}% | {m['train_seconds']:.0f} |"
         for name, m in transferred.items()]
show_table("\n".join(rows))
lora_ways = [name for name in transferred if name.startswith("LoRA")]
chosen = max(lora_ways, key=lambda name: transferred[name]["valid_accuracy"])
print(f"chosen on validation: {chosen} (test {transferred[chosen]['test_accuracy']:.4f}; head "
      f"{transferred['head']['test_accuracy']:.4f}, full {transferred['full']['test_accuracy']:.4f})")

# %% [markdown]
# Here the gap between the tasks is wide (news topics to sentiment), the
# model small, and the embedding — where "good" and "bad" live — frozen under
# LoRA as under `head` (the RT words new to the BBC vocabulary keep their GloVe
# vectors). Adapters on attention can re-mix what the encoder sees but cannot
# move a word's vector; full fine-tuning can. Where the pretrained model
# already knows the language (MiniLM above) that matters less.
#
# ## 5. What to take away
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
