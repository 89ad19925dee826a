"""A behavioural test suite: data (a JSON Lines file), run on any model that maps texts to probabilities.

A suite file has one JSON object per line (blank lines and lines starting with ``#`` are skipped):

    {"lexicon": "pos_adj", "words": ["good", "great"]}
    {"test": "negation: not + positive adjective", "kind": "mft", "label": "negative",
     "templates": ["The {noun} was not {pos_adj}."]}
    {"test": "typo", "kind": "inv", "edit": "typo"}
    {"test": "adding 'I loved it.'", "kind": "dir", "edit": "append", "phrase": "I loved it.",
     "label": "positive"}

(each object on one line). The three kinds, after Ribeiro et al. 2020 (CheckList):

- ``mft`` (minimum functionality): every text from the templates must get ``label``;
- ``inv`` (invariance): an edit of a real text must not change the predicted label;
- ``dir`` (directional): after the edit, the probability of ``label`` must not fall by more than
  ``tolerance`` (default 0.1).

INV and DIR tests edit the texts they are given (a test split), at most ``max_cases`` of them (default 500,
a seeded sample); a text the edit does not apply to is left out. Every failure rate comes with its 95% Wilson
interval: with 50 cases, 10% failing means anything from 4% to 21%.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from textclf.behaviour.perturb import EDITS, make_edit
from textclf.behaviour.templates import Case, expand, placeholders
from textclf.errors import DataError, DataFileNotFoundError
from textclf.files import parse_json, read_text

KINDS = {"mft": "minimum functionality", "inv": "invariance", "dir": "directional"}
DEFAULT_MAX_CASES, DEFAULT_TOLERANCE = 500, 0.1
SUITES = Path(__file__).parent / "suites"
TEST_KEYS = {"test", "kind", "label", "templates", "edit", "lexicon", "phrase", "tolerance", "max_cases", "about"}

# A model, as a suite sees it: texts in, probabilities ``[n, n_classes]`` out (a bundle through its inference
# seam, a stub with a known rule in the tests).
Model = Callable[[list[str]], torch.Tensor]


@dataclass
class BehaviourTest:
    name: str
    kind: str                      # mft, inv or dir
    label: str | None = None       # mft: the label every text must get; dir: the one whose probability must not fall
    templates: list[str] = field(default_factory=list)
    edit: str | None = None        # inv, dir: an edit of EDITS
    lexicon: str | None = None     # the swap edit's words
    phrase: str | None = None      # the append/prepend edits' phrase
    tolerance: float = DEFAULT_TOLERANCE
    max_cases: int = DEFAULT_MAX_CASES
    about: str = ""                # one line on what the test asks
    line: int = 0                  # where the suite file declares it

    def cases(self, lexicons: dict[str, list[str]], texts: list[str], seed: int = 0) -> list[Case]:
        """The texts this test asks about: the templates expanded (MFT), or the given texts edited (INV, DIR)."""
        if self.kind == "mft":
            per_template = max(1, self.max_cases // len(self.templates))
            return [case for number, template in enumerate(self.templates)
                    for case in expand(template, lexicons, self.label, per_template, seed + number)]
        edit, rng = make_edit(self.edit, lexicons, self.lexicon, self.phrase), random.Random(seed)
        cases = []
        for text in texts:
            edited = edit(text, rng)
            if edited is not None and edited != text:
                cases.append(Case(edited, source=text))
        if len(cases) > self.max_cases:
            cases = [cases[i] for i in sorted(random.Random(seed).sample(range(len(cases)), self.max_cases))]
        return cases


@dataclass
class Suite:
    name: str
    lexicons: dict[str, list[str]]
    tests: list[BehaviourTest]
    path: Path | None = None

    def check_labels(self, labels: list[str]) -> None:
        """Refuse a test whose label the model does not have, naming the file and the line."""
        for test in self.tests:
            if test.label is not None and test.label not in labels:
                raise DataError(str(self.path or self.name), test.line,
                                f"test {test.name!r}: label {test.label!r} is not one of the model's labels "
                                f"({', '.join(labels)})")


def shipped_suite(labels: list[str]) -> Path:
    """The suite that ships for a model with these labels: English sentiment or BBC news topics."""
    if sorted(labels) == ["negative", "positive"]:
        return SUITES / "sentiment.jsonl"
    if sorted(labels) == ["business", "entertainment", "politics", "sport", "tech"]:
        return SUITES / "topics.jsonl"
    raise ValueError(f"no suite ships for the labels {', '.join(labels)}; write one (see textclf/behaviour/"
                     "suites/sentiment.jsonl) and pass --suite FILE")


def load_suite(path: str | Path) -> Suite:
    """A suite file, checked line by line: anything unexpected is a ``DataError`` naming the file, the line
    and what was expected."""
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        raise DataFileNotFoundError(path, None, "no such suite file; expected a JSON Lines file of lexicons and tests")
    raw = read_text(path, "JSON Lines suite")  # a folder, a FIFO, not UTF-8, empty: each located
    lexicons, tests, where = {}, [], str(path)
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        entry = parse_json(line, path, "one JSON object per line", number)
        if not isinstance(entry, dict):
            raise DataError(where, number, "expected a JSON object ({\"lexicon\": ...} or {\"test\": ...})")
        if "lexicon" in entry and "test" not in entry:
            name, words = entry["lexicon"], entry.get("words")
            if set(entry) != {"lexicon", "words"} or not isinstance(name, str) or not name.isidentifier():
                raise DataError(where, number, "a lexicon is {\"lexicon\": NAME, \"words\": [...]} with a name of "
                                "letters, digits and _")
            if not isinstance(words, list) or not words or not all(isinstance(w, str) and w.strip() for w in words):
                raise DataError(where, number, f"lexicon {name!r}: expected a non-empty list of words")
            if name in lexicons:
                raise DataError(where, number, f"lexicon {name!r} is declared twice")
            lexicons[name] = words
        elif "test" in entry:
            tests.append(parse_test(entry, lexicons, where, number))
        else:
            raise DataError(where, number, "expected a \"lexicon\" or a \"test\" key")
    if not tests:
        raise DataError(where, None, "the suite has no tests; expected at least one {\"test\": ...} line")
    seen = set()
    for test in tests:
        if test.name in seen:
            raise DataError(where, test.line, f"two tests are named {test.name!r}; expected unique names")
        seen.add(test.name)
    return Suite(path.stem, lexicons, tests, path)


def parse_test(entry: dict, lexicons: dict[str, list[str]], where: str, number: int) -> BehaviourTest:
    """One ``{"test": ...}`` line, every key checked (lexicons must be declared above it)."""
    def bad(what: str) -> DataError:
        return DataError(where, number, f"test {entry.get('test')!r}: {what}")

    unknown = sorted(set(entry) - TEST_KEYS)
    if unknown:
        raise bad(f"unknown key {unknown[0]!r}; expected only {', '.join(sorted(TEST_KEYS))}")
    name, kind = entry["test"], entry.get("kind")
    if not isinstance(name, str) or not name.strip():
        raise DataError(where, number, "expected a test name: \"test\": \"negation: not + positive adjective\"")
    if kind not in KINDS:
        raise bad(f"kind {kind!r}; expected one of {', '.join(KINDS)}")
    label, templates, edit = entry.get("label"), entry.get("templates", []), entry.get("edit")
    if label is not None and not isinstance(label, str):
        raise bad("expected the label as a string")
    max_cases, tolerance = entry.get("max_cases", DEFAULT_MAX_CASES), entry.get("tolerance", DEFAULT_TOLERANCE)
    if isinstance(max_cases, bool) or not isinstance(max_cases, int) or max_cases < 1:
        raise bad(f"max_cases {max_cases!r}; expected a whole number of at least 1")
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not 0 <= tolerance < 1:
        raise bad(f"tolerance {tolerance!r}; expected a probability from 0 up to (not including) 1")
    if kind == "mft":
        if label is None or edit is not None:
            raise bad("an mft test has a \"label\" and \"templates\", and no \"edit\"")
        if not isinstance(templates, list) or not templates or not all(isinstance(t, str) for t in templates):
            raise bad("expected \"templates\": a non-empty list of strings such as \"The {noun} was {pos_adj}.\"")
        for template in templates:
            for placeholder in placeholders(template):
                if placeholder not in lexicons:
                    raise bad(f"the template {template!r} uses {{{placeholder}}}, but no lexicon of that name is "
                              "declared above this line")
    else:
        if templates:
            raise bad(f"a{'n' if kind == 'inv' else ''} {kind} test edits real texts; it has no \"templates\"")
        if edit not in EDITS:
            raise bad(f"edit {edit!r}; expected one of {', '.join(EDITS)}")
        for needed in EDITS[edit]:
            if not isinstance(entry.get(needed), str) or not entry[needed].strip():
                raise bad(f"the {edit} edit needs \"{needed}\"")
        if edit == "swap" and entry["lexicon"] not in lexicons:
            raise bad(f"no lexicon {entry['lexicon']!r} is declared above this line")
        if (kind == "dir") != (label is not None):
            raise bad("a dir test names the \"label\" whose probability must not fall; an inv test has no label")
    return BehaviourTest(name.strip(), kind, label, list(templates), edit, entry.get("lexicon"), entry.get("phrase"),
                         float(tolerance), max_cases, str(entry.get("about", "")), number)


def wilson(failures: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a failure rate (95% for z = 1.96): unlike rate ± z·sqrt(rate(1-rate)/n),
    it stays inside [0, 1] and is not zero wide when no case (or every case) fails."""
    if n == 0:
        return 0.0, 1.0
    rate = failures / n
    centre = (rate + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, min(rate, centre - half)), min(1.0, max(rate, centre + half))  # exact 0 or 1 at the ends


