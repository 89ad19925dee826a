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
# # Lesson 5 — Which words mattered
#
# A trained classifier says "positive, 0.93". Which words made it say so?
# *Integrated gradients* (Sundararajan, Taly & Yan, 2017) gives every token a
# score: how much it moved the output away from a *baseline* — the same text
# with no information in it. The scores add up to the whole change
# (*completeness*), and what they miss, the *delta*, tells us whether the
# approximation can be trusted.
#
# We build it by hand from `textclf.explain`, check it against Captum, compare
# baselines, and read the model's mistakes.
#
# Exercises: `lessons/exercises/ex05_which_words_mattered.py` (5.1 the path,
# 5.2 the Riemann sum, 5.3 the completeness check). Grade with `textclf check 5`.

# %%
import inspect
from pathlib import Path

import torch

from textclf.data import load_dataset
from textclf.explain import (
    captum_integrated_gradients,
    explain,
    integrated_gradients,
    interpolate,
    render_terminal,
    riemann_points,
    riemann_sum,
    save_html,
)
from textclf.figures import BLUE, GREEN, RED, new_figure, show
from textclf.lesson_utils import smoke_mode, versions
from textclf.pipeline import JobConfig, train_job
from textclf.training import TrainConfig

print(versions())
SMOKE = smoke_mode("05")
FIGURES = "figures/05_which_words_mattered"  # where figures go when run as a script (notebooks: inline)

# %% [markdown]
# ## 1. A model to explain
#
# The CNN with trainable GloVe vectors from lessons 3 and 4, trained by the same
# `train_job` that `textclf train` runs: it returns the trained `Bundle` in memory.

# %%
ds = load_dataset("rotten_tomatoes")
if SMOKE:
    ds = ds.subsample(800)
job = JobConfig(model="cnn", train=TrainConfig(epochs=2 if SMOKE else 10))
bundle = train_job(ds, job, log=lambda line: None)
print(f"test accuracy {bundle.metrics['test_accuracy']:.4f}")
model, vocab = bundle.model, bundle.vocab
device = bundle.device  # a GPU where there is one: the tensors we build by hand go there too

# %% [markdown]
# ## 2. Integrated gradients by hand
#
# Every textclf model is `classify(embedding(ids), mask)`, so we can work on the
# word vectors directly. The path runs from the baseline `x'` (here every word
# replaced by `<pad>`, whose vector is held at zero) to the text's vectors `x`.

# %%
text = "a gripping, beautifully acted film"
ids = bundle.encode([text])[0].unsqueeze(0).to(device)  # [1, seq_len]
mask = torch.ones_like(ids, dtype=torch.bool)  # [1, seq_len]
positive = bundle.labels.index("positive")
with torch.no_grad():
    x = model.embedding(ids)[0]  # [seq_len, dim]
    x_ref = model.embedding(torch.full_like(ids, vocab.pad_index))[0]  # [seq_len, dim]

alphas, weights = riemann_points(50, "trapezoid")  # [50], [50]
path = interpolate(x_ref, x, alphas).requires_grad_(True)  # [50, seq_len, dim]
p_positive = model.classify(path, mask.expand(50, -1)).softmax(-1)[:, positive]  # [50]
(gradients,) = torch.autograd.grad(p_positive.sum(), path)  # [50, seq_len, dim]
per_dim = riemann_sum(gradients.double(), weights, x.double(), x_ref.double())  # [seq_len, dim]
scores = per_dim.sum(dim=-1)  # [seq_len]: one score per token

print("p(positive) along the path:", [round(v, 3) for v in p_positive[::10].tolist()], "...")
for token, score in zip(bundle.tokens(text), scores.tolist()):
    print(f"  {token:>12} {score:+.4f}")
print(f"sum of scores {scores.sum():+.4f}  =?  f(x) - f(x') = {p_positive[-1] - p_positive[0]:+.4f}")

# %% [markdown]
# The package does the same, for a batch of texts at once, a few path points
# per forward pass, with the baseline touching only real tokens (padding gets
# exactly zero):

# %%
print(inspect.getsource(integrated_gradients))
ours = integrated_gradients(model, ids, mask, targets=torch.tensor([positive], device=device))
print("package:", [round(v, 4) for v in ours.tokens[0].tolist()], f"delta {ours.delta.item():+.2e}")

