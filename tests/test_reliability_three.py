"""Reliability, third round (issue 35): the newest surfaces — distill, explain's options, the facade.

One test per class of failure the probe found, each with the probe's example and a variant: nothing a command
reads is written over (a teacher, another bundle's files); a cache is trusted only after checking its contents
(tests/test_distill.py, tests/test_glove.py); every option acts or is refused; unclear messages made clear.
"""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import NEG, POS

from textclf.bundle import load_bundle

ROOT = Path(__file__).parents[1]


def run(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "textclf", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "TEXTCLF_SMOKE": "1"})


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def labelled_csv(path: Path, positive: str = "positive", negative: str = "negative") -> Path:
    rows = [f'"{t}",{positive}' for t in POS * 4] + [f'"{t}",{negative}' for t in NEG * 4]
    path.write_text("text,label\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def copied_bundle(source: Path, target: Path) -> Path:
    import shutil

    shutil.copytree(source, target)
    return target


# ---- lost: no command writes onto a bundle it reads, or into another bundle's folder --------------------------

@pytest.mark.parametrize("where", ["teacher", "inside the teacher", "the teacher's parent"])
def test_distill_refuses_to_write_the_student_onto_its_teacher_before_any_work(tiny_bundles, tmp_path, where):
    teacher = copied_bundle(tiny_bundles("cnn")[0], tmp_path / "runs" / "teacher")
    out = {"teacher": teacher, "inside the teacher": teacher / "student", "the teacher's parent": teacher.parent}[where]
    before = digests(teacher)
    result = run("distill", "--teacher", teacher, "--student", "nbow", "--embeddings", "random", "--out", out,
                 "--epochs", "1", "--no-baseline", "--dataset", labelled_csv(tmp_path / "d.csv"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "that this command reads" in result.stderr and "teacher_logits" not in result.stdout  # before labelling
    assert digests(teacher) == before and load_bundle(teacher).model_name == "cnn"


def test_train_refuses_to_write_onto_its_init_from_source(tiny_bundles, tmp_path):
    source = copied_bundle(tiny_bundles("cnn")[0], tmp_path / "source")
    before = digests(source)
    result = run("train", "--init-from", source, "--out", source, "--epochs", "1", "--no-baseline",
                 "--dataset", labelled_csv(tmp_path / "d.csv"))
    assert result.returncode == 2 and "that this command reads" in result.stderr and "Traceback" not in result.stderr
    assert digests(source) == before


@pytest.mark.parametrize("out", ["a file", "/dev/null"])
def test_distill_out_onto_a_file_is_refused_before_training(tiny_bundles, tmp_path, out):
    path = tmp_path / "notes.txt" if out == "a file" else Path(out)
    if out == "a file":
        path.write_text("mine")
    result = run("distill", "--teacher", tiny_bundles("cnn")[0], "--student", "nbow", "--embeddings", "random",
                 "--out", path, "--epochs", "1", "--no-baseline", "--dataset", labelled_csv(tmp_path / "d.csv"))
    assert result.returncode == 2 and "exists and is not a folder" in result.stderr
    assert "epoch 1" not in result.stdout + result.stderr  # refused before training, not after
    if out == "a file":
        assert path.read_text() == "mine"


@pytest.mark.parametrize("name", ["config.json", "model.safetensors", "notes.html", "a link to config.json"])
def test_explain_html_refuses_any_file_in_another_bundles_folder(tiny_bundles, tmp_path, name):
    reading = tiny_bundles("cnn")[0]
    other = copied_bundle(tiny_bundles("nbow")[0], tmp_path / "other")
    before = digests(other)
    target = other / name
    if name.startswith("a link"):
        target = tmp_path / "report.html"
        target.symlink_to(other / "config.json")
    result = run("explain", reading, "a fine film", "--html", target)
    assert result.returncode == 2 and "inside the bundle folder" in result.stderr and "Traceback" not in result.stderr
    assert digests(other) == before and load_bundle(other).model_name == "nbow"


def test_explain_html_may_still_go_beside_the_bundle_it_reads(tiny_bundles, tmp_path):
    reading = copied_bundle(tiny_bundles("cnn")[0], tmp_path / "mine")
    result = run("explain", reading, "a fine film", "--html", reading / "explained.html")
    assert result.returncode == 0 and (reading / "explained.html").is_file()


# ---- every option acts or is refused ---------------------------------------------------------------------------

def test_explain_refuses_a_dataset_with_other_labels_naming_both(tiny_bundles, tmp_path):
    data = labelled_csv(tmp_path / "short_labels.csv", positive="pos", negative="neg")
    result = run("explain", tiny_bundles("cnn")[0], "--dataset", data, "--split", "test")
    assert result.returncode == 2 and "[WRONG]" not in result.stdout
    assert "'neg', 'pos'" in result.stderr and "'negative', 'positive'" in result.stderr


@pytest.mark.parametrize("extra,said", [
    (["a fine film", "--split", "test"], "not both"),
    (["a fine film", "--wrong-only"], "--wrong-only chooses texts of a dataset split"),
    (["a fine film", "--limit", "3"], "--limit chooses texts"),
])
def test_explain_options_that_do_not_apply_are_refused(tiny_bundles, extra, said):
    result = run("explain", tiny_bundles("cnn")[0], *extra)
    assert result.returncode == 2 and said in result.stderr and "Traceback" not in result.stderr


def test_the_facade_checks_an_explicit_zero_and_names_bad_texts_by_index():
    from textclf import TextClassifier
    from textclf.config import ConfigError

    with pytest.raises(ConfigError, match=r"max_len = 0"):
        TextClassifier("nbow", max_len=0)
    clf = TextClassifier("nbow")
    texts, labels = list(POS * 3 + NEG * 3), ["positive"] * 3 * len(POS) + ["negative"] * 3 * len(NEG)
    texts[4] = "broken \ud800 text"
    with pytest.raises(ValueError, match=r"texts\[4\] holds a lone surrogate \(U\+D800\)"):
        clf.finetune(texts, labels, epochs=1)


def test_the_facade_names_bytes_for_what_they_are(tiny_bundles):
    from textclf import TextClassifier

    clf = TextClassifier.load(tiny_bundles("cnn")[0], device="cpu")
    with pytest.raises(TypeError, match="not a bytes; decode it first"):
        clf(b"a fine film")
    with pytest.raises(TypeError, match=r"texts\[1\] is a bytes; expected a string \(decode it first"):
        clf(["a fine film", b"bytes"])


# ---- unclear messages made clear -------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["-inf", "-0.5", "-1e-3"])
def test_a_negative_number_after_an_option_reaches_the_options_own_check(tiny_bundles, tmp_path, value):
    result = run("distill", "--teacher", tiny_bundles("cnn")[0], "--alpha", value, "--out", tmp_path / "s")
    assert result.returncode == 2 and f"alpha = {float(value)}" in result.stderr
    assert "expected one argument" not in result.stderr


def test_joined_negatives_leaves_other_arguments_alone():
    from textclf.cli import joined_negatives

    assert joined_negatives(["distill", "--alpha", "-inf", "--lr", "-1e-3"]) == ["distill", "--alpha=-inf",
                                                                                  "--lr=-1e-3"]
    assert joined_negatives(["predict", "B", "-"]) == ["predict", "B", "-"]  # stdin, not a number
    assert joined_negatives(["predict", "B", "-5"]) == ["predict", "B", "-5"]  # a text after a positional
    assert joined_negatives(["x", "--alpha=-1", "-2"]) == ["x", "--alpha=-1", "-2"]


@pytest.mark.parametrize("value", ["0", "-3", "nan", "soon"])
def test_a_check_time_limit_is_checked_when_read(value, monkeypatch):
    from textclf.grading import time_limit

    monkeypatch.setenv("TEXTCLF_CHECK_SECONDS", value)
    with pytest.raises(ValueError, match=f"TEXTCLF_CHECK_SECONDS='{value}': expected"):
        time_limit(1)
    monkeypatch.setenv("TEXTCLF_CHECK_SECONDS", "2.5")
    assert time_limit(2) == 5.0


def test_a_missing_bundle_says_train_one_and_a_folder_of_bundles_names_them(tiny_bundles, tmp_path):
    missing = run("predict", tmp_path / "nope", "a fine film")
    assert missing.returncode == 2 and "no such bundle folder" in missing.stderr and "textclf train" in missing.stderr
    copied_bundle(tiny_bundles("nbow")[0], tmp_path / "runs" / "model")
    parent = run("predict", tmp_path / "runs", "a fine film")
    assert parent.returncode == 2 and "not a bundle" in parent.stderr and str(tmp_path / "runs" / "model") in \
        parent.stderr
