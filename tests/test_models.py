"""Models: padding invariance, short texts, batch of one, packing against nn.utils.rnn, GloVe init."""

import pytest
import torch
from conftest import options_for
from torch.nn.utils.rnn import pack_padded_sequence

from textclf.models import build_model
from textclf.models.cnn import max_over_time

NAMES = ["nbow", "lstm", "gru", "cnn", "transformer"]
SMALL = dict(vocab_size=40, n_classes=3, embed_dim=8, hidden_dim=6, n_filters=5, model_dim=8, n_heads=2, ff_dim=16)


def model(name, **extra):
    torch.manual_seed(0)
    m, _ = build_model(name, **options_for(name, {**SMALL, **extra}))
    return m.eval()


def padded(texts, width):
    ids = torch.zeros(len(texts), width, dtype=torch.long)
    for i, t in enumerate(texts):
        ids[i, : len(t)] = torch.tensor(t)
    return ids, ids != 0


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("extra", [{}, {"num_layers": 2}, {"kernel_sizes": [2, 7]}])
def test_logits_do_not_depend_on_padding(name, extra):
    m = model(name, **extra)
    texts = [[3, 4, 5, 6, 7, 8], [9, 10], [11]]
    tight = m(*padded(texts, 6))
    loose = m(*padded(texts, 15))
    alone = torch.cat([m(*padded([t], len(t))) for t in texts])
    torch.testing.assert_close(tight, loose, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(tight, alone, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_batch_of_one_and_text_shorter_than_widest_kernel(name):
    m = model(name, kernel_sizes=[3, 4, 5])
    logits = m(*padded([[5, 6]], 2))  # 2 tokens < widest kernel 5
    assert logits.shape == (1, 3) and torch.isfinite(logits).all()


def test_rnn_final_states_match_an_unpadded_run():
    m = model("lstm")
    texts = [[3, 4, 5, 6], [7, 8]]
    ids, mask = padded(texts, 4)
    emb = m.embedding(ids)
    packed = pack_padded_sequence(emb, mask.sum(1), batch_first=True, enforce_sorted=False)
    _, (h, _) = m.rnn(packed)
    for row, text in enumerate(texts):  # reference: each text alone, no padding at all
        _, (h_alone, _) = m.rnn(m.embedding(torch.tensor([text])))
        torch.testing.assert_close(h[:, row], h_alone[:, 0])


def test_max_over_time_ignores_windows_in_padding():
    features = torch.tensor([[[1.0, 5.0, 9.0]], [[2.0, 7.0, 8.0]]])  # [batch 2, filters 1, windows 3]
    pooled = max_over_time(features, torch.tensor([4, 2]), kernel_size=2)
    assert pooled.tolist() == [[9.0], [2.0]]  # length 4 -> 3 windows; length 2 -> 1 window


def test_pretrained_embeddings_frozen_or_trainable():
    vectors = torch.randn(40, 8)
    frozen = model("cnn", freeze_embeddings=True)
    frozen, _ = build_model("cnn", vectors, **options_for("cnn", SMALL), freeze_embeddings=True)
    assert torch.equal(frozen.embedding.weight[1:], vectors[1:]) and not frozen.embedding.weight.requires_grad
    assert torch.equal(frozen.embedding.weight[0], torch.zeros(8))  # pad row
    trainable, _ = build_model("nbow", vectors, **options_for("nbow", SMALL))
    assert trainable.embedding.weight.requires_grad
    with pytest.raises(ValueError, match="expected"):
        build_model("nbow", torch.randn(5, 8), **options_for("nbow", SMALL))
    with pytest.raises(ValueError, match="unknown model"):
        build_model("bert", **SMALL)


def test_wide_deep_halves_learn_on_their_own_losses_and_padding_has_no_ngrams():
    import torch.nn.functional as F

    from textclf.finetune import transfer

    torch.manual_seed(0)
    model = build_model("gru+ngrams", **options_for("gru+ngrams", SMALL))[0].eval()  # no dropout: passes agree
    ids = torch.tensor([[5, 6, 7, 0], [8, 9, 0, 0]])
    mask = ids != 0
    embedded = model.embedding(ids)  # [2, 4, embed_dim + n_classes]
    assert embedded.shape == (2, 4, SMALL["embed_dim"] + SMALL["n_classes"])
    with torch.no_grad():
        model.embedding.unigrams.weight.normal_()
        model.embedding.bigrams.weight.normal_()
    wide_cols = model.embedding(ids)[..., SMALL["embed_dim"]:]
    assert torch.equal(wide_cols[~mask], torch.zeros_like(wide_cols[~mask]))  # padding: no n-gram scores
    deep, wide = model.halves(model.embedding(ids), mask)
    labels = torch.tensor([0, 2])
    assert model.loss(ids, mask, labels).trained.item() == pytest.approx(
        (F.cross_entropy(deep, labels) + F.cross_entropy(wide, labels)).item())
    torch.testing.assert_close(model(ids, mask), deep.log_softmax(-1) + wide.log_softmax(-1))
    longer = torch.cat([ids, torch.zeros(2, 3, dtype=torch.long)], dim=1)  # more padding changes nothing
    torch.testing.assert_close(model(longer, longer != 0), model(ids, mask))
    with pytest.raises(ValueError, match="cannot be a transfer source"):
        transfer(model, 2)
