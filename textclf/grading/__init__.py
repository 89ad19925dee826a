"""Grading of the lesson exercises: ``textclf check 1.1`` runs exercise 1.1's tests on the learner's file.

Each lesson ``NN`` has a learner file ``lessons/exercises/exNN_*.py`` with
``raise NotImplementedError("Exercise N.k")`` stubs, a reference solution in
``lessons/solutions/``, and a test file ``textclf/grading/test_lessonNN.py``
whose tests carry one pytest marker per exercise (``ex1_1``). The tests load the
file named by the ``TEXTCLF_EXERCISE_FILE`` environment variable.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

GRADING_DIR = Path(__file__).parent
PROJECT_DIR = GRADING_DIR.parents[1]  # the source checkout textclf runs from (pip install -e .)
FILE_ENV = "TEXTCLF_EXERCISE_FILE"


@dataclass
class Outcome:
    passed: int = 0
    failed: int = 0
    messages: list[str] = field(default_factory=list)


def parse_exercise(text: str) -> tuple[int, int | None]:
    """``"1.2"`` -> ``(1, 2)``; ``"1"`` -> ``(1, None)`` (every exercise of lesson 1)."""
    match = re.fullmatch(r"(\d+)(?:\.(\d+))?", text.strip())
    if not match:
        raise ValueError(f"expected an exercise like 1.2 (lesson.exercise) or a lesson number, not {text!r}")
    return int(match.group(1)), int(match.group(2)) if match.group(2) else None


def exercises_dir(cwd: Path | None = None) -> Path:
    """This project's ``lessons/exercises/``: the one beside the package in a source checkout, else (textclf
    installed as a plain package) the one in the current folder. Never a parent folder's: an exercise file
    is code that grading runs, so only the learner's own file in this project is picked up unasked."""
    for root in (PROJECT_DIR, (cwd or Path.cwd()).resolve()):
        if (root / "lessons" / "exercises").is_dir():
            return root / "lessons" / "exercises"
    raise FileNotFoundError(f"no lessons/exercises/ folder in this project ({PROJECT_DIR}) or in the current "
                            "folder; pass --file PATH to name your exercise file")


def find_learner_file(lesson: int, cwd: Path | None = None) -> Path:
    """The learner's ``exNN_*.py`` in this project's ``lessons/exercises/`` (``exercises_dir``)."""
    folder = exercises_dir(cwd)
    matches = sorted(p for p in folder.glob(f"ex{lesson:02d}_*.py") if p.is_file())
    if not matches:
        raise FileNotFoundError(f"no ex{lesson:02d}_*.py in {folder}; pass --file PATH to name your exercise file")
    return matches[0]


class _Recorder:
    """A pytest plugin that tallies outcomes per exercise marker."""

    def __init__(self) -> None:
        self.outcomes: dict[str, Outcome] = {}

    def pytest_runtest_logreport(self, report) -> None:
        if report.when != "call" and not report.failed:
            return
        for name in report.keywords:
            if re.fullmatch(r"ex\d+_\d+", name):
                outcome = self.outcomes.setdefault(name, Outcome())
                if report.passed:
                    outcome.passed += 1
                else:
                    outcome.failed += 1
                    crash = getattr(report.longrepr, "reprcrash", None)
                    outcome.messages.append(crash.message.splitlines()[0] if crash else str(report.longrepr)[:200])


def run_checks(exercises: list[str], file: Path | None = None, verbose: bool = False) -> dict[str, Outcome]:
    """Run the tests of each exercise against ``file``; returns the outcome per exercise marker."""
    try:
        import pytest
    except ImportError:
        raise ModuleNotFoundError("grading needs pytest and hypothesis: pip install 'textclf[dev]'") from None
    parsed = [parse_exercise(e) for e in exercises]
    lessons = sorted({lesson for lesson, _ in parsed})
    if len(lessons) != 1:
        raise ValueError("check the exercises of one lesson at a time")
    lesson = lessons[0]
    test_file = GRADING_DIR / f"test_lesson{lesson:02d}.py"
    if not test_file.exists():
        raise ValueError(f"lesson {lesson} has no graded exercises")
    file = (file or find_learner_file(lesson)).resolve()
    if not file.is_file() or file.suffix != ".py":
        raise FileNotFoundError(f"{file}: no such exercise file; expected a .py file")
    print(f"Checking {file}")
    selected = [f"ex{lesson}_{k}" for _, k in parsed if k is not None]
    known = sorted(set(re.findall(rf"\bex{lesson}_(\d+)\b", test_file.read_text(encoding="utf-8"))), key=int)
    for marker in selected:
        if marker.split("_")[1] not in known:
            raise ValueError(f"lesson {lesson} has no exercise {marker[2:].replace('_', '.')}; its exercises are "
                             + ", ".join(f"{lesson}.{k}" for k in known))
    args = [str(test_file), "-p", "no:cacheprovider", "--rootdir", str(GRADING_DIR),
            "-c", str(GRADING_DIR / "pytest.ini"), "--no-header", "-W", "ignore::pytest.PytestAssertRewriteWarning",
            *(["-v", "--tb=short"] if verbose else ["-qq", "--tb=no", "-rN"])]
    if selected:
        args += ["-m", " or ".join(selected)]
    recorder = _Recorder()
    previous = os.environ.get(FILE_ENV)
    os.environ[FILE_ENV] = str(file)
    try:
        pytest.main(args, plugins=[recorder])
    finally:
        if previous is None:
            os.environ.pop(FILE_ENV, None)
        else:
            os.environ[FILE_ENV] = previous
    wanted = selected or sorted(recorder.outcomes, key=lambda m: int(m.split("_")[1]))
    return {m: recorder.outcomes.get(m, Outcome(messages=["no tests for this exercise"])) for m in wanted}


def report(outcomes: dict[str, Outcome]) -> str:
    lines = []
    for marker, outcome in outcomes.items():
        name = marker.removeprefix("ex").replace("_", ".")
        total = outcome.passed + outcome.failed
        if outcome.failed == 0 and outcome.passed:
            lines.append(f"  Exercise {name}: passed ({outcome.passed}/{total} tests)")
        else:
            first = outcome.messages[0] if outcome.messages else "failed"
            lines.append(f"  Exercise {name}: not yet ({outcome.passed}/{total} tests pass) - {first}")
    return "\n".join(lines)
