"""GloVe reader: every source format, the cache, the bad files, the embedding matrix."""

import gzip
import os
import zipfile

import numpy as np
import pytest
import torch

from textclf.data import DataError
from textclf.glove import GloVe, embedding_matrix, load_glove
from textclf.text import Vocab

GLOVE = "the 0.418 0.24968 -0.41242\n, 0.013441 0.23682 -0.16899\nfilm -1 2.5 3e-2\nParis 1 1 1\n"


def write(path, data):
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def check(glove):
    assert glove.words == ["the", ",", "film", "Paris"] and glove.dim == 3
    np.testing.assert_allclose(glove["film"], [-1, 2.5, 0.03], rtol=1e-6)
    assert glove.vectors.dtype == np.float32


def test_txt_gz_zip_and_word2vec_header(tmp_path):
    check(load_glove(write(tmp_path / "g.txt", GLOVE)))
    check(load_glove(write(tmp_path / "g.txt.gz", gzip.compress(GLOVE.encode()))))
    check(load_glove(write(tmp_path / "w2v.txt", "4 3\n" + GLOVE)))
    check(load_glove(write(tmp_path / "crlf.txt", GLOVE.replace("\n", " \r\n"))))
    with zipfile.ZipFile(tmp_path / "glove.6B.zip", "w") as z:
        z.writestr("glove.6B.3d.txt", GLOVE)
        z.writestr("glove.6B.4d.txt", "a 1 2 3 4\n")
    check(load_glove(tmp_path / "glove.6B.zip", dim=3))
    with pytest.raises(DataError, match="pass dim= to choose one; the archive holds: glove.6B.3d.txt, glove.6B.4d.txt"):
        load_glove(tmp_path / "glove.6B.zip")


def test_cache_is_reused_and_refreshed(tmp_path, monkeypatch):
    path = write(tmp_path / "g.txt", GLOVE)
    check(load_glove(path))
    assert (tmp_path / "g.txt.cache.npz").exists()
    import textclf.glove as module

    calls = []
    real = module.parse_glove_text
    monkeypatch.setattr(module, "parse_glove_text", lambda *a: calls.append(1) or real(*a))
    check(load_glove(path))
    assert calls == []  # served from the cache
    write(path, GLOVE + "new 0 0 0\n")
    os.utime(path, ns=(1, 1))
    assert load_glove(path).words[-1] == "new" and calls == [1]
    write(tmp_path / "g.txt.cache.npz", b"damaged")
    assert len(load_glove(path)) == 5  # a damaged cache is rebuilt, not trusted


def test_unwritable_cache_folder_warns_and_still_loads(tmp_path, monkeypatch):
    import textclf.glove as module

    def fail(*a, **k):
        raise PermissionError("read-only")

    monkeypatch.setattr(module, "atomic_write", fail)
    with pytest.warns(UserWarning, match="could not write the GloVe cache"):
        check(load_glove(write(tmp_path / "g.txt", GLOVE)))


@pytest.mark.parametrize("content, expected", [
    ("the 1 2 3\nof 1 2 3\nand 1 2", r"g\.txt, line 3: truncated line .*expected 3 values like line 1, found 2"),
    ("the 1 2 3\nof 1 2\nand 1 2 3\n", r"g\.txt, line 2: mixed dimensions: expected 3 values like line 1, found 2"),
    ("the 1 2 3\nof 1 x 3\n", r"g\.txt, line 2: .*expected numbers"),
    ("<!DOCTYPE html><html><body>Not found</body></html>\n", r"g\.txt, line 1: this is an HTML page"),
    ("the\n", r"g\.txt, line 1: expected 'word v1 v2 ... vD'"),
])
def test_bad_text_files(tmp_path, content, expected):
    with pytest.raises(DataError, match=expected):
        load_glove(write(tmp_path / "g.txt", content), cache=False)


def test_html_page_saved_as_zip(tmp_path):
    page = "<!DOCTYPE html>\n<html><head><title>Stanford NLP</title></head><body>moved</body></html>"
    with pytest.raises(DataError, match=r"glove\.6B\.zip: this is an HTML page saved under a \.zip name"):
        load_glove(write(tmp_path / "glove.6B.zip", page))
    with pytest.raises(DataError, match="not a zip archive"):
        load_glove(write(tmp_path / "cut.zip", b"PK\x03\x04 truncated"))


def test_kumo_layout(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    np.save(tmp_path / "glove_6B_50d_emb.npy", np.arange(6, dtype=np.float32).reshape(2, 3))
    pq.write_table(pa.table({"index": ["the", "film"]}), tmp_path / "glove_6B_index.parquet")
    glove = load_glove(tmp_path)
    assert glove.words == ["the", "film"] and glove["film"].tolist() == [3, 4, 5]


def test_bundled_subset_loads():
    glove = load_glove()
    assert glove.dim == 50 and len(glove) > 30_000
    np.testing.assert_allclose(glove["the"][:3], [0.418, 0.24968, -0.41242], rtol=1e-6)


def test_embedding_matrix_and_coverage():
    glove = GloVe(["the", "film", "paris"], np.arange(9, dtype=np.float32).reshape(3, 3))
    vocab = Vocab(["<pad>", "<unk>", "the", "Paris", "zzz"])
    matrix, coverage = embedding_matrix(vocab, glove, seed=0)
    assert matrix.shape == (5, 3)
    assert torch.equal(matrix[0], torch.zeros(3))  # <pad>
    assert matrix[2].tolist() == [0, 1, 2] and matrix[3].tolist() == [6, 7, 8]
    assert (coverage.found, coverage.lowercase_found, coverage.random_init, coverage.specials) == (1, 1, 1, 2)
    assert coverage.missing_examples == ["zzz"] and coverage.fraction == pytest.approx(2 / 3)
    again, _ = embedding_matrix(vocab, glove, seed=0)
    assert torch.equal(matrix, again)  # seeded random rows


def test_a_glove_cache_whose_vectors_were_changed_is_named_and_parsed_again(tmp_path):
    """The stamp (size, mtime) kept, the cached vectors changed: the digest stored with them catches it."""
    import warnings

    import numpy as np

    from textclf.glove import load_glove

    source = tmp_path / "vectors.txt"
    source.write_text("good 1 2\nbad -1 -2\nfilm 0.5 0.5\n", encoding="utf-8")
    first = load_glove(source)
    cache = tmp_path / "vectors.txt.cache.npz"
    with np.load(cache) as saved:
        arrays = dict(saved)
    arrays["vectors"] = -arrays["vectors"]
    with open(cache, "wb") as f:
        np.savez(f, **arrays)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        again = load_glove(source)
    assert np.array_equal(again.vectors, first.vectors)
    assert any(str(cache) in str(w.message) and "digest" in str(w.message) for w in caught)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the rebuilt cache is read back without a word
        assert np.array_equal(load_glove(source).vectors, first.vectors)
