"""Integrated gradients: ours against Captum's, completeness, padding, rendering, and `textclf explain`."""

import subprocess
import sys

import pytest
import torch
from conftest import networks, options_for
from hypothesis import given, settings
from hypothesis import strategies as st

from textclf.batching import Collator
from textclf.bundle import load_bundle
from textclf.explain import (
    RULES,
    captum_integrated_gradients,
    explain,
    integrated_gradients,
    interpolate,
    render_html,
    render_terminal,
    riemann_points,
    riemann_sum,
    save_html,
)
from textclf.models import build_model

FAMILIES = networks()
BASELINES = ["pad", "unk", "zero"]


def random_model(name, n_classes=3):
    torch.manual_seed(1)
    model, _ = build_model(name, **options_for(name, dict(vocab_size=40, n_classes=n_classes, embed_dim=12,
                                                          hidden_dim=8, n_filters=4)))
    return model.eval()


def batch(lengths=(7, 3, 11), seed=0):
    generator = torch.Generator().manual_seed(seed)
    return Collator(0)([(torch.randint(2, 40, (n,), generator=generator), 0) for n in lengths])


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize("baseline", BASELINES)
@pytest.mark.parametrize("method", ["left", "middle", "right"])
def test_ours_equals_captum(name, baseline, method):
    model, b = random_model(name), batch()
    ours = integrated_gradients(model, b.ids, b.mask, baseline=baseline, unk_index=1, steps=16, method=method)
    theirs = captum_integrated_gradients(model, b.ids, b.mask, baseline=baseline, unk_index=1, steps=16,
                                         method=method)
    torch.testing.assert_close(ours.tokens, theirs.tokens, rtol=1e-4, atol=1e-7)
    torch.testing.assert_close(ours.delta, theirs.delta, rtol=1e-3, atol=1e-6)


@pytest.mark.parametrize("name", FAMILIES)
def test_captum_trapezoid_is_ours_times_n_minus_1_over_n(name):
    model, b, n = random_model(name), batch(), 10
    ours = integrated_gradients(model, b.ids, b.mask, steps=n, method="trapezoid")
    theirs = captum_integrated_gradients(model, b.ids, b.mask, steps=n, method="trapezoid")
    torch.testing.assert_close(ours.tokens * (n - 1) / n, theirs.tokens, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize("output", ["probability", "logit"])
def test_delta_shrinks_with_steps_and_is_small_at_the_default(name, output):
    model, b = random_model(name), batch()
    deltas = [integrated_gradients(model, b.ids, b.mask, steps=s, output=output).delta.abs().max().item()
              for s in (2, 8, 50)]
    if name == "nbow" and output == "logit":  # a linear function: exact at any step count
        assert max(deltas) < 1e-6
    else:
        assert deltas[0] > deltas[1] > deltas[2]
    if output == "probability":  # the default
        assert deltas[2] < 5e-3


@pytest.mark.parametrize("name", [f for f in FAMILIES if f != "minilm"])  # MiniLM: test_api, lesson 7
def test_delta_small_on_trained_bundles(name, tiny_bundles):
    from conftest import NEG, POS
    bundle = load_bundle(tiny_bundles(name)[0])
    for e in explain(bundle, POS + NEG):
        assert abs(e.delta) < 5e-3, (e.text, e.delta)
        assert e.score == pytest.approx(e.f_text - e.f_baseline, abs=5e-3)


@pytest.mark.parametrize("name", FAMILIES)
def test_padding_gets_zero_and_batching_changes_nothing(name):
    model, b = random_model(name), batch((9, 2, 5))
    together = integrated_gradients(model, b.ids, b.mask, steps=12, internal_batch_size=7)
    assert torch.all(together.tokens[~b.mask] == 0)
    for row, n in enumerate((9, 2, 5)):
        alone = integrated_gradients(model, b.ids[row : row + 1, :n], b.mask[row : row + 1, :n], steps=12)
        torch.testing.assert_close(together.tokens[row, :n], alone.tokens[0], rtol=1e-4, atol=1e-6)


def test_nbow_logit_attributions_have_a_closed_form():
    """f = W · mean(x) + b is linear: IG is exact at any step count, token t gets W_c · (x_t - x'_t) / n."""
    model, b = random_model("nbow"), batch((6,))
    result = integrated_gradients(model, b.ids, b.mask, baseline="unk", unk_index=1, steps=2, output="logit")
    x, x_ref = model.embedding(b.ids[0]), model.embedding(torch.ones_like(b.ids[0]))
    expected = ((x - x_ref) @ model.out.weight[result.targets[0]]) / 6  # [seq_len]
    torch.testing.assert_close(result.tokens[0].float(), expected.detach(), rtol=1e-5, atol=1e-6)
    assert abs(result.delta.item()) < 1e-5


def test_model_parameters_get_no_gradients_and_stay_in_eval_mode():
    model, b = random_model("lstm"), batch()
    model.train()
    integrated_gradients(model, b.ids, b.mask, steps=4)
    assert not model.training and all(p.grad is None for p in model.parameters())


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 200), st.sampled_from(RULES))
def test_riemann_points(steps, method):
    alphas, weights = riemann_points(steps, method)
    assert alphas.shape == weights.shape == (steps,)
    assert weights.sum().item() == pytest.approx(1.0)
    assert 0 <= alphas.min() and alphas.max() <= 1 and torch.all(alphas[1:] > alphas[:-1])


