"""Which words mattered: integrated gradients (ours and Captum's) and ways to show them."""

from textclf.explain.explainer import BASELINES, ENGINES, Explanation, dataset_texts, explain
from textclf.explain.integrated_gradients import (
    METHODS,
    Attributions,
    average_gradient,
    baseline_embeddings,
    completeness_delta,
    integrated_gradients,
    interpolate,
    riemann_points,
    riemann_sum,
)
from textclf.explain.render import render_html, render_terminal, save_html
from textclf.explain.with_captum import captum_integrated_gradients

__all__ = ["dataset_texts", "BASELINES", "ENGINES", "METHODS", "Attributions", "Explanation", "average_gradient",
           "baseline_embeddings", "captum_integrated_gradients", "completeness_delta", "explain",
           "integrated_gradients", "interpolate", "render_html", "render_terminal", "riemann_points",
           "riemann_sum", "save_html"]
