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
# # Lesson 14 — What accuracy does not tell you: behavioural tests
#
# Test accuracy says how often a model is right on texts like its test split.
# It does not say *what* the model learned: whether "not good" reads as bad,
# whether "dull at first, but in the end wonderful" is praise, whether a typo
# or another actor's name changes its mind. Ribeiro et al. (2020, "Beyond
# Accuracy: Behavioral Testing of NLP Models with CheckList") ask such
# questions with texts made for the purpose, in three kinds of test:
#
# - **MFT**, minimum functionality: texts from a template with a known label
#   ("The {noun} was not {pos_adj}." must be negative);
# - **INV**, invariance: an edit that keeps the label (a typo, a name swapped)
#   must not change the prediction;
# - **DIR**, directional: an edit with a known direction ("I loved it."
#   appended) must not move the probability the wrong way.
#
# We build one of each by hand, run a whole suite on four models, look at why
# the failures happen, and then try to fix one — measured on words and
# templates the fix never saw.
#
# Exercises: `lessons/exercises/ex14_behaviour.py` (14.1 a template expanded
# into labelled cases, 14.2 an invariance edit that keeps the label, 14.3 a
# failure rate with its Wilson interval). Grade with `textclf check 14`.

# %%
import inspect
import random

from textclf.behaviour import bundle_model, expand, load_suite, run_suite, shipped_suite, wilson
from textclf.behaviour.counterfactual import POSITIVE_WORDS, counterfactuals, with_counterfactuals
from textclf.behaviour.perturb import append, typo
from textclf.behaviour.report import comparison_table, failure_figure
from textclf.behaviour.suite import run_test
from textclf.bundle import load_bundle
from textclf.data import load_dataset
from textclf.explain import explain, render_terminal
from textclf.figures import show
from textclf.lesson_utils import from_root, show_table, smoke_mode, versions
from textclf.pipeline import job_for, train_job

print(versions())
SMOKE = smoke_mode("14")
FIGURES = "figures/14_behaviour"  # where figures go when run as a script (notebooks: inline)

# %% [markdown]
# ## 1. The model under test
#
# The default model of `textclf train`: a GRU beside a bag of n-grams over
# GloVe vectors (lesson 4), about 79% accurate on the Rotten Tomatoes test
# split, level with the tuned linear baseline.

# %%
ds = load_dataset("rotten_tomatoes")
small = dict(epochs=1) if SMOKE else {}
if SMOKE:
    ds = ds.subsample(400)
quiet = lambda line: None  # the jobs' own messages are left out; training still shows its progress
default = train_job(ds, job_for("gru+ngrams", baseline=False, **small), log=quiet)
print(f"gru+ngrams: test accuracy {default.metrics['test_accuracy']:.4f}")
model = bundle_model(default)  # texts in, probabilities [n, n_classes] out, through the inference seam
POSITIVE = default.labels.index("positive")

# %% [markdown]
# ## 2. A minimum functionality test, by hand
#
# A template and two small lexicons give every combination of their words, each
# with the label the sentence must get. A case fails when the model predicts
# another label. With a few hundred cases the failure rate is itself an
# estimate: its **Wilson interval** says how far it could be from the rate on
# all such sentences (95%: z = 1.96).

# %%
lexicons = {"noun": ["film", "movie", "story", "plot", "cast"],
            "pos_adj": ["good", "great", "excellent", "wonderful", "brilliant", "enjoyable"]}
cases = expand("The {noun} was not {pos_adj}.", lexicons, label="negative")
print(len(cases), "cases, e.g.", [c.text for c in cases[:3]])
probs = model([c.text for c in cases])  # [n_cases, 2]
failed = [c.text for c, p in zip(cases, probs) if p.argmax() == POSITIVE]  # "not good" called positive
low, high = wilson(len(failed), len(cases))
print(f"negation: {len(failed)}/{len(cases)} fail ({len(failed) / len(cases):.0%}; 95% interval "
      f"{low:.0%}-{high:.0%}), e.g. {failed[:2]}")

