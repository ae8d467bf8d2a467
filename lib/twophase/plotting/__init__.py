"""Figures for the book: shared helpers here, chapter figure builders in submodules.

* :mod:`twophase.plotting.sgd` — SGD (chapter 1);
* :mod:`twophase.plotting.la` — Lookahead and LA-DiLoCo (chapters 2 and 3);
* :mod:`twophase.plotting.momentum` — stacked momentum (chapter 4).

Every function takes already-computed arrays and only draws; no numerics
happen here.
"""
from __future__ import annotations

import numpy as np

from . import _checks as c

__all__ = ["curve_with_band"]


def curve_with_band(ax, x, mean, se, *, k: float = 2.0, color=None, label=None, **kw):
    """Solid ``mean`` with a shaded ``mean ± k se`` band (non-finite points dropped)."""
    c.axes("ax", ax)
    x = c.axis("x", x)
    c.curve("mean", mean, x.size)
    se = c.curve("se", se, x.size)
    if np.any(se[np.isfinite(se)] < 0):
        raise ValueError("se must be >= 0 where finite (standard errors; allowed range [0, inf))")
    c.scalar("k", k, positive=True)
    c.text("label", label, optional=True)
    mean = np.asarray(mean, dtype=float)
    se = np.asarray(se, dtype=float)
    ok = np.isfinite(mean)
    (line,) = ax.plot(np.asarray(x)[ok], mean[ok], color=color, label=label, **kw)
    okb = ok & np.isfinite(se)
    lo = np.maximum(mean - k * se, mean * 1e-3)
    ax.fill_between(np.asarray(x)[okb], lo[okb], (mean + k * se)[okb], color=line.get_color(), alpha=0.25,
                    lw=0)
    return line
