"""Configs check themselves: bad values and unknown keys stop with the field named; the CLI exits 2."""

import pytest

import textclf
from textclf.cli import main
from textclf.config import ConfigError
from textclf.devices import pick_device
from textclf.models import build_model
from textclf.pipeline import JobConfig
from textclf.training import TrainConfig

BAD_TRAIN = [("epochs", 0), ("patience", 0), ("grad_clip", -1.0), ("lr", 0.0), ("lr", float("nan")),
             ("warmup", -1.0), ("batch_size", 0), ("device", "bogus"), ("optimizer", "sgd"), ("epochs", 2.5),
             ("epochs", True), ("weight_decay", float("inf"))]


@pytest.mark.parametrize("field, value", BAD_TRAIN)
def test_train_config_refuses(field, value):
    with pytest.raises(ConfigError, match=rf"TrainConfig\.{field} = "):
        TrainConfig(**{field: value})


@pytest.mark.parametrize("options, message", [
    (dict(vocab_size=10**12), "vocab_size = 1000000000000: expected a whole number from 1 to 5,000,000"),
    (dict(dropout=float("nan")), "dropout = nan: expected a finite number in"),
    (dict(n_filters=0), "n_filters = 0"),
    (dict(n_classes=1), "n_classes = 1"),
    (dict(kernel_sizes=[]), "kernel_sizes"),
    (dict(n_filter=200), "unknown option.*'n_filter'"),
])
def test_model_config_refuses(options, message):
    with pytest.raises(ConfigError, match=message):
        build_model("cnn", **{"vocab_size": 10, "n_classes": 2, **options})


def test_job_config_and_facade_refuse():
    with pytest.raises(ConfigError, match="max_len = 0"):
        JobConfig(max_len=0)
    with pytest.raises(ConfigError, match="layer_lr_decay = -1"):
        JobConfig(layer_lr_decay=-1.0)
    with pytest.raises(ConfigError, match="unknown option.*'n_filter'"):
        textclf.TextClassifier("cnn", n_filter=200).finetune(["good", "bad"] * 10, ["p", "n"] * 10, epochs=1)


def test_a_device_that_is_not_here_is_a_clear_error():
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            pick_device("cuda")


@pytest.mark.parametrize("args, message", [
    (["--epochs", "0"], "epochs = 0"), (["--patience", "0"], "patience = 0"), (["--grad-clip", "-1"], "grad_clip"),
    (["--layer-lr-decay", "-1"], "layer_lr_decay"), (["--max-len", "0"], "max_len = 0"),
    (["--warmup", "-1"], "warmup"), (["--dropout", "nan"], "dropout = nan"), (["--model", "cnn", "--n-filters", "0"],
                                                                             "n_filters = 0"),
    (["--model", "transformer", "--model-dim", "0"], "model_dim = 0"), (["--device", "bogus"], "device = 'bogus'"),
    (["--model", "gru", "--n-filters", "8"], "unknown option.*'n_filters'"),
])
def test_cli_refuses_bad_options_with_exit_2_before_training(args, message, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), "--quiet", *args]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and __import__("re").search(message, err), err
    assert not out.exists()
