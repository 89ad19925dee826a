"""Reliability, second round (issue 23): hostile inputs on the newer surfaces, kept as tests.

No command writes onto the bundle it reads; one rule for texts everywhere; small or mismatched data is refused
with the split or labels named; a bundle replaced under an export is noticed; the vocabulary's order is
checked; dataset folders and archives are read within bounds; grading survives exercise files that exit,
hang, leave threads or patch pytest; the server refuses smuggled bodies; bad torchrun environments are named.
"""

import gzip
import hashlib
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path

import pytest
from conftest import NEG, POS

from textclf.bundle import load_bundle, save_bundle
from textclf.data import DataError, Example, TextDataset, load_dataset

ROOT = Path(__file__).parents[1]


def run(*args, cwd=None, env=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "textclf", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout, env={**os.environ, **(env or {})})


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture
def bundle_dir(tiny_bundles, tmp_path):
    copy = tmp_path / "b"
    shutil.copytree(tiny_bundles("nbow")[0], copy)
    return copy


def reviews_csv(path: Path, n_valid: int = 40) -> Path:
    """A labelled CSV with a split column: 48 train, ``n_valid`` valid and 8 test texts."""
    rows = ["text,label,split"]
    for split, n in (("train", 48), ("valid", n_valid), ("test", 8)):
        rows += [f"\"{(POS if i % 2 else NEG)[i % 4]} {i}\",{'positive' if i % 2 else 'negative'},{split}"
                 for i in range(n)]
    path.write_text("\n".join(rows) + "\n")
    return path


# ---- data lost: no command writes onto its own bundle ------------------------------------------------------

@pytest.mark.parametrize("command,target", [("report", "model.safetensors"), ("report", "config.json"),
                                            ("export", "model.safetensors"), ("export", "vocab.json"),
                                            ("export-pt2", "model.onnx"), ("explain", "metrics.json")])
def test_no_command_writes_onto_the_bundle_it_reads(bundle_dir, tmp_path, command, target):
    before = digests(bundle_dir)
    data = reviews_csv(tmp_path / "r.csv")
    args = {"report": ["report", bundle_dir, "--mistakes", "0", "--no-baseline", "--dataset", data, "--out"],
            "export": ["export", bundle_dir, "--dataset", data, "--out"],
            "export-pt2": ["export", bundle_dir, "--format", "torch-export", "--dataset", data, "--out"],
            "explain": ["explain", bundle_dir, "a fine film", "--html"]}[command]
    result = run(*args, bundle_dir / target)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"is {target} of the bundle this command reads" in result.stderr and "Traceback" not in result.stderr
    assert digests(bundle_dir) == before


def test_a_link_to_a_bundle_file_is_refused_too(bundle_dir, tmp_path):
    before = digests(bundle_dir)
    link = tmp_path / "innocent.onnx"
    link.symlink_to(bundle_dir / "model.safetensors")
    result = run("export", bundle_dir, "--dataset", reviews_csv(tmp_path / "r.csv"), "--out", link)
    assert result.returncode == 2 and "is model.safetensors of the bundle" in result.stderr
    assert digests(bundle_dir) == before and link.is_symlink()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX named pipes")
def test_only_new_paths_or_regular_files_are_written(bundle_dir, tmp_path):
    fifo = tmp_path / "pipe.html"
    os.mkfifo(fifo)
    for out, kind in ((fifo, "a FIFO"), (Path("/dev/null"), "a device")):
        result = run("report", bundle_dir, "--mistakes", "0", "--no-baseline", "--dataset",
                     reviews_csv(tmp_path / "r.csv"), "--out", out)
        assert result.returncode == 2 and f"is {kind}" in result.stderr, result.stderr
    assert fifo.is_fifo() and Path("/dev/null").is_char_device()


def test_the_bundles_own_default_targets_still_work(bundle_dir, tmp_path):
    result = run("export", bundle_dir, "--dataset", reviews_csv(tmp_path / "r.csv"))
    assert result.returncode == 0 and (bundle_dir / "model.onnx").is_file(), result.stderr
    result = run("explain", bundle_dir, "a fine film", "--html", tmp_path / "e.html")
    assert result.returncode == 0 and (tmp_path / "e.html").is_file()


# ---- one rule for texts --------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,problem", [("", "is blank"), ("   \t", "is blank"),
                                          ("fine \ud800 film", "holds a lone surrogate (U+D800)")])
