"""Lesson 12's machinery: every attribution method on every family, faithfulness metrics against known answers,
the randomisation check, and `textclf explain --method/--compare`."""

import subprocess
import sys

import pytest
import torch
from conftest import networks, options_for
from hypothesis import given, settings
from hypothesis import strategies as st

import textclf.explain.methods as methods_module
from textclf.batching import Collator
from textclf.bundle import load_bundle
from textclf.explain import (
    METHODS,
    Case,
    ExplainSettings,
    attribute,
    compare,
    comparison_figure,
    explain,
    faithfulness,
    random_ranking,
    randomised,
    rank_correlation,
    ranking,
    removed_count,
)
from textclf.explain.attention import rolled_out
from textclf.explain.integrated_gradients import baseline_embeddings, model_output
from textclf.explain.perturb import fixed_positions
from textclf.models import build_model

FAMILIES = networks()
ATTENTION = {"transformer", "minilm"}


def random_model(name, n_classes=3, **extra):
    torch.manual_seed(1)
    model, _ = build_model(name, **options_for(name, dict(vocab_size=40, n_classes=n_classes, embed_dim=12,
                                                          hidden_dim=8, n_filters=4, model_dim=12, n_heads=2,
                                                          ff_dim=16, num_layers=2, **extra)))
    return model.eval()


def batch(lengths=(7, 1, 11), seed=0):
    generator = torch.Generator().manual_seed(seed)
    return Collator(0)([(torch.randint(2, 40, (n,), generator=generator), 0) for n in lengths])


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize("method", list(METHODS))
def test_every_method_gives_one_finite_score_per_token(name, method):
    model, b = random_model(name), batch()
    options = {"samples": 8} if method in ("shapley", "lime", "kernelshap") else {}
    if method in ("attention", "rollout") and name not in ATTENTION:
        with pytest.raises(ValueError, match="has no attention layers"):
            attribute(model, b.ids, b.mask, ExplainSettings.of(method), unk_index=1)
        return
    result = attribute(model, b.ids, b.mask, ExplainSettings.of(method, **options), unk_index=1)
    assert result.tokens.shape == b.ids.shape and torch.isfinite(result.tokens).all()
    assert (result.tokens[~b.mask] == 0).all()  # padding is never a word
    assert result.tokens[b.mask].abs().sum() > 0  # and the words got scores


@pytest.mark.parametrize("name", ["nbow", "cnn", "gru+ngrams", "transformer"])
@pytest.mark.parametrize("mode", ["replace", "delete"])
def test_occlusion_of_a_one_word_text_is_the_drop_in_probability(name, mode):
    model = random_model(name)
    ids, mask = torch.tensor([[7]]), torch.tensor([[True]])
    result = attribute(model, ids, mask, ExplainSettings.of("occlusion", mode=mode), targets=torch.tensor([2]))
    probability = lambda i: float(model(torch.tensor([[i]]), mask).detach().softmax(-1)[0, 2])  # noqa: E731
    assert float(result.tokens[0, 0]) == pytest.approx(probability(7) - probability(0), abs=1e-6)  # 0 = <pad>


def test_occlusion_by_deletion_matches_deleting_by_hand():
    model, b = random_model("gru"), batch((5,))
    result = attribute(model, b.ids, b.mask, ExplainSettings.of("occlusion", mode="delete"))
    f = lambda ids: float(model(ids.view(1, -1), torch.ones(1, len(ids), dtype=torch.bool)).softmax(-1)[0, t])  # noqa
    t = int(result.targets[0])
    ids = b.ids[0]
    expected = [f(ids) - f(torch.cat([ids[:j], ids[j + 1 :]])) for j in range(5)]
    torch.testing.assert_close(result.tokens[0], torch.tensor(expected, dtype=torch.float64), atol=1e-6, rtol=0)


@pytest.mark.parametrize("method", ["ig", "shapley", "kernelshap"])
def test_complete_methods_add_up_to_the_change_in_output(method):
    model, b = random_model("gru+ngrams"), batch()
    options = {"steps": 300} if method == "ig" else {"samples": 30}
    result = attribute(model, b.ids, b.mask, ExplainSettings.of(method, **options), unk_index=1)
    assert METHODS[method].complete and result.delta.abs().max() < 2e-3


