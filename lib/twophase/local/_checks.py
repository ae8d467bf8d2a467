"""Small argument validators for :mod:`twophase.local`.

Every error names the parameter and states the allowed range, so a reader who
mistypes a chapter parameter learns at once what to change.
"""
from __future__ import annotations

import numbers

import numpy as np

__all__ = ["positive_float", "positive_int", "open_unit", "choice", "nonneg_float"]


def _is_real(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def positive_float(name: str, x) -> float:
    """Return ``float(x)`` if it is a finite real number > 0."""
    if not _is_real(x) or not np.isfinite(x) or x <= 0:
        raise ValueError(f"{name} must be a finite number > 0 (allowed range (0, inf)); got {x!r}")
    return float(x)


def nonneg_float(name: str, x) -> float:
    """Return ``float(x)`` if it is a finite real number >= 0."""
    if not _is_real(x) or not np.isfinite(x) or x < 0:
        raise ValueError(f"{name} must be a finite number >= 0 (allowed range [0, inf)); got {x!r}")
    return float(x)


def positive_int(name: str, x) -> int:
    """Return ``int(x)`` if it is an integer >= 1."""
    if isinstance(x, bool) or not isinstance(x, numbers.Integral) or x < 1:
        raise ValueError(f"{name} must be an integer >= 1 (allowed range 1, 2, 3, ...); got {x!r}")
    return int(x)


def open_unit(name: str, x) -> float:
    """Return ``float(x)`` if it lies in the open interval (0, 1)."""
    if not _is_real(x) or not (0.0 < x < 1.0):
        raise ValueError(f"{name} must lie in the open interval (0, 1); got {x!r}")
    return float(x)


def choice(name: str, x, allowed) -> str:
    """Return ``x`` if it is one of ``allowed``."""
    allowed = tuple(allowed)
    if x not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {x!r}")
    return x
