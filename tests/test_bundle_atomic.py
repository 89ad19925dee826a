"""A bundle is written all-or-nothing: a crash between any two writes leaves the old bundle or the new one."""

import os
import stat
import tempfile

import pytest
import torch
from conftest import NEG, POS

import textclf
import textclf.bundle
import textclf.files
from textclf.bundle import Bundle, load_bundle, save_bundle
from textclf.files import atomic_write_text, remove_stale_temporaries
from textclf.models import build_model
from textclf.text import Vocab

VOCAB = Vocab(["<pad>", "<unk>", "good", "bad", "film"])
TEXTS = ["good film", "bad film", "film"]


class Crash(RuntimeError):
    pass


def model(seed):
    torch.manual_seed(seed)
    return build_model("nbow", vocab_size=len(VOCAB), n_classes=2, embed_dim=4)[0]


def save(out, seed, vocab=VOCAB):
    return save_bundle(Bundle.of(model(seed), "nbow", vocab, ["neg", "pos"], max_len=10, metrics={"seed": seed},
                                 files={"job.json": "{}"}), out)


def predictions(out):
    return load_bundle(out).predict(TEXTS)


def leftovers(out):
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}"))


def count_writes(monkeypatch, out):
    calls = []
    real = textclf.bundle.write_file
    monkeypatch.setattr(textclf.bundle, "write_file", lambda path, write: (calls.append(path), real(path, write)))
    save(out, 99)
    monkeypatch.setattr(textclf.bundle, "write_file", real)
    return len(calls)


def test_a_crash_between_any_two_writes_keeps_the_old_bundle(tmp_path, monkeypatch):
    out = tmp_path / "bundle"
    save(out, 1)
    old = predictions(out)
    (out / "notes.txt").write_text("mine")
    n = count_writes(monkeypatch, tmp_path / "scratch")
    assert n == 6  # model, config, vocab, metrics, the model card, job
    for k in range(n + 1):  # crash before write k (k == n: after the last write, before the swap)
        calls = []
        real = textclf.bundle.write_file

        def crashing(path, write, calls=calls, k=k, real=real):
            if len(calls) == k:
                raise Crash(f"injected before write {k}")
            calls.append(path)
            real(path, write)

        monkeypatch.setattr(textclf.bundle, "write_file", crashing)
        if k == n:  # the last write went through; crash as the swap starts
            monkeypatch.setattr(textclf.files, "_swap", lambda new, path: (_ for _ in ()).throw(Crash("swap")))
        with pytest.raises(Crash):
            save(out, 2, Vocab(["<pad>", "<unk>", "film", "good", "bad"]))
        monkeypatch.undo()
        assert predictions(out) == old and (out / "notes.txt").read_text() == "mine"
        assert leftovers(out) == []
    save(out, 2)
    assert predictions(out) != old and (out / "notes.txt").read_text() == "mine"


def test_a_crash_between_the_two_renames_is_recovered_on_the_next_load(tmp_path, monkeypatch):
    out = tmp_path / "bundle"
    save(out, 1)
    old = predictions(out)
    real, renames = os.rename, []

    def rename(src, dst):
        renames.append(dst)
        if len(renames) == 2:
            raise Crash("killed between the renames")
        real(src, dst)

    monkeypatch.setattr(textclf.files.os, "rename", rename)
    with pytest.raises(Crash):
        save(out, 2)
    monkeypatch.undo()
    assert not out.exists() and any(".old-" in name for name in leftovers(out))
    assert predictions(out) == old and leftovers(out) == []


def test_training_files_are_not_carried_over_and_modes_agree(tmp_path):
    out = tmp_path / "bundle"
    out.mkdir()
    (out / "checkpoint.pt").write_bytes(b"stale")
    (out / "report.html").write_text("<p>mine</p>")
    save(out, 1)
    assert not (out / "checkpoint.pt").exists() and (out / "report.html").exists()
    modes = {stat.S_IMODE((out / name).stat().st_mode) for name in
             ("model.safetensors", "config.json", "vocab.json", "metrics.json", "job.json")}
    umask = os.umask(0)
    os.umask(umask)
    assert modes == {0o666 & ~umask}


def test_bundle_onto_a_file_is_a_clear_error(tmp_path):
    (tmp_path / "taken").write_text("x")
    with pytest.raises(FileExistsError, match="taken: exists and is not a folder"):
        save(tmp_path / "taken", 1)
    assert (tmp_path / "taken").read_text() == "x"


def test_stale_temporaries_of_a_killed_checkpoint_write_are_removed(tmp_path):
    stale = tmp_path / ".checkpoint.pt.x1y2.tmp"
    stale.write_bytes(b"half")
    atomic_write_text(tmp_path / "keep.txt", "ok")
    assert remove_stale_temporaries(tmp_path) == [stale]
    assert not stale.exists() and (tmp_path / "keep.txt").read_text() == "ok"


def test_finetune_leaves_no_temporary_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    clf = textclf.TextClassifier("nbow").finetune(POS * 4 + NEG * 4, ["pos"] * 16 + ["neg"] * 16, epochs=1)
    with pytest.raises(ValueError):
        textclf.TextClassifier("nbow").finetune(["a", "b"], ["x", "x"])
    assert [p for p in tmp_path.iterdir() if p.name.startswith("textclf-")] == []  # (torch may cache here)
    clf.save(tmp_path / "saved")
    assert textclf.TextClassifier.load(tmp_path / "saved")("good") == clf("good")


def test_resume_without_a_checkpoint_writes_nothing(tmp_path, tiny_dataset):
    from textclf.pipeline import JobConfig, Runtime, train_job

    with pytest.raises(FileNotFoundError, match="no checkpoint to resume from"):
        train_job(tiny_dataset, JobConfig(model="nbow", embeddings="random"), tmp_path / "run",
                  run=Runtime(resume=True))
    assert not (tmp_path / "run").exists() or list((tmp_path / "run").iterdir()) == []


def test_loading_never_deletes_a_save_in_progress(tmp_path):
    out = tmp_path / "bundle"
    save(out, 1)
    in_progress = tmp_path / ".bundle.new-abc123"  # another process is building the next bundle here
    in_progress.mkdir()
    (in_progress / "model.safetensors").write_bytes(b"half")
    predictions(out)
    assert (in_progress / "model.safetensors").exists()
