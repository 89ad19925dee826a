"""Errors for bad input files: every message names the file, the line and what was expected.

``DataError`` is raised on the first problem by default. Readers take
``on_error="skip"`` to drop bad rows instead; each dropped row is kept as a
``Problem`` so the caller can report exactly what was skipped and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


class DataError(ValueError):
    """A problem in an input file, located by file and line."""

    def __init__(self, path: str | Path, line: int | None, message: str):
        self.path, self.line, self.message = str(path), line, message
        where = f"{self.path}, line {line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


class DataFileNotFoundError(DataError, FileNotFoundError):
    """The input file or directory does not exist."""


@dataclass(frozen=True)
class Problem:
    """One skipped row: where it was and what was wrong with it."""

    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return str(DataError(self.path, self.line, self.message))


@dataclass
class ErrorPolicy:
    """Raise on a bad row (``"raise"``) or record it and go on (``"skip"``)."""

    on_error: str = "raise"
    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.on_error not in ("raise", "skip"):
            raise ValueError(f"on_error must be 'raise' or 'skip', not {self.on_error!r}")

    def bad_row(self, path: str | Path, line: int | None, message: str) -> None:
        if self.on_error == "raise":
            raise DataError(path, line, message)
        self.problems.append(Problem(str(path), line, message))
