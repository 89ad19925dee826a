"""Distillation: the loss against a reference written out by hand, the augmentation's properties, the
distillation set, the teacher's cached logits, and the job — the same training loop, an ordinary bundle."""

import json
import random
import subprocess
import sys
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F
from conftest import make_tiny_dataset
from hypothesis import given, settings
from hypothesis import strategies as st

from textclf.batching import Collator, EncodedDataset
from textclf.bundle import load_bundle, save_bundle
from textclf.config import ConfigError
from textclf.data import Example, TextDataset
from textclf.distill.augment import augment_texts, ngram_sample, word_dropout
from textclf.distill.distillation_set import DistillationSet, texts_fingerprint
from textclf.distill.job import DistillConfig, distill_job, make_distillation_set
from textclf.distill.teacher import CACHE_NAME, teacher_fingerprint, teacher_logits
from textclf.models import build_model
from textclf.models.losses import Distillation, distillation_loss, soft_labels, soft_loss
from textclf.pipeline import JobConfig, train_job
from textclf.training import TrainConfig


def reference_loss(student, labels, teacher, alpha, t):
    """Hinton et al.'s loss written out with explicit sums: T^2 * sum p_t (log p_t - log p_s) / batch."""
    p_teacher = torch.exp(teacher / t) / torch.exp(teacher / t).sum(-1, keepdim=True)
    p_student = torch.exp(student / t) / torch.exp(student / t).sum(-1, keepdim=True)
    kl = (p_teacher * (torch.log(p_teacher) - torch.log(p_student))).sum(-1).mean()
    hard = -torch.log(torch.softmax(student, -1)[torch.arange(len(labels)), labels]).mean()
    return alpha * t * t * kl + (1 - alpha) * hard


logit_rows = st.integers(1, 6).flatmap(lambda n: st.integers(2, 5).flatmap(lambda c: st.tuples(
    st.lists(st.lists(st.floats(-8, 8), min_size=c, max_size=c), min_size=n, max_size=n),
    st.lists(st.lists(st.floats(-8, 8), min_size=c, max_size=c), min_size=n, max_size=n),
    st.lists(st.integers(0, c - 1), min_size=n, max_size=n))))


@settings(max_examples=60, deadline=None)
@given(logit_rows, st.floats(0, 1), st.floats(0.5, 8))
def test_the_loss_matches_the_formula_by_hand(rows, alpha, t):
    student, teacher, labels = (torch.tensor(rows[0], dtype=torch.float64), torch.tensor(rows[1], dtype=torch.float64),
                                torch.tensor(rows[2]))
    ours = distillation_loss(student, labels, teacher, Distillation(alpha, t))
    assert torch.allclose(ours.double(), reference_loss(student, labels, teacher, alpha, t), atol=1e-4, rtol=1e-4)


@settings(max_examples=40, deadline=None)
@given(logit_rows, st.floats(0.5, 8))
def test_the_soft_gradient_is_the_difference_of_the_soft_labels_times_t(rows, t):
    # d/dz_s of T^2 KL(p_t || softmax(z_s/T)) = T (softmax(z_s/T) - p_t), averaged over the batch
    student = torch.tensor(rows[0], dtype=torch.float32, requires_grad=True)
    teacher = torch.tensor(rows[1], dtype=torch.float32)
    soft_loss(student, teacher, t).backward()
    expected = t * (soft_labels(student.detach(), t) - soft_labels(teacher, t)) / len(student)
    assert torch.allclose(student.grad, expected, atol=1e-5)


def test_alpha_zero_is_cross_entropy_and_a_student_equal_to_its_teacher_has_no_soft_loss():
    torch.manual_seed(0)
    student, teacher, labels = torch.randn(8, 3), torch.randn(8, 3), torch.randint(0, 3, (8,))
    assert torch.equal(distillation_loss(student, labels, teacher, Distillation(0.0, 2.0)),
                       F.cross_entropy(student, labels))
    alone = distillation_loss(student, labels, None, Distillation(1.0, 2.0))  # no teacher logits: gold labels
    assert torch.equal(alone, F.cross_entropy(student, labels))
    assert soft_loss(teacher, teacher, 3.0).abs() < 1e-6
    with pytest.raises(ValueError, match="same labels"):
        distillation_loss(student, labels, torch.randn(8, 2), Distillation(0.5, 2.0))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-10, 10), min_size=2, max_size=6))
