"""Shared matplotlib helpers for the book's figures.

Chapter-specific figure builders live beside this module
(:mod:`twophase.plotting_la`, :mod:`twophase.plotting_momentum`); they take
computed arrays and only draw.
"""
from __future__ import annotations

import numpy as np

__all__ = ["curve_with_band"]


def curve_with_band(ax, x, mean, se, *, k: float = 2.0, color=None, label=None, **kw):
    """Solid ``mean`` with a shaded ``mean ± k se`` band (non-finite points dropped)."""
    mean = np.asarray(mean, dtype=float)
    se = np.asarray(se, dtype=float)
    ok = np.isfinite(mean)
    (line,) = ax.plot(np.asarray(x)[ok], mean[ok], color=color, label=label, **kw)
    okb = ok & np.isfinite(se)
    lo = np.maximum(mean - k * se, mean * 1e-3)
    ax.fill_between(np.asarray(x)[okb], lo[okb], (mean + k * se)[okb], color=line.get_color(), alpha=0.25,
                    lw=0)
    return line
