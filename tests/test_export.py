"""Portable exports (ONNX, torch.export) checked against the bundle, the unpacked RNN against packing, and
the model card."""

import json
import subprocess
import sys
import textwrap

import pytest
import torch
from conftest import NEG, POS
from hypothesis import given, settings
from hypothesis import strategies as st

from textclf.bundle import BundleConfig, load_bundle
from textclf.cli import main
from textclf.graphs.unpacked import unpacked
from textclf.graphs.write import FORMATS, ParityError, export_bundle, max_logit_difference
from textclf.model_card import metrics_table, model_card
from textclf.models import build_model

TEXTS = POS + NEG + ["x", "wonderful", "a dull, boring mess " * 6, "unseenword another unseen one"]
MODELS = ["nbow", "cnn", "gru+ngrams", "lstm", "transformer"]


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("fmt", list(FORMATS))
def test_export_matches_the_bundle(tiny_bundles, tmp_path, name, fmt):
    directory, _ = tiny_bundles(name)
    bundle = load_bundle(directory, "cpu")
    result = export_bundle(bundle, fmt, TEXTS, tmp_path / FORMATS[fmt])
    assert result.path.is_file() and result.texts == len(TEXTS)
    assert result.max_difference <= 1e-4


@settings(max_examples=25, deadline=None)
@given(lengths=st.lists(st.integers(1, 9), min_size=1, max_size=6), layers=st.integers(1, 2),
       bidirectional=st.booleans(), cell=st.sampled_from(["lstm", "gru"]))
def test_unpacked_rnn_equals_packed(lengths, layers, bidirectional, cell):
    """The export's RNN (no packing; and with scan, as torch.export runs it) against the packed reference."""
    torch.manual_seed(len(lengths))
    model, _ = build_model(cell, vocab_size=30, n_classes=3, embed_dim=8, hidden_dim=5, num_layers=layers,
                           bidirectional=bidirectional)
    model.eval()
    lengths_t = torch.tensor(lengths)
    mask = torch.arange(max(lengths)).unsqueeze(0) < lengths_t.unsqueeze(1)  # [batch, seq_len], padding at the end
    ids = torch.randint(1, 30, mask.shape).masked_fill(~mask, 0)
    packed = model(ids, mask)
    import copy

    for scan in (False, True):
        copied = copy.deepcopy(model)
        copied.unpack(unpacked(scan))
        assert torch.allclose(copied(ids, mask), packed, atol=1e-5)


def test_export_command_writes_beside_the_bundle_and_refuses_bad_input(tiny_bundles, tmp_path, capsys):
    directory, _ = tiny_bundles("cnn")
    data = tmp_path / "reviews.csv"
    data.write_text("text,label\n" + "".join(f'"{t}",{"positive" if t in POS else "negative"}\n'
                                             for t in (POS + NEG) * 3))
    assert main(["export", str(directory), "--format", "onnx", "--dataset", str(data)]) == 0
    out = capsys.readouterr().out
    assert (directory / "model.onnx").is_file() and "max |logit difference|" in out
    assert main(["export", str(directory), "--format", "onnx", "--dataset", str(data), "--out", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err
    assert main(["export", str(directory), "--tolerance", "0"]) == 2  # before any work
    # a bundle trained on data made in Python records no source: say so, and how to give one
    assert main(["export", str(directory)]) == 2
    assert "pass --dataset" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["export", str(directory), "--format", "torchscript"])


def test_a_failed_parity_check_writes_nothing_and_keeps_the_old_file(tiny_bundles, tmp_path, monkeypatch):
    directory, _ = tiny_bundles("nbow")
    bundle = load_bundle(directory, "cpu")
    target = tmp_path / "model.onnx"
    target.write_bytes(b"the previous export")
    monkeypatch.setattr("textclf.graphs.write.max_logit_difference", lambda a, b: 0.5)
    with pytest.raises(ParityError, match="differ .* by up to 5.00e-01"):
        export_bundle(bundle, "onnx", TEXTS, target)
    assert target.read_bytes() == b"the previous export"
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]  # no temporary file left


def test_max_logit_difference():
    a = torch.tensor([[1.0, 2.0], [0.0, 0.0]])
    assert max_logit_difference(a, a + torch.tensor([[0.0, 3e-5], [-2e-5, 0.0]])) == pytest.approx(3e-5, rel=1e-2)
    with pytest.raises(ValueError, match="shape"):
        max_logit_difference(a, a[:1])


