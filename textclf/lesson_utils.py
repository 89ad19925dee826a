"""Small helpers every lesson uses: library versions at the top, and the small mode for CI."""

from __future__ import annotations

import os
import platform
from importlib import metadata


def smoke_mode() -> bool:
    """True when ``TEXTCLF_SMOKE=1``: lessons shrink their data and epochs to run in seconds (CI does this)."""
    return os.environ.get("TEXTCLF_SMOKE", "") not in ("", "0")


def versions() -> str:
    """One line naming Python and the library versions a lesson ran with."""
    names = ["textclf", "torch", "numpy", "scikit-learn", "captum", "safetensors"]
    found = []
    for name in names:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return f"Python {platform.python_version()} | " + " | ".join(found)
