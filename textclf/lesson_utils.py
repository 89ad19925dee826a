"""Small helpers every lesson uses: library versions at the top, and the small mode for CI."""

from __future__ import annotations

import os
from pathlib import Path

from textclf.versions import versions

NOTICE = ("Small mode (TEXTCLF_SMOKE=1): a slice of the data and an epoch or two, so that the lesson runs in "
          "seconds. Accuracies here sit near the majority class and the attributions are noise: the figures show "
          "what each step makes, not what it achieves. Unset TEXTCLF_SMOKE for the real run (measured on an idle "
          "2-core CPU: from 6 seconds (lesson 1) to 10 minutes (lesson 6); the README's lesson table lists each "
          "lesson's time, and docs/results.md holds full-mode figures).")
_announced = False


def smoke_mode() -> bool:
    """True when ``TEXTCLF_SMOKE=1``: lessons shrink their data and epochs to run in seconds (CI does this).
    The first call that finds it on says so on screen, once."""
    global _announced
    on = os.environ.get("TEXTCLF_SMOKE", "") not in ("", "0")
    if on and not _announced:
        _announced = True
        print(NOTICE)
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


__all__ = ["from_root", "repo_root", "smoke_mode", "versions"]
