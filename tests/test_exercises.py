"""The exercise pattern: the reference solution passes `textclf check`, the untouched stub fails it."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
STUBS = sorted((ROOT / "lessons" / "exercises").glob("ex[0-9][0-9]_*.py"))


def check(lesson: int, file: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "textclf", "check", str(lesson), "--file", str(file)],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)


def exercises_in(file: Path) -> set[str]:
    return set(re.findall(r'NotImplementedError\("Exercise (\d+\.\d+)"\)', file.read_text()))


@pytest.mark.parametrize("stub", STUBS, ids=lambda p: p.stem)
def test_reference_passes_and_stub_fails(stub):
    lesson = int(stub.name[2:4])
    solution = ROOT / "lessons" / "solutions" / stub.name
    expected = exercises_in(stub)
    assert len(expected) >= 3, "each lesson has at least three exercises"
    assert not exercises_in(solution)

    passed = check(lesson, solution)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert set(re.findall(r"Exercise (\d+\.\d+): passed", passed.stdout)) == expected

    failed = check(lesson, stub)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    for ex in expected:  # an untouched stub is recognised without running its tests
        assert re.search(rf"Exercise {ex}: not started - NotImplementedError: Exercise {ex}", failed.stdout)


def test_check_one_exercise_and_bad_arguments(tmp_path):
    result = subprocess.run([sys.executable, "-m", "textclf", "check", "1.2", "--file",
                             str(ROOT / "lessons" / "solutions" / "ex01_text_to_tensors.py")],
                            capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert result.returncode == 0 and "Exercise 1.2: passed" in result.stdout and "1.1" not in result.stdout
    bad = subprocess.run([sys.executable, "-m", "textclf", "check", "one"], capture_output=True, text=True)
    assert bad.returncode == 2 and "expected an exercise like 1.2" in bad.stderr
    missing = subprocess.run([sys.executable, "-m", "textclf", "check", "1", "--file", str(tmp_path / "nope.py")],
                             capture_output=True, text=True)
    assert missing.returncode == 2 and "no such exercise file" in missing.stderr


def test_check_grades_only_this_projects_exercise_file(tmp_path):
    """An exercise file in some parent folder of where `textclf check` runs is code: it must not be run."""
    planted = tmp_path / "lessons" / "exercises"
    planted.mkdir(parents=True)
    marker = tmp_path / "ran"
    (planted / "ex01_text_to_tensors.py").write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    inside = tmp_path / "somewhere" / "deeper"
    inside.mkdir(parents=True)
    result = subprocess.run([sys.executable, "-m", "textclf", "check", "1.1"], capture_output=True, text=True,
                            cwd=inside, timeout=600)
    assert not marker.exists(), "a parent folder's exercise file was run"
    assert f"Checking {ROOT / 'lessons' / 'exercises'}" in result.stdout, result.stdout + result.stderr


def test_exercise_files_are_generated_from_the_solutions():
    result = subprocess.run([sys.executable, str(ROOT / "lessons" / "make_exercises.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("stub", STUBS, ids=lambda p: p.stem)
def test_every_exercise_has_a_hint_that_is_not_its_answer(stub):
    import ast

    lesson = int(stub.name[2:4])
    tests = ROOT / "textclf" / "grading" / f"test_lesson{lesson:02d}.py"
    source = tests.read_text()
    marked = {f"{lesson}.{k}" for k in re.findall(rf"mark\.ex{lesson}_(\d+)", source)}
    hints = next(ast.literal_eval(node.value) for node in ast.parse(source).body
                 if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "HINTS")
    assert set(hints) == marked == exercises_in(stub)
    solution = (ROOT / "lessons" / "solutions" / stub.name).read_text()
    code = {line.strip() for line in solution.splitlines()
            if len(line.strip()) > 25 and not line.strip().startswith(("#", '"'))}
    for name, hint in hints.items():
        assert 40 <= len(hint) <= 400, name
        assert not [line for line in code if line in hint], f"hint {name} quotes the solution"


def test_a_wrong_answer_gets_its_hint(tmp_path):
    wrong = tmp_path / "ex13_distillation.py"
    solution = (ROOT / "lessons" / "solutions" / "ex13_distillation.py").read_text()
    wrong.write_text(solution.replace("/ batch  # both halves", "  # both halves"))  # forgot the batch mean
    result = check(13, wrong)
    assert result.returncode == 1
    assert "Exercise 13.1: not yet (0/2 tests pass)" in result.stdout, result.stdout
    assert "    hint: Write the gradient of each half separately" in result.stdout
    assert "Exercise 13.2: passed" in result.stdout and result.stdout.count("hint:") == 1
