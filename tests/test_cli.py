"""The `textclf data` command: the report on good data, one clear line on bad data."""

import re
import subprocess
import sys

import pytest
from conftest import ctrl_c_reaches_the_child


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "textclf", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=600)


def test_data_report_on_bundled_data():
    result = run("data", "bbc_news", "--glove", "none")
    assert result.returncode == 0, result.stderr
    assert "sport" in result.stdout and "with length bucketing" in result.stdout


def test_data_on_user_tsv_with_skip(tmp_path):
    rows = [f"{'ham' if i % 3 else 'spam'}\tmessage number {i}" for i in range(40)] + ["ham"]
    (tmp_path / "SMSSpamCollection").write_text("\n".join(rows) + "\n")
    bad = run("data", str(tmp_path / "SMSSpamCollection"), "--format", "sms_spam", "--glove", "none")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "SMSSpamCollection, line 41: expected 2 fields, found 1" in bad.stderr
    good = run("data", str(tmp_path / "SMSSpamCollection"), "--format", "sms_spam", "--skip-bad", "--glove", "none")
    assert good.returncode == 0 and "skipped 1 bad rows" in good.stderr and "spam" in good.stdout


def test_train_evaluate_predict_on_a_user_csv(tmp_path):
    words = {"pos": ["great", "moving", "superb"], "neg": ["dull", "awful", "boring"]}
    rows = ["review,sentiment"] + [f'"a {words[y][i % 3]} film, {words[y][(i + 1) % 3]}",{y}'
                                   for i in range(60) for y in ("pos", "neg")]
    (tmp_path / "reviews.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "bundle"
    common = ["--dataset", str(tmp_path / "reviews.csv"), "--text-column", "review", "--label-column", "sentiment"]
    trained = run("train", *common, "--model", "nbow", "--embeddings", "random", "--epochs", "3", "--min-freq", "1",
                  "--out", str(out), "--quiet")
    assert trained.returncode == 0, trained.stderr
    assert "test_accuracy=" in trained.stdout and "valid acc" in trained.stdout
    evaluated = run("evaluate", str(out), *common)
    assert evaluated.returncode == 0 and "reviews.csv test: accuracy" in evaluated.stdout
    predicted = run("predict", str(out), "a superb film", "an awful film")
    assert predicted.returncode == 0 and predicted.stdout.count('"probabilities"') == 2


def test_train_on_a_bad_file_names_the_line(tmp_path):
    (tmp_path / "bad.csv").write_text("text,label\nfine,a\n\"broken,b\n")
    result = run("train", "--dataset", str(tmp_path / "bad.csv"), "--out", str(tmp_path / "o"))
    assert result.returncode == 2 and "bad.csv, line 3: unterminated quote" in result.stderr
    assert not (tmp_path / "o").exists()


def test_ctrl_c_then_resume_matches_an_uninterrupted_run(tmp_path):
    import os
    import signal
    import time

    from safetensors.torch import load_file

    words = {"pos": ["great", "moving", "superb", "fine"], "neg": ["dull", "awful", "boring", "flat"]}
    rows = ["text,label"] + [f"{words[y][i % 4]} {words[y][(i // 4) % 4]} plot {i % 7},{y}"
                             for i in range(150) for y in ("pos", "neg")]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    args = ["train", "--dataset", str(tmp_path / "d.csv"), "--model", "lstm", "--embeddings", "random",
            "--epochs", "30", "--patience", "99", "--min-freq", "1", "--batch-size", "8", "--quiet"]
    full = run(*args, "--out", str(tmp_path / "full"))
    assert full.returncode == 0, full.stderr

    out = tmp_path / "cut"
    process = subprocess.Popen([sys.executable, "-m", "textclf", *args, "--out", str(out)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=ctrl_c_reaches_the_child)
    deadline = time.time() + 300
    while not (out / "checkpoint.pt").exists() and time.time() < deadline:  # written when training starts
        time.sleep(0.02)
    first = (out / "checkpoint.pt").stat().st_mtime_ns
    while (out / "checkpoint.pt").stat().st_mtime_ns == first and time.time() < deadline:  # epoch 1 saved
        time.sleep(0.02)
    assert process.poll() is None, "training ended before it could be interrupted"
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 130, stdout + stderr
    assert "resume with the checkpoint" in stderr and not (out / "model.safetensors").exists(), stdout + stderr
    assert not (out / "vocab.json").exists()  # bundle files appear only when the model is complete

    resumed = run(*args, "--out", str(out), "--resume")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    import re

    done = int(re.search(r"resumed from .* after epoch (\d+)", resumed.stdout).group(1))
    assert done < 30, "the interruption should land during training"
    a, b = load_file(str(tmp_path / "full" / "model.safetensors")), load_file(str(out / "model.safetensors"))
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a), resumed.stdout
    assert os.path.exists(out / "metrics.json")


def test_train_with_no_flags_runs_the_default_job_the_benchmark_measures():
    from textclf.cli import build_parser, job_from_args
    from textclf.pipeline import default_job

    assert job_from_args(build_parser().parse_args(["train"])) == default_job()
    minilm = job_from_args(build_parser().parse_args(["train", "--model", "minilm"]))
    assert minilm == default_job("minilm") and minilm.train.optimizer == "adamw" and minilm.max_len == 128
    changed = job_from_args(build_parser().parse_args(["train", "--epochs", "2", "--hidden-dim", "32"]))
    assert changed.train.epochs == 2 and changed.model_options == {"hidden_dim": 32}


def test_minilm_recipe_carries_its_layer_decay_and_the_flag_overrides_it():
    from textclf.cli import build_parser, job_from_args
    from textclf.config import ConfigError
    from textclf.models.registry import MINILM, Recipe

    minilm = job_from_args(build_parser().parse_args(["train", "--model", "minilm"]))
    assert (minilm.layer_lr_decay, minilm.train.lr, minilm.train.epochs) == (0.9, 3e-5, 4) == \
        (MINILM.layer_lr_decay, MINILM.train.lr, MINILM.train.epochs)
    off = job_from_args(build_parser().parse_args(["train", "--model", "minilm", "--layer-lr-decay", "1"]))
    assert off.layer_lr_decay == 1.0
    assert job_from_args(build_parser().parse_args(["train", "--model", "cnn"])).layer_lr_decay is None
    with pytest.raises(ConfigError, match="layer_lr_decay"):
        Recipe(layer_lr_decay=1.5)


def test_predict_from_stdin_refuses_invalid_utf8_naming_the_line(tiny_bundles):
    out, _ = tiny_bundles("nbow")
    result = subprocess.run([sys.executable, "-m", "textclf", "predict", str(out), "-"],
                            input=b"a wonderful film\n\xff\xfe bad bytes\n", capture_output=True, timeout=600)
    err = result.stderr.decode()
    assert result.returncode == 2 and "Traceback" not in err
    assert "<stdin>, line 2: not valid UTF-8 (byte 0xff at column 1)" in err
    good = subprocess.run([sys.executable, "-m", "textclf", "predict", str(out), "-"],
                          input="a wonderful film\n\nhated it, dull ✓\n".encode(), capture_output=True, timeout=600)
    assert good.returncode == 0 and good.stdout.decode().count('"probabilities"') == 2


@pytest.mark.parametrize("command", ["train", "distill"])
def test_help_texts_quote_the_recipes_and_the_choices_are_the_configs(command, capsys):
    """Each option has one default and one list of choices: the help reads them from the recipes and configs."""
    import re

    from textclf.cli import build_parser
    from textclf.models.registry import FROM_SCRATCH, MINILM
    from textclf.train_config import OPTIMIZERS, SCHEDULES

    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert re.search(rf"--epochs EPOCHS default {FROM_SCRATCH.train.epochs} \(minilm: {MINILM.train.epochs}\)", text)
    assert f"default {FROM_SCRATCH.max_len} (minilm: {MINILM.max_len})" in text
    assert f"(minilm: {MINILM.train.lr:g})" in text and f"{{{','.join(OPTIMIZERS)}}}" in text
    assert f"{{{','.join(SCHEDULES)}}}" in text
    assert f"default none (minilm: {MINILM.layer_lr_decay:g})" in text  # --layer-lr-decay, from the recipe
    assert f"minilm {MINILM.lora_lr:g}" in text                         # --lr with --finetune lora
    if command == "distill":  # what is chosen, from the choosing module; the rest from DistillConfig
        from dataclasses import fields

        from textclf.distill.choose import COPIES, GRID
        from textclf.distill.job import DistillConfig

        alphas, temperatures = sorted({a for a, _ in GRID}), sorted({t for _, t in GRID})
        assert f"chosen from {', '.join(f'{a:g}' for a in alphas)}" in text
        assert f"chosen from {', '.join(f'{t:g}' for t in temperatures)}" in text and f"0 or {COPIES}" in text
        defaults = {f.name: f.default for f in fields(DistillConfig)}
        assert f"n-gram sample (default {defaults['p_ngram']})" in text
        assert f"per word (default {defaults['p_drop']})" in text


def test_version_and_a_help_that_shows_the_commands_not_the_developer_notes(capsys):
    from textclf.cli import build_parser

    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["--version"])
    assert exit_.value.code == 0 and re.fullmatch(r"textclf \S+\n", capsys.readouterr().out)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    shown = capsys.readouterr().out
    assert "textclf check 1.1" in shown and "``" not in shown and "add_NAME" not in shown
