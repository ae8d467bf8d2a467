"""Step-size tuning on a stated grid, and rounds-to-target.

Methods are compared at their *own* tuned step size: for each method the
chapter states a grid, :func:`tune_gamma` runs every grid point (on tuning
seeds that are not reused for the reported runs) and keeps the best score.
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Sequence

import numpy as np

from ..parallel import map_chunks
from ._checks import boolean, positive_float, positive_int, real_array

__all__ = ["TuneResult", "tune_gamma", "rounds_to_target", "log_grid", "OUTCOMES", "compare_final"]


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
    n = positive_int("n", n)
    if n > 10 ** 6:
        raise ValueError(f"n must be <= 10**6, got {n}")
    return np.logspace(np.log10(lo), np.log10(hi), n)


def tune_gamma(score: Callable, grid: Sequence[float], *, vectorized: bool = False,
               executor="serial") -> TuneResult:
    """Evaluate ``score`` on ``grid`` and return the minimiser.

    Non-finite scores (diverged runs) count as ``inf``. Ties go to the larger
    step size (earlier progress). If every grid point diverges, ``best`` is nan.

    Parameters
    ----------
    score : callable
        ``score(gamma) -> float``; with ``vectorized=True``, ``score(grid) -> scores``: one call
        with the whole grid (an array) returning one score per step size, e.g. runs stacked
        along an array axis (:func:`twophase.local.method.run_local_many`).
    grid : sequence of float > 0
        The step sizes.
    vectorized : bool
        See ``score``. Default False.
    executor : "serial", None or a concurrent.futures.Executor
        Where the ``len(grid)`` calls of a non-vectorized ``score`` run, one grid point per
        chunk (:func:`twophase.parallel.map_chunks`; None: every local core, in threads).
        Default "serial": Part II's runs are many small numpy calls, and threads contending
        for the GIL made them slower, not faster (see :func:`twophase.local.digits.digits_grid`).
        The scores do not depend on it. Ignored with ``vectorized=True`` (one call).
    """
    if not callable(score):
        raise TypeError(f"score must be callable gamma -> float, got {type(score).__name__}")
    if isinstance(grid, (str, bytes)) or not hasattr(grid, "__iter__"):
        raise TypeError(f"grid must be a list of step sizes > 0, got {grid!r}")
    grid = np.asarray([positive_float(f"grid[{i}]", g) for i, g in enumerate(grid)])
    if grid.size == 0:
        raise ValueError("grid must contain at least one step size")
    vectorized = boolean("vectorized", vectorized)
    if vectorized:
        raw = score(grid.copy())
        if isinstance(raw, (str, bytes)) or np.shape(raw) != grid.shape or np.asarray(raw).dtype.kind not in "iuf":
            raise ValueError(f"score(grid) must return {grid.size} real scores (one per step size), "
                             f"got {raw!r:.80}")
        scores = np.array(raw, dtype=float)
    else:
        scores = np.array(map_chunks(_call, [(score, float(g)) for g in grid], executor), dtype=float)
    scores = np.where(np.isfinite(scores), scores, np.inf)
    if not np.any(np.isfinite(scores)):
        return TuneResult(float("nan"), grid, scores)
    best = np.flatnonzero(scores == scores.min())
    return TuneResult(float(grid[best[np.argmax(grid[best])]]), grid, scores)


def _call(fn, x):
    return fn(x)


def rounds_to_target(loss: np.ndarray, target: float) -> float:
    """First round index ``r`` with ``loss[r] <= target`` (``inf`` if never)."""
    if isinstance(loss, (str, bytes)) or np.asarray(loss).dtype.kind not in "iuf" or np.ndim(loss) != 1:
        raise TypeError("loss must be a 1-D array of real numbers (inf and nan allowed)")
    loss = np.asarray(loss, dtype=float)
    target = float(real_array("target", target, ndim=0))
    hit = np.flatnonzero(loss <= target)
    return float(hit[0]) if hit.size else float("inf")


#: The outcomes of :func:`compare_final`, from the first argument's point of view.
OUTCOMES = ("win", "tie", "loss")


def _per_seed(name: str, x) -> np.ndarray:
    if isinstance(x, (str, bytes)) or np.asarray(x).dtype.kind not in "iuf":
        raise TypeError(f"{name} must be a 1-D array of real per-seed values, got {x!r}")
    arr = np.asarray(x, dtype=float)
    if arr.ndim != 1 or arr.size < 2:
        raise ValueError(f"{name} must be a 1-D array of at least 2 per-seed values, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (allowed range (-inf, inf)), got {arr.tolist()}")
    return arr


def compare_final(a, b, better: str = "lower", k: float = 2.0) -> str:
    r"""Win, tie or loss of method ``a`` against method ``b`` from per-seed final values.

    With seed means :math:`\bar a, \bar b`, unbiased variances :math:`s_a^2, s_b^2` and
    :math:`n_a, n_b` seeds, the standard error of the difference of the means is
    :math:`\mathrm{se}=\sqrt{s_a^2/n_a+s_b^2/n_b}` (the seeds of the two methods are treated as
    independent; Welch's standard error). With :math:`\Delta=\pm(\bar a-\bar b)`, signed so
    that :math:`\Delta>0` favours ``a``, the outcome is ``"win"`` if :math:`\Delta>k\,\mathrm{se}`,
    ``"loss"`` if :math:`\Delta<-k\,\mathrm{se}` and ``"tie"`` otherwise.

    Parameters
    ----------
    a, b : array_like, shape (n_seeds,)
        Final values (e.g. train loss or test accuracy) of the two methods, one per seed;
        at least 2 finite values each.
    better : {"lower", "higher"}
        Whether lower values (a loss) or higher values (an accuracy) are better.
    k : float
        Number of standard errors a difference must exceed to count (> 0, default 2).

    Returns
    -------
    str
        One of :data:`OUTCOMES`: ``"win"``, ``"tie"`` or ``"loss"`` for ``a``.

    Examples
    --------
    >>> compare_final([1.0, 1.2], [2.0, 2.2])       # se = 0.2 / sqrt(2), a lower by 1.0 > 2 se
    'win'
    >>> compare_final([1.0, 1.2], [2.0, 2.2], better="higher")
    'loss'
    """
    a = _per_seed("a", a)
    b = _per_seed("b", b)
    if better not in ("lower", "higher"):
        raise ValueError(f"better must be one of 'lower', 'higher', got {better!r}")
    k = positive_float("k", k)
    diff = (a.mean() - b.mean()) * (1 if better == "higher" else -1)
    se = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    return "win" if diff > k * se else "loss" if diff < -k * se else "tie"