# %% [markdown]
# ## 3. An invariance test, by hand
#
# Real test texts, each edited so that its label cannot change: two
# neighbouring letters swapped in one word. A case fails when the prediction
# changes. (The edit is seeded: the same typos on every run. A text with no
# word of four letters has no typo to make, and is left out.)

# %%
rng = random.Random(0)
texts = [ex.text for ex in ds.test]
pairs = [(t, typo(t, rng)) for t in texts]
pairs = [(t, e) for t, e in pairs if e is not None]
before, after = model([t for t, _ in pairs]).argmax(-1), model([e for _, e in pairs]).argmax(-1)
flips = [(t, e) for (t, e), b, a in zip(pairs, before, after) if b != a]
print(f"typo: {len(flips)}/{len(pairs)} predictions change ({len(flips) / len(pairs):.1%})")
for original, edited in flips[:2]:
    print(f"  {original!r}\n  -> {edited!r}")

# %% [markdown]
# ## 4. A directional test, by hand
#
# Appending "I loved it." must not lower P(positive) — by more than a
# tolerance of 0.1, so that noise in the fourth decimal does not count.

# %%
loved = append("I loved it.")
p_before = model(texts)[:, POSITIVE]
p_after = model([loved(t, rng) for t in texts])[:, POSITIVE]
falls = int((p_before - p_after > 0.1).sum())
print(f"adding 'I loved it.': P(positive) falls by more than 0.1 for {falls}/{len(texts)} texts; it rises on "
      f"average by {float((p_after - p_before).mean()):+.3f}")

# %% [markdown]
# ## 5. A suite is data
#
# The same three kinds, declared in a file: `textclf/behaviour/suites/
# sentiment.jsonl` holds lexicons and tests, one JSON object per line, so you
# can write your own (`textclf behaviour DIR --suite my_suite.jsonl`; a bad line
# is refused with its line number). Here are a few of its lines, and the rule
# every test is scored by:

# %%
SUITE = shipped_suite(default.labels)
print("\n".join(line[:110] for line in SUITE.read_text().splitlines() if '"negation' in line or '"typo' in line))
print(inspect.getsource(run_test))

# %% [markdown]
# Now four models through it. The CNN (lesson 3) is trained here; MiniLM
# (lesson 7) and the distilled student (lesson 13) are read from `runs/` when
# their bundles are there — `textclf train --model minilm --out runs/minilm`
# (about 13 minutes) and `textclf distill --teacher runs/minilm --student
# gru+ngrams --copies 2 --out runs/student` make them. The invariance and
# directional tests edit the same test texts for every model.

# %%
suite = load_suite(SUITE)
saved = {}  # the bundles lessons 7 and 13 told you how to make
for name, folder in (("minilm", "runs/minilm"), ("student (distilled)", "runs/student")):
    if not SMOKE and (from_root(folder) / "config.json").exists():
        saved[name] = load_bundle(from_root(folder), device="cpu")
    else:
        print(f"{name}: no bundle at {from_root(folder)}" + (" (small mode does not use one)" if SMOKE else ""))
models = {"gru+ngrams": default, "cnn": train_job(ds, job_for("cnn", baseline=False, **small), log=quiet), **saved}
results = {name: run_suite(suite, bundle_model(b), b.labels, texts) for name, b in models.items()}
for name, b in models.items():
    print(f"{name:<20} test accuracy {b.metrics['test_accuracy']:.4f}")
show_table(comparison_table(results))  # failure rates in percent; rendered as a table in a notebook

# %%
show(failure_figure(results), "failure_rates", FIGURES)

