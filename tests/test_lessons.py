"""Every lesson runs top to bottom in its small mode (TEXTCLF_SMOKE=1) and is valid jupytext."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

LESSONS = sorted((Path(__file__).parents[1] / "lessons").glob("[0-9][0-9]_*.py"))


@pytest.mark.slow
@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_lesson_runs_in_small_mode(lesson, tmp_path):
    env = {**os.environ, "TEXTCLF_SMOKE": "1", "MPLBACKEND": "Agg"}
    result = subprocess.run([sys.executable, str(lesson)], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "torch " in result.stdout  # each lesson prints the library versions first


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_lesson_is_a_jupytext_percent_notebook(lesson):
    jupytext = pytest.importorskip("jupytext")
    notebook = jupytext.read(lesson)
    assert sum(cell.cell_type == "markdown" for cell in notebook.cells) >= 3
    assert any("import textclf" in cell.source or "from textclf" in cell.source for cell in notebook.cells)