@dataclass
class Failure:
    text: str
    source: str | None   # the unedited text (INV, DIR)
    detail: str          # what went wrong, with the probabilities
    badness: float       # how far off: the worst are listed first


@dataclass
class TestResult:
    name: str
    kind: str
    cases: int
    failures: int
    interval: tuple[float, float]
    worst: list[Failure]
    about: str = ""

    @property
    def rate(self) -> float:
        return self.failures / self.cases if self.cases else 0.0


def run_test(test: BehaviourTest, model: Model, labels: list[str], lexicons: dict[str, list[str]],
             texts: list[str], seed: int = 0, n_worst: int = 3) -> TestResult:
    """The cases of one test through ``model``; a case fails by the rule of its kind (see the module)."""
    cases = test.cases(lexicons, texts, seed)
    failures: list[Failure] = []
    if cases:
        after = model([c.text for c in cases])  # [n, n_classes]
        if test.kind == "mft":
            want = torch.tensor([labels.index(c.label) for c in cases])
            got = after.argmax(dim=-1)
            for i in torch.nonzero(got != want).flatten().tolist():
                p_want = float(after[i, want[i]])
                failures.append(Failure(cases[i].text, None, f"P({labels[want[i]]}) = {p_want:.2f}, predicted "
                                        f"{labels[got[i]]}", 1 - p_want))
        else:
            before = model([c.source for c in cases])  # [n, n_classes]
            if test.kind == "inv":
                was, now = before.argmax(dim=-1), after.argmax(dim=-1)
                for i in torch.nonzero(was != now).flatten().tolist():
                    change = float(before[i, was[i]] - after[i, was[i]])
                    failures.append(Failure(cases[i].text, cases[i].source, f"{labels[was[i]]} -> {labels[now[i]]} "
                                            f"(P({labels[was[i]]}) {float(before[i, was[i]]):.2f} -> "
                                            f"{float(after[i, was[i]]):.2f})", change))
            else:
                k = labels.index(test.label)
                fall = before[:, k] - after[:, k]  # [n]
                for i in torch.nonzero(fall > test.tolerance).flatten().tolist():
                    failures.append(Failure(cases[i].text, cases[i].source, f"P({test.label}) "
                                            f"{float(before[i, k]):.2f} -> {float(after[i, k]):.2f}", float(fall[i])))
    failures.sort(key=lambda f: -f.badness)
    return TestResult(test.name, test.kind, len(cases), len(failures), wilson(len(failures), len(cases)),
                      failures[:n_worst], test.about)


def run_suite(suite: Suite, model: Model, labels: list[str], texts: list[str], seed: int = 0,
              n_worst: int = 3) -> list[TestResult]:
    """Every test of ``suite`` through ``model`` (labels checked first); INV and DIR tests edit ``texts``."""
    suite.check_labels(labels)
    return [run_test(test, model, labels, suite.lexicons, texts, seed, n_worst) for test in suite.tests]


def bundle_model(bundle, batch_size: int = 64) -> Model:
    """A bundle as a suite's model: its calibrated probabilities through its inference seam (any backend, any
    device)."""
    return lambda texts: bundle.probabilities(bundle.logits(texts, batch_size)).float().cpu()