def test_blank_or_invalid_texts_are_refused_everywhere(bundle_dir, text, problem):
    from textclf import TextClassifier
    from textclf.explain import explain
    from textclf.serving import Limits, RequestError, parse_texts

    bundle = load_bundle(bundle_dir)
    problem = re.escape(problem)
    with pytest.raises(ValueError, match=rf"texts\[1\] {problem}"):
        bundle.predict(["good", text])
    with pytest.raises(ValueError, match=rf"texts\[0\] {problem}"):
        explain(bundle, [text])
    clf = TextClassifier.load(bundle_dir)
    with pytest.raises(ValueError, match=problem):
        clf(text)
    with pytest.raises(RequestError, match=rf"texts\[0\] {problem}") as refused:
        parse_texts(json.dumps({"texts": [text]}).encode(), Limits())
    assert refused.value.status == 422
    if "\ud800" not in text:  # a lone surrogate cannot be put on a command line
        cli = run("predict", bundle_dir, "good", text)
        assert cli.returncode == 2 and re.search(problem, cli.stderr) and "Traceback" not in cli.stderr


def test_the_facade_names_what_it_was_given(bundle_dir):
    from textclf import TextClassifier

    with pytest.raises(TypeError, match="expected a list of texts, not an int"):
        TextClassifier.load(bundle_dir)(123)


def test_a_lone_surrogate_in_a_file_is_refused_at_read_time_with_its_line(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "fine", "label": "a"}\n{"text": "bad \\ud800", "label": "b"}\n')
    with pytest.raises(DataError, match=r"d\.jsonl, line 2: the text holds a lone surrogate"):
        load_dataset(path)


# ---- silently wrong ------------------------------------------------------------------------------------------

def test_calibrate_refuses_a_tiny_validation_split_and_leaves_the_bundle(bundle_dir, tmp_path):
    before = digests(bundle_dir)
    result = run("calibrate", bundle_dir, "--dataset", reviews_csv(tmp_path / "r.csv", n_valid=1))
    assert result.returncode == 2 and "the valid split has 1 text(s)" in result.stderr, result.stderr
    assert digests(bundle_dir) == before


def test_a_temperature_never_raises_the_validation_nll():
    import torch

    from textclf.calibration import fit_temperature, nll

    torch.manual_seed(0)
    for _ in range(20):
        logits, targets = torch.randn(40, 3) * 3, torch.randint(0, 3, (40,))
        t = fit_temperature(logits, targets)
        assert nll(logits, targets, t) <= nll(logits, targets) + 1e-6


@pytest.mark.parametrize("command", ["calibrate", "report", "evaluate"])
def test_another_datasets_labels_are_a_clear_error(bundle_dir, command):
    extra = ["--mistakes", "0", "--no-baseline", "--out", bundle_dir.parent / "r.html"] if command == "report" else []
    result = run(command, bundle_dir, "--dataset", "bbc_news", *extra)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "not this model's" in result.stderr or "are not the model's" in result.stderr


def test_export_refuses_when_the_bundle_is_replaced_meanwhile(bundle_dir, tiny_bundles, monkeypatch):
    from textclf.graphs import write as export

    bundle = load_bundle(bundle_dir)
    other = load_bundle(tiny_bundles("cnn")[0])
    original = export.export_onnx

    def export_then_replace(model, path, opset=17):  # a retrain lands while the graph is written
        result = original(model, path, opset)
        save_bundle(other, bundle_dir)
        return result
    monkeypatch.setattr(export, "export_onnx", export_then_replace)
    with pytest.raises(DataError, match="the bundle changed on disk while this command ran"):
        export.export_bundle(bundle, "onnx", ["a fine film", "dull"])
    assert not (bundle_dir / "model.onnx").exists()


def test_labels_that_differ_only_by_case_are_named_in_a_warning():
    examples = [Example(f"text {i}", "Positive" if i % 3 == 0 else "positive" if i % 3 == 1 else "negative")
                for i in range(30)]
    ds = TextDataset("mixed", ["Positive", "negative", "positive"], examples, examples[:6], examples[:6])
    with pytest.warns(UserWarning, match="labels 'Positive' and 'positive' differ only by case"):
        ds.check_trainable()


def test_a_shuffled_vocabulary_is_refused(bundle_dir):
    vocab = json.loads((bundle_dir / "vocab.json").read_text())
    vocab["itos"][2], vocab["itos"][3] = vocab["itos"][3], vocab["itos"][2]
    (bundle_dir / "vocab.json").write_text(json.dumps(vocab))
    with pytest.raises(DataError, match=r"vocab\.json: the tokens are not in the order the weights were trained"):
        load_bundle(bundle_dir)


