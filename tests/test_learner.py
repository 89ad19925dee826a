"""What a learner meets (issue 22): threads, honest figures and metric names, grading that teaches,
notebooks, and the small things that confuse."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import make_tiny_dataset

ROOT = Path(__file__).parents[1]


def run(*args, cwd=None, env=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "textclf", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout, env={**os.environ, **(env or {})})


# ---- threads ------------------------------------------------------------------------------------------------

def test_the_thread_decision(monkeypatch):
    from textclf import devices

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(devices, "cpu_cores", lambda: 4)
    assert devices.choose_threads(3) == (3, "asked for")
    monkeypatch.setattr(devices, "busy_cores", lambda window=0.25: 0.2)
    assert devices.choose_threads(None)[0] == 4  # idle: every core
    monkeypatch.setattr(devices, "busy_cores", lambda window=0.25: 2.8)
    threads, why = devices.choose_threads(None)
    assert threads == 1 and "2.8 kept busy by other work" in why  # loaded: leave other work its cores
    monkeypatch.setattr(devices, "busy_cores", lambda window=0.25: 9.0)
    assert devices.choose_threads(None)[0] == 1  # never 0
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert devices.choose_threads(None) == (2, "OMP_NUM_THREADS")
    with pytest.raises(ValueError, match="--threads 0"):
        devices.choose_threads(0)


def test_busy_cores_reads_the_machine():
    busy = __import__("textclf.devices", fromlist=["busy_cores"]).busy_cores(0.05)
    assert busy is None or 0 <= busy <= os.cpu_count() + 1e-6


def test_every_model_command_takes_threads_and_says_what_it_chose(tiny_bundles):
    from textclf.cli import MODEL_COMMANDS, build_parser

    parser = build_parser()
    for name in MODEL_COMMANDS:
        assert "--threads" in parser._subparsers._group_actions[0].choices[name].format_help()
    result = run("predict", tiny_bundles("nbow")[0], "a fine film", "--threads", "1")
    assert result.returncode == 0 and "textclf predict: 1 CPU thread (asked for)" in result.stderr
    bad = run("predict", tiny_bundles("nbow")[0], "a fine film", "--threads", "0")
    assert bad.returncode == 2 and "--threads" in bad.stderr


def test_progress_bars_only_on_a_terminal(tmp_path):
    """Output into a file or pipe gets one line per epoch, not carriage-return bar updates."""
    data = tmp_path / "d.csv"
    data.write_text("text,label\n" + "\n".join(f"{'good fine' if i % 2 else 'bad dull'} film {i},{'ab'[i % 2]}"
                                               for i in range(60)) + "\n")
    result = run("train", "--dataset", data, "--model", "nbow", "--embeddings", "random", "--epochs", "2",
                 "--no-baseline", "--min-freq", "1", "--out", tmp_path / "m")
    assert result.returncode == 0, result.stderr
    assert "\r" not in result.stdout + result.stderr
    assert "epoch 1/2: train loss" in result.stdout and "epoch 2/2: train loss" in result.stdout
    assert "valid F1" in result.stdout and "train loss valid loss" not in result.stdout  # no second copy as a table
    assert "curves.png" in result.stdout and "job.json" in result.stdout  # the files it wrote, all of them


def test_a_missing_gpu_is_refused_before_the_data_is_read(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    result = run("train", "--device", "cuda", "--dataset", tmp_path / "not-there.csv")
    assert result.returncode == 2 and "no CUDA GPU" in result.stderr and "not-there" not in result.stderr


# ---- figures and the numbers in them ------------------------------------------------------------------------

def test_the_default_models_reported_loss_is_its_predictions_cross_entropy():
    from textclf.models import build_model

    torch.manual_seed(0)
    model, _ = build_model("gru+ngrams", vocab_size=30, n_classes=2, embed_dim=8, hidden_dim=8)
    model.eval()
    ids, mask = torch.randint(2, 30, (6, 7)), torch.ones(6, 7, dtype=torch.bool)
    labels = torch.tensor([0, 1, 0, 1, 1, 0])
    trained_on, reported = model.loss(ids, mask, labels)  # the two halves' losses, summed; the prediction's
    expected = torch.nn.functional.cross_entropy(model(ids, mask), labels)
    assert torch.allclose(reported, expected, atol=1e-6)
    assert trained_on > reported  # the sum is not comparable with a validation cross-entropy


def test_one_bin_count_stated_everywhere():
    from textclf.calibration import BINS, expected_calibration_error, reliability
    from textclf.figures import reliability_figure

    probabilities, targets = torch.tensor([[0.9, 0.1], [0.3, 0.7], [0.6, 0.4]]), torch.tensor([0, 1, 1])
    assert len(reliability(probabilities, targets).counts) == BINS == 15
    assert expected_calibration_error(probabilities, targets) == reliability(probabilities, targets).ece
    figure = reliability_figure({"test": reliability(probabilities, targets)})
    assert "15 equal-width bins" in figure.axes[0].get_title()


def test_a_flat_accuracy_curve_is_not_drawn_as_a_collapse():
    from textclf.figures import training_curves

    history = [{"epoch": e, "train_loss": 0.7, "valid_loss": 0.69, "valid_accuracy": a}
               for e, a in ((1, 0.5668), (2, 0.5683))]
    low, high = training_curves(history, 2).axes[1].get_ylim()
    assert high - low >= 0.1 - 1e-9 and low <= 0.5668 and high >= 0.5683


def test_the_model_card_names_its_f1_for_what_it_is():
    from textclf.bundle import BundleConfig
    from textclf.model_card import model_card

    metrics = {"test_accuracy": 0.8, "test_f1": 0.79, "trainable_parameters": 10}
    binary = model_card(BundleConfig("cnn", {"vocab_size": 5, "n_classes": 2}, ["negative", "positive"]), metrics)
    assert "Test F1 of 'positive'" in binary and "macro" not in binary.lower().split("## evaluation")[0]
    assert "pypi.org" not in binary and "unrelated project" in binary
    topics = model_card(BundleConfig("cnn", {"vocab_size": 5, "n_classes": 3}, ["a", "b", "c"]), metrics)
    assert "Test macro F1" in topics


def test_glove_coverage_without_missing_words_reads_cleanly():
    from textclf.glove import GloVe, embedding_matrix
    from textclf.text import Vocab

    glove = GloVe(["the", "film"], torch.ones(2, 3).numpy())
    _, coverage = embedding_matrix(Vocab.build([["the", "film"]], min_freq=1), glove)
    assert "(e.g. )" not in str(coverage)


def test_a_split_too_small_to_mean_anything_is_named():
    ds = make_tiny_dataset()  # 8 valid and 8 test texts
    with pytest.warns(UserWarning, match="the valid split has only 8 texts"):
        ds.check_trainable()


# ---- grading that teaches -----------------------------------------------------------------------------------

def learner_copy(tmp_path: Path, solved: tuple[int, ...], stubs: tuple[int, ...]) -> Path:
    folder = tmp_path / "lessons" / "exercises"
    folder.mkdir(parents=True)
    for lesson in solved:
        source = next((ROOT / "lessons" / "solutions").glob(f"ex{lesson:02d}_*.py"))
        shutil.copy(source, folder / source.name)
    for lesson in stubs:
        source = next((ROOT / "lessons" / "exercises").glob(f"ex{lesson:02d}_*.py"))
        shutil.copy(source, folder / source.name)
    return tmp_path


def test_check_grades_the_current_folders_file_and_says_which(tmp_path):
    cwd = learner_copy(tmp_path, solved=(1,), stubs=())
    result = run("check", "1.1", cwd=cwd)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Checking {cwd / 'lessons' / 'exercises' / 'ex01_text_to_tensors.py'}" in result.stdout


def test_check_all_is_a_progress_table(tmp_path):
    cwd = learner_copy(tmp_path, solved=(1,), stubs=(3,))
    result = run("check", cwd=cwd)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert "1.1       passed" in lines and "3.1       not started" in lines
    assert "2.1" not in result.stdout  # a lesson with no file here is not graded
    assert "passed" in lines[-1] and "not started" in lines[-1]


# ---- notebooks ----------------------------------------------------------------------------------------------

def test_every_lesson_becomes_a_notebook(tmp_path):
    pytest.importorskip("jupytext", reason="the notebooks extra: pip install -e '.[notebooks]'")
    result = subprocess.run([sys.executable, str(ROOT / "lessons" / "make_notebooks.py"), "--out", tmp_path],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    import json

    written = sorted(tmp_path.glob("*.ipynb"))
    assert len(written) == len(list((ROOT / "lessons").glob("[0-9][0-9]_*.py")))
    notebook = json.loads(written[0].read_text())
    assert notebook["nbformat"] == 4 and any(c["cell_type"] == "markdown" for c in notebook["cells"])


def test_make_notebooks_keeps_a_notebook_the_learner_changed(tmp_path):
    pytest.importorskip("jupytext", reason="the notebooks extra: pip install -e '.[notebooks]'")
    make = [sys.executable, str(ROOT / "lessons" / "make_notebooks.py"), "--out", str(tmp_path)]
    assert subprocess.run(make, capture_output=True, timeout=300).returncode == 0
    mine = tmp_path / "02_recurrent.ipynb"
    mine.write_text(mine.read_text().replace('"cells": [', '"cells": [{"cell_type": "markdown", "metadata": {}, '
                                             '"source": ["my notes"]},', 1))
    untouched = tmp_path / "03_convolutional.ipynb"
    untouched.write_text("{}")  # and one rewritten by hand to nothing: also kept, it is not what was written
    again = subprocess.run(make, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and f"kept {mine}" in again.stdout and "--force" in again.stdout
    assert "my notes" in mine.read_text() and untouched.read_text() == "{}"
    assert f"wrote {tmp_path / '01_text_to_tensors.ipynb'}" in again.stdout  # unchanged ones are rewritten
    forced = subprocess.run([*make, "--force"], capture_output=True, text=True, timeout=300)
    assert forced.returncode == 0 and "my notes" not in mine.read_text()


def test_lessons_find_the_repositorys_files_from_the_notebooks_folder(tmp_path, monkeypatch):
    from textclf.lesson_utils import from_root, repo_root

    monkeypatch.chdir(ROOT / "lessons")  # as a notebook runs in notebooks/, a folder below the root
    assert repo_root() == ROOT and from_root("tests/data/minilm_reference.json").is_file()
    monkeypatch.chdir(tmp_path)  # outside the repository: the folder the package was installed from
    assert repo_root() == ROOT


def test_progress_shows_bars_in_a_notebook_and_lines_wherever_there_is_no_terminal(monkeypatch):
    import types

    from textclf import progress

    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    assert not progress.in_notebook() and progress.shows_lines() and not progress.shows_bars()
    kernel = type("ZMQInteractiveShell", (), {})()  # the shell a Jupyter kernel runs
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: kernel))
    assert progress.in_notebook() and progress.shows_bars() and progress.shows_lines()
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert progress.shows_bars() and not progress.shows_lines()


def test_an_untouched_stub_is_recognised_without_running_its_tests(monkeypatch):
    from textclf import grading

    source = '''
def a():
    """Exercise 1.1."""
    raise NotImplementedError("Exercise 1.1")

def b(x):
    if x:
        return 1
    raise NotImplementedError("Exercise 1.2")

def c():
    raise NotImplementedError("Exercise 1.3")

def d():
    return 2
raise_later = None
'''
    assert grading.untouched_stubs(source) == {"1.1", "1.3"}  # 1.2 was begun: its tests decide
    assert grading.untouched_stubs(source + '\ndef e():\n    raise NotImplementedError("Exercise 1.3")\n    x = 1\n') \
        == {"1.1"}  # a second function of 1.3 was changed: 1.3 is graded
    stub = ROOT / "lessons" / "exercises" / "ex13_distillation.py"
    monkeypatch.setattr(grading, "grade_in_child", lambda *a, **k: pytest.fail("no test should run for stubs"))
    outcomes = grading.run_checks(["13"], stub)
    assert {grading.status(o, m) for m, o in outcomes.items()} == {"not started"} and len(outcomes) == 3


def test_a_file_that_does_not_parse_is_named_with_its_line(tmp_path):
    from textclf import grading

    file = tmp_path / "ex01_text_to_tensors.py"
    file.write_text("x = 1\ndef broken(:\n")
    outcomes = grading.run_checks(["1.1"], file)
    assert outcomes["ex1_1"].messages == ["your file does not import (ex01_text_to_tensors.py line 2: invalid syntax)"]
