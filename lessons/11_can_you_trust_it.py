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
# # Lesson 11 — Can you trust it? Calibration and error analysis
#
# A model that prints "positive: 0.83" invites you to read 0.83 as "83% sure".
# Whether that reading is right is a measurable property, **calibration**: of
# all the texts given confidence about 0.83, about 83% should be right. This
# lesson measures it (reliability diagrams, expected calibration error), fixes
# it cheaply (temperature scaling) and then looks at *where* the model fails
# (by length, by class, by confidence, on slices you define), with lesson 5's
# integrated gradients on the confidently wrong.
#
# Exercises: `lessons/exercises/ex11_can_you_trust_it.py` (11.1 ECE by hand,
# 11.2 fit a temperature, 11.3 accuracy by length bucket). Grade with
# `textclf check 11`.

# %%
import torch

from textclf.batching import encode_splits
from textclf.bundle import Bundle
from textclf.calibration import expected_calibration_error, fit_temperature, nll, reliability
from textclf.data import load_dataset
from textclf.explain import explain, render_terminal
from textclf.figures import new_figure, reliability_figure, show
from textclf.glove import embedding_matrix, load_glove
from textclf.inference import logits
from textclf.lesson_utils import smoke_mode, versions
from textclf.models import build_model
from textclf.text import Vocab, tokenize
from textclf.training import TrainConfig, fit

print(versions())
SMOKE = smoke_mode("11")
FIGURES = "figures/11_can_you_trust_it"  # where the figures go when this runs as a script

ds = load_dataset("rotten_tomatoes")
if SMOKE:
    ds = ds.subsample(400, seed=0)
vocab = Vocab.build((tokenize(ex.text) for ex in ds.train), min_freq=2)
data = encode_splits(ds, vocab, max_len=400)
vectors, _ = embedding_matrix(vocab, load_glove("bundled"))
print(ds.summary())

# %% [markdown]
# ## 1. Three model families, and how confident they are
#
# We train three of textclf's families the usual way (best epoch on the
# validation split) and keep their test-split logits.

# %%
results, models = {}, {}
for name in ("nbow", "cnn", "gru+ngrams"):
    torch.manual_seed(0)
    model, _ = build_model(name, vectors, vocab_size=len(vocab), n_classes=2, embed_dim=vectors.shape[1],
                           pad_index=vocab.pad_index)
    fit(model, data["train"], data["valid"], TrainConfig(epochs=2 if SMOKE else 10, patience=3),
        log=lambda line: None)
    models[name] = model
    results[name] = {split: (logits(model, data[split].ids), torch.tensor(data[split].labels))
                     for split in ("valid", "test")}
    test_logits, test_targets = results[name]["test"]
    accuracy = float((test_logits.argmax(1) == test_targets).float().mean())
    ece = expected_calibration_error(test_logits.softmax(1), test_targets)
    print(f"{name:12s} test accuracy {accuracy:.2%}  ECE {ece:.3f}  NLL {nll(test_logits, test_targets):.3f}")

# %% [markdown]
# ## 2. Reliability diagrams
#
# Sort the predictions into confidence bins; in each bin, plot accuracy against
# mean confidence. On the diagonal, confidence means what it says; below it the
# model is **over-confident**. ECE is the average distance from the diagonal,
# weighted by how many predictions each bin holds (Exercise 11.1 asks you to
# compute it by hand).

# %%
curves = {name: reliability(r["test"][0].softmax(1), r["test"][1]) for name, r in results.items()}  # 15 bins
show(reliability_figure(curves, "test split, before temperature scaling"), "reliability_before", FIGURES)
for name, rel in curves.items():
    print(name, "predictions per bin:", rel.counts.int().tolist())

# %% [markdown]
# ## 3. Temperature scaling
#
# Divide every logit by one number `T`, fitted on the **validation** split to
# minimise the negative log-likelihood (Exercise 11.2 does it with a grid),
# then measure on the **test** split. `T > 1` softens over-confident
# probabilities. The largest logit stays the largest, so accuracy and the
# ranking of labels cannot change — only how much the probabilities claim.

# %%
after = {}
for name, r in results.items():
    temperature = fit_temperature(*r["valid"])
    test_logits, targets = r["test"]
    same = torch.equal((test_logits / temperature).argmax(1), test_logits.argmax(1))
    ece_before = expected_calibration_error(test_logits.softmax(1), targets)
    ece_after = expected_calibration_error((test_logits / temperature).softmax(1), targets)
    print(f"{name:12s} T = {temperature:.2f}   test NLL {nll(test_logits, targets):.3f} -> "
          f"{nll(test_logits, targets, temperature):.3f}   ECE {ece_before:.3f} -> {ece_after:.3f}   "
          f"predictions unchanged: {same}")
    after[name] = reliability((test_logits / temperature).softmax(1), targets)
