"""A suite's results as a table for the terminal, and as a self-contained HTML page (every text escaped)."""

from __future__ import annotations

import html

from textclf.behaviour.suite import TestResult
from textclf.printable import printable


def table(results: list[TestResult]) -> str:
    """One row per test: its kind, cases, failure rate in percent with the 95% Wilson interval."""
    width = max(len("test"), *(len(r.name) for r in results))
    lines = [f"{'test':<{width}}  kind  cases  failed  95% interval"]
    for r in results:
        low, high = r.interval
        rate = f"{100 * r.rate:5.1f}%" if r.cases else "    -"
        lines.append(f"{printable(r.name):<{width}}  {r.kind:<4}  {r.cases:>5}  {rate}  "
                     + (f"{100 * low:4.1f}-{100 * high:.1f}%" if r.cases else "no case applied"))
    return "\n".join(lines)


def worst_examples(results: list[TestResult]) -> str:
    """The worst failures of each failing test, one indented line each."""
    lines = []
    for r in results:
        if r.worst:
            lines.append(f"{printable(r.name)}:")
            lines += [f"    {printable(f.text)!s:.110}  [{f.detail}]" for f in r.worst]
    return "\n".join(lines)


def html_report(results: list[TestResult], title: str) -> str:
    """The results as one HTML page with no outside files: the table, then each test's worst examples."""
    esc = html.escape
    rows = "".join(
        f"<tr><td>{esc(r.name)}</td><td>{esc(r.kind)}</td><td>{r.cases}</td>"
        f"<td>{100 * r.rate:.1f}%</td><td>{100 * r.interval[0]:.1f}&ndash;{100 * r.interval[1]:.1f}%</td>"
        f"<td>{esc(r.about)}</td></tr>" for r in results)
    examples = "".join(
        f"<h3>{esc(r.name)}</h3><ul>" + "".join(
            f"<li>{esc(f.text)}" + (f"<br><small>from: {esc(f.source)}</small>" if f.source else "")
            + f" <b>{esc(f.detail)}</b></li>" for f in r.worst) + "</ul>" for r in results if r.worst)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(title)}</title><style>"
            "body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:.3em .6em}td:nth-child(3),td:nth-child(4){text-align:right}"
            f"</style></head><body><h1>{esc(title)}</h1><p>Failure rate per test with its 95% Wilson interval "
            "(mft: the text must get the test's label; inv: an edit must not change the prediction; dir: the "
            "named label's probability must not fall by more than the tolerance).</p><table><tr><th>test</th>"
            f"<th>kind</th><th>cases</th><th>failed</th><th>95% interval</th><th>about</th></tr>{rows}</table>"
            f"<h2>Worst failures</h2>{examples or '<p>none</p>'}</body></html>")
