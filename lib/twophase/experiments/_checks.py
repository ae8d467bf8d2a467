"""Entry checks of the chapter-level functions (private; issue 9).

Thin wrappers over :mod:`twophase._validate` for the argument kinds the experiments take and the
numerics do not: grids of rates, lists of batch sizes, the named results of one experiment passed
to the next, dictionaries of results, lists of string options. Every check raises a
``ValueError`` (an :class:`~twophase._validate.ArgumentTypeError` for a wrong type) whose message
starts with the parameter's name and says what is allowed; nothing is coerced silently.
"""
from __future__ import annotations

import numbers

import numpy as np

from .. import _validate as v
from .._base import FORMS
from ..methods import TwoPhase

TypeErr = v.ArgumentTypeError


def _show(value) -> str:
    return f"{type(value).__name__} {value!r:.80}"


def spectrum(lam, name: str = "lam") -> np.ndarray:
    """Eigenvalues (:func:`twophase._validate.eigenvalues`) with a positive largest one."""
    lam = v.eigenvalues(lam, name)
    if not lam.max() > 0:
        raise ValueError(f"{name} must have a positive largest eigenvalue (allowed: {name} >= 0 with "
                         f"max({name}) > 0), got all zeros")
    return lam


def form(value, name: str = "form") -> str:
    return v.choice(name, value, FORMS)


def grid(name: str, x, *, lower: float | None = 0.0, closed: bool = False, upper: float | None = None,
         upper_closed: bool = False, scalar_ok: bool = True, min_size: int = 1) -> np.ndarray:
    """A 1-D float64 grid (a scalar becomes one point if ``scalar_ok``) of finite numbers in range.

    ``lower``/``upper`` bound the values (``None``: unbounded), open unless ``closed``/``upper_closed``.
    """
    lo = "-inf" if lower is None else f"{lower:g}"
    hi = "inf" if upper is None else f"{upper:g}"
    rng = f"{'[' if closed and lower is not None else '('}{lo}, {hi}{']' if upper_closed else ')'}"
    what = f"a non-empty 1-D array of finite numbers in {rng} (allowed range)"
    arr = v.real_float_array(name, x, what)
    if arr.ndim == 0 and scalar_ok:
        arr = arr.reshape(1)
    if arr.ndim != 1 or arr.size < min_size:
        need = "non-empty" if min_size == 1 else f"at least {min_size} entries"
        raise ValueError(f"{name} must be a 1-D array ({need}) of finite numbers in {rng}, got shape {arr.shape}")
    v.array_size(name, arr.size)
    bad = ~np.isfinite(arr)
    if lower is not None:
        bad |= (arr < lower) if closed else (arr <= lower)
    if upper is not None:
        bad |= (arr > upper) if upper_closed else (arr >= upper)
    if np.any(bad):
        raise ValueError(f"{name} must be {what}, got {arr[bad][0]!r} at index {int(np.argmax(bad))}")
    return arr


def real_values(name: str, x) -> np.ndarray:
    """A non-empty float64 array of reals, ``inf`` allowed (a diverged rate), ``nan`` refused."""
    arr = v.real_float_array(name, x, "an array of real numbers (inf allowed, nan not)")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    v.array_size(name, arr.size)
    if np.any(np.isnan(arr)):
        raise ValueError(f"{name} must not hold nan (allowed range [-inf, inf])")
    return arr


def scalar_or_grid(name: str, x, **kw):
    """A float for a scalar, else a grid of :func:`grid` (its shape kept)."""
    arr = v.real_float_array(name, x, "a finite number or an array of them")
    if arr.ndim == 0:
        return float(grid(name, arr, **kw)[0])
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    grid(name, arr.ravel(), **kw)
    return arr


def ints(name: str, values, *, minimum: int = 1, maximum: int | None = None, min_size: int = 1) -> list:
    """A non-empty sequence of integers in ``[minimum, maximum]`` (bools, floats and strings refused)."""
    hi = "inf" if maximum is None else f"{maximum:,}"
    what = f"a non-empty sequence of integers in [{minimum}, {hi}] (allowed range)"
    if isinstance(values, (str, bytes, dict)) or values is None or np.ndim(values) != 1:
        raise TypeErr(f"{name} must be {what}, got {_show(values)}")
    out = list(values)
    if not out:
        raise ValueError(f"{name} must be {what}, got an empty sequence")
    if len(out) < min_size:
        raise ValueError(f"{name} must be {what} with at least {min_size} entries, got {out!r:.80}")
    for x in out:
        if isinstance(x, (bool, np.bool_)) or not isinstance(x, (numbers.Integral, np.integer)):
            raise TypeErr(f"{name} must be {what}, got the entry {_show(x)}")
        if x < minimum or (maximum is not None and x > maximum):
            raise ValueError(f"{name} must be {what}, got the entry {int(x)!r}")
    return [int(x) for x in out]


def iterable(name: str, values) -> None:
    """A sequence to iterate over (not a string, a dict, ``None`` or a number)."""
    if isinstance(values, (str, bytes, dict)) or values is None or not hasattr(values, "__iter__"):
        raise TypeErr(f"{name} must be a sequence, got {_show(values)}")


def choices(name: str, values, allowed) -> tuple:
    """A non-empty sequence (not a single string) of strings from ``allowed``."""
    opts = ", ".join(repr(a) for a in allowed)
    if isinstance(values, (str, bytes, dict)) or values is None or not hasattr(values, "__iter__"):
        raise TypeErr(f"{name} must be a non-empty sequence of {opts}, got {_show(values)}")
    out = tuple(values)
    if not out:
        raise ValueError(f"{name} must be a non-empty sequence of {opts}, got an empty one")
    for x in out:
        if not isinstance(x, str):
            raise TypeErr(f"{name} must be a non-empty sequence of {opts}, got the entry {_show(x)}")
        if x not in allowed:
            raise ValueError(f"{name} must be a non-empty sequence of {opts} (allowed values), got {x!r}")
    return out


def instance(name: str, value, cls, made_by: str = ""):
    """``value`` must be a ``cls`` (e.g. the named result of another experiment)."""
    if not isinstance(value, cls):
        by = f" (the result of {made_by})" if made_by else ""
        raise TypeErr(f"{name} must be a {cls.__name__}{by}, got {_show(value)}")
    return value


def method(value, name: str = "method") -> TwoPhase:
    return instance(name, value, TwoPhase)


def mapping(name: str, value, *, what: str = "a non-empty dict") -> dict:
    if not isinstance(value, dict):
        raise TypeErr(f"{name} must be {what}, got {_show(value)}")
    if not value:
        raise ValueError(f"{name} must be {what}, got an empty dict")
    return value


def text(name: str, value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise TypeErr(f"{name} must be a non-empty str, got {_show(value)}")
    return value


def divisors_of(name: str, Rs, B_tot: int, *, need_one: bool = False) -> list:
    """Worker counts that divide ``B_tot`` (and include 1 if ``need_one``)."""
    Rs = ints(name, Rs)
    for R in Rs:
        if B_tot % R:
            raise ValueError(f"{name} must hold divisors of B_tot = {B_tot} (R must divide B_tot, a fixed "
                             f"total batch), got R={R}")
    if need_one and 1 not in Rs:
        raise ValueError(f"{name} must contain 1 (the reference R = 1), got {Rs}")
    return Rs


def index(name: str, value, n: int) -> int:
    return v.integer(name, value, minimum=0, maximum=n - 1)