def test_gradient_times_input_against_autograd():
    model, b = random_model("cnn"), batch()
    result = attribute(model, b.ids, b.mask, ExplainSettings.of("gradxinput"))
    inputs = model.embedding(b.ids).detach().requires_grad_(True)
    reference = baseline_embeddings(model, b.ids, b.mask, "pad").detach()
    model_output(model, inputs, b.mask, result.targets).sum().backward()
    expected = ((inputs - reference) * inputs.grad).sum(-1).double() * b.mask  # [batch, seq_len]
    torch.testing.assert_close(result.tokens, expected, atol=1e-6, rtol=1e-5)


def test_bert_attention_weights_are_the_fused_kernels():
    model = random_model("minilm")
    layer, x = model.layers[0], torch.randn(2, 6, 12)
    mask = torch.tensor([[True] * 6, [True] * 4 + [False] * 2])
    weights = layer.attention_weights(x, mask)  # [2, heads, 6, 6]
    v = layer.value(x).view(2, 6, layer.n_heads, -1).transpose(1, 2)
    q, k = (f(x).view(2, 6, layer.n_heads, -1).transpose(1, 2) for f in (layer.query, layer.key))
    fused = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, None, :])
    torch.testing.assert_close(weights @ v, fused, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("pooling", ["mean", "cls"])
def test_attention_reads_the_last_layer_the_way_the_model_pools(pooling):
    model, b = random_model("transformer", pooling=pooling), batch()
    plain = attribute(model, b.ids, b.mask, ExplainSettings.of("attention"))
    model(b.ids, b.mask)
    last = model.blocks[-1].attention.last_weights.mean(dim=1)  # [batch, P, P]
    if pooling == "cls":
        expected = last[:, 0, 1:]  # the [CLS] row, over the text's tokens
    else:
        expected = (last * b.mask[:, :, None]).sum(1) / b.mask.sum(1, keepdim=True)  # mean of the real rows
    torch.testing.assert_close(plain.tokens, expected.double() * b.mask, atol=1e-6, rtol=1e-5)
    assert torch.allclose(plain.tokens.sum(-1), torch.ones(3, dtype=torch.float64), atol=1e-5) or pooling == "cls"


def test_rollout_of_one_layer_is_half_attention_half_identity():
    a = torch.rand(2, 4, 4).softmax(-1)
    torch.testing.assert_close(rolled_out([a]), 0.5 * a + 0.5 * torch.eye(4))
    two = rolled_out([a, a.flip(0)])
    torch.testing.assert_close(two.sum(-1), torch.ones(2, 4))  # rows stay distributions


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(-3, 3), st.integers(-3, 3)), min_size=3, max_size=30))
def test_rank_correlation_matches_scipy(pairs):
    from scipy.stats import spearmanr

    a, b = zip(*pairs)
    ours, theirs = rank_correlation(a, b), spearmanr(a, b).statistic
    assert (ours != ours and theirs != theirs) or ours == pytest.approx(theirs, abs=1e-9)


@given(st.integers(0, 500), st.floats(0, 1))
def test_removed_count(n, share):
    k = removed_count(n, share)
    assert 0 <= k <= n and (k >= 1 or share == 0 or n == 0) and k >= share * n - 1e-6


def test_ranking_keeps_the_frame_and_breaks_ties_at_random():
    tokens = ["[CLS]", "a", "b", "c", "[SEP]"]
    fixed = fixed_positions(tokens, framed=True)
    assert fixed == [True, False, False, False, True] and fixed_positions(tokens, framed=False) == [False] * 5
    scores = [9.0, 1.0, 1.0, 3.0, 9.0]
    orders = {tuple(ranking(scores, fixed, torch.Generator().manual_seed(s))) for s in range(20)}
    assert orders == {(3, 1, 2), (3, 2, 1)}  # the frame never; the tie both ways
    assert sorted(random_ranking(fixed, torch.Generator().manual_seed(0))) == [1, 2, 3]