FRESH = textwrap.dedent("""
    import json, sys
    import numpy as np
    import torch
    from textclf.text import Vocab, make_tokenizer
    from textclf.batching import encode_text

    directory, texts = sys.argv[1], json.loads(sys.argv[2])
    config = json.load(open(f"{directory}/config.json"))
    vocab = Vocab.load(f"{directory}/vocab.json")
    tokenizer = make_tokenizer(config["tokenizer"], vocab)
    rows = [encode_text(t, vocab, tokenizer, config["max_len"]) for t in texts]
    width = max(8, max(len(r) for r in rows))  # padded, masked: the graphs accept any batch and length
    ids = torch.zeros(len(rows), width, dtype=torch.long)
    mask = torch.zeros(len(rows), width, dtype=torch.bool)
    for i, r in enumerate(rows):
        ids[i, : len(r)], mask[i, : len(r)] = r, True
    import onnxruntime
    session = onnxruntime.InferenceSession(f"{directory}/model.onnx", providers=["CPUExecutionProvider"])
    onnx = session.run(["logits"], {"ids": ids.numpy(), "mask": mask.numpy()})[0]
    program = torch.export.load(f"{directory}/model.pt2").module()
    pt2 = program(ids, mask).detach().numpy()
    assert "textclf.models" not in sys.modules, "the graphs must run without textclf's model classes"
    print(json.dumps({"onnx": onnx.tolist(), "pt2": pt2.tolist()}))
""")


@pytest.mark.parametrize("name", ["gru+ngrams", "cnn"])
def test_exports_load_in_a_fresh_process_and_predict_as_the_bundle(tiny_bundles, tmp_path, name):
    import shutil

    directory = tmp_path / "bundle"
    shutil.copytree(tiny_bundles(name)[0], directory)
    bundle = load_bundle(directory, "cpu")
    for fmt in FORMATS:
        export_bundle(bundle, fmt, TEXTS)
    texts = TEXTS[:6] + ["wonderful"]
    result = subprocess.run([sys.executable, "-c", FRESH, str(directory), json.dumps(texts)], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout.strip().splitlines()[-1])
    expected = bundle.logits(texts)
    for fmt in ("onnx", "pt2"):
        assert max_logit_difference(expected, torch.tensor(answers[fmt])) <= 1e-4, fmt


def test_the_model_card_follows_the_hub_conventions_and_says_what_it_measured(tiny_bundles):
    directory, metrics = tiny_bundles("cnn")
    card = (directory / "README.md").read_text()
    head, _, body = card.partition("\n---\n")
    assert head.startswith("---\n") and "library_name: textclf" in head and "pipeline_tag: text-classification" in head
    assert f"value: {metrics['test_accuracy']:.4f}, name: Test accuracy" in head
    for section in ("## Training data", "## Training procedure", "## Evaluation", "## Intended use", "## Limitations",
                    "## Library versions"):
        assert section in body
    assert "linear baseline" in body and f"{100 * metrics['baseline']['accuracy']:.2f}%" in body
    assert "torch 2." in body and "license" in body.lower()
    assert "learner's own data" in body  # data made in Python: no license is claimed for it


def test_metrics_table_and_a_bundled_dataset_card():
    table = metrics_table({"model": "cnn", "test_accuracy": 0.8, "test_f1": 0.79}, {"accuracy": 0.75, "f1": 0.74})
    assert "| this model (cnn) | 80.00% | 0.7900 |" in table and "+5.00 points" in table
    config = BundleConfig("cnn", {"vocab_size": 10, "n_classes": 2}, ["negative", "positive"], max_len=400,
                          dataset="rotten_tomatoes", versions="Python 3 | torch 2")
    card = model_card(config, {"test_accuracy": 0.8, "test_f1": 0.79, "trainable_parameters": 10})
    assert "license: apache-2.0" in card and "Pang and Lee" in card and "No baseline" in card
    no_test = model_card(config, {"valid_accuracy": 0.9, "trainable_parameters": 10})
    assert "model-index" not in no_test and "optimistic" in no_test


def test_without_the_baseline_the_card_says_so(tmp_path, tiny_dataset):
    from textclf.bundle import save_bundle
    from textclf.cli import build_parser, job_from_args
    from textclf.pipeline import train_job

    job = job_from_args(build_parser().parse_args(["train", "--model", "nbow", "--no-baseline", "--epochs", "1",
                                                   "--embeddings", "random", "--min-freq", "1", "--quiet"]))
    assert job.baseline is False
    bundle = train_job(tiny_dataset, job, tmp_path / "b", log=lambda line: None)
    metrics = save_bundle(bundle, tmp_path / "b") and bundle.metrics
    assert "baseline" not in metrics
    assert "No baseline was trained" in (tmp_path / "b" / "README.md").read_text()
