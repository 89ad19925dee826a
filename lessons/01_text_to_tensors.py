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
# # Lesson 1 — Text to tensors
#
# A neural network eats tensors of numbers; we have files of text. This lesson
# walks the whole path once, on real movie reviews, with the `textclf` modules
# you will use in every later lesson:
#
# 1. **raw file → examples**: `textclf.data.load_dataset`
# 2. **text → tokens**: `textclf.text.tokenize`
# 3. **tokens → ids**: `textclf.text.Vocab`
# 4. **ids → a padded batch**: `textclf.batching.Collator`
# 5. **less padding**: `textclf.batching.BucketBatchSampler`
# 6. **your own CSV file**, including what happens when a row is bad.
#
# Exercises: `lessons/exercises/ex01_text_to_tensors.py` (1.1 vocabulary order,
# 1.2 padding and mask, 1.3 bucketing). Grade them with `textclf check 1`.

# %% [markdown]
# ### Coming from the classic torchtext notebooks?
#
# torchtext's legacy API (and all of torchtext since its last release, which
# pins torch 2.3) is gone, so textclf writes each piece out. Where each one went:
#
# | torchtext (legacy) | textclf | what it does |
# |---|---|---|
# | `data.Field(tokenize=..., lower=True)` | `textclf.text.tokenize` (lowercases) | text → tokens |
# | `Field(include_lengths=True)` | `Collator` → `Batch.lengths`, `Batch.mask` | padded ids plus each text's length |
# | `data.LabelField()` | `TextDataset.labels`, `label_index` | label strings ↔ class ids |
# | `TEXT.build_vocab(train, max_size=..., min_freq=...)` | `Vocab.build(tokens, max_size=, min_freq=)` | token ↔ id |
# | `build_vocab(..., vectors="glove.6B.100d")` | `embedding_matrix(vocab, load_glove())` | GloVe rows for the vocab |
# | `TEXT.vocab.vectors` → `weight.data.copy_` | `build_model(name, matrix, ...)` | copy into `nn.Embedding` |
# | `TabularDataset(path, format="csv", fields=...)` | `load_dataset("file.csv", text_column=...)` | a CSV/TSV/JSONL |
# | `datasets.IMDB.splits(TEXT, LABEL)` | `load_dataset("aclImdb/")` or `"rotten_tomatoes"` | a known dataset |
# | `train.split(random_state=...)` | `stratified_split(labels, seed=...)` | fixed, stratified train/valid/test |
# | `BucketIterator(sort_key=len, sort_within_batch=True)` | `BucketBatchSampler` + `Collator` | similar lengths |
# | `batch.text`, `batch.label` | `batch.ids`, `batch.mask`, `batch.lengths`, `batch.labels` | one batch's tensors |

# %%
import inspect
import tempfile
from pathlib import Path

import torch

import textclf
from textclf.batching import BucketBatchSampler, Collator, EncodedDataset, make_loader, padding_fraction, random_batches
from textclf.data import DataError, load_dataset
from textclf.figures import BLUE, GREEN, ORANGE, new_figure, show
from textclf.glove import embedding_matrix, load_glove
from textclf.lesson_utils import smoke_mode, versions
from textclf.text import Vocab, tokenize

print(versions())
SMOKE = smoke_mode("01")  # TEXTCLF_SMOKE=1 runs a small version of every step (CI does this)
FIGURES = "figures/01_text_to_tensors"  # where figures go when this runs as a script (notebooks: inline)

# %% [markdown]
# ## 1. The data
#
# textclf ships two real datasets (see `textclf/data/bundled/DATASHEET.md`):
# Rotten Tomatoes review snippets (positive / negative) and BBC News articles
# (5 topics). Each comes with a fixed, stratified train/valid/test split, so
# every lesson is scored on the same test set.

# %%
ds = load_dataset("rotten_tomatoes")
if SMOKE:
    ds = ds.subsample(600)
print(ds.summary())
for ex in ds.train[:3]:
    print(f"[{ex.label}] {ex.text}")

# %% [markdown]
# ## 2. Tokens
#
# The tokenizer lowercases, splits punctuation off, and splits English clitics
# the way GloVe's training text was split (`don't` → `do n't`), so more of our
# tokens will have pretrained vectors in lesson 4. Its rules are in its docstring:

# %%
print(textclf.text.tokenizer.__doc__)
sample = "It's not a bad film -- it's a well-made, 2.5-hour bore!<br />Skip it."
print(tokenize(sample))

# %% [markdown]
# ## 3. The vocabulary
#
# A `Vocab` numbers the tokens: special tokens first (`<pad>` = 0 for padding,
# `<unk>` = 1 for any token it has never seen), then the training tokens by
# frequency. We build it **from the training split only**: the model must not
# learn anything from the test set, not even which words exist in it.

# %%
train_tokens = [tokenize(ex.text) for ex in ds.train]
vocab = Vocab.build(train_tokens, min_freq=2)
print(vocab, vocab.itos[:20])
ids = vocab.encode(tokenize(sample))
print(ids)
print(vocab.decode(ids))  # words the vocabulary lacks come back as <unk>

# %% [markdown]
# How much of the validation text does the vocabulary know, for a few `min_freq`?
# A larger vocabulary knows more words but has more rare words with too few
# examples to learn from.

