"""Argument checks shared by the whole package.

Every check raises ``ValueError`` whose message names the parameter and the
allowed range, e.g. ``"eta must be a finite number > 0, got -1.0"``.
"""
from __future__ import annotations

import numbers

import numpy as np


def positive_int(name: str, value) -> int:
    """Return ``value`` as an int >= 1, or raise naming ``name``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
        raise ValueError(f"{name} must be an integer >= 1 (allowed range 1, 2, 3, ...), got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be an integer >= 1 (allowed range 1, 2, 3, ...), got {value!r}")
    return int(value)


def nonnegative_int(name: str, value) -> int:
    """Return ``value`` as an int >= 0, or raise naming ``name``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
        raise ValueError(f"{name} must be an integer >= 0 (allowed range 0, 1, 2, ...), got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be an integer >= 0 (allowed range 0, 1, 2, ...), got {value!r}")
    return int(value)


def _as_float_array(name: str, value) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number or array of real numbers, got {value!r}") from None
    return arr


def positive_real(name: str, value, *, allow_array: bool = False):
    """A finite real > 0 (scalar, or array if ``allow_array``)."""
    arr = _as_float_array(name, value)
    if arr.ndim and not allow_array:
        raise ValueError(f"{name} must be a scalar, got an array of shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    if not np.all(np.isfinite(arr)) or not np.all(arr > 0):
        raise ValueError(f"{name} must be a finite number > 0 (allowed range (0, inf)), got {value!r}")
    return float(arr) if arr.ndim == 0 else _readonly(arr)


def nonnegative_real(name: str, value) -> float:
    """A finite real scalar >= 0."""
    arr = _as_float_array(name, value)
    if arr.ndim or not np.isfinite(arr) or arr < 0:
        raise ValueError(f"{name} must be a finite number >= 0 (allowed range [0, inf)), got {value!r}")
    return float(arr)


def unit_interval(name: str, value) -> float:
    """A real scalar in [0, 1)."""
    arr = _as_float_array(name, value)
    if arr.ndim or not np.isfinite(arr) or not (0.0 <= arr < 1.0):
        raise ValueError(f"{name} must be a scalar in [0, 1), got {value!r}")
    return float(arr)


def choice(name: str, value, allowed) -> str:
    """One of the strings in ``allowed``."""
    if value not in allowed:
        opts = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"{name} must be one of {opts}, got {value!r}")
    return value


def eigenvalues(lam, name: str = "lam") -> np.ndarray:
    """A non-empty 1-D float64 array of finite eigenvalues >= 0."""
    arr = _as_float_array(name, lam)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of eigenvalues, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    if np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0 (a covariance spectrum), got min {arr.min()!r}")
    return arr


def moments(m0, D: int, name: str = "m0") -> np.ndarray:
    """Initial second moments: 1-D, length ``D``, finite, >= 0."""
    arr = _as_float_array(name, m0)
    if arr.shape != (D,):
        raise ValueError(f"{name} must have shape ({D},) to match lam, got {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name} must be finite and >= 0 (second moments)")
    return arr


def _readonly(arr: np.ndarray) -> np.ndarray:
    arr = np.array(arr, dtype=np.float64, copy=True)
    arr.setflags(write=False)
    return arr


def open_unit(name: str, value) -> float:
    """A real scalar in the open interval (0, 1)."""
    arr = _as_float_array(name, value)
    if isinstance(value, (bool, np.bool_)) or arr.ndim or not np.isfinite(arr) or not (0.0 < arr < 1.0):
        raise ValueError(f"{name} must lie in the open interval (0, 1), got {value!r}")
    return float(arr)