def imdb_folder(root: Path) -> Path:
    for split in ("train", "test"):
        for polarity in ("pos", "neg"):
            folder = root / "aclImdb" / split / polarity
            folder.mkdir(parents=True)
            (folder / "0_7.txt").write_text(f"a {polarity} review")
    return root / "aclImdb"


def test_a_dataset_folder_does_not_follow_links_out_of_it(tmp_path):
    root = imdb_folder(tmp_path)
    secret = tmp_path / "secret.txt"
    secret.write_text("not a review")
    (root / "train" / "pos" / "1_9.txt").symlink_to(secret)
    with pytest.raises(DataError, match=r"1_9\.txt: is a symbolic link to .*secret\.txt, outside the dataset"):
        load_dataset(root, format="aclimdb")
    (root / "train" / "pos" / "1_9.txt").unlink()
    (root / "train" / "pos" / "2_9.txt").symlink_to(root / "train" / "pos" / "0_7.txt")  # inside: fine
    assert len(load_dataset(root, format="aclimdb").train) >= 1


def test_archive_members_are_read_within_bounds(tmp_path, monkeypatch):
    from textclf.data import readers

    archive = tmp_path / "aclImdb_v1.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, size in (("aclImdb/train/pos/0_9.txt", 10),
                           ("aclImdb/train/neg/0_1.txt", readers.MAX_REVIEW_BYTES + 1)):
            info = tarfile.TarInfo(name)
            info.size = size
            tar.addfile(info, io.BytesIO(b"a" * size))
    with pytest.raises(DataError, match=r"0_1\.txt: decompresses to more than 1,048,576 bytes"):
        load_dataset(archive, format="aclimdb")
    monkeypatch.setattr("textclf.files.MAX_DECOMPRESSED", 5)
    with pytest.raises(DataError, match=r"aclImdb_v1\.tar\.gz: decompresses to more than 5 bytes"):
        readers.read_aclimdb(archive)


def test_a_gzip_of_blank_lines_is_capped_before_parsing(tmp_path, monkeypatch):
    path = tmp_path / "blank.jsonl.gz"
    path.write_bytes(gzip.compress(b"\n" * 3_000_000))
    monkeypatch.setattr("textclf.files.MAX_DECOMPRESSED", 1_000_000)
    with pytest.raises(DataError, match=r"blank\.jsonl\.gz: decompresses to more than 1,000,000 bytes"):
        load_dataset(path)


# ---- tracebacks and unclear messages -------------------------------------------------------------------------

def test_data_report_with_only_a_test_split(tmp_path):
    path = tmp_path / "only_test.csv"
    path.write_text("text,label,split\n" + "\n".join(f"text {i},{'ab'[i % 2]},test" for i in range(10)) + "\n")
    result = run("data", path, "--glove", "none")
    assert result.returncode == 0 and "the training split is empty" in result.stdout, result.stderr


def test_a_symbolic_link_loop_and_a_glove_file_opening_with_a_blank_line(tmp_path):
    from textclf.glove import parse_glove_text

    (tmp_path / "a.csv").symlink_to(tmp_path / "b.csv")
    (tmp_path / "b.csv").symlink_to(tmp_path / "a.csv")
    with pytest.raises(DataError, match="is a symbolic link that cannot be followed"):
        load_dataset(tmp_path / "a.csv")
    assert parse_glove_text(b"\n\nthe 1 2\ncat 3 4\n", "g.txt").vectors.shape == (2, 2)
    with pytest.raises(DataError, match=r"g\.txt, line 3: expected 'word v1"):
        parse_glove_text(b"\n\nthe\n", "g.txt")


def test_report_and_evaluate_name_an_empty_split(bundle_dir):
    from textclf.report import build_report

    bundle = load_bundle(bundle_dir)
    ds = TextDataset("no test", ["negative", "positive"], [Example(POS[0], "positive")], [], [])
    with pytest.raises(ValueError, match="the test split is empty"):
        build_report(bundle, ds, mistakes=0, baseline=False)


@pytest.mark.parametrize("env,message", [({"WORLD_SIZE": "2"}, "WORLD_SIZE=2 but RANK is not set"),
                                         ({"WORLD_SIZE": "abc"}, "environment variable WORLD_SIZE='abc'"),
                                         ({"WORLD_SIZE": "2", "RANK": "5"}, "RANK=5 is not below WORLD_SIZE=2")])
