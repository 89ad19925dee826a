"""fit(): best-weights restore, determinism, NaN stop, Ctrl-C checkpoint, exact resume."""

import pytest
import torch
from conftest import options_for

from textclf.batching import EncodedDataset
from textclf.devices import pick_device
from textclf.inference import evaluate
from textclf.loop import snapshot
from textclf.models import build_model
from textclf.training import TrainConfig, TrainingDiverged, TrainingInterrupted, fit


def toy_data(n, seed):
    """Label 1 iff token 5 appears: learnable in a few epochs."""
    g = torch.Generator().manual_seed(seed)
    ids, labels = [], []
    for _ in range(n):
        seq = torch.randint(6, 30, (int(torch.randint(2, 12, (1,), generator=g)),), generator=g)
        label = int(torch.rand(1, generator=g) < 0.5)
        if label:
            seq[int(torch.randint(0, len(seq), (1,), generator=g))] = 5
        ids.append(seq)
        labels.append(label)
    return EncodedDataset(ids, labels)


TRAIN, VALID = toy_data(200, 0), toy_data(60, 1)
CONFIG = TrainConfig(epochs=6, batch_size=16, lr=0.01, patience=2, progress=False, device="cpu")


def new_model(name="cnn"):
    torch.manual_seed(0)
    model, _ = build_model(name, **options_for(name, dict(vocab_size=30, n_classes=2, embed_dim=8, hidden_dim=8,
                                                          n_filters=8)))
    return model


def weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_learns_and_restores_the_best_epoch():
    model = new_model()
    history = fit(model, TRAIN, VALID, CONFIG, log=lambda s: None)
    best = max(e["valid_accuracy"] for e in history.epochs)
    assert best > 0.9
    assert evaluate(model, VALID).accuracy == pytest.approx(best)
    assert history.epochs[history.best_epoch - 1]["valid_accuracy"] == best


def test_best_weights_are_a_copy_not_a_reference():
    model = new_model()
    saved = snapshot(model)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    assert not same(saved, model.state_dict())


def test_patience_stops_early_and_restores():
    model = new_model("nbow")
    config = TrainConfig(**{**CONFIG.__dict__, "epochs": 30, "patience": 1, "lr": 0.05})
    history = fit(model, TRAIN, VALID, config, log=lambda s: None)
    assert history.stopped_early and len(history.epochs) < 30
    assert len(history.epochs) == history.best_epoch + 1


@pytest.mark.parametrize("name", ["cnn", "lstm"])
def test_same_seed_same_run(name):
    runs = []
    for _ in range(2):
        model = new_model(name)
        history = fit(model, TRAIN, VALID, CONFIG, log=lambda s: None)
        runs.append(([e["valid_accuracy"] for e in history.epochs], weights(model)))
    assert runs[0][0] == runs[1][0] and same(runs[0][1], runs[1][1])


class Flaky(torch.utils.data.Dataset):
    """Wraps a dataset; raises ``error`` on the ``after``-th item access."""

    def __init__(self, data, after, error):
        self.data, self.after, self.error, self.calls = data, after, error, 0
        self.lengths, self.labels, self.fingerprint = data.lengths, data.labels, data.fingerprint

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        self.calls += 1
        if self.calls == self.after:
            raise self.error
        return self.data[i]


@pytest.mark.parametrize("name", ["cnn", "lstm"])
def test_ctrl_c_then_resume_ends_with_the_uninterrupted_weights(tmp_path, name):
    uninterrupted = new_model(name)
    fit(uninterrupted, TRAIN, VALID, CONFIG, log=lambda s: None)

    path = tmp_path / "checkpoint.pt"
    first = new_model(name)
    with pytest.raises(TrainingInterrupted, match="resume with the checkpoint"):
        fit(first, Flaky(TRAIN, after=len(TRAIN) * 2 + 37, error=KeyboardInterrupt()), VALID, CONFIG,
            checkpoint=path, log=lambda s: None)  # Ctrl-C in the middle of epoch 3
    assert torch.load(path, weights_only=True)["epoch"] == 2

    resumed = new_model(name)
    fit(resumed, TRAIN, VALID, CONFIG, checkpoint=path, resume=True, log=lambda s: None)
    assert same(weights(resumed), weights(uninterrupted))


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    path = tmp_path / "checkpoint.pt"
    model = new_model()
    original = model.classify
    calls = {"n": 0}

    def poisoned(embedded, mask):
        calls["n"] += 1
        logits = original(embedded, mask)
        return logits * float("nan") if calls["n"] > 20 else logits  # epoch 2 (13 train batches + 1 valid)

    model.classify = poisoned
    with pytest.raises(TrainingDiverged,
                       match=r"loss became nan at epoch 2, by the end of the epoch; the checkpoint .* is kept"):
        fit(model, TRAIN, VALID, CONFIG, checkpoint=path, log=lambda s: None)
    saved = torch.load(path, weights_only=True)
    assert saved["epoch"] == 1
    assert all(torch.isfinite(v).all() for v in saved["model"].values())


