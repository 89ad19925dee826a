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
# # Lesson 2 — A recurrent classifier
#
# A bi-directional LSTM reads a review left to right and right to left; its two
# final states summarise the text, and a linear layer turns them into class
# scores. Three things matter and this lesson shows each with shapes:
#
# 1. **packing** — so the RNN never reads padding;
# 2. **the training loop** — epochs, validation, *patience*, and restoring the best weights;
# 3. **measuring** — accuracy and F1 over the whole split, and the confusion matrix.
#
# Exercises: `lessons/exercises/ex02_recurrent.py` (2.1 final states from a packed
# run, 2.2 F1, 2.3 early stopping). Grade with `textclf check 2`.

# %%
import inspect

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from textclf.batching import Collator, encode_splits
from textclf.data import load_dataset
from textclf.figures import show, training_curves
from textclf.inference import evaluate
from textclf.lesson_utils import smoke_mode, versions
from textclf.loop import train_loop, train_step
from textclf.metrics import format_confusion
from textclf.models import RNNClassifier, RNNConfig, WideDeepClassifier, WideDeepConfig
from textclf.text import Vocab, tokenize
from textclf.training import TrainConfig, fit

print(versions())
SMOKE = smoke_mode("02")
FIGURES = "figures/02_recurrent"  # where figures go when this runs as a script (notebooks: inline)
_ = torch.manual_seed(0)  # returns the generator: "_ =" keeps a notebook from printing it

# %% [markdown]
# ## 1. Why pack?
#
# Three texts of lengths 4, 2 and 1 padded to 4. An RNN run on the padded
# tensor keeps stepping through the padding, so the "final" state of the short
# texts is the state after some `<pad>` vectors — and the backward direction
# even *starts* in the padding.

# %%
rnn = nn.LSTM(input_size=3, hidden_size=2, batch_first=True, bidirectional=True)
x = torch.randn(3, 4, 3)  # [batch, seq_len, dim]
lengths = torch.tensor([4, 2, 1])
x[1, 2:] = 0.0
x[2, 1:] = 0.0  # the padding

_, (h_padded, _) = rnn(x)  # h: [directions, batch, hidden]
packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
print("packed.data", tuple(packed.data.shape), "# [total real tokens = 4+2+1, dim]")
print("packed.batch_sizes", packed.batch_sizes.tolist(), "# how many texts are still running at each step")
_, (h_packed, _) = rnn(packed)
_, (h_alone, _) = rnn(x[2:, :1])  # the third text on its own, no padding at all
print("forward state of text 3 — padded run:", h_padded[0, 2].tolist())
print("forward state of text 3 — packed run:", h_packed[0, 2].tolist())
print("forward state of text 3 — alone:     ", h_alone[0, 0].tolist())

# %% [markdown]
# Packing gives the same states as running each text alone. `RNNClassifier`
# (`textclf/models/rnn.py`, the whole recurrent classifier) packs — an
# exported graph cannot follow a packed sequence, so `unpack` swaps in an
# unpacked RNN for export (lesson 9) — then takes the last layer's final
# forward (`h_n[-2]`) and backward (`h_n[-1]`) states and concatenates them:

# %%
print(inspect.getsource(RNNClassifier.final_states))
print(inspect.getsource(RNNClassifier.classify))

# %% [markdown]
# ## 2. Data and model

# %%
ds = load_dataset("rotten_tomatoes")
if SMOKE:
    ds = ds.subsample(600)
vocab = Vocab.build((tokenize(ex.text) for ex in ds.train), min_freq=2)
data = encode_splits(ds, vocab)  # {"train"|"valid"|"test": EncodedDataset}
config = RNNConfig(vocab_size=len(vocab), n_classes=len(ds.labels), embed_dim=100, hidden_dim=128,
                   cell="lstm", pad_index=vocab.pad_index)
model = RNNClassifier(config)
print(config)
batch = Collator(vocab.pad_index)([data["train"][i] for i in range(4)])
print("ids", tuple(batch.ids.shape), "-> logits", tuple(model(batch.ids, batch.mask).shape), "# [batch, n_classes]")

# %% [markdown]
# ## 3. The training loop, with patience
#
# One step of gradient descent on one batch: the logits, the loss, the
# gradients, a clip against the rare huge gradient, the update.

# %%
print(inspect.getsource(train_step))

# %% [markdown]
# Every epoch trains on shuffled, length-bucketed batches, then scores the
# **whole** validation split. The best epoch's weights are kept as a *copy*
# (`snapshot`: `state_dict()` alone would keep changing with the model). The
# `while` line is the patience rule: when `patience` epochs pass without a
# better validation score, training stops and the best copy is loaded back.
# `on` is where the product plugs in (below); on its own it does nothing.

# %%
print(inspect.getsource(train_loop))

