"""The README is a way in: short, the lessons early, every link and quoted path true, its figures sourced.

The measured results live in ``docs/``; the README quotes one headline table, each figure of which must be
found in ``docs/results.md`` beside the benchmark that produced it.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
README = ROOT / "README.md"
PAGES = [README, ROOT / "ARCHITECTURE.md", *sorted((ROOT / "docs").glob("*.md"))]
# a quoted path in the repository: textclf/..., lessons/..., docs/..., optionally :name or :Class.method
QUOTED = re.compile(r"`((?:textclf|lessons|benchmarks|docs|tests|\.ci)/[\w./*-]*)(?::([\w.]+))?`")


def test_the_readme_is_short_and_starts_with_the_lessons():
    text = README.read_text(encoding="utf-8")
    assert len(text.encode("utf-8")) <= 15_000, f"README.md is {len(text.encode()):,} bytes; keep it <= 15,000"
    heading = next(i for i, line in enumerate(text.splitlines(), 1) if line.startswith("## The lessons"))
    assert heading <= 120
    rows = [line for line in text.splitlines() if re.match(r"\| \d\d \|", line)]
    assert [r.split("|")[1].strip() for r in rows] == [p.stem[:2] for p in sorted(ROOT.glob("lessons/[0-9][0-9]_*.py"))]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_link_resolves(page):
    text = page.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if target.startswith(("http://", "https://", "#", "mailto:")):
            continue
        assert (page.parent / target.split("#")[0]).exists(), f"{page.name}: link to {target} goes nowhere"


def defines(path: Path, name: str) -> bool:
    """Whether ``path`` defines ``name`` (``Class.method``: the class, and the method in the file)."""
    text = path.read_text(encoding="utf-8")
    return all(re.search(rf"^\s*(def|class)\s+{re.escape(part)}\b", text, re.MULTILINE) for part in name.split("."))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_quoted_path_and_function_exists(page):
    text = page.read_text(encoding="utf-8")
    for path, name in QUOTED.findall(text):
        pattern = path.replace("NN", "[0-9][0-9]")  # lessons/NN_*.py: every lesson's file
        matches = list(ROOT.glob(pattern)) if pattern != path or "*" in path else [ROOT / path]
        assert matches and all(m.exists() for m in matches), f"{page.name} quotes {path}, which does not exist"
        if name:
            assert defines(matches[0], name), f"{page.name} quotes {path}:{name}, which {path} does not define"


def test_the_checks_catch_a_wrong_path_and_a_wrong_name(tmp_path):
    assert QUOTED.findall("see `textclf/loop.py:train_loop` and `lessons/nope.py`") == [
        ("textclf/loop.py", "train_loop"), ("lessons/nope.py", "")]
    assert defines(ROOT / "textclf/loop.py", "train_loop") and not defines(ROOT / "textclf/loop.py", "train_loops")
    assert defines(ROOT / "textclf/batching.py", "Collator.__call__")


def test_every_headline_figure_is_in_the_results_page_beside_its_benchmark():
    text = README.read_text(encoding="utf-8")
    results = (ROOT / "docs" / "results.md").read_text(encoding="utf-8")
    section = text[text.index("## Results"):text.index("## The command line")]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "`benchmarks/" in line]
    assert len(rows) >= 3
    for row in rows:
        figure = re.search(r"\| (\d+\.\d+(?: ± \d+\.\d+)?) \|", row).group(1)
        script = re.search(r"`(benchmarks/[\w]+\.py)`", row).group(1)
        assert (ROOT / script).is_file() and figure in results, f"{figure} (from {script}) is not in docs/results.md"
        assert script in results, f"docs/results.md does not name {script}"


def test_the_lesson_table_quotes_the_times_the_lessons_announce():
    from textclf.lesson_utils import LESSON_TIMES

    text = README.read_text(encoding="utf-8")
    quoted = {m.group(1): (m.group(2).strip(), m.group(3).strip())
              for m in re.finditer(r"^\| (\d\d) \| [^|]+ \| ([^|]+) \| ([^|]+) \|", text, re.MULTILINE)}
    assert quoted == LESSON_TIMES
    for lesson in sorted(ROOT.glob("lessons/[0-9][0-9]_*.py")):
        assert f'smoke_mode("{lesson.name[:2]}")' in lesson.read_text(encoding="utf-8"), lesson.name
