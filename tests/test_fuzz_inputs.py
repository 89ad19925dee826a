"""Hypothesis: any bytes given to a reader, any JSON value in a bundle's config, end in records or in a
``DataError`` naming the file: never another exception (a traceback for the learner)."""

import json
import shutil
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from textclf.bundle import load_bundle
from textclf.data import DataError, load_dataset
from textclf.data.readers import read_delimited, read_jsonl
from textclf.errors import ErrorPolicy
from textclf.glove import parse_glove_text
from textclf.text import Vocab

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# bytes that look a little like the formats: delimiters, quotes, brackets, digits, odd bytes
ALPHABET = st.sampled_from([b"a", b"b", b" ", b",", b"\t", b'"', b"\n", b"\r", b"{", b"}", b"[", b"]", b":",
                            b"1", b".", b"-", b"\x00", b"\xff", b"\xef\xbb\xbf", b"nan", b'"text"', b'"label"'])
MESSY = st.lists(ALPHABET, max_size=60).map(b"".join)


@FAST
@given(raw=MESSY, skip=st.booleans(), header=st.booleans())
def test_any_csv_bytes_read_or_fail_located(tmp_path, raw, skip, header):
    path = tmp_path / "f.csv"
    path.write_bytes(raw)
    try:
        read_delimited(path, text_column="text" if header else 0, label_column="label" if header else 1,
                       header=header, policy=ErrorPolicy("skip" if skip else "raise"))
    except DataError as err:
        assert str(path) in str(err)


@FAST
@given(raw=MESSY, skip=st.booleans())
def test_any_jsonl_bytes_read_or_fail_located(tmp_path, raw, skip):
    path = tmp_path / "f.jsonl"
    path.write_bytes(raw)
    try:
        read_jsonl(path, policy=ErrorPolicy("skip" if skip else "raise"))
    except DataError as err:
        assert str(path) in str(err)


JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                       max_size=3), max_leaves=8)


@FAST
@given(objects=st.lists(st.dictionaries(st.sampled_from(["text", "label", "split"]), JSON_VALUES), max_size=8))
def test_any_jsonl_objects_load_or_fail_located(tmp_path, objects):
    path = tmp_path / "o.jsonl"
    path.write_text("".join(json.dumps(o) + "\n" for o in objects))
    try:
        ds = load_dataset(path)
        ds.check_trainable()
    except DataError as err:
        assert str(path) in str(err) or ds.where() in str(err)


@FAST
@given(raw=MESSY)
def test_any_glove_bytes_parse_or_fail_located(raw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            parse_glove_text(raw, "g.txt")
        except DataError as err:
            assert "g.txt" in str(err)


@FAST
@given(value=JSON_VALUES)
def test_any_vocab_json_loads_or_fails_located(tmp_path, value):
    path = tmp_path / "vocab.json"
    path.write_text(json.dumps({"format": "textclf-vocab", "itos": value}))
    try:
        Vocab.load(path)
    except DataError as err:
        assert str(path) in str(err)


@pytest.fixture(scope="module")
def good_bundle(tiny_bundles):
    return tiny_bundles("cnn")[0]


@FAST
@given(key=st.sampled_from(["model", "model_config", "labels", "tokenizer", "max_len", "format"]),
       inner=st.sampled_from([None, "vocab_size", "n_classes", "embed_dim", "pad_index", "dropout", "n_filters",
                              "kernel_sizes", "freeze_embeddings"]),
       value=JSON_VALUES)
def test_any_config_value_loads_or_fails_located(good_bundle, tmp_path_factory, key, inner, value):
    bundle = tmp_path_factory.mktemp("fuzz") / "b"
    shutil.copytree(good_bundle, bundle)
    config = json.loads((bundle / "config.json").read_text())
    if key == "model_config" and inner is not None:
        config["model_config"][inner] = value
    else:
        config[key] = value
    (bundle / "config.json").write_text(json.dumps(config))
    try:
        load_bundle(bundle)
    except DataError as err:
        assert str(bundle) in str(err)
