"""Adversarial inputs for the readers, GloVe and `textclf check`: each ends in one located error (or is read
as documented), never a traceback, a hang or a silently wrong dataset."""

import gzip
import json
import os
import warnings

import numpy as np
import pytest

import textclf.files as data_files
from textclf.data import DataError, load_dataset
from textclf.data.readers import read_aclimdb, read_delimited, read_jsonl
from textclf.errors import ErrorPolicy
from textclf.glove import load_glove


def rows(n, label=lambda i: "pos" if i % 2 else "neg"):
    return [{"text": f"text number {i}", "label": label(i)} for i in range(n)]


def write_jsonl(path, objects):
    path.write_text("".join(json.dumps(o) + "\n" for o in objects))
    return path


# ---- JSON nested too deeply, in both error modes --------------------------------------------------------------

def test_deeply_nested_jsonl_line_is_a_located_error(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", rows(4))
    with open(path, "a") as f:
        f.write("[" * 100_000 + "\n")
    with pytest.raises(DataError, match=r"d\.jsonl, line 5: JSON nested too deeply"):
        read_jsonl(path)
    policy = ErrorPolicy("skip")
    assert len(read_jsonl(path, policy=policy)) == 4
    assert [(p.line, "nested too deeply" in p.message) for p in policy.problems] == [(5, True)]


# ---- columns, folders, long fields ----------------------------------------------------------------------------

def test_text_column_index_beyond_the_row(tmp_path):
    (tmp_path / "a.csv").write_text("pos,good film\nneg,bad film\n")
    with pytest.raises(DataError, match=r"a\.csv, line 1: column index 5 does not exist: the rows have 2 fields"):
        read_delimited(tmp_path / "a.csv", text_column=5, label_column=0, header=False)
    (tmp_path / "h.csv").write_text("label,text\npos,good film\n")
    with pytest.raises(DataError, match=r"h\.csv, line 1: column index 2 does not exist"):
        read_delimited(tmp_path / "h.csv", text_column=2, label_column=0)


def test_a_folder_named_like_a_review_inside_aclimdb_is_ignored(tmp_path):
    for split in ("train", "test"):
        for polarity in ("pos", "neg"):
            folder = tmp_path / "aclImdb" / split / polarity
            folder.mkdir(parents=True)
            (folder / "0_7.txt").write_text(f"a {polarity} review")
    (tmp_path / "aclImdb" / "train" / "pos" / "x_1.txt").mkdir()
    records = read_aclimdb(tmp_path / "aclImdb")
    assert len(records) == 4


def test_csv_fields_longer_than_the_csv_modules_default_limit_load(tmp_path):
    long_text = "word " * 60_000  # 300,000 characters; csv's default field limit is 131,072
    (tmp_path / "long.csv").write_text(f'text,label\n"{long_text}",pos\nshort,neg\n')
    records = read_delimited(tmp_path / "long.csv")
    assert [r.example.text for r in records] == [long_text, "short"]


# ---- resource limits: special files, decompression bombs -----------------------------------------------------

def test_gzip_bomb_is_refused_not_expanded(tmp_path, monkeypatch):
    path = tmp_path / "bomb.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"text": "' + b"a" * 5_000_000 + b'", "label": "x"}\n'))
    monkeypatch.setattr(data_files, "MAX_DECOMPRESSED", 1_000_000)
    with pytest.raises(DataError, match=r"bomb\.jsonl\.gz: decompresses to more than 1,000,000 bytes"):
        load_dataset(path)


@pytest.mark.parametrize("damage", ["not gzip", "truncated"])
def test_damaged_gzip_dataset(tmp_path, damage):
    raw = gzip.compress(b"".join(json.dumps(o).encode() + b"\n" for o in rows(200)))
    path = tmp_path / "d.jsonl.gz"
    path.write_bytes(b"plain text, not gzip" if damage == "not gzip" else raw[: len(raw) // 2])
    with pytest.raises(DataError, match=r"d\.jsonl\.gz: not a valid gzip file"):
        load_dataset(path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX named pipes")
def test_fifo_and_devices_are_refused_without_reading(tmp_path):
    fifo = tmp_path / "data.jsonl"
    os.mkfifo(fifo)  # reading it would block forever
    with pytest.raises(DataError, match=r"data\.jsonl: is a FIFO \(named pipe\); expected a regular"):
        load_dataset(fifo)
    with pytest.raises(DataError, match=r"/dev/zero: is a device; expected a regular"):
        load_dataset("/dev/zero", format="jsonl")
    with pytest.raises(DataError, match="is a FIFO"):
        load_glove(fifo)


# ---- labels that cannot be classes ---------------------------------------------------------------------------

def test_one_number_spelt_two_ways_is_refused(tmp_path):
    path = write_jsonl(tmp_path / "n.jsonl", [{"text": "a", "label": 1}, {"text": "b", "label": 0},
                                              {"text": "c", "label": 1.0}])
    with pytest.raises(DataError, match=r"n\.jsonl, line 3: label '1\.0' is the number '1' \(line 1\) spelt"):
        load_dataset(path)
    (tmp_path / "n.csv").write_text("text,label\na,1\nb,0\nc,1.0\n")
    with pytest.raises(DataError, match=r"n\.csv, line 4: label '1\.0'"):
        load_dataset(tmp_path / "n.csv")


@pytest.mark.parametrize("label,kind", [(["pos"], "list"), ({"y": "pos"}, "object"), (True, "boolean")])
def test_json_labels_that_are_not_strings_or_numbers(tmp_path, label, kind):
    path = write_jsonl(tmp_path / "l.jsonl", [{"text": "fine", "label": "neg"}, {"text": "x", "label": label}])
    with pytest.raises(DataError, match=rf"l\.jsonl, line 2: expected a label .*found a JSON {kind}"):
        load_dataset(path)


def test_text_that_is_not_a_string(tmp_path):
    path = write_jsonl(tmp_path / "t.jsonl", [{"text": ["a", "list"], "label": "neg"}])
    with pytest.raises(DataError, match=r"t\.jsonl, line 1: empty text; expected a non-empty text string, "
                                        r"found a JSON list"):
        load_dataset(path)


def test_data_that_cannot_train_a_classifier(tmp_path):
    one_class = load_dataset(write_jsonl(tmp_path / "one.jsonl", rows(30, label=lambda i: "positive")))
    with pytest.raises(DataError, match=r"one\.jsonl: the training split has 1 class\(es\) \('positive'\)"):
        one_class.check_trainable()
    for n in (1, 2):
        tiny = load_dataset(write_jsonl(tmp_path / f"t{n}.jsonl", rows(n)))
        with pytest.raises(DataError, match=rf"t{n}\.jsonl: the training split has|split is empty"):
            tiny.check_trainable()
    few = load_dataset(write_jsonl(tmp_path / "few.jsonl", rows(6)))
    with pytest.raises(DataError, match=r"few\.jsonl: the valid and test split is empty \(train 6, valid 0"):
        few.check_trainable()
    load_dataset(write_jsonl(tmp_path / "ok.jsonl", rows(40))).check_trainable()


# ---- GloVe files -----------------------------------------------------------------------------------------------

def glove_file(tmp_path, text: str | bytes, name="g.txt"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_glove_non_finite_values_name_the_line(tmp_path, value):
    path = glove_file(tmp_path, f"the 0.1 0.2\ncat 0.3 {value}\ndog 0.5 0.6\n")
    with pytest.raises(DataError, match=r"g\.txt, line 2: NaN or infinite value"):
        load_glove(path, cache=False)


def test_glove_duplicate_words_keep_their_first_vector(tmp_path):
    path = glove_file(tmp_path, "the 0.1 0.2\ncat 0.3 0.4\nthe 9 9\n")
    with pytest.warns(UserWarning, match="1 word\\(s\\) listed more than once"):
        glove = load_glove(path, cache=False)
    assert glove.duplicates == 1 and np.allclose(glove["the"], [0.1, 0.2])


@pytest.mark.parametrize("page", [b"\xef\xbb\xbf<!DOCTYPE html><html>", b"<!-- saved page -->\n<html><body>",
                                  b"\n  <html lang=en>"])
def test_glove_html_pages_are_named(tmp_path, page):
    path = glove_file(tmp_path, page + b"<p>Not found</p></body></html>\n", "glove.6B.50d.txt")
    with pytest.raises(DataError, match=r"glove\.6B\.50d\.txt, line 1: this is an HTML page"):
        load_glove(path, cache=False)


def test_glove_tab_separated_and_bom_files_are_read(tmp_path):
    path = glove_file(tmp_path, b"\xef\xbb\xbfthe\t0.1\t0.2\ncat\t0.3\t0.4\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        glove = load_glove(path, cache=False)
    assert glove.words == ["the", "cat"] and np.allclose(glove["cat"], [0.3, 0.4])


@pytest.mark.parametrize("damage", ["not gzip", "truncated"])
def test_glove_damaged_gzip(tmp_path, damage):
    raw = gzip.compress("".join(f"w{i} {i}.5 {i}.25\n" for i in range(2000)).encode())
    path = glove_file(tmp_path, b"w 0.1 0.2\n" if damage == "not gzip" else raw[: len(raw) // 2], "g.txt.gz")
    with pytest.raises(DataError, match=r"g\.txt\.gz: not a valid gzip file"):
        load_glove(path, cache=False)


# ---- command-line arguments: checked where they enter, exit code 2, one line ---------------------------------

def run_main(capsys, *args) -> tuple[int, str]:
    from textclf.cli import main

    try:
        code = main(list(args))
    except SystemExit as exit_:  # argparse's usage errors
        code = exit_.code
    err = capsys.readouterr().err
    return code, err


@pytest.mark.parametrize("args,message", [
    (["explain", "b", "x", "--steps", "100000000"], "argument --steps: expected a whole number from 1 to 10,000"),
    (["explain", "b", "x", "--split", "test", "--limit", "-1"], "argument --limit: expected a whole number"),
    (["tokenize", "--max-len", "0", "hi"], "argument --max-len: expected a whole number from 2"),
    (["data", "--batch-size", "0"], "argument --batch-size: expected a whole number from 1"),
    (["data", "--labels", ""], "--labels '': expected distinct, non-empty label names"),
    (["data", "rotten_tomatoes", "--text-column", "9"], "text_column given, but rotten_tomatoes is a bundled"),
    (["train", "--epochs", "0"], "TrainConfig.epochs = 0: expected a whole number from 1"),
    (["train", "--grad-clip", "-1"], "TrainConfig.grad_clip = -1.0: expected a finite number > 0"),
    (["train", "--dropout", "nan"], "dropout = nan: expected a finite number in [0, 1)"),
    (["train", "--device", "bogus"], "TrainConfig.device = 'bogus': expected auto, cpu, cuda"),
    (["train", "--patience", "0"], "TrainConfig.patience = 0: expected a whole number from 1"),
    (["train", "--layer-lr-decay", "-1"], "JobConfig.layer_lr_decay = -1.0: expected a finite number in (0, 1]"),
    (["train", "--max-len", "0"], "JobConfig.max_len = 0: expected a whole number from 1"),
    (["train", "--warmup", "-1"], "TrainConfig.warmup = -1.0: expected a finite number in [0, 1)"),
    (["train", "--model", "cnn", "--n-filters", "0"], "n_filters = 0: expected a whole number"),
    (["train", "--model", "transformer", "--model-dim", "0"], "model_dim = 0: expected a whole number"),
    (["train", "--lr", "inf"], "TrainConfig.lr = inf: expected a finite number in (0, 10]"),
    (["check", "1.99"], "lesson 1 has no exercise 1.99; its exercises are 1.1"),
])
def test_bad_arguments_exit_2_with_one_line(capsys, args, message):
    code, err = run_main(capsys, *args)
    assert code == 2 and message in err and "Traceback" not in err, err


def test_split_column_values(tmp_path):
    lines = ["text,label,split"] + [f"t{i},{'ab'[i % 2]},{['train', 'dev', 'Test', 'validation'][i % 4]}"
                                    for i in range(16)]
    (tmp_path / "s.csv").write_text("\n".join(lines) + "\n")
    ds = load_dataset(tmp_path / "s.csv")
    assert (len(ds.train), len(ds.valid), len(ds.test)) == (4, 8, 4)
    (tmp_path / "bad.csv").write_text("\n".join(lines + ["t99,a,holdout"]) + "\n")
    with pytest.raises(DataError, match=r"bad\.csv, line 18: unknown split 'holdout'; expected train, valid"):
        load_dataset(tmp_path / "bad.csv")


def test_a_label_without_training_examples(tmp_path):
    objects = [{"text": f"t{i}", "label": "ab"[i % 2], "split": "train"} for i in range(8)]
    objects += [{"text": "v", "label": "a", "split": "valid"}, {"text": "w", "label": "c", "split": "test"}]
    ds = load_dataset(write_jsonl(tmp_path / "c.jsonl", objects))
    with pytest.raises(DataError, match=r"c\.jsonl: label 'c' has no training examples \(valid 0, test 1\)"):
        ds.check_trainable()


@pytest.mark.parametrize("texts,labels,message", [
    (["a", "b"], [1, 1.0], r"labels\[0\] = 1: expected a non-empty string"),
    (["a", None], ["x", "y"], r"texts\[1\] is None; expected a string"),
    (["a", "  "], ["x", "y"], r"texts\[1\] is blank; expected some text"),
    ("one text", ["x"], "must be lists"),
    (["a", "b", "c"], ["x", "y"], "3 texts but 2 labels"),
    (["a", "b"], ["x", "x"], "at least two different labels"),
])
def test_the_python_api_refuses_bad_lists(texts, labels, message):
    from textclf import TextClassifier

    with pytest.raises(ValueError, match=message):
        TextClassifier("nbow").finetune(texts, labels, epochs=1)


def test_predict_refuses_what_is_not_a_list_of_strings(tiny_bundles):
    from textclf.bundle import load_bundle

    bundle = load_bundle(tiny_bundles("cnn")[0])
    with pytest.raises(TypeError, match="a list of texts"):
        bundle.predict("one text")
    with pytest.raises(TypeError, match=r"texts\[1\] is an int; expected a string"):
        bundle.predict(["fine", 3])


def test_a_misspelt_model_option_fails_when_the_facade_is_made():
    from textclf import TextClassifier
    from textclf.config import ConfigError

    with pytest.raises(ConfigError, match=r"model 'cnn': unknown option\(s\) 'n_filter'"):
        TextClassifier("cnn", n_filter=200)
