"""The cycle operator of LA-DiLoCo: one outer step as a linear map of second moments.

For LA-DiLoCo (no momentum; ``R`` workers, ``S`` inner steps, batch ``B`` per
worker, outer rate ``nu``) the per-mode second moments ``g_i = E[e_i^2]`` of the
global error obey, over one outer step (``two-phase-theory.md`` §3),

.. math::

    g' = T g + \\sigma^2 b,\\qquad
    T = \\underbrace{\\mathrm{diag}\\big((1-\\nu h)^2\\big)}_{\\text{signal}}
      + \\underbrace{\\tfrac{\\nu^2}{R}\\big(P_B^S - C^{2S}\\big)}_{\\text{noise}},\\qquad
    b = \\tfrac{\\nu^2}{R}\\sum_{k<S} P_B^k\\,\\tfrac{\\eta^2\\lambda}{B},

with ``C = diag(1 - eta lam)``, the effective eigenvalue ``h = 1 - (1 - eta lam)^S``
and the one-step SGD operator ``P_B = C^2 + (eta^2/B)(lam lam^T + diag(lam^2))``
(the ``"hd"`` form drops ``diag(lam^2)``). ``P_B`` is diagonal plus rank one, so
``T`` is applied in O(S·D) without forming a matrix; :meth:`CycleOperator.dense`
forms it for small ``D`` (tests, eigenvalues).

``T`` is entry-wise non-negative, so its spectral radius is a real eigenvalue
(Perron–Frobenius). Moreover ``P_B^S - diag(d)^S`` (``d`` the diagonal of
``P_B``) has rank at most ``S``:

.. math::

    P^S - \\Delta^S = \\sum_{k<S} \\alpha\\,\\Delta^{S-1-k}\\lambda\\,(P^k\\lambda)^\\top,
    \\qquad \\alpha = \\eta^2/B,\\ \\Delta = \\mathrm{diag}(d),

so ``T = diag(tau) + (nu^2/R) U W^T`` with ``S`` columns. This gives the
spectral radius from an ``S x S`` secular equation and the stationary state
from the Woodbury identity, both in O(S^2 D).

Re-derived for this companion; the cycle structure is the one stated in
:cite:`agarwala2026twophase`.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _validate as v
from .methods import TwoPhase
from .theory import FORMS, inner_phase, sgd_step_moments

__all__ = [
    "CycleOperator",
    "NoiseOperator",
    "Cycle",
    "SignalNoise",
    "cycle_operator",
    "effective_spectrum",
    "signal_noise_split",
    "spectral_radius",
    "stationary_loss",
    "isotropic_eigenvalues",
    "isotropic_noise",
    "noise_factor",
]

#: Largest D for which :meth:`CycleOperator.dense` builds a matrix without being asked twice.
DENSE_MAX = 4096


def _momentum_module():
    """``twophase.momentum`` if it exists (issue 4), else ``None``."""
    try:
        from . import momentum
    except ImportError:
        return None
    return momentum


def _check(method, lam, form):
    if not isinstance(method, TwoPhase):
        raise ValueError(f"method must be a twophase.TwoPhase, got {type(method).__name__}")
    lam = v.eigenvalues(lam)
    v.choice("form", form, FORMS)
    return lam


def _grid(method):
    shape = method.grid_shape
    eta = np.broadcast_to(np.asarray(method.eta, dtype=np.float64), shape)
    nu = np.broadcast_to(np.asarray(method.nu, dtype=np.float64), shape)
    return shape, eta, nu


def _p_apply(g, lam, eta, B, form):
    """``P_B g`` (noise-free SGD step of the moments), O(D) per grid point."""
    return sgd_step_moments(g, lam, eta, B, 0.0, form)


def _p_dense(lam, eta, B, form):
    """Dense ``P_B`` of shape ``eta.shape + (D, D)``."""
    eta = np.asarray(eta, dtype=np.float64)[..., None, None]
    D = lam.size
    c2 = (1.0 - eta[..., 0] * lam) ** 2  # shape grid + (D,)
    P = (eta ** 2 / B) * np.outer(lam, lam)
    P = np.broadcast_to(P, c2.shape[:-1] + (D, D)).copy()
    diag = c2 + ((eta[..., 0] ** 2 / B) * lam ** 2 if form == "exact" else 0.0)
    idx = np.arange(D)
    P[..., idx, idx] += diag
    return P


def _p_diagonal(lam, eta, B, form):
    """Diagonal ``d`` of ``P_B``: ``c^2`` (+ ``eta^2 lam^2 / B`` in the exact form)."""
    eta = np.asarray(eta, dtype=np.float64)[..., None]
    d = (1.0 - eta * lam) ** 2
    if form == "exact":
        d = d + (eta ** 2 / B) * lam ** 2
    return d


def effective_spectrum(method: TwoPhase, lam) -> np.ndarray:
    """Effective eigenvalue seen by the outer step, ``h(lam) = 1 - (1 - eta lam)^S``.

    The outer step is gradient descent with rate ``nu`` on ``h``: a mode's mean
    error is multiplied by ``1 - nu h`` per cycle. For small ``eta lam S``,
    ``h ≈ S eta lam`` (the cycle acts like ``S`` SGD steps); for
    ``eta lam ≳ 1/S``, ``h → 1`` (the top of the spectrum is compressed).
    With momentum the inner residual polynomial replaces ``(1 - eta lam)^S``;
    that case is delegated to :func:`twophase.momentum.effective_spectrum`.

    Returns an array of shape ``method.grid_shape + (D,)``.
    """
    if not isinstance(method, TwoPhase):
        raise ValueError(f"method must be a twophase.TwoPhase, got {type(method).__name__}")
    lam = v.eigenvalues(lam)
    if method.has_momentum:
        mom = _momentum_module()
        if mom is None or not hasattr(mom, "effective_spectrum"):
            raise NotImplementedError(
                "effective_spectrum with momentum needs twophase.momentum.effective_spectrum (issue 4)")
        return mom.effective_spectrum(method, lam)
    eta = np.asarray(method.eta, dtype=np.float64)[..., None]
    h = 1.0 - (1.0 - eta * lam) ** method.S
    return np.broadcast_to(h, method.grid_shape + lam.shape).copy()


class NoiseOperator(NamedTuple):
    """The noise part ``N = (nu^2 / R)(P_B^S - C^{2S})`` of the cycle operator.

    Entry-wise non-negative. ``N @ g`` costs O(S·D) per grid point.
    """

    lam: np.ndarray
    eta: np.ndarray
    nu: np.ndarray
    S: int
    R: int
    B: int
    form: str

    @property
    def shape(self):
        return (self.lam.size, self.lam.size)

    def apply(self, g):
        """``N g`` for ``g`` of shape ``(..., D)`` broadcasting against the grid."""
        g = np.asarray(g, dtype=np.float64)
        pg = g
        for _ in range(self.S):
            pg = _p_apply(pg, self.lam, self.eta, self.B, self.form)
        cS = (1.0 - self.eta[..., None] * self.lam) ** self.S
        return (self.nu[..., None] ** 2 / self.R) * (pg - cS ** 2 * g)

    def __matmul__(self, g):
        return self.apply(g)

    def dense(self):
        """Dense ``N`` of shape ``grid + (D, D)``."""
        _dense_guard(self.lam.size)
        P = _p_dense(self.lam, self.eta, self.B, self.form)
        PS = np.linalg.matrix_power(P, self.S)
        cS2 = (1.0 - self.eta[..., None] * self.lam) ** (2 * self.S)
        idx = np.arange(self.lam.size)
        PS[..., idx, idx] -= cS2
        return (self.nu[..., None, None] ** 2 / self.R) * PS


def _dense_guard(D):
    if D > DENSE_MAX:
        raise ValueError(f"dense cycle operator needs D <= {DENSE_MAX} (got D = {D}); use .apply instead")


class CycleOperator(NamedTuple):
    """One outer step of LA-DiLoCo, ``g -> T g`` (add ``sigma**2 * b`` for label noise).

    Attributes
    ----------
    signal : ndarray, shape ``grid + (D,)``
        Diagonal of the signal part, ``(1 - nu h)^2``.
    noise : NoiseOperator
        ``(nu^2 / R)(P_B^S - C^{2S})``.
    b : ndarray, shape ``grid + (D,)``
        Label-noise injection per unit ``sigma^2``.

    ``T @ g`` and :meth:`apply` use the structured O(S·D) form; :meth:`dense`
    builds the matrix for small ``D``.
    """

    lam: np.ndarray
    eta: np.ndarray
    nu: np.ndarray
    S: int
    R: int
    B: int
    form: str
    signal: np.ndarray
    noise: NoiseOperator
    b: np.ndarray

    @property
    def shape(self):
        return (self.lam.size, self.lam.size)

    def apply(self, g):
        """``T g`` for ``g`` of shape ``(..., D)`` broadcasting against the grid."""
        g = np.asarray(g, dtype=np.float64)
        return self.signal * g + self.noise.apply(g)

    def __matmul__(self, g):
        return self.apply(g)

    def step(self, g, sigma=0.0):
        """One outer step ``T g + sigma^2 b``."""
        sigma = v.nonnegative_real("sigma", sigma)
        return self.apply(g) + sigma ** 2 * self.b

    def dense(self):
        """Dense ``T`` of shape ``grid + (D, D)`` (``D <= DENSE_MAX``)."""
        T = self.noise.dense()
        idx = np.arange(self.lam.size)
        T[..., idx, idx] += self.signal
        return T

    def low_rank(self):
        """``(tau, U, W)`` with ``T = diag(tau) + U @ W.T`` (scalar grids only).

        ``U[:, k] = (nu^2/R) (eta^2/B) d^{S-1-k} lam`` and ``W[:, k] = P^k lam``
        for ``k < S``, where ``d`` is the diagonal of ``P_B``;
        ``tau = (1 - nu h)^2 + (nu^2/R)(d^S - c^{2S})``.
        """
        if self.eta.ndim:
            raise ValueError("low_rank needs scalar eta and nu")
        lam, eta, nu, S, R, B = self.lam, float(self.eta), float(self.nu), self.S, self.R, self.B
        d = _p_diagonal(lam, eta, B, self.form)
        c2 = (1.0 - eta * lam) ** 2
        tau = self.signal + (nu ** 2 / R) * (d ** S - c2 ** S)
        U = np.empty((lam.size, S))
        W = np.empty((lam.size, S))
        w = lam.copy()
        for k in range(S):
            U[:, k] = (nu ** 2 / R) * (eta ** 2 / B) * d ** (S - 1 - k) * lam
            W[:, k] = w
            w = _p_apply(w, lam, eta, B, self.form)
        return tau, U, W


class Cycle(NamedTuple):
    """``(T, b)``: one outer step maps ``g`` to ``T @ g + sigma**2 * b``."""

    T: CycleOperator
    b: np.ndarray


class SignalNoise(NamedTuple):
    """The split ``T = diag(signal) + noise`` and the label-noise vector ``b``."""

    signal: np.ndarray
    noise: NoiseOperator
    b: np.ndarray


def cycle_operator(method: TwoPhase, lam, form: str = "exact") -> Cycle:
    """The linear map of one outer step on the per-mode second moments.

    Parameters
    ----------
    method : TwoPhase
        LA-DiLoCo (``eta`` and ``nu`` may be broadcasting arrays). Methods with
        momentum are delegated to ``twophase.momentum.cycle_operator``.
    lam : array_like, shape (D,)
        Eigenvalues of ``H``.
    form : {"exact", "hd"}
        Keep or drop the self term ``lam_i^2 m_i / B``.

    Returns
    -------
    Cycle
        ``(T, b)`` with ``g(t+1) = T @ g(t) + sigma**2 * b``; ``T`` is a
        :class:`CycleOperator` (structured; ``T.dense()`` for the matrix).

    Examples
    --------
    >>> from twophase import TwoPhase, spectra
    >>> lam = spectra.power_law(50)
    >>> T, b = cycle_operator(TwoPhase(0.5, nu=1.2, S=4, R=2, B=3), lam)
    >>> g1 = T @ spectra.initial_moments(lam)
    """
    lam = _check(method, lam, form)
    if method.has_momentum:
        mom = _momentum_module()
        if mom is None or not hasattr(mom, "cycle_operator"):
            raise NotImplementedError(
                "cycle_operator with momentum needs twophase.momentum.cycle_operator (issue 4)")
        return mom.cycle_operator(method, lam, form)
    shape, eta, nu = _grid(method)
    h = effective_spectrum(method, lam)
    signal = (1.0 - nu[..., None] * h) ** 2
    noise = NoiseOperator(lam, eta, nu, method.S, method.R, method.B, form)
    # b = (nu^2/R) sum_{k<S} P^k (eta^2 lam / B): the inner phase from m = 0 with sigma = 1.
    m_noise, _ = inner_phase(np.zeros(shape + lam.shape), lam, eta, method.S, method.B, 1.0, form)
    b = (nu[..., None] ** 2 / method.R) * m_noise
    T = CycleOperator(lam, eta, nu, method.S, method.R, method.B, form, signal, noise, b)
    return Cycle(T, b)


def signal_noise_split(method: TwoPhase, lam, form: str = "exact") -> SignalNoise:
    """``T = diag(signal) + noise`` with ``signal = (1 - nu h)^2`` and
    ``noise = (nu^2/R)(P_B^S - C^{2S})``; also returns ``b``."""
    T, b = cycle_operator(method, lam, form)
    return SignalNoise(T.signal, T.noise, b)


def noise_factor(method: TwoPhase, lam) -> np.ndarray:
    """Leading-order per-mode noise factor of one cycle (hd form).

    To first order in ``eta^2 / B`` the noise operator is
    ``(nu^2/R)(eta^2/B) sum_{k<S} C^{2(S-1-k)} lam lam^T C^{2k}``: mode ``i``
    receives ``n_i · L_eff`` where ``L_eff`` is a weighted loss and

        n_i = (nu^2 / R) (eta^2 lam_i / B) sum_{k<S} c_i^{2k}.

    For SGD (``S = 1``, ``nu = 1``) this is ``eta^2 lam_i / B``. Returns shape
    ``grid + (D,)``.
    """
    lam = _check(method, lam, "hd")
    shape, eta, nu = _grid(method)
    c2 = (1.0 - eta[..., None] * lam) ** 2
    geo = np.zeros(shape + lam.shape)
    p = np.ones_like(c2)
    for _ in range(method.S):
        geo = geo + p
        p = p * c2
    return (nu[..., None] ** 2 / method.R) * (eta[..., None] ** 2 * lam / method.B) * geo


def _pow_diff(a, x, S):
    """``(a + x)^S - a^S`` for ``a >= 0``, ``x >= 0`` without cancellation."""
    a = np.asarray(a, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        safe = np.where(a > 0, a, 1.0)
        stable = safe ** S * np.expm1(S * np.log1p(x / safe))
        return np.where(a > 0, stable, x ** S)


def isotropic_noise(method: TwoPhase, lam0: float, D: int, form: str = "exact"):
    """Noise parts of :func:`isotropic_eigenvalues`: ``(nu^2/R)(a^S - c^{2S})`` for
    ``a = a_sym`` and ``a = a_perp`` (computed without cancellation).

    Theorem 3.1 is the statement that the first strictly increases with ``R``
    at fixed ``B_tot = R B`` when ``S >= 2``: with ``x_1 = alpha B = eta^2 lam0^2 (D + [exact]) / B_tot``
    it equals ``nu^2 f(R x_1) / R`` with ``f(x) = (c^2 + x)^S - c^{2S}`` convex and
    ``f(0) = 0``, so ``f(R x_1) / (R x_1)`` increases with ``R``.
    """
    if not isinstance(method, TwoPhase):
        raise ValueError(f"method must be a twophase.TwoPhase, got {type(method).__name__}")
    lam0 = v.positive_real("lam0", lam0)
    D = v.positive_int("D", D)
    v.choice("form", form, FORMS)
    shape, eta, nu = _grid(method)
    S, R, B = method.S, method.R, method.B
    c2 = (1.0 - eta * lam0) ** 2
    alpha = eta ** 2 * lam0 ** 2 / B
    extra = 1.0 if form == "exact" else 0.0
    n_sym = (nu ** 2 / R) * _pow_diff(c2, alpha * (D + extra), S)
    n_perp = (nu ** 2 / R) * _pow_diff(c2, alpha * extra, S)
    return n_sym, n_perp


def isotropic_eigenvalues(method: TwoPhase, lam0: float, D: int, form: str = "exact"):
    """Closed-form eigenvalues of ``T`` for ``D`` identical eigenvalues ``lam0``.

    With ``c = 1 - eta lam0`` and ``alpha = eta^2 lam0^2 / B``, ``P_B`` is
    ``c^2 I + alpha (1 1^T + [exact] I)``. Its eigenvalues are
    ``a_sym = c^2 + alpha (D + [exact])`` on the all-ones vector and
    ``a_perp = c^2 + [exact] alpha`` on its orthogonal complement, so ``T`` has

        tau_sym  = (1 - nu h)^2 + (nu^2/R) (a_sym^S  - c^{2S})   (multiplicity 1),
        tau_perp = (1 - nu h)^2 + (nu^2/R) (a_perp^S - c^{2S})   (multiplicity D - 1).

    ``tau_sym >= tau_perp`` is the spectral radius; with isotropic initial
    moments only the all-ones direction is excited, so the loss contracts by
    ``tau_sym`` per cycle (the scalar factor of Theorem 3.1).

    Returns ``(tau_sym, tau_perp)``, each of shape ``method.grid_shape``.
    """
    n_sym, n_perp = isotropic_noise(method, lam0, D, form)
    _, eta, nu = _grid(method)
    h = 1.0 - (1.0 - eta * float(lam0)) ** method.S
    sig = (1.0 - nu * h) ** 2
    return sig + n_sym, sig + n_perp


def _rho_grouped(T: CycleOperator, values, counts):
    """Spectral radius from the exact reduction to distinct eigenvalues.

    Vectors constant on each group of equal eigenvalues form an invariant
    subspace (dimension K = number of distinct values) on which ``T`` acts as
    a K x K matrix with feedback weights ``counts``; within-group zero-sum
    vectors are eigenvectors with eigenvalue ``tau`` of their group.
    Works on whole grids at once.
    """
    lam_w = counts * values
    eta = T.eta[..., None, None]
    K = values.size
    Pc = (eta ** 2 / T.B) * np.outer(values, lam_w)
    Pc = np.broadcast_to(Pc, T.eta.shape + (K, K)).copy()
    d = _p_diagonal(values, T.eta, T.B, T.form)
    idx = np.arange(K)
    Pc[..., idx, idx] += d
    with np.errstate(over="ignore", invalid="ignore"):
        PS = np.linalg.matrix_power(Pc, T.S)
        c2S = (1.0 - T.eta[..., None] * values) ** (2 * T.S)
        h = 1.0 - (1.0 - T.eta[..., None] * values) ** T.S
        sig = (1.0 - T.nu[..., None] * h) ** 2
        PS[..., idx, idx] += -c2S
        Tc = (T.nu[..., None, None] ** 2 / T.R) * PS
        Tc[..., idx, idx] += sig
        ok = np.all(np.isfinite(Tc), axis=(-2, -1))
        Tc = np.where(ok[..., None, None], Tc, 0.0)
        rho = np.max(np.abs(np.linalg.eigvals(Tc)), axis=-1)
        tau = sig + (T.nu[..., None] ** 2 / T.R) * (d ** T.S - c2S)
        tau = np.where(counts > 1, tau, -np.inf)
        rho = np.maximum(rho, np.max(tau, axis=-1))
    return np.where(ok, rho, np.inf)


def _rho_secular(T: CycleOperator):
    """Perron root of ``diag(tau) + U W^T`` (scalar grid) from the S x S secular equation.

    For ``z > max(tau)``, ``z`` is an eigenvalue iff 1 is an eigenvalue of the
    entry-wise non-negative ``M(z) = W^T diag(1/(z - tau)) U``, whose spectral
    radius decreases from ``+inf`` (or a finite value) to 0 as ``z`` grows.
    """
    from scipy.optimize import brentq

    with np.errstate(over="ignore", invalid="ignore"):
        tau, U, W = T.low_rank()
        if not (np.all(np.isfinite(U)) and np.all(np.isfinite(W))):
            return np.inf
        tmax = float(tau.max())
        rhoN = float(np.max(np.abs(np.linalg.eigvals(W.T @ U))))
        if rhoN == 0.0:
            return tmax

        def f(z):
            M = W.T @ (U / (z - tau)[:, None])
            return float(np.max(np.abs(np.linalg.eigvals(M)))) - 1.0

        lo = tmax + 1e-15 * max(1.0, abs(tmax))
        hi = tmax + rhoN * (1 + 1e-9) + 1e-300
        if f(lo) <= 0.0:
            return tmax
        if f(hi) > 0.0:  # cannot happen in exact arithmetic; be safe
            hi = tmax + 2 * rhoN + 1.0
        return brentq(f, lo, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500)


def spectral_radius(method: TwoPhase, lam, form: str = "exact", how: str = "auto"):
    """Spectral radius ``rho(T)`` of the cycle operator (its Perron root, ``T >= 0``).

    The loss contracts asymptotically by ``rho(T)`` per cycle, i.e. by
    ``rho(T)^{1/S}`` per inner step; ``rho(T) >= 1`` means the second moments
    diverge (for ``sigma > 0``, no stationary state).

    Parameters
    ----------
    how : {"auto", "grouped", "secular", "dense"}
        ``"grouped"`` reduces exactly to the distinct eigenvalues (fast when
        there are few, e.g. identical or spiked spectra; vectorised over grids);
        ``"secular"`` solves an ``S x S`` secular equation in O(S^2 D) per grid
        point; ``"dense"`` calls ``numpy.linalg.eigvals`` on ``T.dense()``.
        ``"auto"`` picks grouped if there are at most 64 distinct values,
        else secular.

    Returns
    -------
    float or ndarray of shape ``method.grid_shape`` (``inf`` on overflow).
    """
    lam = _check(method, lam, form)
    v.choice("how", how, ("auto", "grouped", "secular", "dense"))
    if method.has_momentum:
        # twophase.momentum.spectral_radius is the NOISELESS per-mode cycle map; here we want
        # the second-moment operator, so take the dense (T, b) that momentum.cycle_operator builds.
        T, _ = cycle_operator(method, lam, form)  # NotImplementedError if unsupported
        with np.errstate(over="ignore", invalid="ignore"):
            T = np.asarray(T)
            if not np.all(np.isfinite(T)):
                return np.inf
            return float(np.max(np.abs(np.linalg.eigvals(T))))
    T, _ = cycle_operator(method, lam, form)
    values, counts = np.unique(lam, return_counts=True)
    if how == "auto":
        how = "grouped" if values.size <= 64 else "secular"
    if how == "grouped":
        out = _rho_grouped(T, values, counts.astype(np.float64))
    elif how == "dense":
        with np.errstate(over="ignore", invalid="ignore"):
            M = T.dense()
            ok = np.all(np.isfinite(M), axis=(-2, -1))
            M = np.where(ok[..., None, None], M, 0.0)
            out = np.where(ok, np.max(np.abs(np.linalg.eigvals(M)), axis=-1), np.inf)
    else:
        shape = method.grid_shape
        out = np.empty(shape)
        for idx in np.ndindex(shape):
            Ti = T._replace(eta=np.asarray(T.eta[idx]), nu=np.asarray(T.nu[idx]), signal=T.signal[idx])
            out[idx] = _rho_secular(Ti)
    return float(out) if np.ndim(out) == 0 else out


def stationary_loss(method: TwoPhase, lam, sigma: float, form: str = "exact"):
    """Long-time loss ``½(lam·g* + sigma^2)`` with ``g* = sigma^2 (I - T)^{-1} b``.

    Exists iff ``rho(T) < 1``; returns ``inf`` otherwise. Uses the Woodbury
    identity on ``I - T = diag(1 - tau) - U W^T`` (O(S^2 D) per grid point).
    """
    lam = _check(method, lam, form)
    sigma = v.nonnegative_real("sigma", sigma)
    if method.has_momentum:
        mom = _momentum_module()
        T, b = cycle_operator(method, lam, form)  # dense, from twophase.momentum (issue 4)
        if not spectral_radius(method, lam, form) < 1.0:
            return np.inf
        state = np.linalg.solve(np.eye(T.shape[0]) - T, sigma ** 2 * b)
        return float(mom.loss_from_state(state, lam, sigma))
    rho = np.atleast_1d(spectral_radius(method, lam, form))
    T, b = cycle_operator(method, lam, form)
    shape = method.grid_shape
    out = np.empty(shape)
    rho = rho.reshape(shape)
    for idx in np.ndindex(shape):
        if not rho[idx] < 1.0:
            out[idx] = np.inf
            continue
        Ti = T._replace(eta=np.asarray(T.eta[idx]), nu=np.asarray(T.nu[idx]), signal=T.signal[idx])
        tau, U, W = Ti.low_rank()
        a = 1.0 - tau  # > 0 because rho(T) >= max(tau)
        r = sigma ** 2 * b[idx]
        x0 = r / a
        Ua = U / a[:, None]
        small = np.eye(U.shape[1]) - W.T @ Ua
        g = x0 + Ua @ np.linalg.solve(small, W.T @ x0)
        out[idx] = 0.5 * (lam @ g + sigma ** 2)
    return float(out) if out.ndim == 0 else out
