"""Show explanations: coloured words in a terminal, or a self-contained HTML report.

Green words pushed the model towards the explained label, red words against
it; the stronger the colour, the larger the share of the text's largest
score. Both views need nothing beyond the standard library (no IPython).
"""

from __future__ import annotations

import html
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from textclf.explain.explainer import Explanation
from textclf.files import atomic_write_text
from textclf.printable import printable

FOR, AGAINST = (26, 150, 65), (215, 48, 39)  # green, red
LARGE_DELTA = 0.01  # a completeness error above this is flagged


def strength(score: float, scale: float) -> float:
    """``|score|`` as a share of the text's largest ``|score|``, in [0, 1]."""
    return min(1.0, abs(score) / scale) if scale > 0 else 0.0


def scale_of(explanation: Explanation) -> float:
    return max((abs(s) for s in explanation.scores), default=0.0)


def summary_line(e: Explanation) -> str:
    truth = f"true {e.true_label}  " if e.true_label is not None else ""
    verdict = "" if e.correct is None else ("  [right]" if e.correct else "  [WRONG]")
    if e.complete and abs(e.delta) > LARGE_DELTA:
        verdict += "  [large delta: raise --steps]" if e.method == "ig" else "  [large delta: raise --samples]"
    s = e.settings
    how = ", ".join([f"{e.method}: {s.get('baseline')} baseline",
                     *(f"{s[k]} {k}" for k in ("steps", "samples", "mode") if s.get(k) is not None), s.get("output")])
    total = (f"attribution score {e.score:+.3f}, delta {e.delta:+.1e}" if e.complete
             else f"scores sum to {e.score:+.3f} (need not equal f(text) - f(baseline))")
    return (f"{printable(truth)}predicted {printable(e.predicted)} ({e.probabilities[e.predicted]:.2f})  "
            f"explaining {printable(e.target)}: {total} ({how}){verdict}")


def use_color(stream=None) -> bool:
    stream = stream or sys.stdout
    return "NO_COLOR" not in os.environ and hasattr(stream, "isatty") and stream.isatty()


def terminal_token(token: str, score: float, scale: float, color: bool) -> str:
    share, token = strength(score, scale), printable(token)
    if not color:
        return f"{token}({score:+.2f})" if share >= 0.2 else token
    r, g, b = FOR if score > 0 else AGAINST
    mix = lambda c: round(255 - share * (255 - c))  # white -> full colour
    return f"\x1b[48;2;{mix(r)};{mix(g)};{mix(b)}m\x1b[38;2;0;0;0m{token}\x1b[0m"


def render_terminal(explanations: Sequence[Explanation], color: bool | None = None) -> str:
    """Each text as a summary line and its words, coloured (or marked ``word(+0.31)`` without colour)."""
    color = use_color() if color is None else color
    blocks = []
    for e in explanations:
        scale = scale_of(e)
        words = " ".join(terminal_token(t, s, scale, color) for t, s in zip(e.tokens, e.scores))
        up = ", ".join(f"{printable(t)} {s:+.2f}" for t, s in e.top(3, 1)) or "-"
        down = ", ".join(f"{printable(t)} {s:+.2f}" for t, s in e.top(3, -1)) or "-"
        blocks.append(f"{summary_line(e)}\n  {words}\n  for {printable(e.target)}: {up}\n  against: {down}")
    legend = "" if color else "\n(word(+x.xx): score of a word with at least 20% of the text's largest score)"
    return "\n\n".join(blocks) + legend


def html_color(score: float, scale: float) -> str:
    r, g, b = FOR if score > 0 else AGAINST
    return f"rgba({r},{g},{b},{0.85 * strength(score, scale):.3f})"


def html_tokens(e: Explanation) -> str:
    scale = scale_of(e)
    spans = []
    for token, score, known in zip(e.tokens, e.scores, e.known):
        note = "" if known else " (not in the vocabulary: seen as &lt;unk&gt;)"
        style = f"background:{html_color(score, scale)}" + ("" if known else ";font-style:italic")
        spans.append(f'<span class="tok" style="{style}" title="{score:+.4f}{note}">{html.escape(token)}</span>')
    return " ".join(spans)


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border-bottom: 1px solid #ddd; padding: .45em .6em; text-align: left; vertical-align: top; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }}
.tok {{ padding: 1px 2px; border-radius: 3px; line-height: 1.9; }}
.wrong {{ color: #b30000; font-weight: bold; }}
.legend span {{ padding: 2px 8px; }}
</style></head><body>
<h1>{title}</h1>
<p class="legend">Legend: <span style="background:{against}">against the explained label</span>
<span style="background:#fff;border:1px solid #ccc">no effect</span>
<span style="background:{towards}">towards the explained label</span>
&mdash; hover a word for its score; <i>italic</i> words were not in the vocabulary.</p>
<p>{settings}. Attribution score = sum of the word scores, &asymp; f(text) &minus; f(baseline) for a method
that is complete (integrated gradients, Shapley sampling, KernelSHAP); delta = how far from that equality the
estimate is (smaller is better; &ndash; for a method without that property).</p>
<table>
<tr><th>true label</th><th>predicted (probability)</th><th>explained label</th><th>attribution score</th>
<th>delta</th><th>words</th></tr>
{rows}
</table></body></html>
"""


def html_row(e: Explanation) -> str:
    truth = html.escape(e.true_label) if e.true_label is not None else "&ndash;"
    cls = ' class="wrong"' if e.correct is False else ""
    return (f"<tr><td>{truth}</td><td{cls}>{html.escape(e.predicted)} ({e.probabilities[e.predicted]:.3f})</td>"
            f"<td>{html.escape(e.target)}</td><td class=\"num\">{e.score:+.4f}</td>"
            f"<td class=\"num\">{f'{e.delta:+.2e}' if e.complete else '&ndash;'}</td><td>{html_tokens(e)}</td></tr>")


def render_html(explanations: Sequence[Explanation], title: str = "Which words mattered") -> str:
    """One self-contained HTML page (inline CSS, no scripts, every token escaped)."""
    s = explanations[0].settings if explanations else {}
    settings = html.escape(", ".join(f"{k} {v}" for k, v in s.items()))
    return PAGE.format(title=html.escape(title), against=f"rgba{AGAINST + (0.85,)}", towards=f"rgba{FOR + (0.85,)}",
                       settings=settings or "no texts", rows="\n".join(html_row(e) for e in explanations))


def save_html(path: str | Path, explanations: Sequence[Explanation], title: str = "Which words mattered") -> Path:
    path = Path(path)
    atomic_write_text(path, render_html(explanations, title))
    return path
