"""The exact theory of Part I: the documented entry point (a thin face over the engine).

Model (:mod:`twophase.spectra`, ``two-phase-theory.md`` §1): Gaussian features with
covariance ``H = diag(lam)``, label noise ``sigma``, batch ``B`` per worker. The per-mode
second moments ``m_i = E[e_i^2]`` of the error ``e = theta - theta*`` obey closed linear
recursions (the Gaussian fourth-moment identity); :mod:`twophase.engine` runs them for SGD,
LA-DiLoCo and stacked momentum, :mod:`twophase.operators` writes one cycle of LA-DiLoCo as a
structured linear operator. One SGD step maps ``m -> P_B m + sigma^2 eta^2 lam / B`` with

    P_B = C^2 + (eta^2 / B) (lam lam^T + diag(lam^2)),   C = diag(1 - eta lam),

and one LA-DiLoCo cycle maps the global moments ``g`` to

    g' = diag((1 - nu h)^2) g + (nu^2 / R) (P_B^S - C^{2S}) g
         + sigma^2 (nu^2 / R) sum_{k<S} P_B^k (eta^2 lam / B),

with the effective eigenvalue ``h = 1 - (1 - eta lam)^S``. Re-derived for this companion; the
paper :cite:`agarwala2026twophase` states the same structure.
A diagonal preconditioner of the local steps (``precond = p``: ``theta <- theta - eta p g``)
replaces ``eta`` by ``eta p_i`` in mode ``i`` (see :func:`expected_loss`).

Owns: the closed forms of SGD's stationary state (:func:`noise_kernel`, :func:`sgd_stable`,
:func:`sgd_stationary_loss`, :func:`sgd_critical_eta`, :func:`sgd_stationary_moments`).
Re-exports, as the documented face, :func:`expected_loss`, :func:`sgd_step_moments`,
:func:`inner_phase`, :func:`effective_spectrum` (home :mod:`twophase.engine`) and
:func:`cycle_operator` (home :mod:`twophase.operators`). The numerics below this module
import those from their homes; chapters, ``twophase.experiments`` and readers use this face.

May import: :mod:`twophase._validate`, :mod:`twophase._base`, :mod:`twophase.engine`,
:mod:`twophase.operators`.
"""
from __future__ import annotations

import numpy as np

from . import _validate as v
from ._base import DIVERGENCE_FACTOR, FORMS, check_form
from .engine import effective_spectrum, expected_loss, inner_phase, sgd_step_moments
from .operators import cycle_operator

__all__ = [
    "expected_loss",
    "cycle_operator",
    "effective_spectrum",
    "sgd_step_moments",
    "inner_phase",
    "noise_kernel",
    "sgd_stationary_loss",
    "sgd_stable",
    "sgd_critical_eta",
    "sgd_stationary_moments",
    "DIVERGENCE_FACTOR",
    "FORMS",
]


def noise_kernel(eta, lam, B: int, form: str = "hd"):
    """Noise kernel ``K = (eta/B) sum_j lam_j / (2 - eta lam_j)`` of SGD.

    In the hd form the stationary SGD moments solve
    ``m_i (1 - c_i^2) = (eta^2 lam_i / B)(sum_j lam_j m_j + sigma^2)``, whence
    ``lam·m = K (lam·m + sigma^2)`` and stability needs ``K < 1``. The exact
    form replaces ``2 - eta lam_j`` by ``2 - eta lam_j (1 + 1/B)``.
    ``eta`` (> 0) may be an array; the result has its shape (``inf`` where some mode is
    beyond its stability edge).

    Examples
    --------
    >>> float(noise_kernel(1.0, [1.0, 1.0], 2))
    1.0
    """
    eta = v.positive_real("eta", eta, allow_array=True)
    lam = v.eigenvalues(lam)
    B = v.positive_int("B", B)
    check_form(form)
    v.array_size("eta", float(np.size(eta)) * lam.size, "the noise kernel over the eta grid")
    return _noise_kernel(eta, lam, B, form)


