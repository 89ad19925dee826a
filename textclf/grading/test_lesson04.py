"""Grading tests for lesson 4, checked against textclf.glove on the bundled GloVe vectors."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import torch

from textclf.glove import BUNDLED_GLOVE, GloVe, embedding_matrix, load_glove
from textclf.text import Vocab

# What to look at when an exercise's tests fail (textclf check prints it under "not yet"): a direction,
# never the answer.
HINTS = {
    "4.1": ("Split once at the first space; the rest split on whitespace are the numbers. Check their count "
            "before converting, and say 'expected {dim} values' in the error."),
    "4.2": ("Compute the std once over every GloVe value; try the token, then its lower-case form, else keep the "
            "random row, and count which of the three happened; zero the pad row last."),
    "4.3": ("Normalise every vector to length 1, then one matrix-vector product gives all cosine similarities; "
            "exclude the word itself before taking the top k."),
}



@pytest.fixture(scope="module")
def glove():
    return load_glove()


@pytest.mark.ex4_1
def test_parse_lines_like_textclf(exercise, glove):
    with gzip.open(BUNDLED_GLOVE, "rt", encoding="utf-8") as f:
        lines = [next(f) for _ in range(200)]
    for line in lines:
        word, values = exercise.parse_glove_line(line, 50)
        assert word in glove
        np.testing.assert_allclose(values, glove[word], rtol=1e-6)


@pytest.mark.ex4_1
@pytest.mark.parametrize("line", ["the 0.1 0.2\n", "the 0.1 0.2 0.3 0.4\n", "the\n"])
def test_parse_rejects_wrong_counts(exercise, line):
    with pytest.raises(ValueError, match="expected 3 values"):
        exercise.parse_glove_line(line, 3)


@pytest.mark.ex4_2
def test_matrix_matches_textclf(exercise):
    glove = GloVe(["the", "film", "paris", "good"], np.arange(12, dtype=np.float32).reshape(4, 3) / 7)
    vocab = Vocab(["<pad>", "<unk>", "the", "Paris", "zzz", "good"])
    table = {w: torch.from_numpy(glove[w]) for w in glove.words}
    got, counts = exercise.build_embedding_matrix(vocab.itos, table, pad_index=0, seed=3)
    expected, coverage = embedding_matrix(vocab, glove, seed=3)
    torch.testing.assert_close(got, expected)
    assert counts == {"found": coverage.found, "lowercase_found": coverage.lowercase_found,
                      "random_init": coverage.random_init}


@pytest.mark.ex4_2
def test_matrix_on_real_vocabulary(exercise, glove):
    vocab = Vocab.build([["the", "film", "was", "Wonderful", "qqqzzz"]])
    table = {w: torch.from_numpy(glove[w]) for w in glove.words[:5000] + ["wonderful"]}
    got, counts = exercise.build_embedding_matrix(vocab.itos, table)
    assert got.shape == (len(vocab), 50) and torch.equal(got[0], torch.zeros(50))
    assert counts == {"found": 3, "lowercase_found": 1, "random_init": 1}
    assert torch.equal(got[vocab["Wonderful"]], torch.from_numpy(glove["wonderful"]))


@pytest.mark.ex4_3
@pytest.mark.parametrize("word", ["good", "france", "monday"])
def test_neighbours_match_cosine_reference(exercise, glove, word):
    words = glove.words[:3000]
    vectors = torch.from_numpy(glove.vectors[:3000])
    unit = torch.nn.functional.normalize(vectors, dim=1)
    scores = unit @ unit[words.index(word)]
    expected = [words[i] for i in scores.argsort(descending=True).tolist() if words[i] != word][:5]
    assert exercise.nearest_neighbours(word, words, vectors, k=5) == expected


@pytest.mark.ex4_3
def test_neighbours_leave_the_word_out(exercise):
    vectors = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    assert exercise.nearest_neighbours("a", ["a", "b", "c"], vectors, k=2) == ["b", "c"]
