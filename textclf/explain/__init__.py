"""Which words mattered, and which explanation to trust: attribution methods, faithfulness, and ways to show them."""

from textclf.explain.compare import Comparison, compare, comparison_figure, randomised
from textclf.explain.explainer import Explanation, dataset_texts, explain
from textclf.explain.faithfulness import (
    FRACTIONS,
    K_PERCENTS,
    Case,
    Faithfulness,
    faithfulness,
    random_ranking,
    rank_correlation,
    ranking,
    removed_count,
)
from textclf.explain.integrated_gradients import (
    RULES,
    Attributions,
    average_gradient,
    baseline_embeddings,
    completeness_delta,
    integrated_gradients,
    interpolate,
    riemann_points,
    riemann_sum,
)
from textclf.explain.methods import BASELINES, ENGINES, METHODS, ExplainSettings, attribute
from textclf.explain.occlusion import occlusion
from textclf.explain.render import render_html, render_terminal, save_html
from textclf.explain.with_captum import captum_integrated_gradients, captum_sampled

__all__ = ["BASELINES", "ENGINES", "FRACTIONS", "K_PERCENTS", "METHODS", "RULES", "Attributions", "Case",
           "Comparison", "ExplainSettings", "Explanation", "Faithfulness", "attribute", "average_gradient",
           "baseline_embeddings", "captum_integrated_gradients", "captum_sampled", "compare", "comparison_figure",
           "completeness_delta", "dataset_texts", "explain", "faithfulness", "integrated_gradients", "interpolate",
           "occlusion", "random_ranking", "randomised", "rank_correlation", "ranking", "removed_count",
           "render_html", "render_terminal", "riemann_points", "riemann_sum", "save_html"]
