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
    graded: bool = True  # False: the exercise could not be graded (see messages)
    hint: str = ""  # what to look at, from the test file's HINTS (shown when the exercise is not yet passed)


def parse_exercise(text: str) -> tuple[int, int | None]:
    """``"1.2"`` -> ``(1, 2)``; ``"1"`` -> ``(1, None)`` (every exercise of lesson 1)."""
    match = re.fullmatch(r"(\d+)(?:\.(\d+))?", text.strip())
    if not match:
        raise ValueError(f"expected an exercise like 1.2 (lesson.exercise) or a lesson number, not {text!r}")
    return int(match.group(1)), int(match.group(2)) if match.group(2) else None


def exercises_dir(cwd: Path | None = None) -> Path:
    """The ``lessons/exercises/`` to grade: the current folder's (a learner's own copy of the lessons), else
    the one beside the package in this source checkout. Never a parent folder's: an exercise file is code
    that grading runs, so only a file the learner pointed at (by standing in its folder) is picked up."""
    for root in ((cwd or Path.cwd()).resolve(), PROJECT_DIR):
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


def time_limit(n_exercises: int) -> float:
    """Seconds the grading process may take: ``TEXTCLF_CHECK_SECONDS`` per exercise (default 180), checked when
    read: a positive number of seconds, at most a day."""
    raw = os.environ.get("TEXTCLF_CHECK_SECONDS", "180")
    try:
        seconds = float(raw)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds <= 86_400:  # NaN fails too
        raise ValueError(f"TEXTCLF_CHECK_SECONDS={raw!r}: expected the seconds each exercise may take, a number "
                         "above 0 and at most 86400 (unset it for the default 180)")
    return seconds * max(1, n_exercises)


def run_checks(exercises: list[str], file: Path | None = None, verbose: bool = False) -> dict[str, Outcome]:
    """Run the tests of each exercise against ``file`` in a child process with a time limit; returns the
    outcome per exercise marker. Anything but a complete report from the child (it exited early, hung, was
    killed, or its report is damaged) is "could not grade", with the reason."""
    try:
        import pytest  # noqa: F401 (the child needs it)
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
    print(f"Checking {file}", flush=True)
    selected = [f"ex{lesson}_{k}" for _, k in parsed if k is not None]
    known = sorted(set(re.findall(rf"\bex{lesson}_(\d+)\b", test_file.read_text(encoding="utf-8"))), key=int)
    for marker in selected:
        if marker.split("_")[1] not in known:
            raise ValueError(f"lesson {lesson} has no exercise {marker[2:].replace('_', '.')}; its exercises are "
                             + ", ".join(f"{lesson}.{k}" for k in known))
    wanted = selected or [f"ex{lesson}_{k}" for k in known]
    try:
        stubs = untouched_stubs(file.read_text(encoding="utf-8"))
    except SyntaxError as err:  # no test could even import it: say where, not "0/5 tests pass"
        where = f"line {err.lineno}: {err.msg}" if err.lineno else err.msg
        return {m: Outcome(messages=[f"your file does not import ({file.name} {where})"], graded=False)
                for m in wanted}
    except (OSError, UnicodeDecodeError) as err:
        return {m: Outcome(messages=[f"your file cannot be read ({err})"], graded=False) for m in wanted}
    left = {m: Outcome(messages=[STUB_MESSAGE.format(exercise_name(m))]) for m in wanted if exercise_name(m) in stubs}
    to_run = [m for m in wanted if m not in left]
    if not to_run:  # every exercise asked for is an untouched stub: nothing to run, an answer in no time
        return left
    args = [str(test_file), "-p", "no:cacheprovider", "-p", "textclf.grading.recorder", "--rootdir", str(GRADING_DIR),
            "-c", str(GRADING_DIR / "pytest.ini"), "--no-header", "-W", "ignore::pytest.PytestAssertRewriteWarning",
            *(["-v", "--tb=short"] if verbose else ["-qq", "--tb=no", "-rN"])]
    args += ["-m", " or ".join(to_run)]  # the exercises asked for, less the untouched stubs
    found, problem = grade_in_child(args, file, time_limit(len(to_run)), verbose)
    if problem:
        found = {m: Outcome(messages=[f"could not grade: {problem}"], graded=False) for m in to_run}
    return {m: left.get(m) or found.get(m, Outcome(messages=["no tests for this exercise"])) for m in wanted}


def exercise_name(marker: str) -> str:
    """A test marker's exercise: ``"ex1_2"`` -> ``"1.2"``."""
    return marker.removeprefix("ex").replace("_", ".")


STUB_MESSAGE = "NotImplementedError: Exercise {} (the stub is untouched: replace its raise with your code)"


