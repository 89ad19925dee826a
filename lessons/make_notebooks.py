"""Write every lesson as a Jupyter notebook: ``python lessons/make_notebooks.py [--out notebooks]``.

The lessons are jupytext "percent" scripts (``# %%`` cells); this writes ``notebooks/NN_name.ipynb`` beside
them (git-ignored: the scripts are the source). A notebook that changed since this script wrote it (notes of
yours, or saved outputs) is kept and named; ``--force`` overwrites it. Open them with ``jupyter lab notebooks/`` after
``pip install -e ".[notebooks]"`` (JupyterLab, the kernel, and ipywidgets for tqdm's notebook progress bars).
Lesson 9's browser step drives Chromium: on Debian/Ubuntu ``apt-get install chromium`` (it is skipped
without it).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

LESSONS = Path(__file__).parent
RECORD = ".written.json"  # in the notebooks folder: the sha256 of each notebook as this script last wrote it


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=LESSONS.parent / "notebooks", help="folder for the .ipynb files")
    parser.add_argument("--force", action="store_true",
                        help="also overwrite notebooks that changed since this script wrote them (your notes)")
    args = parser.parse_args(argv)
    try:
        import jupytext
    except ImportError:
        raise SystemExit("jupytext is needed: pip install -e '.[notebooks]'") from None
    args.out.mkdir(parents=True, exist_ok=True)
    record_path = args.out / RECORD
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = {}
    written = []
    for lesson in sorted(LESSONS.glob("[0-9][0-9]_*.py")):
        target = args.out / f"{lesson.stem}.ipynb"
        if target.exists() and not args.force and record.get(target.name) != digest(target):
            print(f"kept {target}: it changed since this script wrote it (your notes or outputs?); "
                  "rerun with --force to overwrite it")
            continue
        notebook = jupytext.read(lesson, fmt="py:percent")
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        jupytext.write(notebook, target, fmt="ipynb")
        record[target.name] = digest(target)
        written.append(target)
        print(f"wrote {target}")
    record_path.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return written


if __name__ == "__main__":
    main()