def test_temperature_softens_without_reordering(row):
    logits = torch.tensor([row])
    cold, warm, hot = soft_labels(logits, 0.5), soft_labels(logits, 2.0), soft_labels(logits, 1000.0)
    for probs in (cold, warm, hot):
        assert torch.allclose(probs.sum(-1), torch.ones(1))
    assert warm.max() <= cold.max() + 1e-6  # a higher temperature never sharpens
    assert torch.allclose(hot, torch.full_like(hot, 1 / len(row)), atol=0.02)  # -> uniform
    assert torch.equal(torch.argsort(logits, stable=True), torch.argsort(logits, stable=True))
    big = torch.tensor(row) > torch.tensor(row).min() + 1e-3
    if big.any():  # order kept: a larger logit never gets a smaller probability
        order = torch.argsort(logits[0])
        assert (warm[0][order].diff() >= -1e-6).all()


@pytest.mark.parametrize("bad", [dict(alpha=1.5), dict(alpha=-0.1), dict(temperature=0),
                                 dict(temperature=float("nan"))])
def test_a_bad_alpha_or_temperature_is_refused(bad):
    with pytest.raises(ConfigError, match="Distillation"):
        Distillation(**bad)
    with pytest.raises(ConfigError):
        DistillConfig(**bad)
    with pytest.raises(ConfigError, match="copies"):
        DistillConfig(copies=-1)


words_lists = st.lists(st.sampled_from("a b c d e f g h great dull film".split()), min_size=1, max_size=30)


def is_subsequence(part: list[str], whole: list[str]) -> bool:
    it = iter(whole)
    return all(w in it for w in part)


@settings(max_examples=80, deadline=None)
@given(words_lists, st.integers(0, 2**32))
def test_an_ngram_sample_is_a_contiguous_run_of_1_to_5_words(words, seed):
    sample = ngram_sample(words, random.Random(seed))
    assert 1 <= len(sample) <= min(5, len(words))
    assert any(words[i:i + len(sample)] == sample for i in range(len(words) - len(sample) + 1))


@settings(max_examples=80, deadline=None)
@given(words_lists, st.integers(0, 2**32), st.floats(0, 0.99))
def test_word_dropout_keeps_the_order_and_at_least_one_word(words, seed, p):
    kept = word_dropout(words, random.Random(seed), p)
    assert kept and is_subsequence(kept, words)


def test_word_dropout_drops_about_p_of_the_words():
    words = [str(i) for i in range(20_000)]
    kept = word_dropout(words, random.Random(0), 0.1)
    assert 0.88 < len(kept) / len(words) < 0.92


def test_augmented_texts_are_new_distinct_seeded_and_made_from_their_origin():
    texts = ["a wonderful , moving film", "hated it , dull", "great", "  "]
    made = augment_texts(texts, 4, seed=3)
    assert made == augment_texts(texts, 4, seed=3) and made != augment_texts(texts, 4, seed=4)
    new = [t for _, t in made]
    assert len(set(new)) == len(new) and not set(new) & {" ".join(t.split()) for t in texts}
    assert all(t.strip() for t in new) and all(i != 3 for i, _ in made)  # a blank text makes nothing
    for origin, text in made:
        assert is_subsequence(text.split(), texts[origin].split())
    assert len([1 for i, _ in made if i == 0]) == 4  # 5 words: room for 4 distinct new texts
    assert [i for i, _ in made] == sorted(i for i, _ in made)


def test_batches_carry_the_teachers_logits_and_the_fingerprint_sees_them():
    ids = [torch.tensor([1, 2, 3]), torch.tensor([4])]
    logits = torch.tensor([[1.0, -1.0], [0.5, 2.0]])
    with_teacher = EncodedDataset(ids, [0, 1], logits)
    batch = Collator(0)([with_teacher[1], with_teacher[0]])
    assert torch.equal(batch.teacher, logits[[1, 0]]) and batch.to("cpu").teacher is not None
    assert Collator(0)([(ids[0], 0)]).teacher is None
    assert with_teacher.fingerprint() != EncodedDataset(ids, [0, 1]).fingerprint()
    assert with_teacher.fingerprint() != EncodedDataset(ids, [0, 1], logits + 1).fingerprint()
    with pytest.raises(ValueError, match="expected \\[2, n_classes\\]"):
        EncodedDataset(ids, [0, 1], torch.zeros(3, 2))


