"""The ``exercise`` fixture: the learner's exercise file, imported from ``$TEXTCLF_EXERCISE_FILE``."""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

import pytest


def pytest_configure(config) -> None:
    for lesson in range(1, 21):
        for k in range(1, 10):
            config.addinivalue_line("markers", f"ex{lesson}_{k}: Exercise {lesson}.{k}")


@pytest.fixture(scope="session")
def exercise():
    path = os.environ.get("TEXTCLF_EXERCISE_FILE")
    if not path:
        pytest.skip("set TEXTCLF_EXERCISE_FILE (textclf check does it for you)")
    name = "learner_" + re.sub(r"\W", "_", Path(path).stem)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
