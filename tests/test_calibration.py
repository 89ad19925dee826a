"""Calibration (ECE, temperature scaling) and figures: against hand computations; files, not pixels."""

import json
import shutil
import subprocess
import sys

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from textclf.bundle import load_bundle
from textclf.calibration import expected_calibration_error, fit_temperature, nll, reliability
from textclf.data import DataError
from textclf.figures import confusion_figure, reliability_figure, save, training_curves

PNG = b"\x89PNG\r\n\x1a\n"


def test_ece_by_hand_on_a_tiny_example():
    probabilities = torch.tensor([[0.05, 0.95], [0.05, 0.95], [0.35, 0.65], [0.45, 0.55]])
    targets = torch.tensor([1, 0, 1, 1])
    # bins of 0.1: (0.9, 1] holds 0.95, 0.95 (1 of 2 right): 0.5 x |0.95 - 0.5|;
    # (0.6, 0.7] holds 0.65 (right): 0.25 x 0.35; (0.5, 0.6] holds 0.55 (right): 0.25 x 0.45
    assert expected_calibration_error(probabilities, targets, bins=10) == pytest.approx(0.225 + 0.0875 + 0.1125)
    rel = reliability(probabilities, targets, bins=2)
    assert rel.counts.tolist() == [0, 4] and rel.ece == pytest.approx(abs(0.775 - 0.75))


@settings(max_examples=40, deadline=None)
@given(n=st.integers(20, 200), scale=st.floats(0.5, 10), seed=st.integers(0, 1000))
def test_temperature_scaling_lowers_nll_and_keeps_every_prediction(n, scale, seed):
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, 3, generator=generator) * scale
    noisy = torch.randint(0, 3, (n,), generator=generator)
    targets = torch.where(torch.rand(n, generator=generator) < 0.7, logits.argmax(1), noisy)
    temperature = fit_temperature(logits, targets)
    assert temperature > 0
    assert nll(logits, targets, temperature) <= nll(logits, targets) + 1e-6
    assert torch.equal((logits / temperature).argmax(1), logits.argmax(1))


def test_over_confidence_is_cooled():
    """Labels drawn from softmax(logits / 3): the model's own probabilities are too sharp by a temperature of 3,
    which temperature scaling should find, and with it most of the calibration error should go."""
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(4000, 3, generator=generator) * 6
    targets = torch.multinomial((logits / 3).softmax(1), 1, generator=generator).squeeze(1)
    temperature = fit_temperature(logits, targets)
    assert 2.5 < temperature < 3.5
    before = expected_calibration_error(logits.softmax(1), targets)
    assert expected_calibration_error((logits / temperature).softmax(1), targets) < before / 3


def test_figures_are_written_as_png_files(tmp_path):
    history = [{"epoch": e, "train_loss": 1 / e, "valid_loss": 1.2 / e, "valid_accuracy": 0.5 + e / 10}
               for e in (1, 2, 3)]
    probabilities = torch.rand(50, 2).softmax(1)
    figures = {"curves": training_curves(history, 2), "confusion": confusion_figure([[3, 1], [0, 4]], ["a", "b"]),
               "reliability": reliability_figure({"m": reliability(probabilities, torch.randint(0, 2, (50,)))})}
    for name, fig in figures.items():
        path = save(fig, tmp_path / f"{name}.png")
        data = path.read_bytes()
        assert data.startswith(PNG) and len(data) > 2000, name


def test_a_trained_bundle_carries_its_curves_and_confusion(tiny_bundles):
    directory, _ = tiny_bundles("cnn")
    for name in ("curves.png", "confusion.png"):
        assert (directory / name).read_bytes().startswith(PNG)


def test_calibrate_writes_a_temperature_that_predict_and_evaluate_apply(tiny_bundles, tmp_path):
    source, _ = tiny_bundles("cnn")
    bundle_dir = tmp_path / "b"
    shutil.copytree(source, bundle_dir)
    before = load_bundle(bundle_dir).predict(["a wonderful film"])[0]
    result = subprocess.run([sys.executable, "-m", "textclf", "calibrate", str(bundle_dir), "--dataset",
                             "rotten_tomatoes"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "valid: NLL" in result.stdout and "ECE" in result.stdout
    temperature = json.loads((bundle_dir / "config.json").read_text())["temperature"]
    bundle = load_bundle(bundle_dir)
    assert bundle.temperature == temperature
    after = bundle.predict(["a wonderful film"])[0]
    assert max(after, key=after.get) == max(before, key=before.get)
    if temperature != 1.0:
        assert after != pytest.approx(before)
    evaluated = subprocess.run([sys.executable, "-m", "textclf", "evaluate", str(bundle_dir), "--dataset",
                                "rotten_tomatoes"], capture_output=True, text=True, timeout=600)
    assert evaluated.returncode == 0 and " ECE " in evaluated.stdout


@pytest.mark.parametrize("value", [0, -1, "hot", True, 1e9])
def test_a_bad_temperature_in_config_is_refused(tiny_bundles, tmp_path, value):
    source, _ = tiny_bundles("cnn")
    bundle_dir = tmp_path / "b"
    shutil.copytree(source, bundle_dir)
    config = json.loads((bundle_dir / "config.json").read_text())
    config["temperature"] = value
    (bundle_dir / "config.json").write_text(json.dumps(config))
    with pytest.raises(DataError, match='key "temperature": expected a number from 0.001 to 1000'):
        load_bundle(bundle_dir)


def test_report_is_one_self_contained_page(tiny_bundles, tmp_path):
    directory, _ = tiny_bundles("cnn")
    out = tmp_path / "report.html"
    result = subprocess.run([sys.executable, "-m", "textclf", "report", str(directory), "--dataset", "rotten_tomatoes",
                             "--out", str(out), "--mistakes", "2"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and page.count("data:image/png;base64,") == 3
    assert "linear baseline" in page and "Expected calibration error" in page and 'class="tok"' in page
    assert "http://" not in page and "https://" not in page and "<script" not in page  # nothing remote
    onto_folder = subprocess.run([sys.executable, "-m", "textclf", "report", str(directory), "--out", str(tmp_path)],
                                 capture_output=True, text=True, timeout=300)
    assert onto_folder.returncode == 2 and "is a folder" in onto_folder.stderr


def test_report_shows_the_recorded_baseline_for_the_bundles_own_data(tiny_bundles, tiny_dataset, monkeypatch):
    from textclf.report import build_report

    directory, metrics = tiny_bundles("nbow")
    bundle = load_bundle(directory)
    trained = []
    monkeypatch.setattr("textclf.report.linear_baseline", lambda ds: trained.append(ds) or {"accuracy": 0.5,
                                                                                            "f1": 0.5})
    recorded = {**metrics, "baseline": {"accuracy": 0.1234, "f1": 0.4321}}
    bundle.metrics = recorded
    page = build_report(bundle, tiny_dataset, mistakes=0, own_data=True)
    assert "12.34%" in page and trained == []  # no second training of the same baseline
    page = build_report(bundle, tiny_dataset, mistakes=0)  # other data: trained on it
    assert "12.34%" not in page and len(trained) == 1