def test_interpolate_and_riemann_sum_on_a_known_integral():
    start, end = torch.zeros(3), torch.tensor([1.0, 2.0, 3.0])
    points = interpolate(start, end, torch.tensor([0.0, 0.5, 1.0]))  # [3 steps, 3]
    assert torch.equal(points[0], start) and torch.equal(points[-1], end) and torch.equal(points[1], end / 2)
    alphas, weights = riemann_points(101, "trapezoid")
    path = interpolate(start, end, alphas.float())  # f(x) = sum(x^2) has gradient 2x
    torch.testing.assert_close(riemann_sum(2 * path, weights, end, start), end**2, rtol=1e-4, atol=1e-4)


def test_bad_arguments():
    model, b = random_model("cnn"), batch()
    with pytest.raises(ValueError, match="expected pad, unk or zero"):
        integrated_gradients(model, b.ids, b.mask, baseline="mean")
    with pytest.raises(ValueError, match="unk_index"):
        integrated_gradients(model, b.ids, b.mask, baseline="unk")
    with pytest.raises(ValueError, match="steps must be from 2 to 10,000 for trapezoid, not 1"):
        riemann_points(1, "trapezoid")
    with pytest.raises(ValueError, match="steps must be from 1 to 10,000 for left, not 10001"):
        riemann_points(10_001, "left")
    with pytest.raises(ValueError, match="unknown Riemann rule"):
        riemann_points(10, "simpson")


def test_explain_a_bundle(tiny_bundles):
    bundle = load_bundle(tiny_bundles("nbow")[0])
    pos, neg = explain(bundle, ["a wonderful , moving zzzunseen film", "a dull , boring mess"],
                       true_labels=["positive", "positive"])
    assert pos.tokens == ["a", "wonderful", ",", "moving", "zzzunseen", "film"] and not pos.known[4]
    assert pos.predicted == pos.target == "positive" and pos.correct and neg.correct is False
    assert pos.top(1)[0][0] in {"wonderful", "moving"} and neg.top(1)[0][0] in {"boring", "dull"}
    flipped = explain(bundle, ["a dull , boring mess"], target="positive")[0]
    assert flipped.target == "positive" and flipped.predicted == "negative"
    assert flipped.scores == pytest.approx([-s for s in neg.scores], abs=1e-3)  # p(pos) = 1 - p(neg)
    with pytest.raises(ValueError, match="the model's labels are: negative, positive"):
        explain(bundle, ["x"], target="neutral")
    with pytest.raises(ValueError, match="2 texts but 1 true labels"):
        explain(bundle, ["x", "y"], true_labels=["positive"])


def test_html_report_is_escaped_and_complete(tiny_bundles, tmp_path):
    bundle = load_bundle(tiny_bundles("nbow")[0])
    explanations = explain(bundle, ["<b>wonderful</b> & moving"], true_labels=["negative"])
    page = render_html(explanations)
    assert "<b>" not in page and "&lt;" in page and "&amp;" in page
    explanations[0].tokens[0] = "<script>alert('x')</script>"  # another tokenizer might keep markup whole
    assert "<script>" not in render_html(explanations) and "&lt;script&gt;" in render_html(explanations)
    for needed in ["Legend", "true label", "predicted (probability)", "attribution score", "delta",
                   f"{explanations[0].delta:+.2e}", f"({max(explanations[0].probabilities.values()):.3f})",
                   'class="wrong"']:
        assert needed in page
    path = save_html(tmp_path / "report.html", explanations)
    assert path.read_text(encoding="utf-8") == render_html(explanations)


def test_terminal_views(tiny_bundles):
    bundle = load_bundle(tiny_bundles("gru")[0])
    explanations = explain(bundle, ["wonderful and moving"])
    plain = render_terminal(explanations, color=False)
    assert "\x1b[" not in plain and "wonderful(+" in plain and "predicted positive" in plain
    assert "\x1b[48;2;" in render_terminal(explanations, color=True)


def run(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "textclf", *map(str, args)], capture_output=True, text=True,
                          timeout=300, **kwargs)


def test_cli_explain(tiny_bundles, tmp_path):
    bundle_dir = tiny_bundles("cnn")[0]
    result = run("explain", bundle_dir, "great acting", "a dull mess", "--html", tmp_path / "r.html",
                 "--baseline", "zero", "--steps", "20", "--no-color")
    assert result.returncode == 0, result.stderr
    assert "predicted positive" in result.stdout and "predicted negative" in result.stdout
    assert "zero baseline, 20 steps" in result.stdout and (tmp_path / "r.html").exists()
    from_stdin = run("explain", bundle_dir, "-", "--engine", "captum", "--rule", "middle", input="great acting\n")
    assert from_stdin.returncode == 0 and "predicted positive" in from_stdin.stdout


def test_cli_explain_bad_inputs(tmp_path):
    missing = run("explain", tmp_path / "nope", "text")
    assert missing.returncode == 2 and "nope" in missing.stderr and "Traceback" not in missing.stderr
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "config.json").write_text("{not json")
    broken = run("explain", tmp_path / "b", "text")
    assert broken.returncode == 2 and "config.json, line 1" in broken.stderr
