"""Argument validators for :mod:`twophase.local`.

Every check names the parameter and the allowed range. Types are checked
strictly: a ``str`` or a ``bool`` is never read as a number (``TypeError``),
so ``Preconditioner("rmsprop", alpha="0.5")`` fails at construction, not later
inside numpy. Values out of range give ``ValueError``.

This module imports only numpy and the standard library; every other module of
:mod:`twophase.local` may import it.
"""
from __future__ import annotations

import numbers

import numpy as np

__all__ = ["positive_float", "positive_int", "nonneg_int", "open_unit", "choice", "nonneg_float",
           "boolean", "seed_int", "real_array", "generator", "int_list", "float_list"]


def _is_real(value) -> bool:
    if isinstance(value, (bool, np.bool_, str, bytes)):
        return False
    if isinstance(value, np.ndarray):
        return value.ndim == 0 and value.dtype.kind in "iuf"
    return isinstance(value, (numbers.Real, np.integer, np.floating))


def _real(name: str, value, allowed: str) -> float:
    if not _is_real(value):
        raise TypeError(f"{name} must be a real number {allowed}, got {type(value).__name__} {value!r}")
    return float(value)


def positive_float(name: str, value) -> float:
    """A finite real number > 0."""
    v = _real(name, value, "in (0, inf)")
    if not np.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a finite number > 0 (allowed range (0, inf)), got {value!r}")
    return v


def nonneg_float(name: str, value) -> float:
    """A finite real number >= 0."""
    v = _real(name, value, "in [0, inf)")
    if not np.isfinite(v) or v < 0:
        raise ValueError(f"{name} must be a finite number >= 0 (allowed range [0, inf)), got {value!r}")
    return v


def open_unit(name: str, value) -> float:
    """A real number in the open interval (0, 1)."""
    v = _real(name, value, "in (0, 1)")
    if not (0.0 < v < 1.0):
        raise ValueError(f"{name} must lie in the open interval (0, 1), got {value!r}")
    return v


def _int(name: str, value, allowed: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be an integer {allowed}, got {type(value).__name__} {value!r}")
    return int(value)


def positive_int(name: str, value) -> int:
    """An integer >= 1 (not a bool, not a float)."""
    v = _int(name, value, ">= 1 (allowed range 1, 2, 3, ...)")
    if v < 1:
        raise ValueError(f"{name} must be an integer >= 1 (allowed range 1, 2, 3, ...), got {value!r}")
    return v


def nonneg_int(name: str, value) -> int:
    """An integer >= 0."""
    v = _int(name, value, ">= 0 (allowed range 0, 1, 2, ...)")
    if v < 0:
        raise ValueError(f"{name} must be an integer >= 0 (allowed range 0, 1, 2, ...), got {value!r}")
    return v


def seed_int(name: str, value) -> int:
    """A seed: an integer in [0, 2**63)."""
    v = nonneg_int(name, value)
    if v >= 2 ** 63:
        raise ValueError(f"{name} must be an integer in [0, 2**63), got {value!r}")
    return v


def choice(name: str, value, allowed) -> str:
    """One of the strings in ``allowed``."""
    opts = ", ".join(repr(a) for a in allowed)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {opts}, got {type(value).__name__} {value!r}")
    if value not in allowed:
        raise ValueError(f"{name} must be one of {opts}, got {value!r}")
    return value


def boolean(name: str, value) -> bool:
    """``True`` or ``False`` (Python or numpy bool)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return bool(value)


def generator(name: str, value) -> np.random.Generator:
    """A ``numpy.random.Generator``."""
    if not isinstance(value, np.random.Generator):
        raise TypeError(f"{name} must be a numpy.random.Generator (np.random.default_rng(seed)), "
                        f"got {type(value).__name__}")
    return value


def real_array(name: str, value, *, ndim: int | None = None, shape=None, min_size: int = 1,
               max_size: int = 10 ** 8) -> np.ndarray:
    """A finite float64 array (a copy) of the given ``ndim`` / ``shape`` and size."""
    if isinstance(value, (str, bytes, bool, np.bool_)) or value is None:
        raise TypeError(f"{name} must be an array of real numbers, got {type(value).__name__} {value!r}")
    arr = np.asarray(value)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be an array of real numbers, got dtype {arr.dtype}")
    arr = np.array(arr, dtype=float)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array, got shape {arr.shape}")
    if shape is not None and arr.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {arr.shape}")
    if arr.size < min_size:
        raise ValueError(f"{name} must have at least {min_size} entries, got shape {arr.shape}")
    if arr.size > max_size:
        raise ValueError(f"{name} has {arr.size} entries, more than the allowed {max_size}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf; allowed range (-inf, inf))")
    return arr


def _list(name: str, values, check, min_len: int = 1) -> list:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a list, got {type(values).__name__} {values!r}")
    out = [check(f"{name}[{i}]", v) for i, v in enumerate(values)]
    if len(out) < min_len:
        raise ValueError(f"{name} must hold at least {min_len} entries, got {len(out)}")
    return out


def int_list(name: str, values, min_len: int = 1) -> list[int]:
    """A list of integers >= 1."""
    return _list(name, values, positive_int, min_len)


def float_list(name: str, values, min_len: int = 1) -> list[float]:
    """A list of finite numbers > 0."""
    return _list(name, values, positive_float, min_len)
