"""The versions of Python and the libraries a run used: printed atop each lesson, recorded in each bundle."""

from __future__ import annotations

import platform
from importlib import metadata

LIBRARIES = ("textclf", "torch", "numpy", "scikit-learn", "captum", "safetensors")


def versions() -> str:
    """One line naming Python and the library versions, e.g. ``Python 3.12.3 | textclf 0.1.0 | torch 2.13.0``."""
    found = []
    for name in LIBRARIES:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return f"Python {platform.python_version()} | " + " | ".join(found)