def untouched_stubs(source: str) -> set[str]:
    """The exercises (``"1.2"``) whose every function in ``source`` is still the stub: a docstring (or
    nothing) and ``raise NotImplementedError("Exercise 1.2")``. Read with ``ast``, nothing is run; an
    exercise with any function changed is graded by its tests."""
    import ast

    stubs, changed = set(), set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        body = node.body[1:] if (node.body and isinstance(node.body[0], ast.Expr)
                                 and isinstance(node.body[0].value, ast.Constant)
                                 and isinstance(node.body[0].value.value, str)) else node.body
        for raised in ast.walk(node):
            if isinstance(raised, ast.Raise) and isinstance(raised.exc, ast.Call) and \
                    isinstance(raised.exc.func, ast.Name) and raised.exc.func.id == "NotImplementedError" and \
                    raised.exc.args and isinstance(raised.exc.args[0], ast.Constant):
                name = str(raised.exc.args[0].value).removeprefix("Exercise ").strip()
                if len(body) == 1 and body[0] is raised:  # the function is nothing but the stub
                    stubs.add(name)
                else:
                    changed.add(name)
    return stubs - changed


def grade_in_child(args: list[str], file: Path, limit: float, verbose: bool) -> tuple[dict[str, Outcome], str | None]:
    """Run pytest with ``args`` in a new process group; ``(outcomes, None)`` from its report file, or
    ``({}, why it could not be graded)``."""
    import secrets
    import signal
    import subprocess
    import sys
    import tempfile

    from textclf.grading.recorder import REPORT_ENV, TOKEN_ENV

    token = secrets.token_hex(8)
    with tempfile.TemporaryDirectory(prefix="textclf-check-") as work:
        report_path = Path(work) / "report.json"
        env = {**os.environ, FILE_ENV: str(file), REPORT_ENV: str(report_path), TOKEN_ENV: token}
        child = subprocess.Popen([sys.executable, "-m", "pytest", *args], env=env, cwd=work, text=True,
                                 stdout=None if verbose else subprocess.PIPE, stderr=subprocess.STDOUT,
                                 start_new_session=True)  # its own group: killed with every thread it started
        try:
            output, _ = child.communicate(timeout=limit)
            late = None
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            output, _ = child.communicate()
            late = f"still running after {limit:.0f} s (an endless loop, or a thread that never ends?); stopped"
        outcomes = read_report(report_path, token)
    if outcomes is None:
        tail = (output or "").strip().splitlines()[-3:]
        why = late or f"the grading process ended (exit status {child.returncode}) without a report"
        return {}, why + (f"; its last output: {' | '.join(tail)}" if tail else "")
    return outcomes, None


def read_report(path: Path, token: str) -> dict[str, Outcome] | None:
    """The outcomes in a complete report file carrying ``token``; None for anything else."""
    import json

    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        if payload.get("token") != token or payload.get("complete") is not True:
            return None
        return {name: Outcome(int(o["passed"]), int(o["failed"]), [str(m) for m in o["messages"]],
                              hint=str(o.get("hint", "")))
                for name, o in payload["outcomes"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def status(outcome: Outcome, marker: str) -> str:
    """``passed``, ``not started`` (the stub still raises its NotImplementedError), ``not yet`` or
    ``could not grade``."""
    if not outcome.graded:
        return "could not grade"
    if outcome.failed == 0 and outcome.passed:
        return "passed"
    name = exercise_name(marker)
    if any(f"NotImplementedError: Exercise {name}" in m for m in outcome.messages):
        return "not started"
    return "not yet"


def progress(cwd: Path | None = None) -> list[tuple[str, str]]:
    """``(exercise, status)`` for every exercise of every lesson, graded in the learner's files."""
    rows = []
    for test_file in sorted(GRADING_DIR.glob("test_lesson[0-9][0-9].py")):
        lesson = int(test_file.stem[-2:])
        try:
            file = find_learner_file(lesson, cwd)
        except FileNotFoundError:
            continue
        for marker, outcome in run_checks([str(lesson)], file).items():
            rows.append((exercise_name(marker), status(outcome, marker)))
    return rows


def progress_table(rows: list[tuple[str, str]]) -> str:
    counts = {s: sum(1 for _, x in rows if x == s) for s in ("passed", "not yet", "not started", "could not grade")}
    lines = [f"{'exercise':<9} status", *(f"{name:<9} {state}" for name, state in rows), "",
             ", ".join(f"{n} {s}" for s, n in counts.items() if n) + f" (of {len(rows)})"]
    return "\n".join(lines)


def report(outcomes: dict[str, Outcome]) -> str:
    lines = []
    for marker, outcome in outcomes.items():
        name = exercise_name(marker)
        total = outcome.passed + outcome.failed
        if not outcome.graded:
            lines.append(f"  Exercise {name}: {outcome.messages[0]}")
        elif outcome.failed == 0 and outcome.passed:
            lines.append(f"  Exercise {name}: passed ({outcome.passed}/{total} tests)")
        elif status(outcome, marker) == "not started":
            lines.append(f"  Exercise {name}: not started - {outcome.messages[0]}")
        else:
            first = outcome.messages[0] if outcome.messages else "failed"
            lines.append(f"  Exercise {name}: not yet ({outcome.passed}/{total} tests pass) - {first}")
            if outcome.hint:
                lines.append(f"    hint: {outcome.hint}")
    return "\n".join(lines)