# %% [markdown]
# That is the whole idea, and it trains: `train_loop(model, data["train"],
# data["valid"], config, torch.optim.Adam(model.parameters()))` works as it
# is. What you call below, `textclf.training.fit`, runs this very loop (a test
# checks they end with bit-for-bit the same weights) and adds, through the
# callbacks in `textclf.training.Product`:
#
# - **the model's own loss** (`ClassifierNet.loss`): wide & deep trains each
#   half on its own loss (section 6), distillation uses a teacher (lesson 13);
# - **crash safety**: a checkpoint after every epoch, resume, a stop on NaN/inf
#   (`textclf.checkpoint`);
# - **mixed precision** with fp16's loss scaler, a learning-rate schedule,
#   **DistributedDataParallel** (`Hooks`, lesson 10) and progress bars.

# %%
train_config = TrainConfig(epochs=2 if SMOKE else 10, patience=3, lr=1e-3)  # progress: bars, or a line per epoch
history = fit(model, data["train"], data["valid"], train_config)
print(history.table())
print(f"best epoch {history.best_epoch}; stopped early: {history.stopped_early}")
show(training_curves(history.epochs, history.best_epoch, "bi-LSTM on Rotten Tomatoes"), "lstm_curves", FIGURES)

# %% [markdown]
# ## 4. Measuring: accuracy, F1, confusion
#
# Accuracy and F1 are computed over all predictions of a split at once.
# Averaging per-batch values is wrong: batches differ in size, and F1 is not
# an average of anything. For two classes F1 is the positive class's; for more,
# the macro average treats every class equally, so a rare class counts.

# %%
test = evaluate(model, data["test"])
print(f"test accuracy {test.accuracy:.4f}, F1 {test.f1:.4f}")
print(format_confusion(test.confusion(len(ds.labels)), ds.labels))

# %% [markdown]
# ## 5. GRU for comparison
#
# A GRU has two gates instead of three and no separate cell state: fewer
# parameters, often the same accuracy.

# %%
gru = RNNClassifier(RNNConfig(vocab_size=len(vocab), n_classes=len(ds.labels), cell="gru",
                              pad_index=vocab.pad_index))
gru_history = fit(gru, data["train"], data["valid"], train_config)
for name, m in (("lstm", model), ("gru", gru)):
    n_params = sum(p.numel() for p in m.parameters())
    print(f"{name}: {n_params:,} parameters, test accuracy {evaluate(m, data['test']).accuracy:.4f}")

# %% [markdown]
# ## 6. Beside a linear model: wide and deep
#
# A tuned linear model over word 1- and 2-grams (TF-IDF + SVM) is a strong
# baseline on short reviews — on our splits it scores about as well as the
# GRU — and it gets *different* texts wrong. `WideDeepClassifier` puts the two
# in one model: the GRU (deep) and a linear score per class for each word and
# each hashed bigram (wide), each half trained on its own loss, predicting
# with the product of their distributions. It is what `textclf train` trains
# by default (`--model gru+ngrams`); `benchmarks/accuracy.py` shows why.

# %%
wide_deep = WideDeepClassifier(WideDeepConfig(vocab_size=len(vocab), n_classes=len(ds.labels),
                                              pad_index=vocab.pad_index))
fit(wide_deep, data["train"], data["valid"], train_config)
print(inspect.getsource(WideDeepClassifier.loss))
test_batch = Collator(vocab.pad_index)([data["test"][i] for i in range(len(data["test"]))])
test_batch = test_batch.to(next(wide_deep.parameters()).device)
wide_deep.eval()
with torch.no_grad():
    deep_logits, wide_logits = wide_deep.halves(wide_deep.embedding(test_batch.ids), test_batch.mask)
for name, logits in (("deep half (GRU)", deep_logits), ("wide half (n-grams)", wide_logits),
                     ("both", deep_logits.log_softmax(-1) + wide_logits.log_softmax(-1))):
    print(f"{name:>20}: test accuracy {(logits.argmax(-1) == test_batch.labels).float().mean():.4f}")

# %% [markdown]
# ### A smoke test, not a score
#
# The classic notebooks try their model on a few sentences of their own. Do the
# same — it catches a model wired backwards (labels swapped, padding read as
# words) at a glance. But a handful of hand-picked sentences is no measure of
# quality, and nothing here was tuned on them: the test split above is the
# score. (In the small CI mode the model has seen too little to get them right.)

# %%
SENTENCES = ["It was a fantastic performance !", "Best film ever", "It was a horrible movie",
             "It is a disgusting movie!", "This film is great", "This film is terrible"]
collate = Collator(vocab.pad_index)
smoke = collate([(torch.tensor(vocab.encode(tokenize(s))), 0) for s in SENTENCES]).to(next(model.parameters()).device)
model.eval()
with torch.no_grad():
    probs = model(smoke.ids, smoke.mask).softmax(dim=1).cpu()  # [6, n_classes]
for sentence, p in zip(SENTENCES, probs):
    print(f"{ds.labels[int(p.argmax())]:>8} {float(p.max()):.2f}  {sentence}")

# %% [markdown]
# The same model from the command line, with GloVe vectors (lesson 4), a
# checkpoint you can `--resume` after Ctrl-C, and a bundle to predict with:
#
# ```
# textclf train --model lstm --out runs/lstm
# textclf predict runs/lstm "a gripping, beautifully acted film"
# ```
