"""Config dataclasses check themselves: every field's type and range, where the value enters.

A config made in Python, parsed from the command line or read from a bundle's
``config.json`` goes through the same checks, so ``--epochs 0``, a
``vocab_size`` of 10^12 or ``"dropout": NaN`` stop with one clear line naming
the field and what was expected, before anything is trained or allocated.

>>> from dataclasses import dataclass
>>> @dataclass
... class Demo:
...     epochs: int = 1
...     def __post_init__(self):
...         check_int(self, "epochs", 1)
>>> Demo(0)
Traceback (most recent call last):
...
textclf.config.ConfigError: Demo.epochs = 0: expected a whole number >= 1
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping


class ConfigError(ValueError):
    """A config field with the wrong type or a value out of range."""


def fail(config: object, name: str, expected: str) -> None:
    raise ConfigError(f"{type(config).__name__}.{name} = {getattr(config, name)!r}: expected {expected}")


def check_int(config: object, name: str, low: int, high: int | None = None, *, optional: bool = False) -> None:
    value = getattr(config, name)
    if optional and value is None:
        return
    within = f">= {low}" if high is None else f"from {low} to {high:,}"
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        fail(config, name, f"a whole number {within}" + (" (or null)" if optional else ""))


def check_float(config: object, name: str, low: float, high: float | None = None, *, low_open: bool = False,
                high_open: bool = False, optional: bool = False) -> None:
    value = getattr(config, name)
    if optional and value is None:
        return
    ok = (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
          and (value > low if low_open else value >= low)
          and (high is None or (value < high if high_open else value <= high)))
    if not ok:
        left, right = ("(" if low_open else "["), (")" if high_open else "]")
        span = f"in {left}{low:g}, {high:g}{right}" if high is not None else f"{'>' if low_open else '>='} {low:g}"
        fail(config, name, f"a finite number {span}" + (" (or null)" if optional else ""))


def check_choice(config: object, name: str, choices: Iterable[str]) -> None:
    choices = list(choices)
    if getattr(config, name) not in choices:
        fail(config, name, "one of " + ", ".join(repr(c) for c in choices))


def check_bool(config: object, name: str) -> None:
    if not isinstance(getattr(config, name), bool):
        fail(config, name, "true or false")


def from_dict(cls, values: Mapping, where: str = ""):
    """``cls(**values)``, refusing keys ``cls`` does not have (a misspelt option is an error, not a default)."""
    if not isinstance(values, Mapping):
        raise ConfigError(f"{where or cls.__name__}: expected an object of {cls.__name__} fields, "
                          f"found {type(values).__name__}")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"{where or cls.__name__}: unknown option(s) {', '.join(map(repr, unknown))}; "
                          f"{cls.__name__} has: {', '.join(sorted(known))}")
    return cls(**values)