def test_the_gru_ngrams_student_distills_each_half():
    torch.manual_seed(0)
    model, _ = build_model("gru+ngrams", None, vocab_size=30, n_classes=2, embed_dim=8, pad_index=0, hidden_dim=8)
    model.eval()  # no dropout: the two computations see the same network
    ids, mask = torch.randint(1, 30, (4, 6)), torch.ones(4, 6, dtype=torch.bool)
    labels, teacher = torch.tensor([0, 1, 1, 0]), torch.randn(4, 2)
    distillation = Distillation(0.7, 3.0)
    deep, wide = model.halves(model.embedding(ids), mask)
    expected = sum(distillation_loss(half, labels, teacher, distillation) for half in (deep, wide))
    assert torch.allclose(model.loss(ids, mask, labels, distillation, teacher).trained, expected)
    # not distilling (the default criterion, cross-entropy): the gold labels' loss, teacher or not
    assert torch.allclose(model.loss(ids, mask, labels, teacher=teacher).trained, model.loss(ids, mask, labels).trained)


def transfer_of(n_gold=3):
    texts = ["a b", "c d", "e f", "a", "d", "f", "c"]
    origin = [0, 1, 2, 0, 1, 2, 1]
    return DistillationSet(texts, [0, 1, 0, 1, 1, 0, 1], torch.arange(14.0).view(7, 2), n_gold, Distillation(),
                       {"distillation_set": {"source": "x"}}, origin)


def test_a_transfer_subset_keeps_its_texts_augmented_ones_and_renumbers_origins():
    part = transfer_of().subset([2, 1])
    assert part.texts == ["e f", "c d", "d", "f", "c"] and part.n_gold == 2
    assert part.origin == [0, 1, 1, 0, 1] and torch.equal(part.logits, torch.arange(14.0).view(7, 2)[[2, 1, 4, 5, 6]])
    assert part.record["distillation_set"]["augmented"] == 3 and "2 of the training split's 3" in \
        part.record["distillation_set"]["source"]
    plain = transfer_of().subset([0, 1, 2], augmented=False, loss=Distillation(0.9, 4.0))
    assert plain.texts == ["a b", "c d", "e f"] and plain.record["alpha"] == 0.9 and plain.loss.temperature == 4.0
    with pytest.raises(ValueError, match="one of each per text"):
        DistillationSet(["a"], [0, 1], torch.zeros(1, 2), 1, Distillation(), {})


@pytest.fixture(scope="module")
def teacher(tiny_bundles):
    path, _ = tiny_bundles("cnn")
    return load_bundle(path, "cpu")


def test_the_teachers_logits_are_cached_and_a_stale_or_broken_cache_is_recomputed(teacher, tmp_path):
    texts, said = ["a wonderful film", "a dull mess", "hated it"], []
    cache = tmp_path / CACHE_NAME
    first, facts = teacher_logits(teacher, texts, cache, log=said.append)
    assert cache.is_file() and not facts["cached"] and torch.allclose(first, teacher.logits(texts))
    again, facts = teacher_logits(teacher, texts, cache, log=said.append)
    assert facts["cached"] and torch.equal(again, first) and "read from" in said[-1]
    other, facts = teacher_logits(teacher, texts[:2], cache, log=said.append)
    assert not facts["cached"] and "another texts" in said[-2] and other.shape == (2, 2)
    cache.write_bytes(b"not a safetensors file")
    _, facts = teacher_logits(teacher, texts, cache, log=said.append)
    assert not facts["cached"] and "not a readable cache" in said[-2]
    assert facts["texts_fingerprint"] == texts_fingerprint(texts) != texts_fingerprint(texts[::-1])


def test_a_long_labelling_says_how_far_it_is_and_gives_the_same_logits(teacher, monkeypatch):
    import textclf.distill.teacher as teaching

    texts = [f"a {'wonderful' if i % 2 else 'dull'} film, take {i}" for i in range(7)]
    monkeypatch.setattr(teaching, "CHUNK", 3)
    said = []
    chunked, _ = teacher_logits(teacher, texts, None, log=said.append)
    assert [line.split(" (")[0] for line in said] == [f"teacher logits: {n}/7 texts" for n in (3, 6, 7)]
    assert torch.allclose(chunked, teacher.logits(texts), atol=1e-6)


