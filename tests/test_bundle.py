"""Bundles: save, reload in a fresh process, predict; damaged bundles give located errors."""

import json
import subprocess
import sys

import pytest
import torch
from conftest import NEG, POS

from textclf.bundle import load_bundle
from textclf.data import DataError


@pytest.fixture(scope="module")
def bundle_dir(tiny_bundles):
    out, metrics = tiny_bundles("cnn")
    assert metrics["test_accuracy"] == 1.0
    return out


def test_bundle_files_and_metrics(bundle_dir):
    assert {p.name for p in bundle_dir.iterdir()} >= {"model.safetensors", "config.json", "vocab.json",
                                                       "metrics.json"}
    assert not (bundle_dir / "checkpoint.pt").exists() and not (bundle_dir / "checkpoint.vocab.json").exists()
    metrics = json.loads((bundle_dir / "metrics.json").read_text())
    config = json.loads((bundle_dir / "config.json").read_text())
    assert {"test_accuracy", "test_f1"} <= metrics.keys()
    assert config["labels"] == ["negative", "positive"] and config["model"] == "cnn" and "torch" in config["versions"]


def test_reload_in_a_fresh_process_gives_the_same_probabilities(bundle_dir):
    texts = [POS[1], NEG[1]]
    here = load_bundle(bundle_dir).predict(texts)
    assert here[0]["positive"] > 0.5 > here[1]["positive"]
    result = subprocess.run([sys.executable, "-m", "textclf", "predict", str(bundle_dir), "-", "--digits", "12"],
                            input="\n".join(texts) + "\n", capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["label"] for line in lines] == ["positive", "negative"]
    for line, probs in zip(lines, here):
        assert line["probabilities"] == pytest.approx(probs, abs=1e-6)
    rounded = subprocess.run([sys.executable, "-m", "textclf", "predict", str(bundle_dir), *texts],
                             capture_output=True, text=True, timeout=300)  # by default, 6 decimal places
    for line, probs in zip(map(json.loads, rounded.stdout.splitlines()), here):
        assert line["probabilities"] == {name: round(p, 6) for name, p in probs.items()}
        assert all(len(repr(p)) <= 8 for p in line["probabilities"].values())  # 0.99997 or 3e-05: short
    bad = subprocess.run([sys.executable, "-m", "textclf", "predict", str(bundle_dir), "x", "--digits", "0"],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "from 1 to 17" in bad.stderr


def test_damaged_bundles(bundle_dir, tmp_path):
    import shutil

    broken = tmp_path / "b"
    shutil.copytree(bundle_dir, broken)
    (broken / "model.safetensors").write_bytes(b"\x00" * 20)
    with pytest.raises(DataError, match=r"model\.safetensors: cannot read the weights"):
        load_bundle(broken)
    (broken / "config.json").write_text('{"format": "textclf-bundle",\n "model": }')
    with pytest.raises(DataError, match=r"config\.json, line 2: invalid JSON"):
        load_bundle(broken)
    (broken / "config.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"config\.json: no such file"):
        load_bundle(broken)
    result = subprocess.run([sys.executable, "-m", "textclf", "predict", str(broken), "hi"], capture_output=True,
                            text=True)
    assert result.returncode == 2 and "config.json: no such file" in result.stderr and "Traceback" not in result.stderr


def test_weights_in_bundle_are_plain_tensors(bundle_dir):
    from safetensors.torch import load_file

    weights = load_file(str(bundle_dir / "model.safetensors"))
    assert all(isinstance(v, torch.Tensor) for v in weights.values()) and "embedding.weight" in weights


def test_a_bundle_written_by_the_first_format_still_loads_and_predicts_the_same():
    """tests/data/bundle_v1 was written by textclf before BundleConfig (config.json format version 1, a
    temperature of 1.5 set by hand); it must load and give the probabilities recorded when it was written."""
    from pathlib import Path

    data = Path(__file__).parent / "data"
    recorded = json.loads((data / "bundle_v1_predictions.json").read_text())
    bundle = load_bundle(data / "bundle_v1")
    assert bundle.config.version == 1 and bundle.temperature == 1.5 and bundle.model_name == "nbow"
    assert bundle.config.data.source is None and set(bundle.config.data.fingerprints) == {"train", "valid", "test"}
    for got, want in zip(bundle.predict(recorded["texts"]), recorded["probabilities"]):
        assert got == pytest.approx(want, abs=1e-6)


def test_bundle_config_refuses_unknown_keys_and_newer_formats(tmp_path):
    import shutil
    from pathlib import Path

    from textclf.bundle import BundleConfig
    from textclf.config import ConfigError

    source = Path(__file__).parent / "data" / "bundle_v1"
    for change, message in [({"colour": "blue"}, r'key "colour": expected one of the BundleConfig fields'),
                            ({"version": 4}, r'key "version": expected a format version from 1 to 3')]:
        copy = tmp_path / str(len(list(tmp_path.iterdir())))
        shutil.copytree(source, copy)
        config = json.loads((copy / "config.json").read_text())
        (copy / "config.json").write_text(json.dumps({**config, **change}))
        with pytest.raises(DataError, match=r"config\.json: " + message):
            load_bundle(copy)
    with pytest.raises(ConfigError, match=r"BundleConfig\.labels = \['a'\]: expected 1|BundleConfig\.max_len"):
        BundleConfig("nbow", {"vocab_size": 3, "n_classes": 1}, ["a"], max_len=0)


def test_save_then_load_gives_the_same_bundle_in_memory(tiny_bundles, tmp_path):
    """train_job's Bundle and the folder save_bundle writes agree: same config, metrics and predictions."""
    from textclf.bundle import save_bundle

    bundle = load_bundle(tiny_bundles("nbow")[0])
    bundle.set_temperature(2.0)
    save_bundle(bundle, tmp_path / "again")
    again = load_bundle(tmp_path / "again")
    assert again.config == bundle.config and again.metrics == bundle.metrics and again.temperature == 2.0
    texts = ["a wonderful film", "dull"]
    for got, want in zip(again.predict(texts), bundle.predict(texts)):
        assert got == pytest.approx(want)