# %% [markdown]
# ## 3. The same with Captum
#
# Captum's `LayerIntegratedGradients` hooks `model.embedding` and interpolates
# its outputs — our path. With the same Riemann rule the two agree to float
# precision. Careful with Captum's `riemann_trapezoid`: its weights add up to
# `1 - 1/steps`, not 1, so its attributions come out `(steps-1)/steps` of the
# true trapezoid rule's, and its delta is larger. (Captum's default,
# `gausslegendre`, does not have this problem.)

# %%
for method in ("middle", "trapezoid"):
    a = integrated_gradients(model, ids, mask, steps=20, method=method)
    c = captum_integrated_gradients(model, ids, mask, steps=20, method=method)
    print(f"{method:>9}: max |ours - captum| = {(a.tokens - c.tokens).abs().max():.2e}, "
          f"max |ours * 19/20 - captum| = {(a.tokens * 19 / 20 - c.tokens).abs().max():.2e}; "
          f"delta ours {a.delta.item():+.1e}, captum {c.delta.item():+.1e}")

# %% [markdown]
# ## 4. More steps, smaller delta
#
# The delta is the error of the Riemann sum. It shrinks as the number of steps
# grows (not strictly: the ReLUs put kinks in the path); 50 is the default.
# If a delta is large compared with the score,
# raise `--steps`.

# %%
deltas = {}
for steps in (2, 5, 10, 20, 50, 100):
    result = integrated_gradients(model, ids, mask, steps=steps)
    deltas[steps] = result.delta.abs().item()
    print(f"steps {steps:>3}: delta {deltas[steps]:.2e}")
fig, (ax_delta, ax_words) = new_figure(ncols=2, size=(10, 3.4))
ax_delta.loglog(list(deltas), [max(d, 1e-12) for d in deltas.values()], "o-", color=BLUE)
ax_delta.set_xlabel("steps")
ax_delta.set_ylabel("|delta| (completeness error)")
scores = result.tokens[0, : int(mask[0].sum())].tolist()
words = vocab.decode(ids[0, : len(scores)].tolist())
ax_words.bar(range(len(scores)), scores, color=[GREEN if s > 0 else RED for s in scores])
ax_words.set_xticks(range(len(scores)), words, rotation=60, ha="right", fontsize=8)
ax_words.set_ylabel("attribution")
show(fig, "steps_and_attributions", FIGURES)

# %% [markdown]
# ## 5. The baseline is a choice
#
# *pad*: every word becomes `<pad>`; *unk*: every word becomes `<unk>` (an
# unknown word — which the model has learnt something about); *zero*: zero
# vectors. textclf holds the `<pad>` vector at zero, so *pad* and *zero*
# coincide here — not so for BERT-style models (lesson 7). The scores explain
# the difference from *that* baseline, so they change with it.

# %%
sentence = "the plot is thin and the jokes fall flat, but i loved it"
for baseline in ("pad", "unk", "zero"):
    e = explain(bundle, [sentence], baseline=baseline)[0]
    print(f"{baseline:>4}: f(x') = {e.f_baseline:.3f}, score {e.score:+.3f}, top for {e.target}: "
          f"{[t for t, _ in e.top(3)]}, against: {[t for t, _ in e.top(3, -1)]}")

# %% [markdown]
# ## 6. Where the model is wrong
#
# The test reviews the model gets wrong, with the predicted label explained.
# Usually the culprit is visible. In the full run, "proves that a movie about
# goodness is not the same thing as a good movie" is called positive, and
# *goodness* alone carries +0.55 of the probability: the model has learnt
# words, not the negation around them. In "the film gives no quarter to anyone
# seeking to pull a cohesive story out of ...", *cohesive* (+0.47) outweighs
# *no* (-0.13). Plot words tied to one class (names, "sports drama") show up too.

# %%
test = ds.test[:200] if SMOKE else ds.test
predictions = bundle.predict([ex.text for ex in test])
wrong = [ex for ex, p in zip(test, predictions) if max(p, key=p.get) != ex.label][:6]
explanations = explain(bundle, [ex.text for ex in wrong], true_labels=[ex.label for ex in wrong])
print(render_terminal(explanations, color=False))

# %% [markdown]
# ## 7. A report to share
#
# The HTML report is one self-contained file (inline styles, no scripts, every
# word escaped): hover a word for its score. From the command line:
#
#     textclf explain runs/model "a gripping, beautifully acted film" --html report.html
#     textclf explain runs/model --split test --wrong-only --limit 10 --html mistakes.html

# %%
report = save_html(Path(FIGURES) / "mistakes.html", explanations, title="Where the CNN is wrong")
print(f"wrote {report.resolve()} ({report.stat().st_size:,} bytes): open it in a browser")