def test_a_changed_weight_changes_the_teachers_fingerprint(teacher):
    before, kept = teacher_fingerprint(teacher), teacher.model.out.bias.detach().clone()
    with torch.no_grad():
        teacher.model.out.bias[0] += 1e-3
    try:
        assert teacher_fingerprint(teacher) != before
    finally:
        with torch.no_grad():
            teacher.model.out.bias.copy_(kept)
    assert teacher_fingerprint(teacher) == before


def tiny_job(model="nbow", **train):
    return JobConfig(model=model, embeddings="random", embed_dim=16, min_freq=1, baseline=False,
                     model_options={"hidden_dim": 16} if model != "nbow" else {},
                     train=TrainConfig(**{"epochs": 4, "batch_size": 8, "lr": 0.01, "progress": False, **train}))


def test_alpha_zero_trains_exactly_the_gold_label_student(teacher, tiny_dataset):
    """The same loop: with alpha 0 and no augmented texts, distilling is training on the gold labels."""
    plain = train_job(tiny_dataset, tiny_job(), log=lambda s: None)
    distilled = distill_job(tiny_dataset, teacher, tiny_job(), DistillConfig(alpha=0.0), log=lambda s: None)
    for name, weights in plain.model.state_dict().items():
        assert torch.equal(weights, distilled.model.state_dict()[name]), name
    assert distilled.metrics["distillation"]["alpha"] == 0.0 and "distillation" not in plain.metrics


def test_the_student_learns_what_the_teacher_says(tiny_dataset):
    """A teacher that says the opposite of every gold label, trusted alone (alpha 1): the student learns the
    opposite — the teacher's logits reach the loss through the ordinary loop. (The validation split is flipped
    too: early stopping reads the gold labels of the validation split.)"""
    other = dict(zip(tiny_dataset.labels, reversed(tiny_dataset.labels)))
    tiny_dataset = replace(tiny_dataset, valid=[Example(ex.text, other[ex.label]) for ex in tiny_dataset.train])
    index = {y: i for i, y in enumerate(tiny_dataset.labels)}
    gold = [index[ex.label] for ex in tiny_dataset.train]
    flipped = torch.tensor([[4.0, -4.0] if y == 1 else [-4.0, 4.0] for y in gold])
    transfer = DistillationSet([ex.text for ex in tiny_dataset.train], gold, flipped, len(gold), Distillation(1.0, 1.0),
                           {"teacher_model": "contrarian"})
    student = distill_job(tiny_dataset, None, tiny_job(epochs=10), distillation_set=transfer, log=lambda s: None)
    predicted = student.logits([ex.text for ex in tiny_dataset.train]).argmax(-1)
    assert (predicted != torch.tensor(gold)).float().mean() > 0.9


def test_a_distilled_bundle_is_an_ordinary_bundle(teacher, tiny_dataset, tmp_path):
    said = []
    config = DistillConfig(alpha=0.7, temperature=3.0, copies=2, seed=1)
    student = distill_job(tiny_dataset, teacher, tiny_job("gru"), config, tmp_path / "student", log=said.append)
    save_bundle(student, tmp_path / "student")
    loaded = load_bundle(tmp_path / "student", "cpu")
    record = loaded.metrics["distillation"]
    assert record["alpha"] == 0.7 and record["temperature"] == 3.0 and record["teacher_model"] == "cnn"
    assert record["distillation_set"]["gold"] == len(tiny_dataset.train) and record["distillation_set"]["augmented"] > 0
    assert "Distilled from the `cnn` teacher" in (tmp_path / "student" / "README.md").read_text()
    assert (tmp_path / "student" / CACHE_NAME).is_file()  # kept beside the bundle for the next run
    assert set(loaded.predict(["a wonderful film"])[0]) == set(tiny_dataset.labels)


