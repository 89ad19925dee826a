"""The demo page at ``GET /``: type a text, see the probabilities and the words that mattered.

One self-contained HTML document: its style and script are inline and it loads nothing from anywhere
(the server also sends a Content-Security-Policy that forbids it). The script posts the text to
``/explain`` and builds the answer with DOM calls (``textContent``, never ``innerHTML``), so a review
containing ``<script>`` is shown, not run. Ids the browser test reads: ``#text``, ``#classify``,
``#label``, ``#probabilities``, ``#words`` (one ``span.word`` per token, ``data-score`` its attribution).
"""

from __future__ import annotations

import html
import json

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>textclf: __TITLE__</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 760px; color: #222; padding: 0 1em; }
textarea { width: 100%; font: inherit; padding: .5em; box-sizing: border-box; }
button { font: inherit; padding: .4em 1.2em; margin-top: .5em; cursor: pointer; }
.bar { background: #e8eef6; border-radius: 3px; height: 1.1em; position: relative; }
.bar span { display: block; height: 100%; background: #3c78b4; border-radius: 3px; }
table { border-collapse: collapse; width: 100%; margin: .7em 0; }
td { padding: .25em .4em; }
td.barcell { width: 65%; }
td.num { text-align: right; width: 5em; font-variant-numeric: tabular-nums; }
#label { font-size: 1.4em; font-weight: bold; }
.word { padding: 1px 3px; border-radius: 3px; line-height: 2; }
#error { color: #b30000; }
.muted { color: #666; font-size: .9em; }
</style></head><body>
<h1>textclf: __TITLE__</h1>
<p class="muted">Labels: __LABELS__. Words are coloured by integrated gradients: green pushed towards the
predicted label, red against it (hover a word for its score).</p>
<textarea id="text" rows="4" placeholder="Type a review...">a gripping, beautifully acted film</textarea>
<button id="classify">Classify</button>
<p id="error"></p>
<div id="result" hidden>
<p>Prediction: <span id="label"></span></p>
<table id="probabilities"></table>
<p id="words"></p>
</div>
<script>
const MAX_CHARS = __MAX_CHARS__;
function colour(score, scale) {
  const a = Math.min(Math.abs(score) / scale, 1) * 0.75;
  return score >= 0 ? `rgba(26, 150, 65, ${a})` : `rgba(215, 48, 39, ${a})`;
}
async function classify() {
  const text = document.getElementById("text").value;
  const error = document.getElementById("error");
  error.textContent = "";
  document.getElementById("result").hidden = true;  // an answer stays only beside the text it answers
  if (!text.trim()) { error.textContent = "Type some text first."; return; }
  if (text.length > MAX_CHARS) { error.textContent = `At most ${MAX_CHARS} characters, please.`; return; }
  const button = document.getElementById("classify");
  button.disabled = true;
  try {
    const response = await fetch("/explain", {method: "POST", headers: {"Content-Type": "application/json"},
                                              body: JSON.stringify({texts: [text]})});
    const data = await response.json();
    if (!response.ok) { error.textContent = data.error.message; return; }
    show(data.explanations[0]);
  } catch (e) {
    error.textContent = "The server did not answer: " + e;
  } finally {
    button.disabled = false;
  }
}
function show(e) {
  document.getElementById("label").textContent = e.label;
  const table = document.getElementById("probabilities");
  table.replaceChildren();
  for (const [label, p] of Object.entries(e.probabilities).sort((a, b) => b[1] - a[1])) {
    const row = table.insertRow();
    row.insertCell().textContent = label;
    const bar = document.createElement("div"); bar.className = "bar";
    const fill = document.createElement("span"); fill.style.width = (100 * p).toFixed(1) + "%";
    bar.appendChild(fill);
    const cell = row.insertCell(); cell.className = "barcell"; cell.appendChild(bar);
    const num = row.insertCell(); num.className = "num"; num.textContent = (100 * p).toFixed(1) + "%";
  }
  const words = document.getElementById("words");
  words.replaceChildren();
  const scale = Math.max(1e-9, ...e.scores.map(Math.abs));
  e.tokens.forEach((token, i) => {
    const span = document.createElement("span");
    span.className = "word"; span.textContent = token;
    span.dataset.score = e.scores[i];
    span.title = (e.scores[i] >= 0 ? "+" : "") + e.scores[i].toFixed(4) + (e.known[i] ? "" : " (unknown word)");
    span.style.background = colour(e.scores[i], scale);
    words.appendChild(span); words.appendChild(document.createTextNode(" "));
  });
  document.getElementById("result").hidden = false;
}
document.getElementById("classify").addEventListener("click", classify);
document.getElementById("text").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) classify();
});
</script>
</body></html>
"""


def page(bundle, max_chars: int = 5000) -> str:
    """The demo page for ``bundle`` (its name and labels filled in; texts up to ``max_chars``)."""
    title = f"{bundle.model_name} on {bundle.config.dataset or 'its data'}"
    return (PAGE.replace("__TITLE__", html.escape(title))
            .replace("__LABELS__", html.escape(", ".join(bundle.labels)))
            .replace("__MAX_CHARS__", json.dumps(int(max_chars))))
