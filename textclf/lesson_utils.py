"""Small helpers every lesson uses: library versions at the top, and the small mode for CI."""

from __future__ import annotations

import os

from textclf.versions import versions

NOTICE = ("Small mode (TEXTCLF_SMOKE=1): a slice of the data and an epoch or two, so that the lesson runs in "
          "seconds. Accuracies here sit near the majority class and the attributions are noise: the figures show "
          "what each step makes, not what it achieves. Unset TEXTCLF_SMOKE for the real run (measured on an idle "
          "2-core CPU: from 6 seconds (lesson 1) to 10 minutes (lesson 6) per lesson; the README lists each, "
          "and its tables are full-mode figures).")
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


__all__ = ["smoke_mode", "versions"]