def _noise_kernel(eta, lam, B, form):
    eta = np.asarray(eta, dtype=np.float64)[..., None]
    denom = 2.0 - eta * lam * (1.0 + 1.0 / B if form == "exact" else 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        K = (eta[..., 0] / B) * np.sum(lam / denom, axis=-1)
        K = np.where(np.all(denom > 0, axis=-1), K, np.inf)
    return K


def sgd_stable(eta, lam, B: int, form: str = "hd"):
    """True where SGD's second moments are stable: every ``|c_i| < 1`` and ``K < 1``.

    Returns a numpy bool array of ``eta``'s shape (0-d for a scalar ``eta``).

    Examples
    --------
    >>> sgd_stable([0.5, 1.5], [1.0], 1).tolist()
    [True, False]
    """
    K = noise_kernel(eta, lam, B, form)
    return np.asarray(K < 1.0)


def sgd_stationary_loss(eta, lam, B: int, sigma: float, form: str = "hd"):
    """Stationary SGD loss ``sigma^2 / (2 (1 - K))``; ``inf`` where unstable."""
    sigma = v.nonnegative_real("sigma", sigma)
    K = noise_kernel(eta, lam, B, form)
    with np.errstate(divide="ignore"):
        return np.where(K < 1.0, sigma ** 2 / (2.0 * (1.0 - K)), np.inf)


def sgd_critical_eta(lam, B: int, form: str = "hd") -> float:
    """Largest stable SGD rate: the smaller of ``2 / (lam_max (1 + 1/B))`` (exact) or
    ``2 / lam_max`` (hd) and the root of ``K(eta) = 1`` (see :func:`noise_kernel`)."""
    from scipy.optimize import brentq

    lam = v.eigenvalues(lam)
    B = v.positive_int("B", B)
    check_form(form)
    lmax = lam.max()
    if lmax <= 0:
        raise ValueError("lam must have a positive eigenvalue (allowed: max(lam) > 0)")
    edge = 2.0 / (lmax * (1.0 + 1.0 / B if form == "exact" else 1.0))
    f = lambda e: float(_noise_kernel(e, lam, B, form)) - 1.0  # noqa: E731
    hi = edge * (1 - 1e-12)
    if f(hi) < 0:
        return edge
    return brentq(f, 0.0, hi, xtol=1e-15, rtol=1e-14)


def sgd_stationary_moments(eta: float, lam, B: int, sigma: float, form: str = "hd"):
    """Fixed point ``m*`` of the SGD moment recursion, ``(I - P_B) m* = sigma^2 eta^2 lam / B``.

    ``I - P_B = diag(d) - u u^T`` with ``u = eta lam / sqrt(B)`` and
    ``d = 1 - (1 - eta lam)^2 [- eta^2 lam^2 / B]`` (exact form), so the
    Sherman-Morrison formula solves it in O(D):
    ``m* = d^{-1} b + d^{-1} u (u^T d^{-1} b) / (1 - u^T d^{-1} u)``.
    Note ``u^T d^{-1} u = K``, the noise kernel. Raises ``ValueError`` when
    the recursion has no stable fixed point (some ``d_i <= 0`` or ``K >= 1``).
    """
    lam = v.eigenvalues(lam)
    eta = v.positive_real("eta", eta)
    B = v.positive_int("B", B)
    sigma = v.nonnegative_real("sigma", sigma)
    check_form(form)
    d = 1.0 - (1.0 - eta * lam) ** 2
    if form == "exact":
        d = d - eta ** 2 * lam ** 2 / B
    if np.any(d[lam > 0] <= 0):
        raise ValueError(f"eta={eta} is beyond the per-mode stability edge: no stationary point")
    d = np.where(lam > 0, d, 1.0)
    u = eta * lam / np.sqrt(B)
    b = sigma ** 2 * eta ** 2 * lam / B
    K = float(u @ (u / d))
    if K >= 1.0:
        raise ValueError(f"eta={eta} gives noise kernel K={K:.4g} >= 1: no stationary point")
    return b / d + (u / d) * (u @ (b / d)) / (1.0 - K)
