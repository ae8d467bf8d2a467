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

Owns: the structured cycle operator of LA-DiLoCo (:func:`cycle_operator`, one result type
:class:`Cycle`), the Perron root of the second-moment cycle map
(:func:`second_moment_radius`; for methods with momentum it is taken from the dense SLA map of
:func:`twophase.engine.dense_cycle_operator`), the stationary loss, the per-mode noise factor
and the closed forms for identical eigenvalues. (The *noiseless* per-mode cycle map and its
radius are :func:`twophase.momentum.noiseless_cycle_map` and
:func:`twophase.momentum.noiseless_radius`.)

May import: :mod:`twophase._validate`, :mod:`twophase._base`, :mod:`twophase.methods`,
:mod:`twophase.engine`.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _validate as v
from ._base import check_form, check_method, grid_arrays
from .engine import (_inner_contraction, _inner_phase, _sgd_coefficients, _sgd_operator_dense, _sgd_step,
                     dense_cycle_operator, effective_spectrum, loss_from_state)
from .methods import TwoPhase

__all__ = [
    "CycleOperator",
    "NoiseOperator",
    "Cycle",
    "SignalNoise",
    "cycle_operator",
    "signal_noise_split",
    "second_moment_radius",
    "stationary_loss",
    "isotropic_eigenvalues",
    "IsotropicEigenvalues",
    "isotropic_noise",
    "IsotropicNoise",
    "noise_factor",
]

#: Largest D for which :meth:`CycleOperator.dense` builds a matrix.
DENSE_MAX = 4096
# Seconds per (n D)^3 of numpy.linalg.eigvals on a dense non-symmetric matrix (measured, with margin).
_SEC_PER_EIG_CUBE = 2e-9


def _check(method, lam, form):
    check_method(method)
    lam = v.eigenvalues(lam)
    check_form(form)
    return lam


def _p_apply(g, lam, eta, B, form):
    """``P_B g`` (noise-free SGD step of the moments), O(D) per grid point."""
    eta = np.asarray(eta, dtype=np.float64)[..., None]
    d, k = _sgd_coefficients(lam, eta, B, form)
    return _sgd_step(g, lam, d, k * lam, None)


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
        cS = _inner_contraction(self.eta[..., None], self.lam, self.S)
        return (self.nu[..., None] ** 2 / self.R) * (pg - cS ** 2 * g)

    def __matmul__(self, g):
        return self.apply(g)

    def dense(self):
        """Dense ``N`` of shape ``grid + (D, D)``."""
        _dense_guard(self.lam.size, self.eta.size)
        P = _sgd_operator_dense(self.lam, self.eta, self.B, self.form)
        PS = np.linalg.matrix_power(P, self.S)
        cS2 = _inner_contraction(self.eta[..., None], self.lam, self.S) ** 2
        idx = np.arange(self.lam.size)
        PS[..., idx, idx] -= cS2
        return (self.nu[..., None, None] ** 2 / self.R) * PS


def _dense_guard(D, n_grid=1):
    if D > DENSE_MAX or n_grid * D * D > v.MAX_ENTRIES:
        raise ValueError(f"the dense cycle operator needs D <= {DENSE_MAX} and grid size x D^2 <= "
                         f"{v.MAX_ENTRIES:,} (allowed range); got D = {D} on {n_grid} grid point(s), "
                         f"{8e-9 * n_grid * D * D:.3g} GB. Use .apply (O(S D)) instead")


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
            raise ValueError("low_rank needs scalar eta and nu (allowed: grid shape ())")
        lam, eta, nu, S, R, B = self.lam, float(self.eta), float(self.nu), self.S, self.R, self.B
        d, _ = _sgd_coefficients(lam, eta, B, self.form)
        c2 = _inner_contraction(eta, lam, 1) ** 2
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
        LA-DiLoCo without momentum (``eta`` and ``nu`` may be broadcasting arrays).
        For momentum the state is larger and there is no structured form: use
        :func:`twophase.engine.dense_cycle_operator`.
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
        raise ValueError("cycle_operator covers methods without momentum (allowed: beta_in = beta_out = 0); "
                         "for momentum use twophase.engine.dense_cycle_operator")
    shape, eta, nu = grid_arrays(method)
    v.array_size("the (eta, nu) grid", float(np.prod(shape)) * lam.size * 3, "the cycle operator's vectors")
    h = effective_spectrum(method, lam)
    signal = (1.0 - nu[..., None] * h) ** 2
    noise = NoiseOperator(lam, eta, nu, method.S, method.R, method.B, form)
    # b = (nu^2/R) sum_{k<S} P^k (eta^2 lam / B): the inner phase from m = 0 with sigma = 1.
    with np.errstate(over="ignore", invalid="ignore"):
        m_noise, _ = _inner_phase(np.zeros(shape + lam.shape), lam, eta[..., None], method.S, method.B, 1.0,
                                  form)
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
    shape, eta, nu = grid_arrays(method)
    v.array_size("the (eta, nu) grid", float(np.prod(shape)) * lam.size * 3, "the noise factor")
    c2 = _inner_contraction(eta[..., None], lam, 1) ** 2
    geo = np.zeros(shape + lam.shape)
    p = np.ones_like(c2)
    for _ in range(method.S):
        geo = geo + p
        p = p * c2
    return (nu[..., None] ** 2 / method.R) * (eta[..., None] ** 2 * lam / method.B) * geo