def linear_model(word_scores):
    """A bag of words whose positive logit is the mean of the words' scores (negative: minus it): the exact word
    ranking is known — the words' own scores."""
    model, _ = build_model("nbow", vocab_size=len(word_scores), n_classes=2, embed_dim=1, dropout=0.0)
    with torch.no_grad():
        model.embedding.weight.copy_(torch.tensor(word_scores).view(-1, 1))
        model.out.weight.copy_(torch.tensor([[-1.0], [1.0]]))
        model.out.bias.zero_()
    return model.eval()


def test_the_exact_top_words_of_a_linear_model_beat_a_random_ranking():
    generator = torch.Generator().manual_seed(0)
    word_scores = [0.0, *(torch.randn(59, generator=generator) * 2).tolist()]  # id 0 is <pad>
    model = linear_model(word_scores)
    cases = [Case(torch.randint(1, 60, (n,), generator=generator), [False] * n, 1) for n in range(3, 40, 2)]
    exact = [sorted(range(len(c.ids)), key=lambda i: -word_scores[c.ids[i]]) for c in cases]
    scored = faithfulness(model, cases, exact, pad_index=0)
    floor = faithfulness(model, cases, [random_ranking(c.fixed, generator) for c in cases], pad_index=0)
    assert (scored.comprehensiveness >= floor.comprehensiveness - 1e-12).all()  # per text and k
    assert (scored.sufficiency <= floor.sufficiency + 1e-12).all()
    assert scored.deletion_auc < floor.deletion_auc and scored.insertion_auc > floor.insertion_auc
    # and occlusion, reading only the model's answers, finds that ranking's top word
    b = Collator(0)([(c.ids, 0) for c in cases])
    occluded = attribute(model, b.ids, b.mask, ExplainSettings.of("occlusion", mode="delete"),
                         targets=torch.ones(len(cases), dtype=torch.long))
    for row, (case, order) in enumerate(zip(cases, exact)):
        top = int(occluded.tokens[row, : len(case.ids)].argmax())
        assert word_scores[case.ids[top]] == word_scores[case.ids[order[0]]]


def test_faithfulness_by_hand():
    model = linear_model([0.0, 1.0, -1.0, 3.0])
    case = Case(torch.tensor([1, 2, 3]), [False] * 3, 1)
    result = faithfulness(model, [case], [[2, 0, 1]], pad_index=0, fractions=(0.0, 0.5, 1.0), ks=(10, 50))
    p = lambda ids: float(torch.sigmoid(2 * torch.tensor([0.0, 1.0, -1.0, 3.0])[ids].mean()))  # noqa: E731
    full = p([1, 2, 3])
    torch.testing.assert_close(result.deletion[0], torch.tensor([full, p([2]), p([0])], dtype=torch.float64))
    torch.testing.assert_close(result.insertion[0], torch.tensor([p([0]), p([3, 1]), full], dtype=torch.float64))
    torch.testing.assert_close(result.comprehensiveness[0], torch.tensor([full - p([1, 2]), full - p([2])],
                                                                         dtype=torch.float64))
    torch.testing.assert_close(result.sufficiency[0], torch.tensor([full - p([3]), full - p([1, 3])],
                                                                   dtype=torch.float64))


def test_randomised_changes_the_weights_and_keeps_the_original(tiny_bundles):
    bundle = load_bundle(tiny_bundles("transformer")[0])
    before = {k: v.clone() for k, v in bundle.model.state_dict().items()}
    control = randomised(bundle, seed=3)
    assert all(torch.equal(v, bundle.model.state_dict()[k]) for k, v in before.items())  # untouched
    changed = [k for k, v in control.model.state_dict().items() if not torch.equal(v, before[k])]
    assert {"embedding.weight", "out.weight", "blocks.0.attention.qkv.weight"} <= set(changed)
    assert control.vocab is bundle.vocab and control.labels == bundle.labels


