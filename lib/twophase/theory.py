"""Exact expected-loss dynamics of two-phase optimizers on linear regression.

Model (:mod:`twophase.spectra`, ``two-phase-theory.md`` §1): Gaussian features
with covariance ``H = diag(lam)``, label noise ``sigma``, batch ``B`` per worker.
The per-mode second moments ``m_i = E[e_i^2]`` of the error ``e = theta - theta*``
obey closed linear recursions because of the Gaussian fourth-moment identity

    E[Ĥ M Ĥ] = (1 + 1/B) H M H + (1/B) H tr(H M).

One SGD step maps ``m -> P_B m + sigma^2 eta^2 lam / B`` with

    P_B = C^2 + (eta^2 / B) (lam lam^T + diag(lam^2)),   C = diag(1 - eta lam),

a diagonal plus rank-one operator, so a step costs O(D). The high-dimensional
("hd") form drops the self term ``diag(lam^2)``.

One LA-DiLoCo cycle (``R`` workers, ``S`` inner steps, outer rate ``nu``)
maps the global moments ``g`` to

    g' = diag((1 - nu h)^2) g + (nu^2 / R) (P_B^S - C^{2S}) g
         + sigma^2 (nu^2 / R) sum_{k<S} P_B^k (eta^2 lam / B),

with the effective eigenvalue ``h = 1 - (1 - eta lam)^S``. This module applies
that map without ever forming a D x D matrix. Re-derived for this companion;
the paper :cite:`agarwala2026twophase` states the same structure.
"""
from __future__ import annotations

import numpy as np

from . import _validate as v
from .methods import TwoPhase

