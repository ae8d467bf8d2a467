"""Step-size tuning on a stated grid, and rounds-to-target.

Methods are compared at their *own* tuned step size: for each method the
chapter states a grid, :func:`tune_gamma` runs every grid point (on tuning
seeds that are not reused for the reported runs) and keeps the best score.
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Sequence

import numpy as np

from ._checks import positive_float

__all__ = ["TuneResult", "tune_gamma", "rounds_to_target", "log_grid"]


class TuneResult(NamedTuple):
    """``best`` step size, the ``grid``, and the ``scores`` (lower is better)."""

    best: float
    grid: np.ndarray
    scores: np.ndarray


def log_grid(lo: float, hi: float, n: int) -> np.ndarray:
    """``n`` log-spaced step sizes from ``lo`` to ``hi`` inclusive."""
    lo = positive_float("lo", lo)
    hi = positive_float("hi", hi)
    if hi < lo:
        raise ValueError(f"hi must be >= lo; got lo={lo}, hi={hi}")
    return np.logspace(np.log10(lo), np.log10(hi), int(n))


def tune_gamma(score: Callable[[float], float], grid: Sequence[float]) -> TuneResult:
    """Evaluate ``score(gamma)`` on ``grid`` and return the minimiser.

    Non-finite scores (diverged runs) count as ``inf``. Ties go to the larger
    step size (earlier progress). If every grid point diverges, ``best`` is nan.
    """
    grid = np.asarray([positive_float("grid[i]", float(g)) for g in grid])
    if grid.size == 0:
        raise ValueError("grid must contain at least one step size")
    scores = np.array([score(float(g)) for g in grid], dtype=float)
    scores = np.where(np.isfinite(scores), scores, np.inf)
    if not np.any(np.isfinite(scores)):
        return TuneResult(float("nan"), grid, scores)
    best = np.flatnonzero(scores == scores.min())
    return TuneResult(float(grid[best[np.argmax(grid[best])]]), grid, scores)


def rounds_to_target(loss: np.ndarray, target: float) -> float:
    """First round index ``r`` with ``loss[r] <= target`` (``inf`` if never)."""
    loss = np.asarray(loss, dtype=float)
    hit = np.flatnonzero(loss <= target)
    return float(hit[0]) if hit.size else float("inf")
