"""Bundles are checked before they are trusted; training cannot poison its checkpoint; resume and evaluate
refuse data and options that differ from what was trained. Every failure is one located error."""

import json
import shutil
import subprocess
import sys

import pytest
import torch
from conftest import make_tiny_dataset
from safetensors.torch import load_file, save_file

from textclf.bundle import load_bundle
from textclf.checkpoint import ResumeRefused
from textclf.data import DataError
from textclf.pipeline import JobConfig, Runtime, train_job
from textclf.training import TrainConfig, TrainingDiverged, fit


@pytest.fixture
def bundle(tiny_bundles, tmp_path):
    """A fresh copy of a small trained CNN bundle, to damage."""
    source, _ = tiny_bundles("cnn")
    copy = tmp_path / "b"
    shutil.copytree(source, copy)
    return copy


def edit_config(bundle, **changes):
    config = json.loads((bundle / "config.json").read_text())
    for key, value in changes.items():
        if value is KeyError:
            config.pop(key)
        elif key == "model_config":
            config[key] = value if not isinstance(value, dict) else {**config[key], **value}
        else:
            config[key] = value
    (bundle / "config.json").write_text(json.dumps(config))


@pytest.mark.parametrize("changes,message", [
    ({"labels": "np"}, r'key "labels": expected a list of distinct, non-empty label strings, found "np"'),
    ({"labels": ["negative", "negative"]}, r'key "labels": expected a list of distinct'),
    ({"labels": ["negative", "positive", "neutral"]}, r'key "labels": expected 2 labels, one per output'),
    ({"labels": [0, 1]}, r'key "labels": expected a list of distinct'),
    ({"labels": KeyError}, r'key "labels": expected a list'),
    ({"model": KeyError}, r'key "model": expected one of nbow, static, lstm'),
    ({"model": "gpt5"}, r'key "model": expected one of'),
    ({"model_config": KeyError}, r'key "model_config": expected an object'),
    ({"model_config": [1, 2]}, r'key "model_config": expected an object'),
    ({"model_config": {"vocab_size": 10**12}}, r'key "model_config": CNNConfig\.vocab_size = 1000000000000: expected'),
    ({"model_config": {"vocab_size": "many"}}, r'key "model_config": .*vocab_size = \'many\''),
    ({"model_config": {"n_filterz": 3}}, r"key \"model_config\": model 'cnn': unknown option\(s\) 'n_filterz'"),
    ({"model_config": {"dropout": float("nan")}},
     r'key "model_config": CNNConfig\.dropout = nan: expected a finite number'),
    ({"tokenizer": "sentencepiece"}, r'key "tokenizer": expected one of basic, wordpiece'),
    ({"max_len": -3}, r'key "max_len": expected a whole number >= 1'),
    ({"format": "something"}, r'key "format": expected "textclf-bundle"'),
])
def test_bad_config_values_are_located(bundle, changes, message):
    edit_config(bundle, **changes)
    with pytest.raises(DataError, match=r"config\.json: " + message):
        load_bundle(bundle)


def test_huge_vocab_size_fails_before_allocating(bundle):
    """Within the config's limits (2e9 numbers, 8 GB) but not what vocab.json holds: refused before any
    tensor is made (the expected weights are first built on the ``meta`` device, which allocates nothing)."""
    edit_config(bundle, model_config={"vocab_size": 4_000_000, "embed_dim": 500})
    with pytest.raises(DataError, match=r"vocab\.json: \d+ tokens; expected 4,000,000"):
        load_bundle(bundle)


def test_truncated_vocabulary_is_refused(bundle):
    vocab = json.loads((bundle / "vocab.json").read_text())
    vocab["itos"] = vocab["itos"][:-3]
    (bundle / "vocab.json").write_text(json.dumps(vocab))
    with pytest.raises(DataError, match=r"vocab\.json: \d+ tokens; expected \d+, one per row of the model's"):
        load_bundle(bundle)


def test_deeply_nested_config_is_a_located_error(bundle):
    (bundle / "config.json").write_text("[" * 100_000)
    with pytest.raises(DataError, match=r"config\.json: JSON nested too deeply"):
        load_bundle(bundle)


