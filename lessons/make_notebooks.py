"""Write every lesson as a Jupyter notebook: ``python lessons/make_notebooks.py [--out notebooks]``.

The lessons are jupytext "percent" scripts (``# %%`` cells); this writes ``notebooks/NN_name.ipynb`` beside
them (git-ignored: the scripts are the source). Open them with ``jupyter lab notebooks/`` after
``pip install -e ".[notebooks]"`` (JupyterLab, the kernel, and ipywidgets for tqdm's notebook progress bars).
Lesson 9's browser step drives Chromium: on Debian/Ubuntu ``apt-get install chromium`` (it is skipped
without it).
"""

from __future__ import annotations

import argparse
from pathlib import Path

LESSONS = Path(__file__).parent


def main(argv: list[str] | None = None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=LESSONS.parent / "notebooks", help="folder for the .ipynb files")
    args = parser.parse_args(argv)
    try:
        import jupytext
    except ImportError:
        raise SystemExit("jupytext is needed: pip install -e '.[notebooks]'") from None
    args.out.mkdir(parents=True, exist_ok=True)
    written = []
    for lesson in sorted(LESSONS.glob("[0-9][0-9]_*.py")):
        notebook = jupytext.read(lesson, fmt="py:percent")
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        target = args.out / f"{lesson.stem}.ipynb"
        jupytext.write(notebook, target, fmt="ipynb")
        written.append(target)
        print(f"wrote {target}")
    return written


if __name__ == "__main__":
    main()
