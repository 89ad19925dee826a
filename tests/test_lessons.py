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


# What each lesson run as a notebook from notebooks/ must print: its key check (lesson 02: training progress in
# a kernel, where stderr is no terminal; 07: tests/data/ found from notebooks/; 13: the lesson ran through).
NOTEBOOK_CHECKS = {
    "01_text_to_tensors": "Vocab(size=",
    "02_recurrent": "epoch 1/2: train loss",
    "03_convolutional": "same logits alone and in a padded batch: True",
    "04_pretrained_word_vectors": "cosine(good, bad)",
    "05_which_words_mattered": "max |ours - captum|",
    "06_transformer_and_transfer": "without positions, in order / shuffled",
    "07_pretrained_transformer": "max difference from the reference model",
    "08_speed": "| fp32 unsorted |",
    "09_ship_it": "disable_nagle_algorithm=True",
    "10_scale_out": "max |full - mean of slices|",
    "11_can_you_trust_it": "predictions unchanged: True",
    "12_which_explanation": "most faithful",
    "13_distillation": "teacher: cnn, test accuracy",
    "14_behaviour": "adding 'I loved it.': P(positive) falls by more than 0.1 for",
    "15_lora": "B = 0, so the output is the frozen layer's: True",
}


RENDERED_TABLES = {"12_which_explanation": "| method | deletion AUC", "14_behaviour": "| test | kind | cases |",
                   "15_lora": "| way | test accuracy |"}


def test_every_lesson_has_a_notebook_check():
    assert sorted(NOTEBOOK_CHECKS) == [lesson.stem for lesson in LESSONS]


@pytest.mark.slow
@pytest.mark.parametrize("stem,printed", NOTEBOOK_CHECKS.items(), ids=list(NOTEBOOK_CHECKS))
def test_lesson_runs_as_a_notebook_from_the_notebooks_folder(stem, printed, monkeypatch):
    jupytext = pytest.importorskip("jupytext")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    notebook = jupytext.read(LESSONS[0].parent / f"{stem}.py", fmt="py:percent")
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    folder = LESSONS[0].parents[1] / "notebooks"  # where make_notebooks.py puts them and jupyter lab runs them
    folder.mkdir(exist_ok=True)
    monkeypatch.setenv("TEXTCLF_SMOKE", "1")  # the kernel inherits this process's environment
    nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}}).execute()
    streams = [output for cell in notebook.cells for output in cell.get("outputs", [])
               if output.get("output_type") == "stream"]
    # a kernel may send one print in two messages (the flush timer), so each stream is joined as it was written
    printed_out = "\n".join("".join(output.get("text", "") for output in streams if output.get("name") == name)
                             for name in ("stdout", "stderr"))
    assert printed in printed_out, printed_out[-2000:]
    if stem in RENDERED_TABLES:  # shown as a Markdown table, not printed as raw pipes
        rendered = [output["data"]["text/markdown"] for cell in notebook.cells for output in cell.get("outputs", [])
                    if "text/markdown" in output.get("data", {})]
        assert any(RENDERED_TABLES[stem] in table for table in rendered), rendered
        assert RENDERED_TABLES[stem] not in printed_out