def test_a_bad_distributed_environment_is_named(env, message):
    result = run("train", "--epochs", "1", "--quiet", env={k: v for k, v in env.items()}, timeout=300)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr, result.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_missing_peer_is_a_timeout_not_a_hang():
    env = {"WORLD_SIZE": "2", "RANK": "1", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(free_port()),
           "TEXTCLF_RENDEZVOUS_SECONDS": "3"}
    result = run("train", "--epochs", "1", "--quiet", "--dataset", "rotten_tomatoes", env=env, timeout=120)
    assert result.returncode == 2 and "rank 1 of 2 could not join the others" in result.stderr, result.stderr


# ---- grading that cannot be fooled or hung -------------------------------------------------------------------

STUB = ROOT / "lessons" / "exercises" / "ex01_text_to_tensors.py"


def started() -> str:
    """The stub file with exercise 1.1 begun (a wrong answer): grading runs its tests (an untouched stub is
    "not started" without running anything)."""
    text = STUB.read_text()
    assert 'raise NotImplementedError("Exercise 1.1")' in text
    return text.replace('raise NotImplementedError("Exercise 1.1")', "return list(specials)", 1)


@pytest.mark.parametrize("tail,expected", [
    ("import os\nos._exit(0)\n", "could not grade: the grading process ended (exit status 0) without a report"),
    ("while True:\n    pass\n", "could not grade: still running after"),
    ("import _pytest.reports\n_pytest.reports.TestReport.passed = property(lambda self: True)\n"
     "_pytest.reports.TestReport.outcome = property(lambda self: 'passed', lambda self, value: None)\n",
     "not yet (0/3 tests pass)"),
    ("def broken(:\n", "your file does not import (ex01_text_to_tensors.py line"),
])
def test_grading_survives_hostile_exercise_files(tmp_path, tail, expected):
    file = tmp_path / "ex01_text_to_tensors.py"
    file.write_text(started() + "\n" + tail)
    result = run("check", "1.1", "--file", file, env={"TEXTCLF_CHECK_SECONDS": "20"}, timeout=300)
    assert result.returncode == 1 and expected in result.stdout, result.stdout + result.stderr
    assert "passed" not in result.stdout.replace("tests pass", "")


def test_a_thread_left_running_does_not_hang_grading(tmp_path):
    file = tmp_path / "ex01_text_to_tensors.py"
    file.write_text(started() + "\nimport threading, time\n"
                    "threading.Thread(target=time.sleep, args=(1e6,)).start()\n")
    result = run("check", "1.1", "--file", file, env={"TEXTCLF_CHECK_SECONDS": "20"}, timeout=300)
    assert result.returncode == 1 and "Exercise 1.1: not yet" in result.stdout, result.stdout + result.stderr


# ---- the server ----------------------------------------------------------------------------------------------

@pytest.fixture
def quiet_server(bundle_dir):
    from textclf.serving import make_server

    srv = make_server(load_bundle(bundle_dir), port=0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_two_content_lengths_are_refused(quiet_server):
    body = b'{"texts": ["a fine film"]}'
    request = (b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               + f"Content-Length: {len(body)}\r\nContent-Length: 5\r\n\r\n".encode() + body)
    with socket.create_connection(quiet_server.server_address[:2], timeout=30) as raw:
        raw.sendall(request)
        answer = b""
        while chunk := raw.recv(65536):  # the headers and the body may come in separate reads; it closes after
            answer += chunk
    answer = answer.decode()
    assert answer.startswith("HTTP/1.1 400") and "2 Content-Length headers" in answer


def test_a_dropped_client_is_one_line_in_the_log(quiet_server, capfd):
    for _ in range(3):
        with socket.create_connection(quiet_server.server_address[:2], timeout=30) as raw:
            raw.sendall(b"POST /explain HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{\"texts\": [")
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # reset
    time.sleep(1.0)
    err = capfd.readouterr().err
    assert "Traceback" not in err


def test_export_names_a_bundle_removed_meanwhile(bundle_dir, monkeypatch):
    from textclf.graphs import write as export

    bundle = load_bundle(bundle_dir)
    original = export.export_onnx

    def export_then_remove(model, path, opset=17):
        result = original(model, path, opset)
        shutil.rmtree(bundle_dir)
        return result
    monkeypatch.setattr(export, "export_onnx", export_then_remove)
    with pytest.raises(DataError, match="changed on disk while this command ran .*removed"):
        export.export_bundle(bundle, "onnx", ["a fine film"])


def test_under_torchrun_a_bad_argument_is_printed_once():
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "textclf",
               "train", "--epochs", "0"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert (result.stdout + result.stderr).count("TrainConfig.epochs = 0") == 1, result.stderr
