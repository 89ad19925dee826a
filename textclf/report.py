"""``textclf report DIR``: one self-contained HTML page about a trained bundle.

Metrics beside the best linear baseline (TF-IDF 1-2 grams + linear SVM on the same splits: the one
``textclf train`` recorded in metrics.json when the report scores the bundle's own data, else trained
in this call), the training curves, the confusion matrix, a reliability diagram with the
expected calibration error, and the model's most confident mistakes with their words highlighted
by integrated gradients. Every image is embedded (base64 PNG); the page loads nothing remote.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

from textclf.baseline import NAME as BASELINE
from textclf.baseline import linear_baseline
from textclf.bundle import Bundle
from textclf.calibration import BINS, expected_calibration_error, reliability
from textclf.data import TextDataset
from textclf.explain import explain
from textclf.explain.render import html_tokens
from textclf.figures import confusion_figure, png_bytes, reliability_figure, training_curves
from textclf.files import atomic_write_text

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ border-bottom: 1px solid #ddd; padding: .4em .7em; text-align: left; vertical-align: top; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
img {{ max-width: 100%; }}
.tok {{ padding: 1px 2px; border-radius: 3px; line-height: 1.9; }}
</style></head><body>
<h1>{title}</h1>
<p>{about}</p>
<h2>Test metrics beside the best linear baseline</h2>
{metrics}
<h2>Training</h2>
{curves}
<h2>Confusion matrix (test)</h2>
{confusion}
<h2>Can the probabilities be believed?</h2>
<p>Expected calibration error on the test split ({bins} equal-width confidence bins): <b>{ece:.4f}</b>{temperature}.
On the diagonal, a confidence of 0.8 is right 80% of the time; below it, the model is over-confident
(<code>textclf calibrate</code> fits a temperature).</p>
{reliability}
<h2>The most confident mistakes</h2>
<p>Green words pushed towards the predicted label, red against it (integrated gradients, pad baseline).</p>
{mistakes}
</body></html>
"""


def image(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'


def build_report(bundle: Bundle, ds: TextDataset, mistakes: int = 5, baseline: bool = True,
                 own_data: bool = False) -> str:
    """The page. ``own_data``: ``ds`` is the data the bundle was trained on, so the baseline recorded in
    its metrics (if any) is the one to show rather than training it again."""
    metrics = bundle.metrics
    test = bundle.evaluate(ds.test, split="the test")  # the bundle's forward and temperature, as predict
    targets, predicted, probabilities = test.targets, test.predictions, test.probabilities
    rows = [("this model", bundle.model_name, {"accuracy": test.accuracy, "f1": test.f1})]
    if baseline:
        recorded = (metrics or {}).get("baseline") if own_data else None
        rows.append(("linear baseline", BASELINE, recorded or linear_baseline(ds)))
    table = ("<table><tr><th>model</th><th></th><th>accuracy</th><th>F1</th></tr>"
             + "".join(f"<tr><td>{html.escape(a)}</td><td>{html.escape(b)}</td><td class=num>{m['accuracy']:.2%}</td>"
                       f"<td class=num>{m['f1']:.4f}</td></tr>" for a, b, m in rows) + "</table>")
    history = (metrics or {}).get("history") or []
    curves = (image(png_bytes(training_curves(history, (metrics or {}).get("best_epoch"))), "training curves")
              if history else "<p>(no training history in metrics.json)</p>")
    confusion = test.confusion(len(bundle.labels))
    ece = expected_calibration_error(probabilities, targets)
    rel = image(png_bytes(reliability_figure({"test": reliability(probabilities, targets)})), "reliability")
    wrong = [i for i in probabilities.max(1).values.argsort(descending=True).tolist()
             if predicted[i] != targets[i]][:mistakes]
    explained = explain(bundle, [ds.test[i].text for i in wrong], true_labels=[ds.test[i].label for i in wrong])
    mistake_rows = "".join(
        f"<tr><td>{html.escape(e.true_label)}</td><td>{html.escape(e.predicted)} "
        f"({e.probabilities[e.predicted]:.2f})</td><td>{html_tokens(e)}</td></tr>" for e in explained)
    mistakes_html = ("<table><tr><th>true</th><th>predicted</th><th>words</th></tr>" + mistake_rows + "</table>"
                     if explained else "<p>No mistakes on the test split.</p>")
    temperature = f" (temperature {bundle.temperature:.3f} applied)" if bundle.temperature != 1.0 else ""
    about = (f"{html.escape(str(bundle.path or ''))}: {html.escape(bundle.model_name)} on "
             f"{html.escape(ds.name)}, {len(ds.test):,} test texts, labels {html.escape(', '.join(bundle.labels))}.")
    return PAGE.format(title=html.escape(f"textclf report: {bundle.model_name} on {ds.name}"), about=about,
                       metrics=table, curves=curves, confusion=image(png_bytes(confusion_figure(confusion,
                                                                                                bundle.labels)),
                                                                     "confusion matrix"),
                       ece=ece, bins=BINS, temperature=temperature, reliability=rel, mistakes=mistakes_html)


def write_report(path: str | Path, page: str) -> Path:
    path = Path(path)
    atomic_write_text(path, page)
    return path