def test_a_teacher_with_other_labels_is_refused(teacher, tiny_dataset):
    other = TextDataset("other", ["pos", "neg"], [Example("good", "pos"), Example("bad", "neg")],
                        [Example("good", "pos")], [Example("bad", "neg")])
    with pytest.raises(ValueError, match="same labels in the same order"):
        make_distillation_set(other, teacher, DistillConfig())
    with pytest.raises(ValueError, match="not tiny's"):
        distill_job(make_tiny_dataset(), None, tiny_job(), distillation_set=transfer_of())


def run(*args):
    return subprocess.run([sys.executable, "-m", "textclf", *args], capture_output=True, text=True)


def test_textclf_distill_end_to_end_and_its_bad_inputs(tiny_bundles, tmp_path):
    teacher_dir, _ = tiny_bundles("cnn")
    data = tmp_path / "tiny.csv"
    tiny = make_tiny_dataset()
    rows = [(ex.text, ex.label, split) for split in ("train", "valid", "test") for ex in tiny.split(split)]
    data.write_text("text,label,split\n" + "".join(f'"{t}",{y},{s}\n' for t, y, s in rows))
    out = tmp_path / "student"
    common = ["--teacher", str(teacher_dir), "--student", "nbow", "--dataset", str(data), "--out", str(out),
              "--embeddings", "random", "--min-freq", "1", "--epochs", "2", "--quiet", "--no-baseline", "--copies", "1"]
    first = run("distill", *common, "--alpha", "0.8")
    assert first.returncode == 0, first.stderr + first.stdout
    assert "texts labelled, cached" in first.stdout and "test_accuracy=" in first.stdout
    assert json.loads((out / "metrics.json").read_text())["distillation"]["alpha"] == 0.8
    second = run("distill", *common, "--temperature", "4")
    assert second.returncode == 0 and "read from" in second.stdout  # same teacher, same texts: the cache
    predicted = run("predict", str(out), "a wonderful film")
    assert predicted.returncode == 0 and "positive" in predicted.stdout
    explained = run("explain", str(out), "a wonderful film", "--method", "occlusion")
    assert explained.returncode == 0 and "wonderful" in explained.stdout  # an ordinary bundle
    missing = run("distill", *common[:0], "--teacher", str(tmp_path / "nope"), "--out", str(tmp_path / "x"))
    assert missing.returncode == 2 and "nope" in missing.stderr and "Traceback" not in missing.stderr
    bad = run("distill", *common, "--alpha", "2")
    assert bad.returncode == 2 and "alpha" in bad.stderr and "Traceback" not in bad.stderr
    assert json.loads((out / "metrics.json").read_text())["distillation"]["temperature"] == 4.0  # kept


def test_resuming_with_another_alpha_is_refused(teacher, tiny_dataset, tmp_path):
    """The checkpoint records the distillation (alpha, T, the teacher's and the texts' fingerprints): resuming
    with another alpha is refused with the difference named; the same settings resume."""
    from textclf.checkpoint import ResumeRefused

    out = tmp_path / "student"
    distill_job(tiny_dataset, teacher, tiny_job(epochs=2), DistillConfig(alpha=0.5), out, log=lambda s: None)
    assert (out / "checkpoint.pt").is_file()  # left until save_bundle writes the bundle
    with pytest.raises(ResumeRefused, match="alpha"):
        distill_job(tiny_dataset, teacher, tiny_job(epochs=2), DistillConfig(alpha=0.9), out, resume=True,
                    log=lambda s: None)
    again = distill_job(tiny_dataset, teacher, tiny_job(epochs=2), DistillConfig(alpha=0.5), out, resume=True,
                        log=lambda s: None)
    assert again.metrics["distillation"]["alpha"] == 0.5


