"""Timing done right: warm up first, run the variants in alternating rounds, report medians.

A single ``time.perf_counter()`` around one call measures the first call's one-off costs
(allocations, lazy initialisation, compilation) and whatever else the machine was doing at
that moment. ``compare`` runs every variant once untimed (warm-up), then ``rounds`` rounds in
which each variant runs once, in turn — so a slow patch of the machine (another process, a
thermal dip) hits all of them alike — and reports each variant's median and spread.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Timing:
    name: str
    seconds: list[float]  # one per round

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def percentile(self, q: float) -> float:
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]

    @property
    def spread(self) -> float:
        """(p90 - p10) / median: how much the rounds disagree."""
        return (self.percentile(90) - self.percentile(10)) / self.median if self.median else 0.0


def compare(variants: dict[str, Callable[[], object]], rounds: int = 5, warmup: int = 1) -> dict[str, Timing]:
    """Time each zero-argument callable: ``warmup`` untimed calls each, then ``rounds`` alternating rounds."""
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, not {rounds}")
    for _ in range(warmup):
        for run in variants.values():
            run()
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, run in variants.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: Timing(name, seconds) for name, seconds in times.items()}


def latencies(run: Callable[[object], object], inputs: list, warmup: int = 3) -> list[float]:
    """Seconds per call of ``run(x)`` for each ``x`` (batch-1 latency), after ``warmup`` calls."""
    for x in inputs[:warmup]:
        run(x)
    out = []
    for x in inputs:
        start = time.perf_counter()
        run(x)
        out.append(time.perf_counter() - start)
    return out