show(reliability_figure(after, "test split, after temperature scaling"), "reliability_after", FIGURES)

# %% [markdown]
# For a bundle: `textclf calibrate runs/model` fits `T` on its validation split,
# prints NLL and ECE before and after, and stores `temperature` in
# `config.json`; `predict`, `evaluate` (which reports ECE beside accuracy and
# F1) and the facade apply it.
#
# ## 4. Where does it fail?
#
# Overall accuracy hides where the errors are. Take the default model's test
# predictions and cut them three ways: by text length (Exercise 11.3), by
# class, by confidence.

# %%
name = "gru+ngrams"
test_logits, targets = results[name]["test"]
probabilities = test_logits.softmax(1)
confidence, predicted = probabilities.max(1)
correct = (predicted == targets).tolist()
lengths = data["test"].lengths
texts = [ex.text for ex in ds.test]


def by_bucket(values, edges):
    rows = []
    for i, start in enumerate(edges):
        end = edges[i + 1] if i + 1 < len(edges) else float("inf")
        picked = [c for v, c in zip(values, correct) if start <= v < end]
        rows.append((f"{start}-{end}" if end != float("inf") else f"{start}+", len(picked),
                     sum(picked) / max(1, len(picked))))
    return rows


length_rows = by_bucket(lengths, [0, 10, 20, 30, 40])
confidence_rows = by_bucket(confidence.tolist(), [0.5, 0.6, 0.7, 0.8, 0.9])
for title, rows in (("tokens", length_rows), ("confidence", confidence_rows)):
    print(f"accuracy by {title}: " + ", ".join(f"{b}: {a:.0%} of {n}" for b, n, a in rows))
for label_id, label in enumerate(ds.labels):
    mine = [c for c, t in zip(correct, targets.tolist()) if t == label_id]
    print(f"class {label}: {sum(mine) / max(1, len(mine)):.1%} of {len(mine)}")
fig, (ax_len, ax_conf) = new_figure(ncols=2, size=(9, 3.2))
for ax, rows, colour, xlabel in ((ax_len, length_rows, "#1f77b4", "text length (tokens)"),
                                 (ax_conf, confidence_rows, "#ff7f0e", "confidence")):
    kept = [(b, n, a) for b, n, a in rows if n > 0]  # an empty bin has no accuracy: left out, not drawn as 0%
    bars = ax.bar([b for b, _, _ in kept], [a for _, _, a in kept], color=colour)
    ax.bar_label(bars, labels=[f"n={n}" for _, n, _ in kept], fontsize=8)  # how many texts each bar stands on
    ax.set_xlabel(xlabel)
    ax.set_ylim(0, 1.1)
ax_len.set_ylabel("accuracy (bars: texts in the bin)")
show(fig, "accuracy_by_slice", FIGURES)

# %% [markdown]
# ## 5. Slices you define, and the confidently wrong
#
# A slice is any one-line predicate over a text. Negation and contrast ("but")
# are classic trouble for bag-of-words evidence:

# %%
slices = {"has a negation": lambda t: any(w in tokenize(t) for w in ("not", "n't", "no", "never")),
          "has 'but'": lambda t: "but" in tokenize(t),
          "mentions 'funny'": lambda t: "funny" in tokenize(t)}
for slice_name, predicate in slices.items():
    picked = [c for t, c in zip(texts, correct) if predicate(t)]
    print(f"{slice_name:18s} {len(picked):4d} texts, accuracy {sum(picked) / max(1, len(picked)):.1%}")

# %% [markdown]
# The most confident mistakes, explained with lesson 5's integrated gradients:
# which words pushed the model to its wrong answer?

# %%
wrong = sorted((i for i, c in enumerate(correct) if not c), key=lambda i: -float(confidence[i]))[:3]
bundle = Bundle.of(models[name], name, vocab, list(ds.labels), max_len=400)
explanations = explain(bundle, [texts[i] for i in wrong], true_labels=[ds.labels[int(targets[i])] for i in wrong],
                       steps=20 if SMOKE else 50)
print(render_terminal(explanations, color=False))

# %% [markdown]
# Usually one strong word ("funny", "best") outweighs a negation or a
# contrast the model cannot read. `textclf explain DIR --split test
# --wrong-only` does this for a bundle, and `textclf report DIR` puts these
# mistakes, the calibration and the curves on one page. Calibration makes the
# confidence honest on average; it does not make such a text right.
