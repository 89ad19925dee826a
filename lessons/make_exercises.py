"""Write the learner files in ``lessons/exercises/`` from the reference solutions in ``lessons/solutions/``.

    python lessons/make_exercises.py          # rewrite every exercise file
    python lessons/make_exercises.py --check  # exit 1 if an exercise file is out of date (CI runs this)

A function (or method) whose docstring contains ``(Exercise N.k)`` keeps its
signature and docstring and gets ``raise NotImplementedError("Exercise N.k")``
as its body; everything else (the worked examples) is copied as it is. One
source for both files means the stubs can never drift from the solutions.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

HERE = Path(__file__).parent
SOLUTION_HEADER = "reference solutions."
LEARNER_NOTE = '''your file.

Replace each ``raise NotImplementedError("Exercise N.k")`` with your code, then grade it:

    textclf check {lesson}.1      # one exercise
    textclf check {lesson}        # every exercise of lesson {lesson}

The worked examples next to the stubs are complete: read them, use them.'''


def make_stub(source: str, lesson: int) -> str:
    lines = source.splitlines(keepends=True)
    cuts = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node) or ""
            match = re.search(r"\(Exercise (\d+\.\d+)\)", doc)
            if match:
                body_start = node.body[1].lineno if len(node.body) > 1 else None
                indent = " " * node.body[0].col_offset
                stub = f'{indent}raise NotImplementedError("Exercise {match[1]}")\n'
                cuts.append((body_start, node.end_lineno, stub))
    for start, end, replacement in sorted(cuts, key=lambda c: c[1], reverse=True):
        if start is None:
            raise ValueError("an exercise function needs a body after its docstring")
        lines[start - 1 : end] = [replacement]
    text = "".join(lines)
    text = text.replace(SOLUTION_HEADER, LEARNER_NOTE.format(lesson=lesson), 1)
    return re.sub(r"\n\n\n+", "\n\n\n", text)


def main() -> int:
    check = "--check" in sys.argv
    stale = []
    for solution in sorted((HERE / "solutions").glob("ex[0-9][0-9]_*.py")):
        target = HERE / "exercises" / solution.name
        stub = make_stub(solution.read_text(), int(solution.name[2:4]))
        if check:
            if not target.exists() or target.read_text() != stub:
                stale.append(target)
        else:
            target.write_text(stub)
            print(f"wrote {target}")
    for path in stale:
        print(f"{path} is out of date: run python lessons/make_exercises.py", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