# %% [markdown]
# Accuracies a few points apart hide failure rates tens of points apart. The
# classic models handle the easy cases and the invariances (a typo, a name,
# full stops) and fail where meaning depends on how words *combine*: negation
# and contrast. MiniLM, pretrained on a billion words of text, handles most of
# them — but not negated negatives ("not bad"), which it too mostly calls
# negative; and swapping one surname for another changes a few of its
# predictions, which no label should depend on (docs/results.md has the table
# for all four models).
#
# ## 6. Why: which words decided
#
# Integrated gradients (lessons 5 and 12) on failing cases. In "The film was
# not good", the default model's n-gram half sees *good* (strongly positive
# in training) and *not* — which occurs in negative and positive reviews alike
# ("not bad", "not since ..."), so alone it says little. Nothing in a bag of
# n-grams says that *not* applies to *good*; the GRU could learn it, but
# Rotten Tomatoes has few sentences that teach it.

# %%
failing = ["The film was not good.", "The plot was dull at first, but in the end it was wonderful."]
print(render_terminal(explain(default, failing, method="ig"), color=False))

# %% [markdown]
# ## 7. Acting on one failure, measured honestly
#
# **Does distillation pass the teacher's handling of negation on?** The
# student of lesson 13 is the same GRU + n-grams, trained on MiniLM's soft
# labels: the table above has its row beside the default model's (when both
# bundles exist). In our runs it passes part of it on — fewer failures on
# negated praise and on "good at first, but in the end bad" — though never as
# far as the teacher: the soft labels are for *training texts*, and few of those
# are negated praise. What the teacher fails ("not bad"), the student fails too.
#
# **Counterfactual augmentation** (Kaushik et al. 2020) adds minimal edits
# that flip the label: "a lovely film" (positive) becomes "a not lovely film"
# and "a forgettable film" (negative); two short reviews of opposite labels
# joined by ", but" take the second one's label. The edits come from a lexicon
# of twenty positive and twenty negative words; **the suite's adjectives and
# templates are not among them**, so a model that merely memorised the edits
# gains nothing on the suite. The validation and test splits stay untouched.
# Edits made by rule are noisier than Kaushik et al.'s, made by people: an
# antonym swapped into a review that praises in other words too gets a label
# the rest of the review contradicts (one of the examples below shows it).

# %%
made = counterfactuals(ds.train)
print(f"{len(made):,} counterfactual texts from {len(ds.train):,} training texts; the lexicon begins "
      f"{', '.join(POSITIVE_WORDS[:5])}, ...; e.g.")
for example in made[:2] + made[-1:]:
    print(f"  {example.label}: {example.text[:100]}")
fixed = train_job(with_counterfactuals(ds), job_for("gru+ngrams", baseline=False, **small), log=quiet)
focus = {name: run_suite(suite, bundle_model(b), b.labels, texts)
         for name, b in (("gru+ngrams", default), ("gru+ngrams + counterfactuals", fixed))}
for name, b in (("gru+ngrams", default), ("gru+ngrams + counterfactuals", fixed)):
    print(f"{name:<30} RT test accuracy {b.metrics['test_accuracy']:.4f}")
show_table(comparison_table(focus))

# %% [markdown]
# Read the table row by row: negation and contrast are the targets; the simple
# sentences, the invariances and the RT test accuracy are the price. One seed
# is one draw: `benchmarks/behaviour.py --fix --seeds 0 1 2` repeats it over
# three seeds (docs/results.md quotes its table). In small mode all of this is
# trained on 400 texts for one epoch: the rates show what the steps make, not
# what the fix does.
#
# ## 8. What to take away
#
# - **Accuracy is an average over the texts you happen to have.** A behaviour
#   that is rare in them (negated praise) can fail most of the time and cost
#   under a point of accuracy.
# - **Write the tests before you need them**: a suite is a file; run it on
#   every model you ship (`textclf behaviour DIR`), like unit tests.
# - **A failure rate is an estimate**: report its cases and its interval.
# - **Fix on one set of words, measure on another** — or the fix is tuned to
#   the test and the test tells you nothing.
