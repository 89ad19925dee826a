"""Small helpers every lesson uses: library versions at the top, the small mode for CI, paths from the
repository's root, and Markdown tables that render in a notebook."""

from __future__ import annotations

import os
from pathlib import Path

from textclf.progress import in_notebook
from textclf.versions import versions

NOTICE = ("Small mode (TEXTCLF_SMOKE=1): a slice of the data and an epoch or two, so that the lesson runs in "
          "seconds. Accuracies here sit near the majority class and the attributions are noise: the figures show "
          "what each step makes, not what it achieves. Unset TEXTCLF_SMOKE for the real run (measured on an idle "
          "2-core CPU: from 6 seconds (lesson 1) to 10 minutes (lesson 6); the README's lesson table lists each "
          "lesson's time, and docs/results.md holds full-mode figures).")
# Each lesson's time run as a script on an idle 2-core CPU, (small mode, full mode): the README's lesson table
# quotes these (tests/test_readme.py keeps the two equal).
LESSON_TIMES = {
    "01": ("4 s", "6 s"),
    "02": ("11 s", "4 min"),
    "03": ("7 s", "50 s"),
    "04": ("7 s", "2 min"),
    "05": ("8 s", "34 s"),
    "06": ("10 s", "10 min"),
    "07": ("19 s", "1.5 min"),
    "08": ("38 s", "9 min"),
    "09": ("25 s", "2 min"),
    "10": ("18 s", "31 s"),
    "11": ("6 s", "2 min"),
    "12": ("18 s", "7.5 min"),
    "13": ("11 s", "8.5 min"),
    "14": ("10 s", "3.5 min"),
    "15": ("28 s", "12.5 min"),
}
_announced = False


def smoke_mode(lesson: str | None = None) -> bool:
    """True when ``TEXTCLF_SMOKE=1``: lessons shrink their data and epochs to run in seconds (CI does this).
    The first call says on screen which mode runs and, given the lesson's number, how long it takes here."""
    global _announced
    on = os.environ.get("TEXTCLF_SMOKE", "") not in ("", "0")
    if not _announced:
        _announced = True
        small, full = LESSON_TIMES.get(lesson or "", (None, None))
        if on:
            print(NOTICE + (f" This lesson: about {small} in small mode, {full} in full." if small else ""))
        elif full:
            print(f"Full mode: this lesson takes about {full} on an idle 2-core CPU (TEXTCLF_SMOKE=1 runs it in "
                  f"about {small}, on a slice of the data with an epoch or two).")
    return on


def repo_root() -> Path:
    """The repository's folder (the one holding ``lessons/`` and ``textclf/``), wherever a lesson runs: as a
    script from the root or elsewhere, or as a notebook in ``notebooks/``. The current folder or the nearest
    one above it that holds both; else the folder this package was installed from (an editable install);
    else the current folder."""
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "lessons").is_dir() and (folder / "textclf").is_dir():
            return folder
    installed_from = Path(__file__).resolve().parents[1]
    return installed_from if (installed_from / "lessons").is_dir() else here


def from_root(relative: str | Path) -> Path:
    """``relative`` (``"runs/minilm"``, ``"tests/data/..."``) under the repository's folder (``repo_root``), so
    a notebook in ``notebooks/`` finds what the README's commands wrote from the root."""
    return repo_root() / relative


def show_table(markdown: str) -> None:
    """A Markdown table: rendered in a notebook (raw pipes read badly there), printed as it is in a script."""
    if in_notebook():
        from IPython.display import Markdown, display

        display(Markdown(markdown))
    else:
        print(markdown)


__all__ = ["from_root", "repo_root", "show_table", "smoke_mode", "versions"]