class IsotropicNoise(NamedTuple):
    """Result of :func:`isotropic_noise` (each of shape ``method.grid_shape``)."""

    n_sym: np.ndarray   #: noise part on the all-ones direction
    n_perp: np.ndarray  #: noise part on its orthogonal complement


class IsotropicEigenvalues(NamedTuple):
    """Result of :func:`isotropic_eigenvalues` (each of shape ``method.grid_shape``)."""

    tau_sym: np.ndarray   #: eigenvalue on the all-ones vector (multiplicity 1): the spectral radius
    tau_perp: np.ndarray  #: eigenvalue on its orthogonal complement (multiplicity D - 1)


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
    check_method(method)
    lam0 = v.positive_real("lam0", lam0)
    D = v.positive_int("D", D)
    check_form(form)
    shape, eta, nu = grid_arrays(method)
    S, R, B = method.S, method.R, method.B
    c2 = (1.0 - eta * lam0) ** 2
    alpha = eta ** 2 * lam0 ** 2 / B
    extra = 1.0 if form == "exact" else 0.0
    n_sym = (nu ** 2 / R) * _pow_diff(c2, alpha * (D + extra), S)
    n_perp = (nu ** 2 / R) * _pow_diff(c2, alpha * extra, S)
    return IsotropicNoise(n_sym, n_perp)


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
    _, eta, nu = grid_arrays(method)
    h = 1.0 - _inner_contraction(eta, float(lam0), method.S)
    sig = (1.0 - nu * h) ** 2
    return IsotropicEigenvalues(sig + n_sym, sig + n_perp)


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
    d, _ = _sgd_coefficients(values, T.eta[..., None], T.B, T.form)
    idx = np.arange(K)
    Pc[..., idx, idx] += d
    with np.errstate(over="ignore", invalid="ignore"):
        PS = np.linalg.matrix_power(Pc, T.S)
        cS = _inner_contraction(T.eta[..., None], values, T.S)
        c2S = cS * cS
        h = 1.0 - cS
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


def _dense_momentum_operator(method, lam, form):
    """The dense SLA cycle map, refused with a time estimate when its eigenvalues would take minutes."""
    from .engine import state_labels

    N = len(state_labels(method)) * lam.size
    v.work_estimate(_SEC_PER_EIG_CUBE * float(N) ** 3,
                    f"the dense second-moment map of a method with momentum (state size {N} at D = {lam.size})",
                    "use a smaller D (the spectrum's shape, not its size, sets the radius) or a spectrum "
                    "with few distinct eigenvalues")
    return dense_cycle_operator(method, lam, form)


