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
# # Lesson 6 — A transformer from scratch, and transfer
#
# Part 1 builds a transformer encoder from pieces you can read: attention with a
# padding mask, positional encodings, blocks, pooling. Part 2 reproduces the
# classic "pretrain on news topics, fine-tune on sentiment" exercise with the
# corpora we have (BBC News -> Rotten Tomatoes) and measures what it buys:
# training only the new head, the last layers, or everything.
#
# Exercises: `lessons/exercises/ex06_transformer_and_transfer.py` (6.1 the
# attention mask, 6.2 sinusoidal positions, 6.3 freezing by mode). Grade with
# `textclf check 6`.

# %%
import inspect

import torch
import torch.nn.functional as F

from textclf.data import load_dataset
from textclf.figures import BLUE, heatmap, new_figure, show
from textclf.finetune import encoder_stages, set_trainable
from textclf.lesson_utils import smoke_mode, versions
from textclf.models import TransformerClassifier, TransformerConfig
from textclf.models.attention import MultiHeadSelfAttention, scaled_dot_product_attention
from textclf.models.transformer import EncoderBlock, sinusoidal_positions
from textclf.pipeline import JobConfig, train_job
from textclf.training import TrainConfig

print(versions())
SMOKE = smoke_mode("06")
FIGURES = "figures/06_transformer_and_transfer"  # where figures go when run as a script (notebooks: inline)
_ = torch.manual_seed(0)  # returns the generator: "_ =" keeps a notebook from printing it

# %% [markdown]
# ## 1. Attention, with shapes and a padding mask
#
# Three texts of lengths 4, 2 and 1 in one padded batch. Each head compares
# every query with every key; padding keys get `-inf` before the softmax, so
# their weight is exactly 0. Our function gives what PyTorch's fused
# `F.scaled_dot_product_attention` gives.

# %%
batch, heads, seq_len, head_dim = 3, 2, 4, 8
q, k, v = (torch.randn(batch, heads, seq_len, head_dim) for _ in range(3))  # [batch, heads, seq_len, head_dim]
mask = torch.arange(seq_len)[None, :] < torch.tensor([4, 2, 1])[:, None]  # [batch, seq_len]
out, weights = scaled_dot_product_attention(q, k, v, mask)  # [batch, heads, seq_len, head_dim]
reference = F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, None, :])
print("same as torch:", torch.allclose(out, reference, atol=1e-6))
print("text 2 (2 tokens), head 0, attention weights (rows: queries, columns: keys):")
print(weights[1, 0].numpy().round(3))
fig, axes = new_figure(ncols=3, size=(10, 3.2))
for text, ax in enumerate(axes):  # one scale for the three: a weight is between 0 and 1
    heatmap(fig, ax, weights[text, 0], vmin=0, vmax=1, cmap="Blues", label="attention weight")
    ax.set_title(f"text {text + 1}: {int(mask[text].sum())} real tokens")
    ax.set_xlabel("key")
    ax.set_ylabel("query")
show(fig, "attention_maps", FIGURES)  # padding columns are white: weight exactly 0
print(inspect.getsource(MultiHeadSelfAttention.forward))

# %% [markdown]
# ## 2. Where is each word? Positional encodings
#
# Attention alone does not know word order: shuffle the tokens and, with mean
# pooling, the output is the same. Adding a position vector to each token fixes
# that. Sinusoids (fixed; any length) or a learned table (`--positions learned`).

# %%
table = sinusoidal_positions(50, 16)  # [positions, dim]
print("position 0:", table[0, :6].numpy().round(3), " position 1:", table[1, :6].numpy().round(3))

config = TransformerConfig(vocab_size=100, n_classes=2, embed_dim=16, model_dim=16, n_heads=2, ff_dim=32)
model = TransformerClassifier(config).eval()
ids = torch.tensor([[5, 6, 7, 8, 9]])
shuffled = ids[:, [4, 2, 0, 3, 1]]
ones = torch.ones_like(ids, dtype=torch.bool)
print("logits, in order / shuffled:", model(ids, ones).detach().numpy().round(4),
      model(shuffled, ones).detach().numpy().round(4))
model.positions = torch.zeros_like(model.positions)  # take the positions away
print("without positions, in order / shuffled:", model(ids, ones).detach().numpy().round(4),
      model(shuffled, ones).detach().numpy().round(4))

