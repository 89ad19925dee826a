"""A suite's results as a table for the terminal, and as a self-contained HTML page (every text escaped)."""

from __future__ import annotations

import html

from textclf.behaviour.suite import TestResult
from textclf.figures import new_figure
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


def comparison_table(by_model: dict[str, list[TestResult]]) -> str:
    """A Markdown table: one row per test (its cases), one column per model, failure rates in percent."""
    models = list(by_model)
    first = by_model[models[0]]
    lines = ["| test | kind | cases | " + " | ".join(models) + " |", "|---|---|---:|" + "---:|" * len(models)]
    for i, test in enumerate(first):
        cases = sorted({by_model[m][i].cases for m in models})
        lines.append(f"| {test.name} | {test.kind} | {'/'.join(map(str, cases))} | "
                     + " | ".join(f"{100 * by_model[m][i].rate:.1f}%" for m in models) + " |")
    return "\n".join(lines)


def failure_figure(by_model: dict[str, list[TestResult]], title: str = "Behavioural tests: failure rate per test"):
    """One row per test, one bar per model, on one shared 0-100% axis, with the 95% Wilson interval as a line
    and the number of cases in each test's label."""
    models = list(by_model)
    tests = by_model[models[0]]
    fig, ax = new_figure(size=(9, 0.3 * len(tests) * max(1, len(models) / 2) + 1.5))
    height = 0.8 / len(models)
    for j, model in enumerate(models):
        results = by_model[model]
        y = [i + (j - (len(models) - 1) / 2) * height for i in range(len(tests))]
        rates = [100 * r.rate for r in results]
        errors = [[100 * (r.rate - r.interval[0]) for r in results], [100 * (r.interval[1] - r.rate) for r in results]]
        ax.barh(y, rates, height=height, color=f"C{j}", label=model, xerr=errors, ecolor="0.3", capsize=2)
    ax.set_yticks(range(len(tests)))
    ax.set_yticklabels([f"{r.name} ({r.kind}, n={r.cases})" for r in tests], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("failure rate, % of the test's cases (lines: 95% Wilson interval)")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return fig
