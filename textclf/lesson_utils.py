"""Small helpers every lesson uses: library versions at the top, and the small mode for CI."""

from __future__ import annotations

import os

from textclf.versions import versions


def smoke_mode() -> bool:
    """True when ``TEXTCLF_SMOKE=1``: lessons shrink their data and epochs to run in seconds (CI does this)."""
    return os.environ.get("TEXTCLF_SMOKE", "") not in ("", "0")


__all__ = ["smoke_mode", "versions"]