__all__ = [
    "expected_loss",
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

FORMS = ("exact", "hd")

#: A run is declared diverged once its loss exceeds ``DIVERGENCE_FACTOR`` times
#: its initial loss (or stops being finite). From that step on it reports inf.
DIVERGENCE_FACTOR = 1e20


def _check_problem(lam, m0, sigma, form):
    lam = v.eigenvalues(lam)
    m0 = v.moments(m0, lam.size)
    sigma = v.nonnegative_real("sigma", sigma)
    v.choice("form", form, FORMS)
    return lam, m0, sigma


def sgd_step_moments(m, lam, eta, B, sigma=0.0, form="exact"):
    """One SGD step of the second moments, ``m -> P_B m + sigma^2 eta^2 lam / B``.

    ``m`` has shape ``(..., D)``; ``eta`` broadcasts against ``m[..., 0]``.
    Costs O(D) per grid point (diagonal plus rank one).
    """
    eta = np.asarray(eta, dtype=np.float64)[..., None]
    lam = np.asarray(lam, dtype=np.float64)
    c2 = (1.0 - eta * lam) ** 2
    feedback = np.sum(lam * m, axis=-1, keepdims=True)  # tr(H M)
    out = c2 * m + (eta ** 2 / B) * (lam * feedback + sigma ** 2 * lam)
    if form == "exact":
        out = out + (eta ** 2 / B) * lam ** 2 * m
    return out


def inner_phase(m, lam, eta, S, B, sigma=0.0, form="exact"):
    """Run the ``S`` inner steps of one worker from moments ``m``.

    Returns ``(m_S, cS)`` where ``m_S = P_B^S m + sigma^2 sum_k P_B^k eta^2 lam / B``
    is one worker's second moment after the inner phase and ``cS = (1 - eta lam)^S``
    (so that ``E[e_r e_0] = cS * m`` and, for two different workers,
    ``E[e_r e_r'] = cS^2 * m``).
    """
    mS = m
    for _ in range(S):
        mS = sgd_step_moments(mS, lam, eta, B, sigma, form)
    eta = np.asarray(eta, dtype=np.float64)[..., None]
    cS = (1.0 - eta * lam) ** S
    return mS, cS


def _la_diloco_cycle(g, lam, method: TwoPhase, sigma, form, eta, nu):
    """One outer cycle of LA-DiLoCo on moments ``g`` (shape ``grid + (D,)``)."""
    mS, cS = inner_phase(g, lam, eta, method.S, method.B, sigma, form)
    nu = np.asarray(nu, dtype=np.float64)[..., None]
    R = method.R
    # g' = (1-nu)^2 g + nu^2 (m/R + (1-1/R) q) + 2 nu (1-nu) c, with q = cS^2 g, c = cS g.
    signal = (1.0 - nu * (1.0 - cS)) ** 2 * g
    noise = (nu ** 2 / R) * (mS - cS ** 2 * g)
    return signal + noise


def expected_loss(method: TwoPhase, lam, m0, cycles: int, sigma: float = 0.0, form: str = "exact"):
    """Exact expected loss ``E L = ½ (sum_i lam_i m_i + sigma^2)`` over outer steps.

    Parameters
    ----------
    method : TwoPhase
        The optimizer. ``eta`` and ``nu`` may be arrays that broadcast.
    lam : array_like, shape (D,)
        Eigenvalues of ``H`` (finite, >= 0).
    m0 : array_like, shape (D,)
        Initial second moments ``E[e_i(0)^2]`` (finite, >= 0).
    cycles : int
        Number of outer steps (>= 1). For SGD one cycle is one step.
    sigma : float
        Label-noise standard deviation (>= 0).
    form : {"exact", "hd"}
        Keep (``"exact"``) or drop (``"hd"``) the self term ``lam_i^2 m_i / B``.

    Returns
    -------
    ndarray, shape ``grid_shape + (cycles + 1,)``
        Loss at the start of each outer step. Runs whose loss exceeds
        ``DIVERGENCE_FACTOR`` times the initial loss (or overflows) report
        ``inf`` from that step on; no floating-point warnings are emitted.
    """
    if not isinstance(method, TwoPhase):
        raise ValueError(f"method must be a twophase.TwoPhase, got {type(method).__name__}")
    cycles = v.positive_int("cycles", cycles)
    lam, m0, sigma = _check_problem(lam, m0, sigma, form)
    if method.has_momentum:
        from . import momentum  # the stacked-momentum (SLA) engine

        return momentum.expected_loss(method, lam, m0, cycles, sigma=sigma, form=form)

    shape = method.grid_shape
    eta = np.broadcast_to(np.asarray(method.eta, dtype=np.float64), shape)
    nu = np.broadcast_to(np.asarray(method.nu, dtype=np.float64), shape)
    L0 = 0.5 * (lam @ m0 + sigma ** 2)
    limit = DIVERGENCE_FACTOR * max(L0, np.finfo(float).tiny)
    out = np.empty(shape + (cycles + 1,))
    out[..., 0] = L0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        # First cycle: g = m0 for every grid point, so the inner phase depends
        # on eta alone and the loss is a quadratic in nu (cheap for big grids).
        out[..., 1] = _first_cycle_loss(m0, lam, method, sigma, form)
        diverged = ~np.isfinite(out[..., 1]) | (out[..., 1] > limit)
        if cycles > 1:
            g = _la_diloco_cycle(np.broadcast_to(m0, shape + m0.shape), lam, method, sigma, form, eta, nu)
            g = np.where(diverged[..., None], 0.0, g)
        for t in range(2, cycles + 1):
            g = _la_diloco_cycle(g, lam, method, sigma, form, eta, nu)
            loss = 0.5 * (g @ lam + sigma ** 2)
            diverged = diverged | ~np.isfinite(loss) | (loss > limit)
            out[..., t] = loss
            if np.any(diverged):
                g = np.where(diverged[..., None], 0.0, g)
        _mark_divergence(out, limit)
    return out


def _mark_divergence(out, limit):
    """In place: ``inf`` from the first step whose loss is non-finite or above ``limit``."""
    bad = ~np.isfinite(out) | (out > limit)
    out[np.cumsum(bad, axis=-1) > 0] = np.inf


def _first_cycle_loss(m0, lam, method, sigma, form):
    """Loss after the first cycle, evaluated on the un-broadcast eta and nu arrays."""
    eta = np.asarray(method.eta, dtype=np.float64)
    nu = np.asarray(method.nu, dtype=np.float64)
    mS, cS = inner_phase(m0, lam, eta, method.S, method.B, sigma, form)
    h = 1.0 - cS  # effective eigenvalue, shape eta.shape + (D,)
    lam_m = lam * m0
    A0 = lam @ m0
    A1 = h @ lam_m
    A2 = (h ** 2) @ lam_m
    N = (mS - cS ** 2 * m0) @ lam
    loss = 0.5 * (A0 - 2 * nu * A1 + nu ** 2 * (A2 + N / method.R) + sigma ** 2)
    return np.broadcast_to(loss, method.grid_shape)


def noise_kernel(eta, lam, B: int, form: str = "hd"):
    """Noise kernel ``K = (eta/B) sum_j lam_j / (2 - eta lam_j)`` of SGD.

    In the hd form the stationary SGD moments solve
    ``m_i (1 - c_i^2) = (eta^2 lam_i / B)(sum_j lam_j m_j + sigma^2)``, whence
    ``lam·m = K (lam·m + sigma^2)`` and stability needs ``K < 1``. The exact
    form replaces ``2 - eta lam_j`` by ``2 - eta lam_j (1 + 1/B)``.
    ``eta`` may be an array; the result has its shape.
    """
    lam = v.eigenvalues(lam)
    B = v.positive_int("B", B)
    v.choice("form", form, FORMS)
    eta = np.asarray(eta, dtype=np.float64)[..., None]
    denom = 2.0 - eta * lam * (1.0 + 1.0 / B if form == "exact" else 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        K = (eta[..., 0] / B) * np.sum(lam / denom, axis=-1)
        K = np.where(np.all(denom > 0, axis=-1), K, np.inf)
    return K


def sgd_stable(eta, lam, B: int, form: str = "hd"):
    """True where SGD's second moments are stable: every ``|c_i| < 1`` and ``K < 1``."""
    lam = v.eigenvalues(lam)
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
    v.choice("form", form, FORMS)
    lmax = lam.max()
    if lmax <= 0:
        raise ValueError("lam must have a positive eigenvalue")
    edge = 2.0 / (lmax * (1.0 + 1.0 / B if form == "exact" else 1.0))
    f = lambda e: float(noise_kernel(e, lam, B, form)) - 1.0  # noqa: E731
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
    v.choice("form", form, FORMS)
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


#: Names of :mod:`twophase.operators` also reachable as ``twophase.theory.<name>``.
_OPERATOR_NAMES = ("cycle_operator", "effective_spectrum", "spectral_radius", "stationary_loss",
                   "signal_noise_split")


def __getattr__(name):
    """Resolve the re-exported operator names on first use (operators imports this module)."""
    if name in _OPERATOR_NAMES:
        from . import operators

        return getattr(operators, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