def test_resume_without_or_with_a_bad_checkpoint(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint to resume from"):
        fit(new_model(), TRAIN, VALID, CONFIG, checkpoint=tmp_path / "none.pt", resume=True)
    path = tmp_path / "nbow.pt"
    with pytest.raises(TrainingInterrupted):
        fit(new_model("nbow"), TRAIN, VALID, CONFIG, checkpoint=path, stop_after=1, log=lambda s: None)
    with pytest.raises(ValueError, match="not a checkpoint of this model"):
        fit(new_model("cnn"), TRAIN, VALID, CONFIG, checkpoint=path, resume=True, log=lambda s: None)
    path.write_bytes(path.read_bytes()[:100])  # a truncated file
    with pytest.raises(ValueError, match="not a checkpoint of this model"):
        fit(new_model("nbow"), TRAIN, VALID, CONFIG, checkpoint=path, resume=True, log=lambda s: None)


def test_device_selection_without_code_changes():
    assert pick_device("cpu").type == "cpu"
    expected = "cuda" if torch.cuda.is_available() else None
    assert pick_device("auto").type in {expected, "mps", "cpu"}


@pytest.mark.parametrize("name", ["gru", "cnn", "transformer"])
def test_the_core_loop_alone_ends_with_exactly_fits_weights(name):
    """``textclf.loop.train_loop`` with its plain ``train_step`` (what lesson 2 prints) and the full ``fit``
    (checkpointing, the divergence guard, the scaler, the model's own loss through ``TrainingLoss``) compute the
    same thing on one process in fp32: bit-for-bit the same weights and the same history."""
    from textclf.loop import train_loop

    product = new_model(name)
    history = fit(product, TRAIN, VALID, CONFIG, checkpoint=None, log=lambda s: None)
    core = new_model(name)
    optimizer = torch.optim.Adam(core.parameters(), lr=CONFIG.lr)
    core_history = train_loop(core, TRAIN, VALID, CONFIG, optimizer)
    assert same(weights(core), weights(product))
    drop_time = lambda epochs: [{k: v for k, v in e.items() if k != "seconds"} for e in epochs]  # noqa: E731
    assert drop_time(core_history.epochs) == drop_time(history.epochs)
    assert (core_history.best_epoch, core_history.stopped_early) == (history.best_epoch, history.stopped_early)


def test_the_core_loop_stops_after_patience_epochs_without_improvement():
    """The patience rule: with nothing to learn (lr 0) epoch 1 is the best, and training stops ``patience``
    epochs later with the weights of epoch 1."""
    from textclf.loop import train_loop

    model = new_model("cnn")
    before = weights(model)
    config = TrainConfig(epochs=10, batch_size=16, lr=1e-9, patience=3, progress=False, device="cpu")
    history = train_loop(model, TRAIN, VALID, config, torch.optim.SGD(model.parameters(), lr=0.0))
    assert len(history.epochs) == 1 + config.patience and history.best_epoch == 1 and history.stopped_early
    assert same(weights(model), before)


def test_unwrap_finds_the_model_inside_every_wrapper():
    """fit saves and restores the model itself, whatever the hooks wrapped it in (compile, the loss module)."""
    from textclf.training import TrainingLoss, unwrap

    model = new_model("nbow")
    assert unwrap(model) is model and unwrap(TrainingLoss(model)) is model
    assert unwrap(torch.compile(TrainingLoss(model))) is model  # compiled lazily: nothing is compiled here
    assert unwrap(torch.compile(model)) is model


def test_a_long_epoch_says_where_it_is_where_no_bar_shows(monkeypatch, capsys):
    """In a log or a pipe (no terminal: no bar), a line within the epoch every HEARTBEAT_SECONDS, then the
    epoch's line with a star at the best epoch so far; with progress off, nothing."""
    import dataclasses
    import re

    import textclf.training as training

    monkeypatch.setattr(training, "HEARTBEAT_SECONDS", 0.0)  # every batch is "long enough" here
    monkeypatch.setattr(training, "shows_bars", lambda: False)
    monkeypatch.setattr(training, "shows_lines", lambda: True)
    config = dataclasses.replace(CONFIG, epochs=2, progress=True)
    fit(new_model(), TRAIN, VALID, config, log=lambda s: None)
    lines = capsys.readouterr().out.splitlines()
    batches = -(-len(TRAIN) // config.batch_size)
    beats = [re.fullmatch(r"epoch 1/2: (\d+)/(\d+) batches \(\d+s\)", line) for line in lines]
    assert [(int(b[1]), int(b[2])) for b in beats if b] == [(n, batches) for n in range(1, batches + 1)]
    assert re.search(r"^epoch 1/2: train loss [\d.]+, valid loss [\d.]+, valid accuracy [\d.]+, valid F1 [\d.]+ "
                     r"\([\d.]+s\) \*$", "\n".join(lines), re.M)
    fit(new_model(), TRAIN, VALID, dataclasses.replace(config, progress=False), log=lambda s: None)
    assert capsys.readouterr().out == ""
