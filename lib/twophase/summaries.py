"""Summaries that turn Monte-Carlo curves into verdicts: means with standard errors, z-scores, tails.

Owns: :func:`mean_se`, :func:`max_z`, :func:`tail_share` (pure functions of arrays; no model).

May import: :mod:`twophase._validate`.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _validate as v

__all__ = ["mean_se", "max_z", "tail_share", "MeanSE", "MaxZ"]


class MeanSE(NamedTuple):
    """Result of :func:`mean_se`."""

    mean: np.ndarray  #: mean over the seed axis (``inf`` where a run diverged)
    se: np.ndarray    #: standard error of the mean (``nan`` where a run diverged or one seed)


class MaxZ(NamedTuple):
    """Result of :func:`max_z`."""

    z: float          #: largest ``|mean - theory| / se`` (``nan`` if nothing was compared)
    n_compared: int   #: number of entries compared


def _curves(name, x):
    """A non-empty real array (inf and NaN allowed: they mark diverged runs)."""
    arr = v._as_float_array(name, x)
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    v.array_size(name, arr.size)
    return arr


def mean_se(curves, axis: int = -2):
    """Mean and standard error over the seed axis (default: second to last).

    Non-finite runs make the mean ``inf`` and the SE ``nan``.

    Examples
    --------
    >>> m, se = mean_se([[1.0], [3.0]])
    >>> float(m[0]), float(se[0])
    (2.0, 1.0)
    """
    curves = _curves("curves", curves)
    axis = v.integer("axis", axis, minimum=-curves.ndim, maximum=curves.ndim - 1) if curves.ndim else None
    if axis is None:
        raise ValueError("curves must have at least one axis (the seed axis), got a scalar")
    n = curves.shape[axis]
    with np.errstate(invalid="ignore", over="ignore"):
        mean = curves.mean(axis=axis)
        se = curves.std(axis=axis, ddof=1) / np.sqrt(n) if n > 1 else np.full(mean.shape, np.nan)
    bad = ~np.all(np.isfinite(curves), axis=axis)
    mean = np.where(bad, np.inf, mean)
    se = np.where(bad, np.nan, se)
    return MeanSE(mean, se)


def max_z(theory, mean, se, floor: float = 0.0):
    """Largest ``|mean - theory| / se`` over entries where all three are finite.

    ``floor`` (>= 0) is added to ``se`` (use a tiny relative floor for exactly
    deterministic entries such as the initial loss). Returns ``(z_max, n_compared)``;
    ``(nan, 0)`` when no entry can be compared.

    Examples
    --------
    >>> max_z([1.0, 2.0], [1.5, 2.0], [0.25, 0.5])
    MaxZ(z=2.0, n_compared=2)
    """
    theory, mean, se = (v._as_float_array(n, a) for n, a in (("theory", theory), ("mean", mean), ("se", se)))
    floor = v.nonnegative_real("floor", floor)
    try:
        theory, mean, se = np.broadcast_arrays(theory, mean, se)
    except ValueError:
        raise ValueError(f"theory, mean and se must broadcast, got shapes {theory.shape}, {mean.shape}, "
                         f"{se.shape}") from None
    if np.any(se < 0):
        raise ValueError("se must be >= 0 (a standard error; allowed range [0, inf])")
    ok = np.isfinite(theory) & np.isfinite(mean) & np.isfinite(se) & (se + floor > 0)
    if not np.any(ok):
        return MaxZ(np.nan, 0)
    z = np.abs(mean[ok] - theory[ok]) / (se[ok] + floor)
    return MaxZ(float(z.max()), int(ok.sum()))


def tail_share(samples, q: float = 1e-3) -> float:
    """Share of the total carried by the largest fraction ``q`` of ``samples``.

    A diagnostic for heavy tails: about ``q`` for light-tailed positive samples,
    much larger when a few runs dominate the mean, in which case the sample
    standard error is not a reliable error bar for the mean. ``samples`` must be
    non-empty, finite and >= 0 with a positive sum; ``q`` in (0, 1).

    Examples
    --------
    >>> tail_share([1.0, 1.0, 1.0, 1.0], q=0.25)
    0.25
    """
    q = v.open_unit("q", q)
    x = v.real_array("samples", samples)
    x = np.sort(x.ravel())
    if np.any(x < 0) or not x.sum() > 0:
        raise ValueError("samples must be >= 0 with a positive sum (allowed range [0, inf))")
    n_top = max(1, int(round(q * x.size)))
    return float(x[-n_top:].sum() / x.sum())
