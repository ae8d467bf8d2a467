"""Helpers that build bad-input cases from one good call (used by the cases_*.py files).

:func:`vary` binds a good call to the function's signature and replaces one named parameter at a
time with each bad value; the case expects a ``ValueError`` (``ArgumentTypeError`` is one) whose
message contains ``"<name> must"`` unless the value is wrapped in :class:`Bad` with its own
``match``. :data:`GOOD` keeps every good call, so that ``python tests/bad_inputs/_gen.py`` can
check that the good calls themselves run (the bad value is then the only thing wrong).
"""
from __future__ import annotations

import importlib
import inspect
from typing import Any, NamedTuple

V = (ValueError,)
NAN = float("nan")
INF = float("inf")

#: ``{key: [(args, kwargs), ...]}``: the good calls the cases are built from.
GOOD: dict = {}


class Bad(NamedTuple):
    """A bad value with the string its error message must contain."""

    value: Any
    match: str


def resolve(key: str):
    modname, _, name = key.rpartition(".")
    return getattr(importlib.import_module(modname), name)


def vary(key: str, args=(), kwargs=None, /, **bad) -> list:
    """Cases for ``key``: the good call ``key(*args, **kwargs)`` with one parameter replaced.

    ``bad`` maps a parameter name to a list of bad values (or :class:`Bad` pairs).
    """
    kwargs = dict(kwargs or {})
    sig = inspect.signature(resolve(key))
    sig.bind(*args, **kwargs)  # a wrong good call fails at import
    GOOD.setdefault(key, []).append((args, kwargs))
    out = []
    for name, values in bad.items():
        if name not in sig.parameters:
            raise TypeError(f"{key} has no parameter {name!r}")
        for value in values:
            match = f"{name} must"
            if isinstance(value, Bad):
                value, match = value.value, value.match
            b = sig.bind(*args, **kwargs)
            b.arguments[name] = value
            out.append((tuple(b.args), dict(b.kwargs), V, match))
    return out


def extra(key: str, *cases) -> list:
    """Hand-written cases ``(args, kwargs, match)`` (ValueError expected)."""
    return [(a, k, V, m) for a, k, m in cases]


# --- bad values by kind ------------------------------------------------------------------------
POS_INT = [0, -2, 2.5, True, "3", None]
NONNEG_INT = [-1, 1.5, False, "0"]
POS_REAL = [0.0, -1.0, NAN, INF, "0.1", True, None]
NONNEG_REAL = [-1.0, NAN, INF, "0", None]
REAL = [NAN, INF, "1.0", None, True]
UNIT = [1.0, -0.1, NAN, "0.5", None]
POS_GRID = [[], [0.1, -0.1], [0.1, NAN], "0.1", None, [[0.1, 0.2]], [True, False]]
NONNEG_GRID = [[], [0.1, -0.1], [0.1, INF], "0.1", None]
INT_LIST = [[], [0], [2.5], [True], "4", None, 4]
FORM = ["bogus", None, 1]
FLAG = [1, "yes", None]


def lam_bad(name="lam"):
    """Bad spectra: a string, NaN, negative, 2-D, empty, all zeros."""
    return [Bad("1,0.5", name), Bad([1.0, NAN], name), Bad([1.0, -0.5], name), Bad([[1.0, 0.5]], name),
            Bad([], name), Bad([0.0, 0.0], name), Bad(None, name)]


def m0_bad(D, name="m0"):
    """Bad initial moments for a D-dimensional problem."""
    return [Bad([0.5] * (D + 1), name), Bad([0.5] * (D - 1) + [INF], name), Bad([0.5] * (D - 1) + [-0.1], name),
            Bad(["a"] * D, name), Bad(None, name)]


def run_good():
    """Run every good call (checks the cases' base calls; not part of the test suite)."""
    import time

    import cases_experiments  # noqa: F401
    import cases_notebook  # noqa: F401
    import cases_plotting  # noqa: F401

    bad = 0
    for key, calls in GOOD.items():
        if key.startswith("twophase.notebook."):  # would record claims and write figures
            continue
        for args, kwargs in calls:
            t = time.perf_counter()
            try:
                resolve(key)(*args, **kwargs)
                status = "ok"
            except Exception as err:  # noqa: BLE001
                status = f"FAILS: {type(err).__name__}: {err}"
                bad += 1
            print(f"{time.perf_counter() - t:7.3f} s  {key}: {status:.300}")
    print(f"{bad} good calls fail")


if __name__ == "__main__":
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    run_good()