# %%
valid_tokens = [tok for ex in ds.valid for tok in tokenize(ex.text)]
for min_freq in (1, 2, 5):
    v = Vocab.build(train_tokens, min_freq=min_freq)
    unknown = sum(tok not in v for tok in valid_tokens) / len(valid_tokens)
    print(f"min_freq={min_freq}: {len(v):>6,} tokens, {unknown:.1%} of valid tokens unknown")

# %% [markdown]
# GloVe vectors (lesson 4) cover most of this vocabulary. The bundled subset
# has the 50-dimensional vectors of every word in our two corpora:

# %%
glove = load_glove()
matrix, coverage = embedding_matrix(vocab, glove)
print(matrix.shape, "#", coverage)

# %% [markdown]
# ## 4. Padding a batch
#
# Texts have different lengths but a tensor is a rectangle. The collate
# function pads every text with `<pad>` up to the longest one, and keeps the
# `lengths` and a boolean `mask` so that models can ignore the padding.

# %%
encoded = EncodedDataset.from_examples(ds.train, vocab, ds.labels)
batch = Collator(vocab.pad_index)([encoded[i] for i in range(4)])
print("ids", tuple(batch.ids.shape), "# [batch, seq_len]")
print(batch.ids)
print("lengths", batch.lengths.tolist(), "  mask row 0:", batch.mask[0].int().tolist())
print(inspect.getsource(Collator.__call__))

# %% [markdown]
# ## 5. Bucketing: less padding, same shuffling
#
# With random batches most of the tensor can be padding: one long review pads
# all its batch-mates. Sorting the whole dataset by length removes padding but
# makes every epoch see the same batches in the same order. The
# `BucketBatchSampler` does both: it shuffles, sorts *within pools* of 50
# batches, and shuffles the batches again.

# %%
lengths = encoded.lengths
shares = {}
for batch_size in (16, 64):
    plain = padding_fraction(lengths, random_batches(len(lengths), batch_size))
    bucketed = padding_fraction(lengths, BucketBatchSampler(lengths, batch_size).batches())
    shares[batch_size] = (plain, bucketed)
    print(f"batch {batch_size}: padding {plain:.1%} random -> {bucketed:.1%} bucketed")

fig, (hist, bars) = new_figure(ncols=2, size=(9, 3.2))
hist.hist(lengths, bins=40, color=BLUE)
hist.set_xlabel("tokens per text")
hist.set_ylabel("texts")
hist.set_title(f"text lengths ({len(lengths):,} training texts, 40 bins)")
for offset, (label, index) in enumerate((("random batches", 0), ("length-bucketed", 1))):
    bars.bar([i + 0.4 * offset for i in range(len(shares))], [100 * s[index] for s in shares.values()], width=0.4,
             label=label, color=(ORANGE, GREEN)[offset])
bars.set_xticks([i + 0.2 for i in range(len(shares))], [f"batch {b}" for b in shares])
bars.set_ylabel("padding (% of the tensor)")
bars.set_title("padding: random vs length-bucketed batches")
bars.set_ylim(0, 1.3 * max(100 * s[0] for s in shares.values()))  # room above the bars for the legend
bars.legend(loc="upper right")
show(fig, "lengths_and_padding", FIGURES)

loader = make_loader(encoded, batch_size=8, pad_index=vocab.pad_index, bucket=True, seed=0)
for batch in list(loader)[:3]:
    print(tuple(batch.ids.shape), batch.lengths.tolist())

# %% [markdown]
# ## 6. Your own CSV file
#
# `load_dataset` reads CSV, TSV and JSON Lines with the text and label columns
# you name, aclImdb folders or archives, AG News CSV, and the SMS Spam
# Collection. Without a split column, it makes a seeded, stratified
# train/valid/test split. A bad row stops loading with the file, the line and
# what was expected...

# %%
folder = Path(tempfile.mkdtemp())
good = ["review,stars,sentiment"] + [f'"Review number {i}, {w}",{s},{w}' for i, (w, s) in
                                    enumerate([("great", 5), ("awful", 1)] * 10)]
(folder / "reviews.csv").write_text("\n".join(good + ['"Unfinished, review,3,meh']) + "\n")
try:
    load_dataset(folder / "reviews.csv", text_column="review", label_column="sentiment")
except DataError as err:
    print("DataError:", err)

# %% [markdown]
# ... or, with `on_error="skip"`, the bad rows are skipped and reported:

# %%
(folder / "reviews.csv").write_text("\n".join(good + ["Too short,3", "So-so,3,meh"]) + "\n")
mine = load_dataset(folder / "reviews.csv", text_column="review", label_column="sentiment",
                    labels=["awful", "great"], on_error="skip")
print(mine.summary())
for problem in mine.skipped:
    print("skipped:", problem)

# %% [markdown]
# The same pipeline turns it into tensors:

# %%
my_vocab = Vocab.build(tokenize(ex.text) for ex in mine.train)
my_data = EncodedDataset.from_examples(mine.train, my_vocab, mine.labels)
first = next(iter(make_loader(my_data, batch_size=4, pad_index=my_vocab.pad_index)))
print(first.ids.shape, first.labels, torch.equal(first.mask.sum(1), first.lengths))

# %% [markdown]
# ## Exercises
#
# Open `lessons/exercises/ex01_text_to_tensors.py`, replace each
# `NotImplementedError`, and run `textclf check 1`. Next lesson: a recurrent
# classifier reads these batches.