@pytest.mark.parametrize("damage", ["nan", "inf", "int", "shape", "missing"])
def test_bad_weights_are_refused(bundle, damage):
    weights = load_file(str(bundle / "model.safetensors"))
    name = "embedding.weight"
    if damage == "nan":
        weights[name][3, 1] = float("nan")
    elif damage == "inf":
        weights[name][0, 0] = float("inf")
    elif damage == "int":
        weights[name] = weights[name].long()
    elif damage == "shape":
        weights[name] = weights[name][:-1]
    else:
        weights.pop(name)
    save_file(weights, str(bundle / "model.safetensors"))
    expected = {"nan": "holds NaN or infinite", "inf": "holds NaN or infinite", "int": r"is I64\[.*expected F32",
                "shape": r"expected F32\[", "missing": r"tensors missing \['embedding\.weight'\]"}[damage]
    with pytest.raises(DataError, match=r"model\.safetensors: .*" + expected):
        load_bundle(bundle)


def test_bundle_path_that_is_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(DataError, match="is a file; expected a bundle folder"):
        load_bundle(tmp_path / "f")


def test_cli_on_a_damaged_bundle_exits_2_without_traceback(bundle):
    edit_config(bundle, labels="np")
    result = subprocess.run([sys.executable, "-m", "textclf", "predict", str(bundle), "fine"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and 'key "labels"' in result.stderr and "Traceback" not in result.stderr


# ---- training cannot poison its checkpoint ---------------------------------------------------------------------

def encoded(ds):
    from textclf.batching import encode_splits
    from textclf.text import Vocab, tokenize

    vocab = Vocab.build(tokenize(ex.text) for ex in ds.train)
    return vocab, encode_splits(ds, vocab, None)


@pytest.mark.parametrize("poison", ["validation loss", "weights"])
def test_divergence_keeps_the_last_finite_checkpoint(tmp_path, poison):
    """Epoch 1 is fine; in epoch 2 the validation loss turns NaN (or a weight overflows to inf) although every
    training loss was finite: the run stops, and the checkpoint still holds epoch 1's finite state."""
    from textclf.models import build_model

    ds = make_tiny_dataset()
    vocab, data = encoded(ds)
    torch.manual_seed(0)
    model, _ = build_model("nbow", vocab_size=len(vocab), n_classes=2, embed_dim=8)
    evaluations = []
    original_forward = model.forward

    def forward(ids, mask):  # forward is (ids, mask) -> logits, in training too
        logits = original_forward(ids, mask)
        if not model.training:
            evaluations.append(1)
            if len(evaluations) == 2:
                if poison == "weights":
                    with torch.no_grad():
                        model.out.weight[0, 0] = float("inf")
                    return logits
                return logits * float("nan")
        return logits
    model.forward = forward
    checkpoint = tmp_path / "checkpoint.pt"
    with pytest.raises(TrainingDiverged, match="epoch 2 ended with non-finite weights or a validation loss"):
        fit(model, data["train"], data["valid"], TrainConfig(epochs=3, batch_size=8, progress=False),
            checkpoint=checkpoint, log=lambda s: None)
    saved = torch.load(checkpoint, weights_only=True)
    assert saved["epoch"] == 1
    assert all(torch.isfinite(t).all() for t in [*saved["model"].values(), *saved["best"].values()])
    assert all(e["valid_loss"] == e["valid_loss"] for e in saved["history"]["epochs"])


def small_job(**train):
    return JobConfig(model="nbow", embeddings="random", embed_dim=8, min_freq=1,
                     train=TrainConfig(**{"epochs": 4, "batch_size": 8, "lr": 0.01, "progress": False, **train}))


def interrupted_run(out, ds):
    from textclf.training import TrainingInterrupted

    job = small_job()
    with pytest.raises(TrainingInterrupted):
        from textclf import training
        original = training.fit
        training_fit = lambda *a, **k: original(*a, **{**k, "stop_after": 1})  # noqa: E731
        import textclf.pipeline as pipeline
        pipeline.fit = training_fit
        try:
            train_job(ds, job, out, log=lambda s: None)
        finally:
            pipeline.fit = original


def test_resume_refuses_other_data_and_changed_options(tmp_path):
    ds = make_tiny_dataset()
    out = tmp_path / "run"
    interrupted_run(out, ds)
    assert (out / "checkpoint.pt").exists()
    other = make_tiny_dataset()
    other.train = other.train[:-4]  # same labels, different texts
    with pytest.raises(ResumeRefused, match="trained on other data"):
        train_job(other, small_job(), out, run=Runtime(resume=True), log=lambda s: None)
    with pytest.raises(ResumeRefused, match=r"lr: 0\.01 in the checkpoint, 0\.5 now"):
        train_job(ds, small_job(lr=0.5), out, run=Runtime(resume=True), log=lambda s: None)
    lines = []
    metrics = train_job(ds, small_job(epochs=5), out, run=Runtime(resume=True), log=lines.append).metrics
    assert "resume: epochs changed from 4 to 5 (applied)" in lines and metrics["history"]


# ---- evaluate finds its data by the recorded path and checks its fingerprint -----------------------------------

def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "textclf", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=600)


def test_evaluate_uses_the_recorded_dataset_and_refuses_a_changed_one(tmp_path):
    words = {"pos": ["great", "moving", "superb"], "neg": ["dull", "awful", "boring"]}
    data = tmp_path / "data"
    data.mkdir()
    lines = [json.dumps({"text": f"a {words[y][i % 3]} film {i}", "label": y}) for i in range(40) for y in words]
    (data / "reviews.jsonl").write_text("\n".join(lines) + "\n")
    out = tmp_path / "bundle"
    trained = run_cli("train", "--dataset", "reviews.jsonl", "--model", "nbow", "--embeddings", "random",
                      "--epochs", "2", "--min-freq", "1", "--out", str(out), "--quiet", cwd=data)
    assert trained.returncode == 0, trained.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "reviews.jsonl").write_text(lines[0] + "\n" + lines[1] + "\n")  # same name, other file
    scored = run_cli("evaluate", str(out), cwd=elsewhere)
    assert scored.returncode == 0, scored.stderr
    assert "reviews.jsonl test: accuracy" in scored.stdout and "(8 texts)" in scored.stdout
    (data / "reviews.jsonl").write_text("\n".join(reversed(lines)) + "\n")
    changed = run_cli("evaluate", str(out), cwd=elsewhere)
    assert changed.returncode == 2 and "is not the one this bundle was trained with" in changed.stderr