def test_the_sanity_check_fails_a_method_that_ignores_the_model(tiny_bundles, monkeypatch):
    bundle = load_bundle(tiny_bundles("gru+ngrams")[0])
    texts = ["a wonderful , moving film", "a dull , boring mess of a film", "great acting and a superb story"]
    honest = compare(bundle, texts, methods=["ig"])
    assert honest.row("ig").passed_sanity is True

    def position(model, ids, mask, **_):  # "explains" by position: the same ranking whatever the weights
        from textclf.explain.integrated_gradients import endpoints, token_attributions
        inputs, reference, targets = endpoints(model, ids, mask, None, "pad", None, "probability")
        scores = torch.arange(ids.shape[1], dtype=torch.float64).expand(ids.shape[0], -1)
        return token_attributions(model, scores, inputs, reference, mask, targets, "probability")

    monkeypatch.setattr(methods_module, "runner", lambda settings: position)
    fooled = compare(bundle, texts, methods=["ig"])
    assert fooled.row("ig").sanity == pytest.approx(1.0) and fooled.row("ig").passed_sanity is False
    assert "failed by: ig" in fooled.verdict() and "FAIL" in fooled.table()


def test_compare_scores_every_method_and_draws_the_figure(tiny_bundles):
    bundle = load_bundle(tiny_bundles("transformer")[0])
    texts = ["a wonderful , moving film", "a dull , boring mess of a film", "great acting"]
    result = compare(bundle, texts, options={m: {"samples": 10} for m in ("shapley", "lime")})
    assert result.methods == ["ig", "gradxinput", "occlusion", "shapley", "lime", "attention", "rollout"]
    assert result.agreement.shape == (7, 7) and torch.allclose(result.agreement.diagonal(), torch.ones(7))
    assert "(not an attribution)" in result.table() and "| random |" in result.table()
    assert set(result.as_dict()["methods"]) == {*result.methods, "random"}
    assert len(comparison_figure(result).axes) >= 3
    with pytest.raises(ValueError, match="no attention layers|has none"):
        compare(load_bundle(tiny_bundles("cnn")[0]), texts, methods=["rollout"])


def test_explain_takes_every_method_and_one_target_per_text(tiny_bundles):
    bundle = load_bundle(tiny_bundles("transformer")[0])
    texts = ["a wonderful , moving film", "a dull mess"]
    for method in METHODS:
        e = explain(bundle, texts, method=method, target=["negative", "positive"])
        assert [x.target for x in e] == ["negative", "positive"] and e[0].settings["method"] == method
    with pytest.raises(ValueError, match="does not use"):
        explain(bundle, texts, method="occlusion", steps=10)
    with pytest.raises(ValueError, match="unknown explanation method 'saliency'"):
        explain(bundle, texts, method="saliency")


def run(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "textclf", *map(str, args)], capture_output=True, text=True,
                          timeout=300, **kwargs)


def test_cli_compare_prints_the_table_and_writes_the_figure(tiny_bundles, tmp_path):
    bundle_dir = tiny_bundles("cnn")[0]
    result = run("explain", bundle_dir, "great acting", "a dull , boring mess", "a superb , moving film",
                 "--compare", "--method", "ig", "--method", "occlusion", "--method", "shapley", "--samples", "5",
                 "--figure", tmp_path / "f.png", "--json", tmp_path / "f.json")
    assert result.returncode == 0, result.stderr
    assert "| ig |" in result.stdout and "| random |" in result.stdout and "most faithful" in result.stdout
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG" and '"best"' in (tmp_path / "f.json").read_text()


def test_cli_explain_with_another_method(tiny_bundles):
    result = run("explain", tiny_bundles("cnn")[0], "great acting", "--method", "occlusion", "--mode", "delete",
                 "--no-color")
    assert result.returncode == 0, result.stderr
    assert "occlusion: pad baseline, delete mode" in result.stdout and "need not equal" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["--method", "saliency"], "invalid choice: 'saliency'"),
    (["--method", "middle"], "invalid choice: 'middle'"),
    (["--method", "ig", "--samples", "5"], "option(s) that ig does not use: samples"),
    (["--method", "attention"], "no attention layers"),
    (["--method", "ig", "--method", "lime"], "give one --method"),
    (["--compare", "--method", "ig", "--mode", "delete"], "--mode is used by none of the methods compared"),
])
def test_cli_bad_method_options_are_clear_errors(tiny_bundles, args, message):
    result = run("explain", tiny_bundles("cnn")[0], "great acting", *args)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