def rewrite_cache(cache, change):
    """The cache with its logits changed by ``change`` and its metadata (the fingerprints, the digest) kept."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(cache), framework="pt") as opened:
        metadata, logits = opened.metadata(), opened.get_tensor("logits")
    save_file({"logits": change(logits).contiguous()}, str(cache), metadata=metadata)


@pytest.mark.parametrize("change,said", [
    (lambda z: -z, "does not match the digest"),                       # the probe's: logits negated
    (lambda z: z[[1, 0, 2, 3]], "does not match the digest"),         # rows permuted
    (lambda z: z[:-1], "holds 3 x 2 logits, expected 4 texts x 2 labels"),  # a row fewer (was a traceback)
    (lambda z: z[:, :1], "holds 4 x 1 logits"),                       # a column fewer
    (lambda z: torch.cat([z, z[:, :1]], 1), "holds 4 x 3 logits"),    # a column more
    (lambda z: z[:1], "holds 1 x 2 logits"),                          # one row left
])
def test_a_cache_whose_logits_were_changed_is_named_and_recomputed(teacher, tmp_path, change, said):
    """The metadata (teacher and texts fingerprints) kept, the logits changed: the cache checks its contents,
    says so in one line naming the file, and the logits are the teacher's again."""
    texts, lines = ["a wonderful film", "a dull mess", "hated it", "loved every minute"], []
    cache = tmp_path / CACHE_NAME
    first, _ = teacher_logits(teacher, texts, cache, log=lines.append)
    rewrite_cache(cache, change)
    again, facts = teacher_logits(teacher, texts, cache, log=lines.append)
    assert not facts["cached"] and torch.equal(again, first)
    assert said in lines[-2] and str(cache) in lines[-2]
    third, facts = teacher_logits(teacher, texts, cache, log=lines.append)  # the recomputed cache is good
    assert facts["cached"] and torch.equal(third, first)


def test_a_cache_with_bytes_overwritten_inside_its_logits_is_recomputed(teacher, tmp_path):
    texts, lines = [f"text number {i}" for i in range(20)], []
    cache = tmp_path / CACHE_NAME
    first, _ = teacher_logits(teacher, texts, cache, log=lines.append)
    raw = bytearray(cache.read_bytes())
    raw[-64:] = bytes(range(64))  # the last 64 bytes: inside the tensor data, after the header
    cache.write_bytes(bytes(raw))
    again, facts = teacher_logits(teacher, texts, cache, log=lines.append)
    assert not facts["cached"] and torch.equal(again, first) and str(cache) in lines[-2]


# ---- textclf distill chooses on validation, and never silently hands back a worse student ---------------------


def stub_students(monkeypatch, figures: dict, gold: tuple[float, float]):
    """Students with known figures, ``(alpha, T, augmented?) -> (valid, test)``: the choice's logic alone."""
    from types import SimpleNamespace

    from textclf.distill import choose

    def student(metrics):
        return SimpleNamespace(metrics=metrics, files={})

    def fake_distill(ds, teacher, job, out=None, resume=False, log=None, device=None, distillation_set=None):
        dset = distillation_set
        valid, test = figures[(dset.loss.alpha, dset.loss.temperature, len(dset.texts) > dset.n_gold)]
        return student({"valid_accuracy": valid, "test_accuracy": test, "distillation": dset.record})

    monkeypatch.setattr(choose, "distill_job", fake_distill)
    monkeypatch.setattr(choose, "train_job",
                        lambda *a, **k: student({"valid_accuracy": gold[0], "test_accuracy": gold[1]}))


@pytest.mark.parametrize("copies_valid,copies", [(0.78, 0), (0.85, 4)])
def test_the_choice_reads_the_validation_split_and_never_the_test_split(monkeypatch, teacher, tiny_dataset,
                                                                       copies_valid, copies):
    """Figures where the test split would choose otherwise at every step: alpha 0.9, T 4 has the best test
    accuracy, the augmented student the worst; validation chooses alpha 0.9, T 2, and the copies by its figure."""
    from textclf.distill.choose import COPIES, distill_choosing

    figures = {(0.5, 2.0, False): (0.70, 0.90), (0.9, 2.0, False): (0.80, 0.60), (0.5, 4.0, False): (0.75, 0.95),
               (0.9, 4.0, False): (0.72, 0.99), (0.9, 2.0, True): (copies_valid, 0.10)}
    stub_students(monkeypatch, figures, gold=(0.65, 0.99))
    said = []
    student = distill_choosing(tiny_dataset, teacher, tiny_job(), log=said.append)
    record = student.metrics["distillation"]
    assert (record["alpha"], record["temperature"]) == (0.9, 2.0)
    assert record["distillation_set"]["copies"] == copies and COPIES == 4
    assert student.metrics["valid_accuracy"] == max(0.80, copies_valid) and record["kept"] == "distilled"
    # gold-only, then (0.5, 2), (0.5, 4), (0.9, 2), (0.9, 4), then (0.9, 2) with the augmented texts
    assert [t["valid_accuracy"] for t in record["tried"]] == [0.65, 0.70, 0.75, 0.80, 0.72, copies_valid]
    assert record["gold_only_valid_accuracy"] == 0.65
    assert "chosen: alpha 0.9, T 2 (validation)" in said and f"chosen: {copies} copies per text (validation)" in said