# ---- command-line outputs onto the wrong kind of path ----------------------------------------------------------

def test_train_out_onto_an_existing_file_changes_nothing(tmp_path):
    target = tmp_path / "notes.txt"
    target.write_text("my notes")
    result = run_cli("train", "--model", "nbow", "--embeddings", "random", "--epochs", "1", "--out", str(target))
    assert result.returncode == 2 and "exists and is not a folder" in result.stderr
    assert "Traceback" not in result.stderr and target.read_text() == "my notes"


def test_explain_html_onto_a_folder(tiny_bundles, tmp_path):
    bundle, _ = tiny_bundles("cnn")
    result = run_cli("explain", str(bundle), "a wonderful film", "--html", str(tmp_path))
    assert result.returncode == 2 and "is a folder; expected the name of an .html file" in result.stderr


def test_control_characters_in_labels_are_escaped_on_the_terminal(tmp_path):
    evil = "pos\x1b[2Jitive"
    lines = [json.dumps({"text": f"{w} film {i}", "label": y}) for i in range(30)
             for w, y in (("great", evil), ("awful", "negative"))]
    (tmp_path / "evil.jsonl").write_text("\n".join(lines) + "\n")
    out = tmp_path / "b"
    trained = run_cli("train", "--dataset", str(tmp_path / "evil.jsonl"), "--model", "nbow", "--embeddings",
                      "random", "--epochs", "1", "--min-freq", "1", "--out", str(out), "--quiet")
    assert trained.returncode == 0, trained.stderr
    assert "\x1b" not in trained.stdout + trained.stderr and "pos\\x1b[2Jitive" in trained.stdout
    predicted = run_cli("predict", str(out), "great film\x9b")
    assert predicted.returncode == 0 and "\x1b" not in predicted.stdout and "\x9b" not in predicted.stdout
    assert evil in json.loads(predicted.stdout)["probabilities"]
    data = run_cli("data", str(tmp_path / "evil.jsonl"), "--glove", "none")
    assert data.returncode == 0 and "\x1b" not in data.stdout


def test_evaluate_on_an_empty_split_is_an_error(tiny_bundles, tmp_path):
    bundle, _ = tiny_bundles("cnn")
    lines = [json.dumps({"text": f"film {i}", "label": ["negative", "positive"][i % 2],
                         "split": ["train", "valid"][i % 3 == 0]}) for i in range(12)]
    (tmp_path / "no_test.jsonl").write_text("\n".join(lines) + "\n")
    result = run_cli("evaluate", str(bundle), "--dataset", str(tmp_path / "no_test.jsonl"))
    assert result.returncode == 2 and "no_test.jsonl: the test split is empty" in result.stderr


def test_metrics_never_hold_nan_which_is_not_json():
    from textclf.bundle import strict_json

    text = json.dumps(strict_json({"loss": float("nan"), "history": [{"x": float("inf")}, {"x": 1.5}]}),
                      allow_nan=False)
    assert json.loads(text) == {"loss": None, "history": [{"x": None}, {"x": 1.5}]}