def second_moment_radius(method: TwoPhase, lam, form: str = "exact", how: str = "auto"):
    """Perron root ``rho(T)`` of the second-moment cycle map (``T >= 0`` entry-wise without momentum).

    The loss contracts asymptotically by ``rho(T)`` per cycle, i.e. by
    ``rho(T)^{1/S}`` per inner step; ``rho(T) >= 1`` means the second moments
    diverge (for ``sigma > 0``, no stationary state). Not to be confused with the radius of
    the *noiseless* per-mode map, :func:`twophase.momentum.noiseless_radius`.

    Parameters
    ----------
    method : TwoPhase
        Any method; with momentum the map is the dense SLA one
        (:func:`twophase.engine.dense_cycle_operator`, scalar ``eta``, ``nu``, small ``D``:
        sizes whose eigenvalues would take minutes are refused with an estimate).
    lam : array_like, shape ``(D,)``
    form : {"exact", "hd"}
    how : {"auto", "grouped", "secular", "dense"}
        Without momentum: ``"grouped"`` reduces exactly to the distinct eigenvalues (fast when
        there are few, e.g. identical or spiked spectra; vectorised over grids);
        ``"secular"`` solves an ``S x S`` secular equation in O(S^2 D) per grid
        point; ``"dense"`` calls ``numpy.linalg.eigvals`` on ``T.dense()``.
        ``"auto"`` picks grouped if there are at most 64 distinct values,
        else secular.

    Returns
    -------
    float for a scalar grid, else ndarray of shape ``method.grid_shape`` (``inf`` on overflow).

    Examples
    --------
    >>> from twophase import SGD
    >>> round(second_moment_radius(SGD(0.5), [1.0], form="hd"), 12)
    0.5
    """
    lam = _check(method, lam, form)
    v.choice("how", how, ("auto", "grouped", "secular", "dense"))
    if method.has_momentum:
        check_method(method, scalar=True, what="second_moment_radius with momentum")
        T = _dense_momentum_operator(method, lam, form).T
        with np.errstate(over="ignore", invalid="ignore"):
            if not np.all(np.isfinite(T)):
                return np.inf
            return float(np.max(np.abs(np.linalg.eigvals(T))))
    T, _ = cycle_operator(method, lam, form)
    values, counts = np.unique(lam, return_counts=True)
    if how == "auto":
        how = "grouped" if values.size <= 64 else "secular"
    n_grid = float(np.prod(method.grid_shape))
    if how == "grouped":
        v.work_estimate(_SEC_PER_EIG_CUBE * n_grid * float(values.size) ** 3 * (10 + np.log2(method.S)),
                        f"the grouped radius ({values.size} distinct eigenvalues, {n_grid:.0f} grid points)",
                        "use how='secular' or a smaller grid")
        out = _rho_grouped(T, values, counts.astype(np.float64))
    elif how == "dense":
        _dense_guard(lam.size, int(n_grid))
        v.work_estimate(_SEC_PER_EIG_CUBE * n_grid * float(lam.size) ** 3,
                        f"the dense radius at D = {lam.size} on {n_grid:.0f} grid points",
                        "use how='secular' (O(S^2 D)) or how='grouped'")
        with np.errstate(over="ignore", invalid="ignore"):
            M = T.dense()
            ok = np.all(np.isfinite(M), axis=(-2, -1))
            M = np.where(ok[..., None, None], M, 0.0)
            out = np.where(ok, np.max(np.abs(np.linalg.eigvals(M)), axis=-1), np.inf)
    else:
        v.work_estimate(n_grid * 60 * (2e-9 * method.S ** 2 * lam.size + 3e-5),
                        f"the secular radius (S = {method.S}, D = {lam.size}, {n_grid:.0f} grid points)",
                        "reduce S, D or the grid")
        shape = method.grid_shape
        out = np.empty(shape)
        for idx in np.ndindex(shape):
            Ti = T._replace(eta=np.asarray(T.eta[idx]), nu=np.asarray(T.nu[idx]), signal=T.signal[idx])
            out[idx] = _rho_secular(Ti)
    return float(out) if np.ndim(out) == 0 else out


def stationary_loss(method: TwoPhase, lam, sigma: float, form: str = "exact"):
    """Long-time loss ``½(lam·g* + sigma^2)`` with ``g* = sigma^2 (I - T)^{-1} b``.

    Exists iff ``rho(T) < 1``; returns ``inf`` otherwise. Without momentum uses the Woodbury
    identity on ``I - T = diag(1 - tau) - U W^T`` (O(S^2 D) per grid point); with momentum
    solves the dense SLA system (scalar ``eta``, ``nu``; small ``D``).
    """
    lam = _check(method, lam, form)
    sigma = v.nonnegative_real("sigma", sigma)
    if method.has_momentum:
        check_method(method, scalar=True, what="stationary_loss with momentum")
        T, b, _ = _dense_momentum_operator(method, lam, form)
        with np.errstate(over="ignore", invalid="ignore"):
            if not np.all(np.isfinite(T)) or not float(np.max(np.abs(np.linalg.eigvals(T)))) < 1.0:
                return np.inf
        state = np.linalg.solve(np.eye(T.shape[0]) - T, sigma ** 2 * b)
        return float(loss_from_state(state, lam, sigma))
    rho = np.atleast_1d(second_moment_radius(method, lam, form))
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
