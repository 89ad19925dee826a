"""Behavioural tests (textclf.behaviour): templates expand as written, edits keep what they must, a suite's
numbers on a stub model with a known rule are exact, bad suite files are located, and the command."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from collections import Counter

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from textclf.behaviour import expand, load_suite, run_suite, shipped_suite, wilson
from textclf.behaviour.counterfactual import NEGATIVE_WORDS, POSITIVE_WORDS, counterfactuals
from textclf.behaviour.perturb import append, punctuation, swap, typo
from textclf.behaviour.report import html_report, table
from textclf.data import DataError, Example

LABELS = ["negative", "positive"]


def rule(texts: list[str]) -> torch.Tensor:
    """A stub model: positive (0.9) iff the words hold "good" and not "terrible", else negative (P 0.1)."""
    positive = [0.9 if "good" in t.lower().split() and "terrible" not in t.lower().split() else 0.1
                for t in (t.replace(".", " ") for t in texts)]
    p = torch.tensor(positive)
    return torch.stack([1 - p, p], dim=1)  # [n, 2]


def write_suite(tmp_path, *lines) -> str:
    path = tmp_path / "suite.jsonl"
    path.write_text("\n".join(json.dumps(x) if isinstance(x, dict) else x for x in lines) + "\n")
    return path


def test_a_template_expands_in_nested_loop_order_with_one_word_per_placeholder():
    lexicons = {"noun": ["film", "plot"], "adj": ["good", "dull", "fine"]}
    cases = expand("The {noun} was {adj}; the {noun} stays.", lexicons, "positive")
    assert [c.text for c in cases] == [f"The {n} was {a}; the {n} stays." for n in ("film", "plot")
                                       for a in ("good", "dull", "fine")]
    assert {c.label for c in cases} == {"positive"}
    sample = expand("The {noun} was {adj}.", lexicons, "positive", max_cases=4, seed=3)
    assert len(sample) == 4 and sample == expand("The {noun} was {adj}.", lexicons, "positive", 4, 3)
    every = [c.text for c in expand("The {noun} was {adj}.", lexicons, "positive")]
    assert [c.text for c in sample] == [t for t in every if t in {c.text for c in sample}]  # kept in order
    with pytest.raises(KeyError, match="no lexicon named 'verb'"):
        expand("I {verb} it", lexicons, "positive")


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="abcdeAB .,", min_size=1, max_size=40), st.integers(0, 10**6))
def test_a_typo_swaps_two_different_neighbouring_letters_inside_one_word(text, seed):
    edited = typo(text, random.Random(seed))
    if edited is None:
        return
    changed = [i for i, (a, b) in enumerate(zip(text, edited)) if a != b]
    assert len(edited) == len(text) and Counter(edited) == Counter(text)
    assert len(changed) == 2 and changed[1] == changed[0] + 1 and text[changed[0] - 1].isalpha()


def test_edits_keep_what_they_must():
    rng = random.Random(0)
    names = swap(["John", "Mary", "Mark"])
    for _ in range(20):
        edited = names("John met Mark; they mark papers.", rng)
        assert edited.endswith("; they mark papers.")  # "mark" the verb is no name
        first, second = edited.split(";")[0].replace(" met ", " ").split()
        assert {first, second} <= {"John", "Mary", "Mark"} and (first, second) != ("John", "Mark")
    assert names("JOHN was here", rng) in ("MARY was here", "MARK was here")  # written like the word it replaces
    assert names("nobody here", rng) is None
    assert punctuation("Fine film.", rng) == "Fine film" and punctuation("Fine film", rng) == "Fine film."
    assert append("I loved it.")("Fine film.", rng) == "Fine film. I loved it."
    assert typo("a an the", rng) is None  # no word of four letters


def test_a_suite_on_a_stub_with_a_known_rule_gives_exact_numbers(tmp_path):
    suite = load_suite(write_suite(
        tmp_path, "# a comment line", "",
        {"lexicon": "noun", "words": ["film", "plot"]}, {"lexicon": "adj", "words": ["good", "fine"]},
        {"test": "simple", "kind": "mft", "label": "positive", "templates": ["The {noun} was {adj}."]},
        {"test": "negation", "kind": "mft", "label": "negative", "templates": ["The {noun} was not {adj}."]},
        {"test": "typo", "kind": "inv", "edit": "typo"},
        {"test": "terrible", "kind": "dir", "edit": "append", "phrase": "terrible", "label": "positive"}))
    texts = ["so good", "a fine day", "bad"]  # "good" has one typo spot (godo); "bad" none
    results = {r.name: r for r in run_suite(suite, rule, LABELS, texts)}
    assert (results["simple"].cases, results["simple"].failures) == (4, 2)      # "fine" is not "good"
    assert (results["negation"].cases, results["negation"].failures) == (4, 2)  # "not good" is called positive
    assert (results["typo"].cases, results["typo"].failures) == (2, 1)          # "so godo" flips, "bad" has none
    assert results["typo"].worst[0].text == "so godo" and results["typo"].worst[0].source == "so good"
    assert (results["terrible"].cases, results["terrible"].failures) == (3, 1)  # only "so good" falls
    assert results["simple"].interval == wilson(2, 4)
    assert "P(positive) = 0.10" in results["simple"].worst[0].detail
    shown = table(list(results.values()))
    assert "negation" in shown and " 50.0% " in shown and "mft" in shown


def test_wilson_intervals_match_published_values():
    assert wilson(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)  # Newcombe (1998), 0/10
    assert wilson(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson(10, 10) == pytest.approx((0.7225, 1.0), abs=1e-4)


@given(st.integers(1, 2000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_a_wilson_interval_holds_its_rate_inside_zero_to_one(pair):
    failures, n = pair
    low, high = wilson(failures, n)
    assert 0 <= low <= failures / n <= high <= 1 and high - low > 0


@pytest.mark.parametrize("line, expected", [
    ('{"test": "x", "kind": "mft", "label": "positive", "templates": ["a {nope}"]}', "no lexicon of that name"),
    ('{"test": "x", "kind": "mtf", "label": "positive"}', "kind 'mtf'; expected one of mft, inv, dir"),
    ('{"test": "x", "kind": "inv", "edit": "typo", "label": "positive"}', "an inv test has no label"),
    ('{"test": "x", "kind": "dir", "edit": "append"}', "the append edit needs \"phrase\""),
    ('{"test": "x", "kind": "inv", "edit": "swap", "lexicon": "names"}', "no lexicon 'names' is declared"),
    ('{"test": "x", "kind": "inv", "edit": "shout"}', "edit 'shout'; expected one of typo"),
    ('{"test": "x", "kind": "mft", "label": "positive", "templates": ["a"], "colour": 1}', "unknown key 'colour'"),
    ('{"test": "x", "kind": "mft", "label": "positive", "templates": ["a"], "max_cases": 0}', "max_cases 0"),
    ('{"lexicon": "noun", "words": []}', "expected a non-empty list of words"),
    ('{"test": "x", "kind": "mft", "label": "positive", "templates": ["a"]', "invalid JSON"),
    ('["a list"]', "expected a JSON object"),
])
def test_a_bad_suite_line_is_named_with_what_was_expected(tmp_path, line, expected):
    path = write_suite(tmp_path, "# header", {"lexicon": "noun", "words": ["film"]}, line)
    with pytest.raises(DataError, match="line 3: .*" + re.escape(expected)):
        load_suite(path)


def test_suite_level_problems_are_located(tmp_path):
    good = {"test": "x", "kind": "mft", "label": "positive", "templates": ["fine"]}
    with pytest.raises(DataError, match="line 2: two tests are named 'x'"):
        load_suite(write_suite(tmp_path, good, good))
    with pytest.raises(DataError, match="has no tests"):
        load_suite(write_suite(tmp_path, {"lexicon": "noun", "words": ["film"]}))
    suite = load_suite(write_suite(tmp_path, "", good))
    with pytest.raises(DataError, match=r"suite.jsonl, line 2: test 'x': label 'positive' is not one of"):
        suite.check_labels(["business", "sport"])
    with pytest.raises(DataError, match="no such suite file"):
        load_suite(tmp_path / "missing.jsonl")


def test_the_shipped_suites_load_and_name_only_their_labels():
    for labels in (LABELS, ["business", "entertainment", "politics", "sport", "tech"]):
        suite = load_suite(shipped_suite(labels))
        suite.check_labels(labels)
        assert {t.kind for t in suite.tests} >= {"mft", "inv"}
        for test in suite.tests:
            if test.kind == "mft":
                assert len(test.cases(suite.lexicons, [])) >= 30, test.name
    with pytest.raises(ValueError, match="no suite ships"):
        shipped_suite(["spam", "ham"])


def test_counterfactual_edits_flip_the_label_and_use_none_of_the_suites_words():
    made = counterfactuals([Example("A lovely film.", "positive"), Example("It is flat and dull.", "negative"),
                            Example("Lovely but flat.", "positive"), Example("Nothing here.", "negative")],
                           contrast_share=0.5, seed=0)
    assert Example("A not lovely film.", "negative") in made
    assert Example("It is not flat and dull.", "positive") in made
    contrast = [ex for ex in made if ", but " in ex.text]
    assert not [ex for ex in made if ex not in contrast and "Lovely" in ex.text]  # two sentiment words: left alone
    assert len(contrast) == 2
    suite = load_suite(shipped_suite(LABELS))
    held_out = set(suite.lexicons["pos_adj"]) | set(suite.lexicons["neg_adj"])
    assert not held_out & (set(POSITIVE_WORDS) | set(NEGATIVE_WORDS))  # the fix is measured on unseen words


def test_the_command_prints_the_table_and_writes_an_escaped_report(tiny_bundles, tmp_path):
    directory, _ = tiny_bundles("nbow")
    data = tmp_path / "d.csv"
    data.write_text("text,label\n" + "\n".join(f"John liked the <b>film</b> number {i}.,positive" for i in range(30))
                    + "\n")
    suite = write_suite(tmp_path, {"lexicon": "name", "words": ["John", "Mary"]},
                        {"test": "<script>x</script>", "kind": "inv", "edit": "swap", "lexicon": "name"},
                        {"test": "simple", "kind": "mft", "label": "positive", "templates": ["good"]})
    html = tmp_path / "report.html"
    result = subprocess.run([sys.executable, "-m", "textclf", "behaviour", str(directory), "--suite", str(suite),
                             "--dataset", str(data), "--html", str(html)], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    edited = re.search(r"tests edit (\d+) test texts", result.stdout)
    assert edited and re.search(rf"<script>x</script>\s+inv\s+{edited[1]}\s", result.stdout), result.stdout
    assert "simple" in result.stdout
    page = html.read_text()
    assert "&lt;script&gt;x&lt;/script&gt;" in page and "<script>" not in page
    bad = write_suite(tmp_path, '{"test": "x", "kind": "mft", "label": "neutral", "templates": ["a"]}')
    refused = subprocess.run([sys.executable, "-m", "textclf", "behaviour", str(directory), "--suite", str(bad),
                              "--dataset", str(data)], capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and "suite.jsonl, line 1: test 'x': label 'neutral'" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_html_report_is_self_contained():
    from textclf.behaviour.suite import Failure, TestResult

    page = html_report([TestResult("t & <u>", "mft", 4, 1, wilson(1, 4), [Failure("a <i>", None, "P & Q", 1.0)])],
                       "title <x>")
    assert "src=" not in page and "href=" not in page and "t &amp; &lt;u&gt;" in page and "a &lt;i&gt;" in page
