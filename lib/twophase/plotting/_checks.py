"""Entry checks of the figure builders (private; issue 9).

A figure builder only draws, but a wrong argument must still be refused by name before matplotlib
turns it into an ``IndexError`` or a ``KeyError`` deep inside a plotting call. Axis arrays (``x``,
``lam``, ``eta``, ...) must be finite; data curves may hold ``inf`` and ``nan`` (a diverged run,
which the figures drop) but must be real arrays of the axis' length.
"""
from __future__ import annotations

import functools

import numpy as np

from .. import _validate as v

TypeErr = v.ArgumentTypeError


def _show(value) -> str:
    return f"{type(value).__name__} {value!r:.60}"


def axis(name: str, x, *, positive: bool = False, nonnegative: bool = False) -> np.ndarray:
    """A non-empty 1-D array of finite reals (``> 0`` if ``positive``, ``>= 0`` if ``nonnegative``)."""
    rng = "(0, inf)" if positive else "[0, inf)" if nonnegative else "(-inf, inf)"
    what = f"a non-empty 1-D array of finite numbers in {rng} (allowed range)"
    arr = v.real_float_array(name, x, what)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be {what}, got shape {arr.shape}")
    v.array_size(name, arr.size)
    if not np.all(np.isfinite(arr)) or (positive and np.any(arr <= 0)) or (nonnegative and np.any(arr < 0)):
        raise ValueError(f"{name} must be {what}")
    return arr


def curve(name: str, y, shape) -> np.ndarray:
    """A real array of ``shape`` (an int: 1-D of that length); ``inf``/``nan`` allowed (dropped)."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    arr = v.real_float_array(name, y, f"a real array of shape {shape}")
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape} (that of its axis), got {arr.shape}")
    return arr


def scalar(name: str, value, *, positive: bool = False):
    return v.positive_real(name, value) if positive else v.real(name, value)


def text(name: str, value, *, optional: bool = False):
    if optional and value is None:
        return value
    if not isinstance(value, str):
        raise TypeErr(f"{name} must be a str{' or None' if optional else ''}, got {_show(value)}")
    return value


def mapping(name: str, value, what: str = "a non-empty dict") -> dict:
    if not isinstance(value, dict):
        raise TypeErr(f"{name} must be {what}, got {_show(value)}")
    if not value:
        raise ValueError(f"{name} must be {what}, got an empty dict")
    return value


def sequence(name: str, value, what: str) -> list:
    if isinstance(value, (str, bytes, dict)) or value is None or not hasattr(value, "__iter__"):
        raise TypeErr(f"{name} must be {what}, got {_show(value)}")
    out = list(value)
    if not out:
        raise ValueError(f"{name} must be {what}, got an empty one")
    return out


def tuple_of(name: str, value, n: int, what: str) -> tuple:
    if not isinstance(value, (tuple, list)) or len(value) != n:
        raise TypeErr(f"{name} must be {what}, got {_show(value)}")
    return tuple(value)


def axes(name: str, ax):
    from matplotlib.axes import Axes

    if not isinstance(ax, Axes):
        raise TypeErr(f"{name} must be a matplotlib Axes, got {_show(ax)}")
    return ax


def ints(name: str, values) -> list:
    out = sequence(name, values, "a non-empty sequence of integers >= 1")
    for x in out:
        v.positive_int(name, x)
    return out


def has_finite(name: str, arr) -> None:
    """Something must be drawable: at least one finite value."""
    if not np.any(np.isfinite(arr)):
        raise ValueError(f"{name} must hold at least one finite value (nothing to draw)")


def entry(check):
    """Decorator: run ``check(*args, **kwargs)`` (same signature) before the figure builder."""
    def decorate(fn):
        @functools.wraps(fn)
        def checked(*args, **kwargs):
            check(*args, **kwargs)
            return fn(*args, **kwargs)
        return checked
    return decorate
