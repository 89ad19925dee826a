"""Static word vectors distilled from MiniLM: the model2vec recipe (Tulkens & van Dongen, 2024).

The classic models look each word up in a table. GloVe's table was learned from how words co-occur; this one
is read off a sentence encoder — no labelled data, a minute or two of CPU:

1. ``encode_words``: each vocabulary word alone through MiniLM's encoder (``[CLS] pieces [SEP]``), its output
   vectors mean-pooled, as MiniLM embeds a sentence: ``[n_words, 384]``.
2. ``pca``: those vectors centred and projected on their ``dim`` principal directions: ``[n_words, dim]``.
3. ``zipf_weights``: each vector scaled by ``a / (a + p)``, ``p`` the word's probability by Zipf's law from its
   frequency rank (a ``Vocab`` is in frequency order), so that in a mean of vectors the frequent words (the,
   a, of) count less — smooth inverse frequency (Arora et al., 2017).

``minilm_vectors(vocab)`` is the embedding matrix for a vocabulary (padding and ``<unk>``: zeros, the mean
word after centring). Step 1, the slow one, is cached (``textclf.tensor_cache``) under fingerprints of
MiniLM's weights and of the vocabulary: vectors made with other weights are refused and made again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import torch

from textclf.models.bert import BertClassifier
from textclf.models.lora import weights_fingerprint
from textclf.models.minilm import minilm
from textclf.tensor_cache import CacheKind, cache_dir, read_cached, write_cached
from textclf.text.vocab import Vocab
from textclf.text.wordpiece import WordPiece

DIM = 256          # model2vec's default; chosen on validation (docs/results.md, benchmarks/embeddings.py)
SIF = 1e-4         # model2vec's smooth-inverse-frequency coefficient a
KIND = CacheKind("MiniLM word vectors", "vectors", "words", "values")


def encode_words(words: list[str], model: BertClassifier, tokenizer: WordPiece,
                 batch_size: int = 256) -> torch.Tensor:
    """``[len(words), hidden]``: each word, alone, through the encoder, its outputs mean-pooled."""
    order = sorted(range(len(words)), key=lambda i: len(tokenizer(words[i])))  # similar lengths batch together
    vectors = torch.zeros(len(words), model.config.embed_dim)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            ids, mask = tokenizer.batch_encode([words[i] for i in rows], max_len=32)  # [batch, pieces + 2]
            vectors[rows] = model.sentence_embedding(ids, mask).float()  # [batch, hidden]
    return vectors


def pca(vectors: torch.Tensor, dim: int, fit_rows: int | None = None) -> torch.Tensor:
    """``[n, hidden] -> [n, dim]``: centred, then projected on the ``dim`` directions of largest variance
    (of the first ``fit_rows`` vectors when given: new words placed in an older vocabulary's directions)."""
    fitted = vectors[:fit_rows].double()  # [n_fit, hidden]
    mean = fitted.mean(dim=0)  # [hidden]
    _, _, v = torch.linalg.svd(fitted - mean, full_matrices=False)  # v: [hidden, hidden], rows by variance
    return ((vectors.double() - mean) @ v[:dim].T).float()  # [n, dim]


def zipf_weights(n: int, a: float = SIF) -> torch.Tensor:
    """``[n]``: ``a / (a + p(r))`` for ranks r = 1..n, with Zipf's ``p(r) = (1/r) / sum(1/k)``."""
    inverse_rank = 1.0 / torch.arange(1, n + 1, dtype=torch.float64)  # [n]
    p = inverse_rank / inverse_rank.sum()
    return (a / (a + p)).float()


def minilm_fingerprint(model: BertClassifier) -> str:
    """A fingerprint of the weights below the head (the head plays no part in a word's vector)."""
    return weights_fingerprint({k: v for k, v in model.state_dict().items() if not k.startswith("out.")})


def pooled_vectors(vocab: Vocab, words: list[str], folder: Path | None, cache: Path | None,
                   log: Callable[[str], None]) -> torch.Tensor:
    """Step 1 for ``words`` (the vocabulary less its specials), read from the cache when it was made with these
    weights for this vocabulary."""
    model, tokenizer = minilm(folder=folder)
    expected = {"format": "textclf-minilm-word-vectors", "weights": minilm_fingerprint(model),
                "vocabulary": vocab.fingerprint()}
    path = cache or cache_dir() / f"minilm_vectors.{expected['weights']}.{expected['vocabulary']}.safetensors"
    found = read_cached(path, expected, (len(words), model.config.embed_dim), KIND, log)
    if found is not None:
        log(f"MiniLM word vectors: {len(words):,} words read from {path}")
        return found
    start = time.perf_counter()
    vectors = encode_words(words, model, tokenizer)  # [n_words, hidden]
    write_cached(path, vectors, expected, KIND)
    log(f"MiniLM word vectors: {len(words):,} words through MiniLM's encoder in {time.perf_counter() - start:.0f} s, "
        f"cached in {path}")
    return vectors


def minilm_vectors(vocab: Vocab, dim: int = DIM, *, weighted: bool = True, fit_words: int | None = None,
                   folder: Path | None = None, cache: Path | None = None,
                   log: Callable[[str], None] = print) -> torch.Tensor:
    """``[len(vocab), dim]``: every word's MiniLM vector, reduced by PCA and (``weighted``) scaled by its Zipf
    weight (``dim`` at most the number of words); the specials' rows are zeros. ``fit_words``: fit the PCA on
    the first that many words only (a vocabulary extended for a transfer: the new words in the source's
    directions)."""
    specials = {vocab.pad_token, vocab.unk_token}
    rows = [i for i, word in enumerate(vocab.itos) if word not in specials]
    fit = len(rows) if fit_words is None else min(fit_words, len(rows))
    if not 1 <= dim <= 384:
        raise ValueError(f"dim={dim}: PCA of MiniLM's 384-value vectors keeps 1 to 384 directions")
    if dim > fit:  # n words span at most n directions
        log(f"MiniLM word vectors: {dim} dimensions asked for, but PCA of {fit:,} words finds at most {fit}; "
            f"keeping {fit}")
        dim = fit
    pooled = pooled_vectors(vocab, [vocab.itos[i] for i in rows], folder, cache, log)  # [n_words, hidden]
    vectors = pca(pooled, dim, fit)  # [n_words, dim]
    if weighted:
        vectors = vectors * zipf_weights(len(rows))[:, None]  # rank 1 = the most frequent word
    matrix = torch.zeros(len(vocab), dim)  # [vocab, dim]
    matrix[rows] = vectors
    return matrix
