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
# # Lesson 3 — A convolutional classifier
#
# Kim (2014): slide filters of widths 3, 4 and 5 over the word vectors — each
# filter is an n-gram detector — keep each filter's strongest response anywhere
# in the text (*max-over-time pooling*), and classify the pooled features.
# It trains much faster than an RNN because every window is computed at once.
#
# Exercises: `lessons/exercises/ex03_convolutional.py` (3.1 a convolution by hand,
# 3.2 masked max-over-time pooling, 3.3 texts shorter than the kernel).
# Grade with `textclf check 3`.

# %%
import inspect

import torch
from torch import nn

from textclf.batching import Collator, encode_splits
from textclf.data import load_dataset
from textclf.figures import show, training_curves
from textclf.inference import evaluate
from textclf.lesson_utils import smoke_mode, versions
from textclf.models import CNNConfig, KimCNN
from textclf.models.cnn import max_over_time
from textclf.text import Vocab, tokenize
from textclf.training import TrainConfig, fit

print(versions())
SMOKE = smoke_mode("03")
FIGURES = "figures/03_convolutional"  # where figures go when this runs as a script (notebooks: inline)
_ = torch.manual_seed(0)  # returns the generator: "_ =" keeps a notebook from printing it

# %% [markdown]
# ## 1. Convolution over a text, with shapes
#
# `nn.Conv1d` wants channels first: the embedding dimension is the channel, the
# tokens are the positions. A width-3 filter over 7 tokens gives 5 windows.

# %%
embedded = torch.randn(2, 7, 50)  # [batch, seq_len, embed_dim]
x = embedded.transpose(1, 2)  # [batch, embed_dim, seq_len]
conv = nn.Conv1d(in_channels=50, out_channels=100, kernel_size=3)
features = torch.relu(conv(x))  # [batch, n_filters, seq_len - 3 + 1]
print("embedded", tuple(embedded.shape), "-> conv", tuple(features.shape))
pooled = features.max(dim=2).values  # [batch, n_filters]
print("max over time ->", tuple(pooled.shape))

# %% [markdown]
# ## 2. Padding must not win the max
#
# In a padded batch, windows that reach into the padding are not part of the
# text. `max_over_time` masks them with `-inf` before the max, so a text's
# features do not depend on its batch-mates. A text shorter than the kernel
# keeps exactly one window (itself plus zero vectors): `KimCNN` pads the batch
# to the widest kernel first.

# %%
print(inspect.getsource(max_over_time))
print(inspect.getsource(KimCNN.classify))

# %%
ds = load_dataset("rotten_tomatoes")
if SMOKE:
    ds = ds.subsample(600)
vocab = Vocab.build((tokenize(ex.text) for ex in ds.train), min_freq=2)
data = encode_splits(ds, vocab)  # {"train"|"valid"|"test": EncodedDataset}
model = KimCNN(CNNConfig(vocab_size=len(vocab), n_classes=2, embed_dim=100, n_filters=100,
                         kernel_sizes=[3, 4, 5], pad_index=vocab.pad_index)).eval()
collate = Collator(vocab.pad_index)
texts = [data["train"][0], (torch.tensor(vocab.encode(["superb"])), 1)]  # a normal text and a 1-token text
together = model(*[getattr(collate(texts), k) for k in ("ids", "mask")])
alone = torch.cat([model(b.ids, b.mask) for b in (collate([t]) for t in texts)])
print("same logits alone and in a padded batch:", torch.allclose(together, alone, atol=1e-6))

# %% [markdown]
# ## 3. Train it

# %%
config = TrainConfig(epochs=2 if SMOKE else 10, patience=3)
history = fit(model, data["train"], data["valid"], config)
print(history.table())
show(training_curves(history.epochs, history.best_epoch, "Kim CNN on Rotten Tomatoes"), "cnn_curves", FIGURES)
test = evaluate(model, data["test"])
print(f"test accuracy {test.accuracy:.4f}, F1 {test.f1:.4f}")

# %% [markdown]
# ## 4. What did the filters learn?
#
# A width-3 filter scores every trigram. For the filters that move the output
# most towards "positive" and "negative", here are the trigrams of the
# validation set they fire on hardest.

# %%
model.eval()
device = next(model.parameters()).device  # fit trained on a GPU where there is one: inputs go where the model is
conv3 = model.convs[0]
weight_to_positive = model.out.weight[1, :100] - model.out.weight[0, :100]  # [filters] of the width-3 conv
best = {}
with torch.no_grad():
    for ids, _ in [data["valid"][i] for i in range(min(400, len(data["valid"])))]:
        if len(ids) < 3:
            continue
        scores = torch.relu(conv3(model.embedding(ids.to(device))[None].transpose(1, 2)))[0]  # [filters, windows]
        for f in (int(weight_to_positive.argmax()), int(weight_to_positive.argmin())):
            value, where = scores[f].max(dim=0)
            trigram = vocab.decode(ids[int(where) : int(where) + 3].tolist())
            best.setdefault(f, []).append((float(value), " ".join(trigram)))
for f, hits in best.items():
    direction = "positive" if weight_to_positive[f] > 0 else "negative"
    top = [t for _, t in sorted(hits, reverse=True)[:6]]
    print(f"filter {f} (pushes {direction}): {top}")
