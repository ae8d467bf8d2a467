"""Test spectra and initial conditions for high-dimensional linear regression.

Every spectrum is a float64 array of eigenvalues of the feature covariance
``H`` (the Hessian of the loss), sorted in descending order. Only products
``eta * lam`` and the ratio ``B / D`` matter in the high-dimensional form, so
the overall scale is a convention (see :cite:`agarwala2026twophase`).

Owns: the problems of Part I (spectra and initial second moments). Dimensions above
:data:`twophase._validate.MAX_D` are refused with a memory estimate.

May import: :mod:`twophase._validate`.
"""
from __future__ import annotations

import numpy as np

from . import _validate as v

__all__ = ["identical", "spiked", "power_law", "initial_moments"]


def identical(D: int, value: float = 1.0) -> np.ndarray:
    """``D`` equal eigenvalues ``value`` (the isotropic setting of Theorem 3.1).

    Examples
    --------
    >>> identical(3, 0.5).tolist()
    [0.5, 0.5, 0.5]
    """
    D = v.dimension("D", D)
    value = v.positive_real("value", value)
    return np.full(D, value, dtype=np.float64)


def spiked(D: int, ratio: float = 20.0, fraction: float = 0.01, base: float = 1.0) -> np.ndarray:
    """A bulk at ``base`` with a fraction ``fraction`` of modes at ``ratio * base``.

    The number of spiked modes is ``round(fraction * D)``, at least one.
    Figure 1 (left, middle) uses ``ratio=20, fraction=0.01``.
    """
    D = v.dimension("D", D)
    ratio = v.positive_real("ratio", ratio)
    base = v.positive_real("base", base)
    fraction = v.open_unit("fraction", fraction)
    n_spike = min(D, max(1, int(round(fraction * D))))
    lam = np.full(D, base, dtype=np.float64)
    lam[:n_spike] = ratio * base
    return np.sort(lam)[::-1].copy()


def power_law(D: int, alpha: float = -1.5) -> np.ndarray:
    """``lam_i = i ** alpha`` for ``i = 1..D`` (descending for ``alpha < 0``).

    Figure 1 (right) uses ``alpha = -1.5``. The top eigenvalue is 1.

    Examples
    --------
    >>> power_law(3, -1.0).tolist()
    [1.0, 0.5, 0.3333333333333333]
    """
    D = v.dimension("D", D)
    alpha = v.real("alpha", alpha)
    if alpha >= 0:
        raise ValueError(f"alpha must be a finite number < 0 (decaying spectrum), got {alpha!r}")
    i = np.arange(1, D + 1, dtype=np.float64)
    return i ** alpha


def initial_moments(lam, kind: str = "isotropic", exponent: float = 0.5) -> np.ndarray:
    """Initial error second moments ``m0_i = E[e_i(0)^2]``.

    Parameters
    ----------
    lam : array_like
        Eigenvalues.
    kind : {"isotropic", "source"}
        ``"isotropic"``: ``m0_i = 1/D`` (the error is isotropic in parameter
        space, total squared norm 1). ``"source"``: ``m0_i ∝ lam_i**(-exponent)``
        normalised so that ``sum(m0) = 1``; larger ``exponent`` puts more of the
        initial error in the low modes.
    exponent : float
        Source exponent ``s`` (only for ``kind="source"``), finite and >= 0.
        Modes with ``lam_i = 0`` get zero weight when ``exponent > 0``.
    """
    lam = v.eigenvalues(lam)
    v.choice("kind", kind, ("isotropic", "source"))
    D = lam.size
    if kind == "isotropic":
        return np.full(D, 1.0 / D)
    s = v.nonnegative_real("exponent", exponent)
    with np.errstate(divide="ignore"):
        w = np.where(lam > 0, lam, np.inf) ** (-s) if s > 0 else np.ones(D)
    w = np.where(np.isfinite(w), w, 0.0)
    total = w.sum()
    if total <= 0:
        raise ValueError("lam must have at least one positive eigenvalue for kind='source' (allowed: max(lam) > 0)")
    return w / total
