import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from textclf.data import DataError
from textclf.text import PAD, UNK, Vocab

token_lists = st.lists(st.lists(st.text(min_size=1, max_size=6), max_size=10), max_size=10)


def test_specials_then_frequency_then_alphabet():
    vocab = Vocab.build([["b", "a", "c", "a"], ["b", "d"]])
    assert vocab.itos == [PAD, UNK, "a", "b", "c", "d"]
    assert (vocab.pad_index, vocab.unk_index) == (0, 1)


def test_min_freq_and_max_size():
    corpus = [["a", "a", "a", "b", "b", "c"]]
    assert Vocab.build(corpus, min_freq=2).itos == [PAD, UNK, "a", "b"]
    assert Vocab.build(corpus, max_size=3).itos == [PAD, UNK, "a"]
    with pytest.raises(ValueError):
        Vocab.build(corpus, min_freq=0)


def test_unknown_words_map_to_unk():
    vocab = Vocab.build([["good", "film"]])
    assert vocab.encode(["good", "terrible"]) == [vocab["good"], vocab.unk_index]
    assert vocab["never-seen"] == vocab.unk_index and "never-seen" not in vocab


@given(token_lists)
def test_encode_decode_round_trip(lists):
    vocab = Vocab.build(lists)
    for tokens in lists:
        assert vocab.decode(vocab.encode(tokens)) == tokens


@given(token_lists, st.integers(1, 3))
def test_save_load_round_trip(tmp_path_factory, lists, min_freq):
    path = tmp_path_factory.mktemp("v") / "vocab.json"
    vocab = Vocab.build(lists, min_freq=min_freq)
    vocab.save(path)
    loaded = Vocab.load(path)
    assert loaded == vocab and loaded.stoi == vocab.stoi


def test_load_bad_json_names_the_line(tmp_path):
    path = tmp_path / "vocab.json"
    path.write_text('{"format": "textclf-vocab",\n "itos": ["<pad>", "<unk>",\n }')
    with pytest.raises(DataError, match=r"vocab\.json, line 3: invalid JSON"):
        Vocab.load(path)


def test_load_wrong_shape_and_missing(tmp_path):
    path = tmp_path / "vocab.json"
    path.write_text(json.dumps(["a", "b"]))
    with pytest.raises(DataError, match="expected a JSON object"):
        Vocab.load(path)
    with pytest.raises(FileNotFoundError, match="no such file"):
        Vocab.load(tmp_path / "missing.json")


def test_interrupted_save_keeps_the_old_file(tmp_path, monkeypatch):
    import textclf.files

    path = tmp_path / "vocab.json"
    Vocab.build([["a"]]).save(path)
    before = path.read_bytes()

    def interrupted(*args):
        raise KeyboardInterrupt  # Ctrl-C after the temporary file is written, before the rename

    monkeypatch.setattr(textclf.files.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        Vocab.build([["b"]]).save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["vocab.json"]