def test_a_student_no_better_than_gold_only_on_validation_is_not_handed_back(monkeypatch, teacher, tiny_dataset):
    from textclf.distill.choose import distill_choosing

    figures = {(a, t, aug): (0.70, 0.99) for a in (0.5, 0.9) for t in (2.0, 4.0) for aug in (False, True)}
    stub_students(monkeypatch, figures, gold=(0.70, 0.50))  # a tie on validation: the test split says distill
    said = []
    student = distill_choosing(tiny_dataset, teacher, tiny_job(), log=said.append)
    assert student.metrics["distillation"]["kept"] == "gold-only" and student.metrics["test_accuracy"] == 0.50
    assert any("distillation did not beat the gold labels alone on validation (0.7000 against 0.7000)" in line
               for line in said)
    kept = distill_choosing(tiny_dataset, teacher, tiny_job(), keep_distilled=True, log=said.append)
    assert kept.metrics["distillation"]["kept"] == "distilled" and kept.metrics["test_accuracy"] == 0.99


def test_a_misleading_teacher_gives_the_gold_only_student_and_is_named(tiny_bundles, tiny_dataset, tmp_path):
    """A real run: a teacher saying the opposite of every label (the tiny CNN with its head negated), trusted alone
    (alpha 1). The student handed back is exactly the gold-only one, the log says so with both figures and
    names the teacher's agreement as the cause; the metrics record both; a changed test split changes nothing."""
    from textclf.distill.choose import distill_choosing

    directory, _ = tiny_bundles("cnn")
    contrarian = load_bundle(directory, "cpu")
    with torch.no_grad():
        contrarian.model.out.weight.neg_()
        contrarian.model.out.bias.neg_()
    said = []
    student = distill_choosing(tiny_dataset, contrarian, tiny_job(epochs=10), alpha=1.0, temperature=1.0, copies=0,
                               log=said.append)
    gold = train_job(tiny_dataset, tiny_job(epochs=10), log=lambda s: None)
    for name, weights in gold.model.state_dict().items():
        assert torch.equal(weights, student.model.state_dict()[name]), name
    record = student.metrics["distillation"]
    assert record["kept"] == "gold-only" and record["gold_only_valid_accuracy"] == gold.metrics["valid_accuracy"]
    assert record["distilled_valid_accuracy"] < record["gold_only_valid_accuracy"]
    line = next(s for s in said if "distillation did not beat" in s)
    assert f"{record['distilled_valid_accuracy']:.4f} against {gold.metrics['valid_accuracy']:.4f}" in line
    assert "likely cause: the teacher agrees with only" in line
    save_bundle(student, tmp_path / "student")
    assert "did not beat the gold labels alone" in (tmp_path / "student" / "README.md").read_text()
    flipped = {"negative": "positive", "positive": "negative"}
    other_test = replace(tiny_dataset, test=[Example(ex.text, flipped[ex.label]) for ex in tiny_dataset.test])
    again = distill_choosing(other_test, contrarian, tiny_job(epochs=10), alpha=1.0, temperature=1.0, copies=0,
                             log=lambda s: None)
    assert [t["valid_accuracy"] for t in again.metrics["distillation"]["tried"]] == \
        [t["valid_accuracy"] for t in record["tried"]]


def test_near_uniform_soft_labels_are_named():
    from textclf.distill.choose import likely_causes

    texts = ["a", "b", "c", "d"]
    flat = DistillationSet(texts, [0, 1, 0, 1], torch.tensor([[0.1, 0.0], [0.0, 0.1], [0.05, 0.0], [0.0, 0.1]]), 4,
                           Distillation(0.5, 2.0), {"teacher_train_agreement": 1.0})
    assert any("near uniform" in cause for cause in likely_causes(flat, Distillation(0.5, 2.0), 0.8))
    sharp = replace(flat, logits=flat.logits * 100)
    assert likely_causes(sharp, Distillation(0.5, 2.0), 0.8) == []