# %% [markdown]
# ## 3. A block, and the whole classifier
#
# Attention and a feed-forward layer, each in a residual connection with
# LayerNorm. *Post-norm* (the 2017 paper) normalises after adding; *pre-norm*
# normalises the input of each sub-layer and trains more steadily — it is our
# default. Pooling: the mean over real tokens, or a learned [CLS] vector.

# %%
print(inspect.getsource(EncoderBlock.forward))
print(inspect.getsource(TransformerClassifier.classify))

# %% [markdown]
# ## 4. Pretrain on news topics
#
# 2 blocks, width 128, 4 heads, GloVe-initialised embeddings, on BBC News (5
# topics, articles cut to 256 tokens). The small mode uses a tiny slice.

# %%
bbc = load_dataset("bbc_news")
model_options = dict(model_dim=128, n_heads=4, num_layers=2, ff_dim=256)
if SMOKE:
    bbc = bbc.subsample(150)
    model_options = dict(model_dim=32, n_heads=2, num_layers=2, ff_dim=64)
pretrain = JobConfig(model="transformer", max_len=64 if SMOKE else 256, model_options=model_options,
                     train=TrainConfig(epochs=1 if SMOKE else 10, batch_size=16, lr=5e-4))
source = train_job(bbc, pretrain, log=lambda line: None)  # a Bundle in memory
metrics = source.metrics
print(f"BBC News test accuracy {metrics['test_accuracy']:.4f} (best epoch {metrics['best_epoch']}, "
      f"{metrics['train_seconds']:.0f}s)")
print("its stages, input to output:", [sum(p.numel() for p in s) for s in encoder_stages(source.model)])

# %% [markdown]
# ## 5. Fine-tune on sentiment: what should learn?
#
# `transfer` copies the model, appends RT's new words to the vocabulary (GloVe
# vectors for them), swaps the 5-way head for a fresh 2-way one, and freezes by
# mode. `textclf train --init-from runs/bbc --finetune head|last-k|full` does
# the same from the command line.

# %%
print(inspect.getsource(set_trainable))
rt = load_dataset("rotten_tomatoes")
if SMOKE:
    rt = rt.subsample(400)
results, bundles = {}, {}
for name, options in {"from scratch": None, "head": dict(finetune="head"),
                      "last-k (k=2)": dict(finetune="last-k", last_k=2), "full": dict(finetune="full")}.items():
    train = TrainConfig(epochs=1 if SMOKE else 8, patience=2, lr=5e-4 if options is None else 3e-4)
    job = JobConfig(model="transformer", max_len=None, model_options=model_options, train=train, **(options or {}))
    bundles[name] = train_job(rt, job, log=lambda line: None, source=None if options is None else source)
    results[name] = bundles[name].metrics
fig, ax = new_figure(size=(6, 3.2))
ax.bar(list(results), [100 * m["test_accuracy"] for m in results.values()], color=BLUE)
ax.set_ylabel("RT test accuracy (%)")
ax.set_title("transfer from BBC news topics to sentiment")
show(fig, "transfer_comparison", FIGURES)
print(f"{'set-up':<14} {'test acc':>8} {'trainable params':>18} {'time':>6}")
for name, m in results.items():
    print(f"{name:<14} {m['test_accuracy']:>8.4f} {m['trainable_parameters']:>10,} of {m['total_parameters']:<9,}"
          f"{m['train_seconds']:>5.0f}s")

# %% [markdown]
# In `head` mode not one encoder weight moved — check it bit for bit:

# %%
tuned = bundles["head"].model.state_dict()
n_old = len(source.vocab)
same = all(torch.equal(w if name != "embedding.weight" else w[:n_old], tuned[name][: len(w)])
           for name, w in source.model.state_dict().items() if not name.startswith("out."))
print("encoder unchanged in head mode:", same)

# %% [markdown]
# ## 6. What the numbers say
#
# Topic features are not sentiment features: a frozen news encoder with a new
# head is well below a model trained on reviews, and unfreezing more layers
# closes the gap. `python benchmarks/transfer.py` runs these set-ups (plus
# discriminative learning rates) over three seeds and prints mean ± std; the
# docs/results.md quotes its table. The lesson to take away is the *measurement*: which
# layers to train depends on how close the two tasks are, and it costs minutes
# to check.
