"""The pytest plugin ``textclf check`` loads into its grading process: it tallies each exercise's tests and
writes the tally to the report file the parent named (``TEXTCLF_GRADING_REPORT``).

An outcome is taken from what the test call raised (``CallInfo.excinfo``), not from pytest's report object,
so an exercise file that patches pytest's reports does not turn a failure into a pass; and the parent trusts
only a complete report file carrying the token it chose, never the child's exit code alone. (An exercise
runs in the grading process itself, so no grading is tamper-proof against code written to defeat it; this
stops the accidents and the naive tricks.)
"""

from __future__ import annotations

import json
import os
import re

import pytest

REPORT_ENV, TOKEN_ENV = "TEXTCLF_GRADING_REPORT", "TEXTCLF_GRADING_TOKEN"
OUTCOMES: dict[str, dict] = {}


def describe_failure(excinfo) -> str:
    """The error type and message; for a syntax error in the exercise file, its line and a caret."""
    error = excinfo.value
    if isinstance(error, SyntaxError) and error.text:
        caret = " " * max(0, (error.offset or 1) - 1) + "^"
        return (f"SyntaxError: {error.msg} ({os.path.basename(error.filename or '')}, line {error.lineno})\n"
                f"      {error.text.rstrip()}\n      {caret}")
    first = (str(error).splitlines() or [""])[0]
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_makereport(item, call) -> None:
    if call.when == "teardown" or (call.when == "setup" and call.excinfo is None):
        return
    skipped = call.excinfo is not None and call.excinfo.errisinstance(pytest.skip.Exception)
    if call.when == "setup" and skipped:
        return
    for name in (m.name for m in item.iter_markers() if re.fullmatch(r"ex\d+_\d+", m.name)):
        outcome = OUTCOMES.setdefault(name, {"passed": 0, "failed": 0, "messages": []})
        if call.excinfo is None:
            outcome["passed"] += 1
            continue
        outcome["failed"] += 1
        outcome.setdefault("hint", getattr(item.module, "HINTS", {}).get(name.removeprefix("ex").replace("_", "."), ""))
        doc = (getattr(item, "obj", None).__doc__ or "").strip().splitlines()
        what = item.name + (f" ({doc[0]})" if doc else "")
        outcome["messages"].append(f"{what}: skipped" if skipped else f"{what}: {describe_failure(call.excinfo)}")


def pytest_sessionfinish(session) -> None:
    path = os.environ.get(REPORT_ENV)
    if path:
        payload = {"token": os.environ.get(TOKEN_ENV), "outcomes": OUTCOMES, "complete": True}
        with open(path, "w", encoding="utf-8") as report:
            json.dump(payload, report)
