r"""The one moment engine: exact second-moment dynamics of SGD, LA-DiLoCo and SLA.

Owns the exact per-mode second-moment recursions of every Part I method and nothing else.
Model (``two-phase-theory.md`` §1, :cite:`agarwala2026twophase`): Gaussian features with
covariance ``H = diag(lam)``, label noise ``sigma``, batch ``B`` per worker. By the Gaussian
fourth-moment identity ``E[Ĥ M Ĥ] = (1 + 1/B) H M H + (1/B) H tr(H M)`` the per-mode second
moments close, coupled across modes only through the rank-one feedback ``tr(H M)``.

One SGD step maps ``m -> P_B m + sigma^2 eta^2 lam / B`` with

    P_B = C^2 + (eta^2 / B) (lam lam^T + diag(lam^2)),   C = diag(1 - eta lam),

(diagonal plus rank one: O(D) per step; the ``"hd"`` form drops ``diag(lam^2)``). A cycle of
a two-phase method runs ``S`` inner heavy-ball steps ``(e, u) <- M (e, u) + noise`` on each of
``R`` exchangeable workers, ``M = [[1 - eta lam, -eta beta_in], [lam, beta_in]]``, then an outer
step with rate ``nu`` and (EMA) momentum ``beta_out`` on the pseudo-gradient. The noiseless
part of a cycle is ``M^S``; its ``(0, 0)`` entry is the residual polynomial ``p_S(lam)`` and the
outer step sees the effective eigenvalue ``h = 1 - p_S`` (``h = 1 - (1 - eta lam)^S`` without
momentum).

:func:`expected_loss` is the one entry point; it picks the cheapest exact representation:

* **with momentum**: 13 numbers per mode (:class:`SLAMoments`: the global block ``(e_0, v)``,
  one worker ``(e, u)``, two distinct workers, and worker x global), O(S D) per cycle;
* **without momentum** (SGD, LA, LA-DiLoCo): one number per mode, ``g' = (1 - nu h)^2 g +
  (nu^2/R)(P_B^S g - C^{2S} g) + sigma^2 (nu^2/R) sum_{k<S} P_B^k (eta^2 lam / B)``;
* **one cycle without momentum**: the loss is a quadratic in ``nu``
  (:func:`one_cycle_terms`), evaluated on the ``eta`` grid alone, so an ``(eta, nu)`` grid
  costs no more than its ``eta`` column.

**Diagonal preconditioner** (``precond = p``, shape ``(D,)``, > 0): local steps
``theta <- theta - eta p g`` (inner momentum: the buffer accumulates ``g``, the step is
``-eta p u``), outer steps unpreconditioned. Mode ``i`` then steps ``eta p_i`` everywhere
``eta`` appears per mode (the contraction, the noise ``(eta p_i)^2 lam_i (lam·m + sigma^2)/B``,
the self term, ``M``). The change of variables ``e -> p^{-1/2} e`` makes it the
unpreconditioned method on the spectrum ``p lam`` from ``m0 / p`` (same loss), which the
tests check; functions without a ``precond`` argument can be used that way.

**Compiled kernels** (issue 12): with numba installed, runs of at least
``_COMPILED_MIN_WORK`` mode-steps go through fused kernels (two passes per no-momentum cycle,
one per SLA cycle, no temporaries; see the section "compiled kernels" below), equal to the
numpy recursions to 1e-12 (tested). ``TWOPHASE_ENGINE=numpy`` forces the numpy path,
``TWOPHASE_ENGINE=compiled`` the kernels for every run.

All three share the divergence rule and loss loop of :mod:`twophase._base`. The old
no-momentum engine is kept as an oracle in :mod:`twophase.reference` (``old_expected_loss``)
and the tests check that this engine reproduces it to 1e-12.

:func:`dense_cycle_operator` builds the affine map of one SLA cycle on the between-cycle state
as a dense matrix (small ``D``); the structured operator of LA-DiLoCo is
:func:`twophase.operators.cycle_operator`.

May import: :mod:`twophase._validate`, :mod:`twophase._base`, :mod:`twophase.methods`.
"""
from __future__ import annotations

import threading
from typing import NamedTuple

import numpy as np

from . import _base
from . import _validate as v
from ._base import check_form, check_method, check_precond, check_problem, step_sizes
from .methods import TwoPhase

__all__ = [
    "expected_loss",
    "sgd_step_moments",
    "inner_phase",
    "InnerPhase",
    "effective_spectrum",
    "residual_polynomials",
    "inner_matrix_power",
    "sgd_operator_dense",
    "one_cycle_terms",
    "OneCycleTerms",
    "SLAMoments",
    "initial_moments_state",
    "state_labels",
    "initial_state",
    "loss_from_state",
    "DenseCycle",
    "dense_cycle_operator",
]

# Measured speed (2-core machine under load), used only to refuse runs that would take minutes:
# seconds per mode-step of the one-number and 13-number recursions, and per inner step overhead.
_SEC_PER_MODE_STEP = {False: 1.0e-8, True: 3.0e-8}
_SEC_PER_STEP = {False: 8e-6, True: 3e-5}


# --------------------------------------------------------------------------- primitives
def _inner_contraction(eta, lam, S):
    """``c^S = (1 - eta lam)^S``, the noiseless inner phase without momentum (``h = 1 - c^S``)."""
    return (1.0 - eta * lam) ** S


def _sgd_coefficients(lam, eta, B, form):
    """``(d, k)``: diagonal ``d`` of ``P_B`` and ``k = eta^2 / B``, for ``eta`` of shape ``(..., 1)``."""
    k = eta * eta / B
    d = (1.0 - eta * lam) ** 2
    if form == "exact":
        d = d + k * lam * lam
    return d, k


def _sgd_step(m, lam, d, k_lam, drive):
    """``P_B m + drive`` with ``P_B = diag(d) + (k lam) lam^T`` (``k_lam = k * lam``)."""
    out = d * m + k_lam * (m @ lam)[..., None]
    if drive is not None:
        out += drive
    return out


def _inner_phase(m, lam, eta, S, B, sigma, form):
    """``(m_S, c^S)`` after ``S`` inner SGD steps from ``m`` (``eta`` of shape ``(..., 1)``)."""
    d, k = _sgd_coefficients(lam, eta, B, form)
    k_lam = k * lam
    drive = k_lam * sigma ** 2 if sigma else None
    mS = m
    for _ in range(S):
        mS = _sgd_step(mS, lam, d, k_lam, drive)
    return mS, _inner_contraction(eta, lam, S)


def _eta_column(eta):
    return np.asarray(eta, dtype=np.float64)[..., None]


class InnerPhase(NamedTuple):
    """Result of :func:`inner_phase`."""

    mS: np.ndarray  #: one worker's second moments after the ``S`` inner steps
    cS: np.ndarray  #: ``(1 - eta lam)^S``, the noiseless contraction of each mode


def _moment_step_arguments(m, lam, eta, B, sigma, form, precond):
    """The checked arguments shared by :func:`sgd_step_moments` and :func:`inner_phase`."""
    lam = v.eigenvalues(lam)
    m = v.real_array("m", m)
    if m.shape[-1] != lam.size or np.any(m < 0):
        raise ValueError(f"m must be >= 0 with last axis of length {lam.size} (allowed range [0, inf)), "
                         f"got shape {m.shape}")
    eta = v.positive_real("eta", eta, allow_array=True)
    B = v.positive_int("B", B)
    sigma = v.nonnegative_real("sigma", sigma)
    check_form(form)
    return m, lam, eta, B, sigma, check_precond(precond, lam.size)


def sgd_step_moments(m, lam, eta, B, sigma=0.0, form="exact", precond=None):
    """One SGD step of the second moments, ``m -> P_B m + sigma^2 eta^2 lam / B``.

    With a diagonal preconditioner ``p`` (``theta <- theta - eta p g``) the step of mode ``i``
    is ``eta p_i``: ``P_B = diag((1 - eta p lam)^2 [+ (eta p)^2 lam^2 / B])
    + ((eta p)^2 lam / B) lam^T`` and the drive is ``sigma^2 (eta p)^2 lam / B``.

    Parameters
    ----------
    m : array_like, shape ``(..., D)``
        Per-mode second moments (finite, >= 0).
    lam : array_like, shape ``(D,)``
        Eigenvalues of ``H``.
    eta : float or array_like
        Learning rate(s) > 0, broadcasting against ``m[..., 0]``.
    B : int
        Batch size >= 1.
    sigma : float
        Label-noise standard deviation >= 0.
    form : {"exact", "hd"}
        Keep or drop the self term.
    precond : None or array_like, shape ``(D,)``
        Diagonal preconditioner ``p`` (finite, > 0) of the step.

    Returns
    -------
    ndarray, shape ``broadcast(m.shape, eta.shape + (D,))``
        Costs O(D) per grid point (diagonal plus rank one).

    Examples
    --------
    >>> import numpy as np
    >>> float(sgd_step_moments(np.ones(1), np.ones(1), 0.5, 1, form="hd")[0])
    0.5
    """
    m, lam, eta, B, sigma, precond = _moment_step_arguments(m, lam, eta, B, sigma, form, precond)
    eta = step_sizes(_eta_column(eta), precond)
    d, k = _sgd_coefficients(lam, eta, B, form)
    with np.errstate(over="ignore", invalid="ignore"):
        return _sgd_step(m, lam, d, k * lam, k * lam * sigma ** 2 if sigma else None)


def inner_phase(m, lam, eta, S, B, sigma=0.0, form="exact", precond=None):
    """Run the ``S`` inner steps of one worker (no momentum) from moments ``m``.

    Returns :class:`InnerPhase` ``(mS, cS)`` where ``mS = P_B^S m + sigma^2 sum_k P_B^k eta^2 lam / B`` is one
    worker's second moment after the inner phase and ``cS = (1 - eta lam)^S`` (so that
    ``E[e_r e_0] = cS * m`` and, for two different workers, ``E[e_r e_r'] = cS^2 * m``).
    Arguments as in :func:`sgd_step_moments`; ``S >= 1``. With ``precond = p`` the step of
    mode ``i`` is ``eta p_i`` throughout (``cS = (1 - eta p lam)^S``).
    """
    S = v.positive_int("S", S)
    m, lam, eta, B, sigma, precond = _moment_step_arguments(m, lam, eta, B, sigma, form, precond)
    n = np.broadcast_shapes(m.shape, np.shape(eta) + (lam.size,))
    _check_work(int(np.prod(n)) * S, S, False, "inner_phase", "reduce S, D or the eta grid")
    with np.errstate(over="ignore", invalid="ignore"):
        return InnerPhase(*_inner_phase(m, lam, step_sizes(_eta_column(eta), precond), S, B, sigma, form))


def residual_polynomials(lam, eta, beta_in, S):
    """Residual polynomials ``p_k(lam)``, ``k = 0..S``, of ``S`` heavy-ball steps from rest.

    ``p_0 = 1``, ``p_1 = 1 - eta lam``,
    ``p_{k+1} = (1 + beta_in - eta lam) p_k - beta_in p_{k-1}``: a mode starting at
    ``e`` with zero buffer is at ``p_k e`` after ``k`` noiseless steps.
    ``eta`` (> 0) broadcasts against ``lam`` (>= 0); returns shape ``(S + 1,) + broadcast``.

    Examples
    --------
    >>> residual_polynomials([1.0], 0.5, 0.0, 2)[:, 0].tolist()
    [1.0, 0.5, 0.25]
    """
    S = v.positive_int("S", S)
    beta_in = v.unit_interval("beta_in", beta_in)
    lam = v.real_array("lam", lam)
    if np.any(lam < 0):
        raise ValueError("lam must be >= 0 (allowed range [0, inf))")
    eta = v.positive_real("eta", eta, allow_array=True)
    try:
        shape = np.broadcast_shapes(np.shape(eta), lam.shape)
    except ValueError:
        raise ValueError(f"eta and lam must broadcast, got shapes {np.shape(eta)} and {lam.shape}") from None
    v.array_size("S", (S + 1) * float(np.prod(shape)), "the residual polynomials")
    return _residual_polynomials(lam, eta, beta_in, S)


def _residual_polynomials(lam, eta, beta_in, S):
    x = np.asarray(eta, dtype=np.float64) * np.asarray(lam, dtype=np.float64)
    p = np.empty((S + 1,) + x.shape)
    p[0] = 1.0
    p[1] = 1.0 - x
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(1, S):
            p[k + 1] = (1.0 + beta_in - x) * p[k] - beta_in * p[k - 1]
    return p


def inner_matrix_power(lam, eta, beta_in, S):
    """``M^S`` for one inner step ``(e, u) <- M (e, u)``, ``M = [[1 - eta lam, -eta beta_in], [lam, beta_in]]``.

    Returns shape ``broadcast(eta, lam) + (2, 2)``; ``(M^S)[..., 0, 0] = p_S``
    (:func:`residual_polynomials`).
    """
    S = v.positive_int("S", S)
    beta_in = v.unit_interval("beta_in", beta_in)
    lam = v.real_array("lam", lam)
    if np.any(lam < 0):
        raise ValueError("lam must be >= 0 (allowed range [0, inf))")
    eta = v.positive_real("eta", eta, allow_array=True)
    try:
        np.broadcast_shapes(np.shape(eta), lam.shape)
    except ValueError:
        raise ValueError(f"eta and lam must broadcast, got shapes {np.shape(eta)} and {lam.shape}") from None
    with np.errstate(over="ignore", invalid="ignore"):
        return _inner_matrix_power(lam, eta, beta_in, S)


def _inner_matrix_power(lam, eta, beta_in, S):
    x = np.asarray(eta, dtype=np.float64)
    lam = np.asarray(lam, dtype=np.float64)
    shape = np.broadcast_shapes(x.shape, lam.shape)
    M = np.empty(shape + (2, 2))
    M[..., 0, 0] = 1.0 - x * lam
    M[..., 0, 1] = -x * beta_in
    M[..., 1, 0] = lam
    M[..., 1, 1] = beta_in
    return np.linalg.matrix_power(M, S)


def _effective_spectrum(method: TwoPhase, lam, precond=None):
    eta = step_sizes(_eta_column(method.eta), precond)
    with np.errstate(over="ignore", invalid="ignore"):
        if method.beta_in == 0.0:
            h = 1.0 - _inner_contraction(eta, lam, method.S)
        else:
            h = 1.0 - _residual_polynomials(lam, eta, method.beta_in, method.S)[-1]
    return np.broadcast_to(h, method.grid_shape + lam.shape).copy()


def effective_spectrum(method: TwoPhase, lam, precond=None) -> np.ndarray:
    """Effective eigenvalue ``h(lam) = 1 - p_S(lam)`` seen by the outer step.

    The outer step is gradient descent with rate ``nu`` on ``h``: a mode's mean error is
    multiplied by ``1 - nu h`` per cycle (reset buffers). Without inner momentum
    ``h = 1 - (1 - eta lam)^S``: ``h ≈ S eta lam`` for small ``eta lam S`` (the cycle acts like
    ``S`` SGD steps) and ``h → 1`` for ``eta lam ≳ 1/S`` (the top of the spectrum is
    compressed). With the buffer carried, ``Delta = h e_0 - (M^S)_{eu} u``: the same ``h`` plus
    a coupling to the carried buffer (see :func:`twophase.momentum.noiseless_cycle_map`).
    With a diagonal preconditioner ``precond = p`` (shape ``(D,)``, > 0) the inner step of
    mode ``i`` is ``eta p_i``: ``h = 1 - (1 - eta p lam)^S`` (or ``1 - p_S`` at ``eta p``).

    Returns an array of shape ``method.grid_shape + (D,)``.

    Examples
    --------
    >>> from twophase import TwoPhase
    >>> effective_spectrum(TwoPhase(0.5, S=2), [1.0]).tolist()
    [0.75]
    """
    method = check_method(method)
    lam = v.eigenvalues(lam)
    precond = check_precond(precond, lam.size)
    n_eta = float(np.prod(np.shape(method.eta)))
    v.array_size("lam", float(np.prod(method.grid_shape)) * lam.size
                 + (method.S + 1 if method.beta_in else 1) * n_eta * lam.size, "the effective spectrum over the grid")
    return _effective_spectrum(method, lam, precond)


def sgd_operator_dense(lam, eta, B, form="exact", precond=None):
    """Dense one-step SGD moment operator ``P_B`` of shape ``eta.shape + (D, D)`` (small ``D``).

    ``P_B = diag((1 - eta lam)^2 [+ eta^2 lam^2 / B]) + (eta^2 / B) lam lam^T``; the only place
    the dense matrix is built (the dense references and operators use it). With a diagonal
    preconditioner ``p`` every ``eta`` of row ``i`` becomes ``eta p_i`` (``P_B`` is then no
    longer symmetric: ``P_B[i, j] = ... + (eta p_i)^2 lam_i lam_j / B``).
    """
    lam = v.eigenvalues(lam)
    eta = v.positive_real("eta", eta, allow_array=True)
    B = v.positive_int("B", B)
    check_form(form)
    precond = check_precond(precond, lam.size)
    v.array_size("lam", float(np.prod(np.shape(eta))) * lam.size ** 2, "the dense D x D operator")
    return _sgd_operator_dense(lam, eta, B, form, precond)


def _sgd_operator_dense(lam, eta, B, form, precond=None):
    eta = step_sizes(_eta_column(eta), precond)
    d, k = _sgd_coefficients(lam, eta, B, form)  # shape eta + (D,)
    P = (k[..., None] * lam[:, None]) * lam  # eta + (D, D)
    P = np.broadcast_to(P, d.shape[:-1] + (lam.size, lam.size)).copy()
    idx = np.arange(lam.size)
    P[..., idx, idx] += d
    return P


# --------------------------------------------------------------------------- one cycle, no momentum
class OneCycleTerms(NamedTuple):
    """Per-``eta`` vectors giving the one-cycle loss for any ``m0`` and ``sigma`` (no momentum).

    With ``A_0 = lam·m0``, ``A_1 = h_lam·m0``, ``A_2 = h2_lam·m0`` and
    ``N = noise_vec·m0 + sigma^2 noise_sigma`` the loss after one cycle is
    ``½(A_0 - 2 nu A_1 + nu^2 (A_2 + N/R) + sigma^2)``.
    """

    h_lam: np.ndarray        #: ``h * lam``, shape ``eta.shape + (D,)``
    h2_lam: np.ndarray       #: ``h^2 * lam``
    noise_vec: np.ndarray    #: ``(P_B^T)^S lam - c^{2S} lam`` (``P_B^T = P_B`` without precond)
    noise_sigma: np.ndarray  #: ``sum_{k<S} lam·P_B^k (eta^2 lam / B)``, shape ``eta.shape``


def _one_cycle_terms(lam, eta, S, B, form, precond=None):
    eta_c = step_sizes(_eta_column(eta), precond)
    cS = _inner_contraction(eta_c, lam, S)
    h = 1.0 - cS
    d, k = _sgd_coefficients(lam, eta_c, B, form)
    k_lam = k * lam
    w = np.broadcast_to(lam, eta_c.shape[:-1] + lam.shape)
    acc = np.zeros(eta_c.shape[:-1])
    if precond is None:  # P_B is symmetric and k a scalar per grid point
        for _ in range(S):
            acc = acc + w @ lam
            w = _sgd_step(w, lam, d, k_lam, None)
        return OneCycleTerms(h * lam, h * h * lam, w - cS ** 2 * lam, k[..., 0] * acc)
    for _ in range(S):  # w = (P_B^T)^k lam, P_B^T w = d w + lam (k lam . w)
        kw = np.sum(k_lam * w, axis=-1)
        acc = acc + kw
        w = d * w + lam * kw[..., None]
    return OneCycleTerms(h * lam, h * h * lam, w - cS ** 2 * lam, acc)


def one_cycle_terms(lam, eta, *, S: int, B: int, form: str = "hd", precond=None) -> OneCycleTerms:
    """The quadratic in ``nu`` of the loss after one cycle of LA-DiLoCo (no momentum).

    Parameters
    ----------
    lam : array_like, shape ``(D,)``
    eta : float or array_like
        Inner rate(s) > 0; the result has leading shape ``eta.shape``.
    S, B : int
        Inner steps and batch per worker.
    form : {"hd", "exact"}
    precond : None or array_like, shape ``(D,)``
        Diagonal preconditioner ``p`` (> 0) of the inner steps: mode ``i`` steps ``eta p_i``.
        ``P_B`` is then not symmetric and ``noise_vec`` uses ``P_B^T``.

    Returns
    -------
    OneCycleTerms
    """
    lam = v.eigenvalues(lam)
    eta = v.positive_real("eta", eta, allow_array=True)
    S = v.positive_int("S", S)
    B = v.positive_int("B", B)
    check_form(form)
    precond = check_precond(precond, lam.size)
    _check_work(int(np.prod(np.shape(eta))) * lam.size * S, S, False, "one_cycle_terms",
                "reduce S, D or the eta grid")
    with np.errstate(over="ignore", invalid="ignore"):
        return _one_cycle_terms(lam, eta, S, B, form, precond)


# --------------------------------------------------------------------------- SLA state
class SLAMoments(NamedTuple):
    """Per-mode second moments of the SLA state (exchangeable workers).

    Each field has shape ``batch + (D,)``. Names: ``g`` global ``(e_0, v)``,
    ``w`` one worker ``(e, u)``, ``q`` two distinct workers, ``x`` global x worker.
    """

    g00: np.ndarray
    g0v: np.ndarray
    gvv: np.ndarray
    wee: np.ndarray
    weu: np.ndarray
    wuu: np.ndarray
    qee: np.ndarray
    qeu: np.ndarray
    quu: np.ndarray
    x0e: np.ndarray
    x0u: np.ndarray
    xve: np.ndarray
    xvu: np.ndarray


def initial_moments_state(m0, shape=()) -> SLAMoments:
    """State at time 0: ``E[e_0^2] = m0``, all buffers zero; broadcast to ``shape + (D,)``."""
    m0 = v.real_array("m0", m0, ndim=1)
    if np.any(m0 < 0):
        raise ValueError("m0 must be >= 0 (second moments; allowed range [0, inf))")
    if not isinstance(shape, tuple):
        raise v.ArgumentTypeError(f"shape must be a tuple of ints, got {type(shape).__name__}")
    shape = tuple(v.nonnegative_int("shape", s) for s in shape)
    v.array_size("shape", 13.0 * float(np.prod(shape)) * m0.size, "the 13-field state")
    return _initial_moments_state(m0, shape)


def _initial_moments_state(m0, shape):
    full = np.broadcast_to(m0, tuple(shape) + m0.shape).copy()
    zeros = [np.zeros_like(full) for _ in range(12)]
    return SLAMoments(full, *zeros)


class _Coeffs(NamedTuple):
    a: np.ndarray  # 1 - eta lam
    c: np.ndarray  # -eta beta_in
    lam: np.ndarray
    beta: float
    eta: np.ndarray
    MS: np.ndarray  # M^S, shape eta + (D, 2, 2)


def _coefficients(method, lam, precond=None):
    eta = step_sizes(_eta_column(method.eta), precond)
    b = method.beta_in
    with np.errstate(over="ignore", invalid="ignore"):
        MS = _inner_matrix_power(lam, eta, b, method.S)
    return _Coeffs(1.0 - eta * lam, -eta * b + 0.0 * lam, lam, b, eta, MS)


def _outer_coefficients(nu, beta_out, outer):
    """Outer step ``(e_0, v, ebar) -> (e_0', v')`` as rows ``(a0, av, ae)``, ``(b0, bv, be)`` (EMA)."""
    b = beta_out
    kv, kd = (b, 1.0 - b) if outer == "nesterov" else (1.0, 0.0)
    if b == 0.0:
        kv, kd = 1.0, 0.0  # v' = Delta; both outers step e_0 <- e_0 - nu Delta
    nu = np.asarray(nu, dtype=np.float64)
    a0 = 1.0 - nu * (kv * (1.0 - b) + kd)
    av = -nu * kv * b
    ae = nu * (kv * (1.0 - b) + kd)
    return (a0, av, ae), (1.0 - b, b, -(1.0 - b))


def _sym_transform(M, ee, eu, uu):
    """``M Y M^T`` for symmetric 2 x 2 ``Y = [[ee, eu], [eu, uu]]`` (entries of M: (..., 2, 2))."""
    m00, m01, m10, m11 = M[..., 0, 0], M[..., 0, 1], M[..., 1, 0], M[..., 1, 1]
    t0e, t0u = m00 * ee + m01 * eu, m00 * eu + m01 * uu  # row 0 of M Y
    t1e, t1u = m10 * ee + m11 * eu, m10 * eu + m11 * uu  # row 1 of M Y
    return (t0e * m00 + t0u * m01, t0e * m10 + t0u * m11, t1e * m10 + t1u * m11)


def _sla_cycle(st: SLAMoments, k: _Coeffs, method: TwoPhase, nu, sigma, form):
    """One outer cycle of the 13-number second-moment dynamics (exchangeable workers)."""
    R, B, eta = method.R, method.B, k.eta
    carry = method.inner_momentum == "carry"
    g00, g0v, gvv = st.g00, st.g0v, st.gvv
    # 1. cycle start: e^r <- e_0 for every worker; buffers kept (carry) or zeroed (reset).
    if carry:
        x0u, xvu, wuu, quu = st.x0u, st.xvu, st.wuu, st.quu
        wee, weu = g00, x0u
        qee, qeu = g00, x0u
    else:
        zero = np.zeros_like(g00)
        x0u = xvu = wuu = quu = weu = qeu = zero
        wee, qee = g00, g00
    x0e, xve = g00, g0v
    # 2. inner phase. Q and X carry no noise: one jump by M^S.
    MS = k.MS
    qee, qeu, quu = _sym_transform(MS, qee, qeu, quu)
    x0e, x0u = x0e * MS[..., 0, 0] + x0u * MS[..., 0, 1], x0e * MS[..., 1, 0] + x0u * MS[..., 1, 1]
    xve, xvu = xve * MS[..., 0, 0] + xvu * MS[..., 0, 1], xve * MS[..., 1, 0] + xvu * MS[..., 1, 1]
    # W: step by step, with the loss-feedback noise entering along (-eta, 1).
    a, c, lam, beta = k.a, k.c, k.lam, k.beta
    aa, ac2, cc = a * a, 2.0 * a * c, c * c
    al, ab_cl, cb = a * lam, a * beta + c * lam, c * beta
    ll, lb2, bb = lam * lam, 2.0 * lam * beta, beta * beta
    eta2 = eta * eta
    exact = form == "exact"
    for _ in range(method.S):
        fb = np.sum(lam * wee, axis=-1, keepdims=True)
        s = (lam * fb + sigma ** 2 * lam + (ll * wee if exact else 0.0)) / B
        wee, weu, wuu = (aa * wee + ac2 * weu + cc * wuu + eta2 * s,
                         al * wee + ab_cl * weu + cb * wuu - eta * s,
                         ll * wee + lb2 * weu + bb * wuu + s)
    # 3. outer step on (e_0, v, ebar).
    (a0, av, ae), (b0, bv, be) = _outer_coefficients(nu, method.beta_out, method.outer)
    f = 1.0 / R
    ebar2 = f * wee + (1.0 - f) * qee  # E[ebar^2] (also E[ebar e^r])
    ebar_u = f * weu + (1.0 - f) * qeu  # E[ebar u^r]
    r0 = (a0, av, ae)
    r1 = (b0, bv, be)

    def quad(p, q):  # p^T Y q for Y = cov(e_0, v, ebar)
        return (p[0] * (q[0] * g00 + q[1] * g0v + q[2] * x0e)
                + p[1] * (q[0] * g0v + q[1] * gvv + q[2] * xve)
                + p[2] * (q[0] * x0e + q[1] * xve + q[2] * ebar2))

    n00, n0v, nvv = quad(r0, r0), quad(r0, r1), quad(r1, r1)
    nx0e = a0 * x0e + av * xve + ae * ebar2
    nx0u = a0 * x0u + av * xvu + ae * ebar_u
    nxve = b0 * x0e + bv * xve + be * ebar2
    nxvu = b0 * x0u + bv * xvu + be * ebar_u
    return SLAMoments(n00, n0v, nvv, wee, weu, wuu, qee, qeu, quu, nx0e, nx0u, nxve, nxvu)


# --------------------------------------------------------------------------- compiled kernels
# The recursions above allocate a temporary per operation (issue 12: 300-800 bytes moved per
# mode-step). The kernels below run the same recursions in one fused pass per cycle over
# blocks of modes, with every per-mode coefficient computed on the fly from ``lam`` and ``p``:
#
#   an inner phase is S steps of ``w <- T w + y (F + sigma^2)`` with ``F = lam . w_ee`` (the
#   rank-one feedback); T is per-mode (1 x 1 without momentum, 3 x 3 on (ee, eu, uu) with),
#   so ``F_k = A_k + sum_{j<k} (F_j + sigma^2) C_{k-1-j}`` with ``A_k = sum_i lam_i (T^k w_0)_ee``
#   (the free orbit of the state) and ``C_j = sum_i lam_i (T^j y)_ee`` (once per call). A
#   scalar recursion gives the F_k; then each block runs its S steps with the known feedback
#   and the outer step, writes the state once, and runs the free orbit of the new state while
#   it is in L1 (the next cycle's A_k). Every term is >= 0 (T and y map second moments to
#   second moments), so the split adds no cancellation. SGD-like runs (S = 1, no momentum)
#   are one step per cycle, ``g <- (a + w d) g + w k lam (F + sigma^2)``: chunked over cycles.
# Memory per cycle: lam, p and the state read once, the state written once (no momentum:
# 32 B per mode, SLA: 64 B reset / 128 B carry): 3-13 bytes per mode-step at S = 10.
# numba is optional (``pip install numba``); without it, or with TWOPHASE_ENGINE=numpy, the
# numpy recursions above run. Both are tested equal to 1e-12.
_BLOCK = 256  # modes per block: the block's working arrays stay in L1
_CHUNK = 16   # cycles per chunk of an SGD-like run


def _k_sum(x, n):
    """``sum(x[:n])`` (compiled with reassociation, so it vectorizes)."""
    acc = 0.0
    for i in range(n):
        acc += x[i]
    return acc


def _k_dot(x, y):
    """``sum_i x_i y_i`` in index order, one thread (no reassociation)."""
    acc = 0.0
    for i in range(x.size):
        acc += x[i] * y[i]
    return acc


def _k_feedback(A, C, s2, K, F):
    """``F_k = A_k + sum_{j<k} (F_j + s2) C_{k-1-j}`` for ``k < K`` (in place into ``F``)."""
    for k in range(K):
        f = A[k]
        for j in range(k):
            f += (F[j] + s2) * C[k - 1 - j]
        F[k] = f


def _k_nm_coef(l, s, B, exact):
    """No momentum, step ``s`` on mode ``lam = l``: ``(c, d, k l, self term k l^2)``."""
    c = 1.0 - s * l
    k = s * s / B
    q = k * l * l if exact else 0.0
    return c, c * c + q, k * l, q


def _k_nm_orbit(xb, tb, lam, g, r, i0, m, nA, A):
    """``A_k += sum lam T^k g`` over a block, ``k < nA`` (compiled with reassociated sums)."""
    for i in range(m):
        xb[i] = lam[i0 + i] * g[r, i0 + i]
    for k in range(nA):
        acc = 0.0
        for i in range(m):
            x = xb[i]
            acc += x
            xb[i] = x * tb[i]
        A[k] += acc


def _k_nm_coefs(lam, p, e, v, w, B, exact, chunked, i0, m, tb, yb, cb):
    """Block coefficients without momentum: ``T`` (``d``, or ``a + w d`` when chunked), ``y``, ``c``."""
    for i in range(m):
        l = lam[i0 + i]
        s = e * p[i0 + i] if p.size else e
        c, d, kl, q = _k_nm_coef(l, s, B, exact)
        if chunked:
            tb[i] = (1.0 - v * (1.0 - c)) ** 2 + w * q
            yb[i] = w * kl
        else:
            tb[i] = d
            yb[i] = kl
        cb[i] = c


def _k_nm_run(g, lam, p, eta, nu, R, B, S, s2, exact, cycles, limit, out):
    """No momentum: ``cycles`` cycles of every grid row of ``g`` (in place); losses into ``out``.

    One pass per cycle (per chunk of ``_CHUNK`` cycles when ``S = 1``): each block runs its
    steps with the known feedback and the outer step, then the free orbit of the new state,
    which gives the next cycle's ``A_k``.
    """
    n, D = g.shape
    chunked = S == 1
    K = _CHUNK if chunked else S
    A = np.zeros(K + 1)
    An = np.zeros(K + 1)
    C = np.zeros(K + 1)
    F = np.zeros(K + 1)
    xb = np.empty(_BLOCK)
    tb = np.empty(_BLOCK)
    yb = np.empty(_BLOCK)
    cb = np.empty(_BLOCK)
    ub = np.empty(_BLOCK)
    for r in range(n):
        e, v = eta[r], nu[r]
        w = v * v / R
        t = 1
        KK = min(K, cycles) if chunked else S
        C[:] = 0.0  # C_j = sum lam T^j y (data-independent), and A_k of the first cycle (chunk)
        A[:] = 0.0
        for i0 in range(0, D, _BLOCK):
            m = min(_BLOCK, D - i0)
            _k_nm_coefs(lam, p, e, v, w, B, exact, chunked, i0, m, tb, yb, cb)
            for i in range(m):
                xb[i] = lam[i0 + i] * yb[i]
            for k in range(K):
                C[k] += _k_sum(xb, m)
                for i in range(m):
                    xb[i] *= tb[i]
            _k_nm_orbit(xb, tb, lam, g, r, i0, m, KK + 1 if chunked else S, A)
        while t <= cycles:
            KK = min(K, cycles - t + 1) if chunked else S
            _k_feedback(A, C, s2, KK + 1 if chunked else S, F)
            t_next = t + KK if chunked else t + 1
            more = t_next <= cycles
            nAn = min(K, cycles - t_next + 1) + 1 if chunked else S
            An[:] = 0.0
            Fg = 0.0
            for i0 in range(0, D, _BLOCK):
                m = min(_BLOCK, D - i0)
                _k_nm_coefs(lam, p, e, v, w, B, exact, chunked, i0, m, tb, yb, cb)
                for i in range(m):
                    xb[i] = g[r, i0 + i]
                if chunked:
                    for k in range(KK):
                        f = F[k] + s2
                        for i in range(m):
                            xb[i] = tb[i] * xb[i] + yb[i] * f
                    for i in range(m):
                        g[r, i0 + i] = xb[i]
                else:
                    for i in range(m):
                        ub[i] = 1.0
                    for k in range(S):
                        f = F[k] + s2
                        for i in range(m):
                            xb[i] = tb[i] * xb[i] + yb[i] * f
                            ub[i] *= cb[i]
                    for i in range(m):
                        gi = g[r, i0 + i]
                        cS = ub[i]
                        a = (1.0 - v * (1.0 - cS)) ** 2 - w * cS * cS
                        gn = a * gi + w * xb[i]
                        g[r, i0 + i] = gn
                        Fg += lam[i0 + i] * gn
                if more:  # the next cycle's A_k while the block is in cache
                    _k_nm_orbit(xb, tb, lam, g, r, i0, m, nAn, An)
            if chunked:
                stop = False
                for k in range(1, KK + 1):
                    L = 0.5 * (F[k] + s2)
                    out[r, t] = L
                    t += 1
                    if not (L <= limit):
                        stop = True
                        break
            else:
                L = 0.5 * (Fg + s2)
                out[r, t] = L
                t += 1
                stop = not (L <= limit)
            if stop:
                for q in range(t, cycles + 1):
                    out[r, q] = np.inf
                break
            A, An = An, A
    return out


_SLA_BLOCK = 256  # the working arrays of a block of modes stay in L1
_CH_MAX_S = 24    # longest inner phase whose free orbit uses the 3-term recurrence (see _k_sla_orbit)


def _k_sla_coefs(lam, p, e, bi, invB, exact, i0, m, cf):
    """Rows of the block coefficients ``cf`` for modes ``i0 .. i0 + m``: ``a = 1 - s l``, ``l``,
    ``c = -s bi``, ``s``, ``s^2``, ``l / B``, the self term ``q = l^2 / B`` (0 in the hd form),
    and the invariants ``t1, t2, t3`` of the free step T (3 x 3 on (ee, eu, uu)), for which
    ``T^3 = t1 T^2 - t2 T + t3`` (Cayley-Hamilton). Computed from locals, each row written
    once, so the loop vectorizes (a per-mode call that read its rows back ran scalar)."""
    scaled = p.size > 0
    for i in range(m):
        l = lam[i0 + i]
        s = e * p[i0 + i] if scaled else e
        a = 1.0 - s * l
        c = -s * bi
        q = l * l * invB if exact else 0.0
        T00, T01, T02 = a * a + s * s * q, 2.0 * a * c, c * c
        T10, T11, T12 = a * l - s * q, a * bi + c * l, c * bi
        T20, T21, T22 = l * l + q, 2.0 * l * bi, bi * bi
        cf[0, i] = a
        cf[1, i] = l
        cf[2, i] = c
        cf[3, i] = s
        cf[4, i] = s * s
        cf[5, i] = l * invB
        cf[6, i] = q
        cf[7, i] = T00 + T11 + T22
        cf[8, i] = T00 * T11 - T01 * T10 + T00 * T22 - T02 * T20 + T11 * T22 - T12 * T21
        cf[9, i] = T00 * (T11 * T22 - T12 * T21) - T01 * (T10 * T22 - T12 * T20) + T02 * (T10 * T21 - T11 * T20)


def _k_sla_step(W, cf, bi, fk, m):
    """One inner step of ``W = (ee, eu, uu)`` on ``m`` modes: ``W <- M W M^T + n sn``.

    ``M = [[a, c], [l, bi]]``, noise direction ``n = (s^2, -s, 1)`` and minibatch noise
    ``sn = (l (F + sigma^2) + [l^2 ee]) / B`` (``fk = F + sigma^2``; 0 for the free orbit).
    """
    for i in range(m):
        a, l, c = cf[0, i], cf[1, i], cf[2, i]
        ee, eu, uu = W[0, i], W[1, i], W[2, i]
        t0e, t0u = a * ee + c * eu, a * eu + c * uu
        t1e, t1u = l * ee + bi * eu, l * eu + bi * uu
        sn = cf[5, i] * fk + cf[6, i] * ee
        W[0, i] = t0e * a + t0u * c + cf[4, i] * sn
        W[1, i] = t0e * l + t0u * bi - cf[3, i] * sn
        W[2, i] = t1e * l + t1u * bi + sn


def _k_mat_mul(P, Z, m):
    """``P <- P Z`` for the 2 x 2 matrices of ``m`` modes (rows 0..3: ``00, 01, 10, 11``)."""
    for i in range(m):
        p00, p01, p10, p11 = P[0, i], P[1, i], P[2, i], P[3, i]
        z00, z01, z10, z11 = Z[0, i], Z[1, i], Z[2, i], Z[3, i]
        P[0, i] = p00 * z00 + p01 * z10
        P[1, i] = p00 * z01 + p01 * z11
        P[2, i] = p10 * z00 + p11 * z10
        P[3, i] = p10 * z01 + p11 * z11


def _k_mat_power(P, Z, cf, bi, S, m):
    """``P = M^S`` per mode by binary powering (as :func:`numpy.linalg.matrix_power`); ``Z`` is work space."""
    for i in range(m):
        Z[0, i], Z[1, i], Z[2, i], Z[3, i] = cf[0, i], cf[2, i], cf[1, i], bi
    started = False
    first = True
    nn = S
    while nn > 0:
        if not first:
            _k_mat_square(Z, m)
        first = False
        bit = nn % 2
        nn = nn // 2
        if bit:
            if started:
                _k_mat_mul(P, Z, m)
            else:
                for i in range(m):
                    P[0, i], P[1, i], P[2, i], P[3, i] = Z[0, i], Z[1, i], Z[2, i], Z[3, i]
                started = True


def _k_mat_square(Z, m):
    """``Z <- Z Z`` per mode."""
    for i in range(m):
        z00, z01, z10, z11 = Z[0, i], Z[1, i], Z[2, i], Z[3, i]
        Z[0, i] = z00 * z00 + z01 * z10
        Z[1, i] = z00 * z01 + z01 * z11
        Z[2, i] = z10 * z00 + z11 * z10
        Z[3, i] = z10 * z01 + z11 * z11


def _k_sla_orbit(W, cf, bi, S, A, U, m):
    """``A_k += sum lam u_k``, ``u_k = (T^k W)_ee``, for ``k < S`` (the free orbit).

    Two full steps give ``u_0, u_1, u_2``; then ``u_k = t1 u_{k-1} - t2 u_{k-2} + t3 u_{k-3}``
    (Cayley-Hamilton for the 3 x 3 step), 3 multiply-adds per mode-step instead of 14. The
    recurrence amplifies rounding when the step's eigenvalues cluster (``beta_in -> 1``, slow
    modes) over many steps, so it runs only for ``S <= _CH_MAX_S``; longer phases take full
    steps. ``W`` is overwritten; ``U`` (3 rows) is work space.
    """
    full = S > _CH_MAX_S
    lam, t1, t2, t3 = cf[1], cf[7], cf[8], cf[9]  # 1-d rows: simple strides for the vectorizer
    for k in range(S):
        uk = U[k % 3]
        acc = 0.0
        if k < 3 or full:
            if k > 0:
                _k_sla_step(W, cf, bi, 0.0, m)
            for i in range(m):
                u = W[0, i]
                uk[i] = u
                acc += lam[i] * u
        else:
            u1, u2 = U[(k - 1) % 3], U[(k - 2) % 3]
            for i in range(m):
                u = t1[i] * u1[i] - t2[i] * u2[i] + t3[i] * uk[i]
                uk[i] = u
                acc += lam[i] * u
        A[k] += acc


def _k_sla_load(W, st, carry, r, i0, m):
    for i in range(m):
        W[0, i] = st[0, r, i0 + i]
        W[1, i] = st[3, r, i0 + i] if carry else 0.0
        W[2, i] = st[5, r, i0 + i] if carry else 0.0


def _k_sla_run(st, carry, lam, p, eta, bi, R, B, S, s2, exact, outer, cycles, limit, out):
    """With momentum: ``cycles`` cycles of the between-cycle state ``st`` (in place).

    ``st`` has shape ``(7, n, D)``: ``g00, g0v, gvv, x0u, xvu, wuu, quu`` (the last four
    stay zero when the buffer is reset); ``outer`` has shape ``(n, 6)``: the outer rows
    ``(a0, av, ae), (b0, bv, be)``. Losses into ``out`` (shape ``(n, cycles + 1)``). One
    pass per cycle: each block runs its ``S`` steps, ``M^S`` and the outer step, then the
    free orbit of the new state, which gives the next cycle's ``A_k``.
    """
    n, D = st.shape[1], st.shape[2]
    nb = _SLA_BLOCK
    cf = np.empty((10, nb))
    U = np.empty((3, nb))
    W = np.empty((3, nb))
    P = np.empty((4, nb))
    Z = np.empty((4, nb))
    A = np.zeros(S)
    An = np.zeros(S)
    C = np.zeros(S)
    F = np.zeros(S)
    f = 1.0 / R
    invB = 1.0 / B
    for r in range(n):
        e = eta[r]
        a0, av, ae, b0, bv, be = outer[r, 0], outer[r, 1], outer[r, 2], outer[r, 3], outer[r, 4], outer[r, 5]
        C[:] = 0.0  # C_k = sum lam (T^k y)_ee: the orbit of the noise direction (data-independent)
        A[:] = 0.0  # A_k of the first cycle
        for i0 in range(0, D, nb):
            m = min(nb, D - i0)
            _k_sla_coefs(lam, p, e, bi, invB, exact, i0, m, cf)
            for i in range(m):
                W[0, i], W[1, i], W[2, i] = cf[4, i] * cf[5, i], -cf[3, i] * cf[5, i], cf[5, i]
            _k_sla_orbit(W, cf, bi, S, C, U, m)
            _k_sla_load(W, st, carry, r, i0, m)
            _k_sla_orbit(W, cf, bi, S, A, U, m)
        for t in range(1, cycles + 1):
            _k_feedback(A, C, s2, S, F)
            An[:] = 0.0
            Fg = 0.0
            for i0 in range(0, D, nb):
                m = min(nb, D - i0)
                _k_sla_coefs(lam, p, e, bi, invB, exact, i0, m, cf)
                _k_sla_load(W, st, carry, r, i0, m)
                for k in range(S):
                    _k_sla_step(W, cf, bi, F[k] + s2, m)
                _k_mat_power(P, Z, cf, bi, S, m)
                for i in range(m):
                    j = i0 + i
                    g00, g0v, gvv = st[0, r, j], st[1, r, j], st[2, r, j]
                    x0u = st[3, r, j] if carry else 0.0
                    xvu = st[4, r, j] if carry else 0.0
                    quu = st[6, r, j] if carry else 0.0
                    m00, m01, m10, m11 = P[0, i], P[1, i], P[2, i], P[3, i]
                    # Q: M^S Y M^S^T on (g00, x0u, quu); X: M^S on (g00, x0u) and (g0v, xvu)
                    t0e, t0u = m00 * g00 + m01 * x0u, m00 * x0u + m01 * quu
                    t1e, t1u = m10 * g00 + m11 * x0u, m10 * x0u + m11 * quu
                    qee, qeu, qu2 = t0e * m00 + t0u * m01, t0e * m10 + t0u * m11, t1e * m10 + t1u * m11
                    x0e, x0u = g00 * m00 + x0u * m01, g00 * m10 + x0u * m11
                    xve, xvu = g0v * m00 + xvu * m01, g0v * m10 + xvu * m11
                    ebar2 = f * W[0, i] + (1.0 - f) * qee
                    ebar_u = f * W[1, i] + (1.0 - f) * qeu
                    # p^T Y q for Y = cov(e_0, v, ebar), rows (a0, av, ae) and (b0, bv, be)
                    y0a = a0 * g00 + av * g0v + ae * x0e
                    y1a = a0 * g0v + av * gvv + ae * xve
                    y2a = a0 * x0e + av * xve + ae * ebar2
                    n00 = a0 * y0a + av * y1a + ae * y2a
                    n0v = b0 * y0a + bv * y1a + be * y2a
                    y0b = b0 * g00 + bv * g0v + be * x0e
                    y1b = b0 * g0v + bv * gvv + be * xve
                    y2b = b0 * x0e + bv * xve + be * ebar2
                    nvv = b0 * y0b + bv * y1b + be * y2b
                    st[0, r, j], st[1, r, j], st[2, r, j] = n00, n0v, nvv
                    if carry:
                        st[3, r, j] = a0 * x0u + av * xvu + ae * ebar_u
                        st[4, r, j] = b0 * x0u + bv * xvu + be * ebar_u
                        st[5, r, j] = W[2, i]
                        st[6, r, j] = qu2
                    Fg += lam[j] * n00
                if t < cycles:  # the next cycle's A_k from the new state, while the block is in cache
                    _k_sla_load(W, st, carry, r, i0, m)
                    _k_sla_orbit(W, cf, bi, S, An, U, m)
            A, An = An, A
            L = 0.5 * (Fg + s2)
            out[r, t] = L
            if not (L <= limit):
                for q in range(t + 1, cycles + 1):
                    out[r, q] = np.inf
                break
    return out


_KERNELS = ("_k_sum", "_k_dot", "_k_feedback", "_k_nm_coef", "_k_nm_orbit", "_k_nm_coefs", "_k_nm_run", "_k_sla_coefs",
            "_k_sla_step",
            "_k_mat_mul", "_k_mat_square", "_k_mat_power", "_k_sla_orbit", "_k_sla_load", "_k_sla_run")
_CACHE = True
_COMPILE_LOCK = threading.Lock()
_REASSOC = ("_k_sum", "_k_sla_orbit", "_k_nm_orbit")
_COMPILED = None  # None: not tried yet; then True (numba kernels in place) or False (no numba)
BACKENDS = ("compiled", "numpy")


def _have_compiled() -> bool:
    """Compile the kernels on first use (numba, ``cache=True``: later processes load them)."""
    global _COMPILED
    if _COMPILED is not None:
        return _COMPILED
    with _COMPILE_LOCK:  # threads of one process wrap the kernels once
        if _COMPILED is None:
            _wrap_kernels()
    return _COMPILED


def _wrap_kernels():
    global _COMPILED
    if _COMPILED is None:
        try:
            import numba
        except ImportError:  # the numpy recursions are complete on their own
            _COMPILED = False
        else:
            names = globals()
            for name in _KERNELS:
                # FMA contraction everywhere; only the sums may be reassociated (vectorized)
                fastmath = {"contract", "reassoc"} if name in _REASSOC else {"contract"}
                names[name] = numba.njit(cache=_CACHE, fastmath=fastmath, error_model="numpy", nogil=True)(names[name])
            _COMPILED = True


#: Below this many mode-steps (about 0.05 s of numpy) a call stays on the numpy path.
_COMPILED_MIN_WORK = 2e6


def default_backend() -> str:
    """``TWOPHASE_ENGINE``: ``"auto"`` (default: the kernels for runs of at least
    ``_COMPILED_MIN_WORK`` mode-steps when numba is installed, else numpy), ``"compiled"`` or
    ``"numpy"``."""
    import os

    want = os.environ.get("TWOPHASE_ENGINE", "auto").strip() or "auto"
    if want not in BACKENDS + ("auto",):
        raise ValueError(f"TWOPHASE_ENGINE must be one of {BACKENDS + ('auto',)} (allowed values), got {want!r}")
    if want == "compiled" and not _have_compiled():
        return "numpy"
    return want


def _flat_grid(method):
    shape, eta, nu = _base.grid_arrays(method)
    n = int(np.prod(shape, dtype=np.int64))
    return n, np.array(eta, dtype=np.float64).reshape(n), np.array(nu, dtype=np.float64).reshape(n)


def _compiled_losses(method, lam, m0, cycles, sigma, form, out, precond):
    """:func:`expected_loss` (``cycles`` >= 1 with momentum, >= 2 without) through the kernels."""
    n, eta, nu = _flat_grid(method)
    D = lam.size
    out2 = out.reshape(n, cycles + 1)
    # writable C float64 arrays (copied only if need be): every call has the same compiled signature
    # p = ones for None: one code path, so precond = ones is precond = None bit for bit (FMA
    # contraction could otherwise differ between the two compiled paths)
    p = np.ones(lam.size) if precond is None else np.require(precond, np.float64, ["C", "W"])
    lam = np.require(lam, np.float64, ["C", "W"])
    s2, exact = float(sigma) ** 2, form == "exact"
    # the initial loss in a compiled loop, not ``lam @ m0``: at D = 10^6 OpenBLAS runs that dot
    # on its threads, which then spin for a while on the other core while the kernel runs
    out2[:, 0] = 0.5 * (_k_dot(lam, np.require(m0, np.float64, ["C"])) + s2)
    limit = _base.divergence_limit(out2[0, 0])
    if method.has_momentum:
        carry = method.inner_momentum == "carry"
        st = np.zeros((7 if carry else 3, n, D))
        st[0] = m0
        (a0, av, ae), (b0, bv, be) = _outer_coefficients(nu, method.beta_out, method.outer)
        outer = np.array(np.stack(np.broadcast_arrays(a0, av, ae, b0, bv, be), axis=-1), dtype=np.float64)
        _k_sla_run(st, carry, lam, p, eta, float(method.beta_in), float(method.R), float(method.B), method.S, s2,
                   exact, outer, cycles, limit, out2)
    else:
        g = np.empty((n, D))
        g[:] = m0
        _k_nm_run(g, lam, p, eta, nu, float(method.R), float(method.B), method.S, s2, exact, cycles, limit, out2)
    with np.errstate(invalid="ignore"):
        return _base.mark_divergence(out, limit)


# --------------------------------------------------------------------------- the engine
def _check_work(mode_steps: float, steps: float, momentum: bool, what: str, how: str):
    seconds = mode_steps * _SEC_PER_MODE_STEP[momentum] + steps * _SEC_PER_STEP[momentum]
    v.work_estimate(seconds, f"{what} ({mode_steps:.3g} mode-steps)", how)


def _la_diloco_losses(method, lam, m0, cycles, sigma, form, out, precond=None):
    """One number per mode (no momentum): ``g' = a g + (nu^2/R) m_S`` with ``a = (1-nu h)^2 - (nu^2/R) c^{2S}``."""
    shape, eta, nu = _base.grid_arrays(method)
    eta_c, nu_c = step_sizes(eta[..., None], precond), nu[..., None]
    S, R, B = method.S, method.R, method.B
    d, k = _sgd_coefficients(lam, eta_c, B, form)
    k_lam = k * lam
    drive = k_lam * sigma ** 2 if sigma else None
    cS = _inner_contraction(eta_c, lam, S)
    w = nu_c * nu_c / R
    a = (1.0 - nu_c * (1.0 - cS)) ** 2 - w * cS * cS

    def step(g):
        mS = g
        for _ in range(S):
            mS = _sgd_step(mS, lam, d, k_lam, drive)
        return a * g + w * mS

    def loss_of(g):
        return 0.5 * (g @ lam + sigma ** 2)

    def freeze(g, diverged):
        return np.where(diverged[..., None], 0.0, g)

    g0 = np.broadcast_to(m0, shape + m0.shape)
    return _base.loss_loop(g0, step, loss_of, freeze, cycles, out[(0,) * len(shape) + (0,)], out)


def _first_cycle_loss(method, lam, m0, sigma, form, precond=None):
    """Loss after one cycle without momentum, from the quadratic in ``nu`` on the ``eta`` array alone."""
    eta = np.asarray(method.eta, dtype=np.float64)
    nu = np.asarray(method.nu, dtype=np.float64)
    t = _one_cycle_terms(lam, eta, method.S, method.B, form, precond)
    A0 = lam @ m0
    A1 = t.h_lam @ m0
    A2 = t.h2_lam @ m0
    N = t.noise_vec @ m0 + sigma ** 2 * t.noise_sigma
    loss = 0.5 * (A0 - 2 * nu * A1 + nu ** 2 * (A2 + N / method.R) + sigma ** 2)
    return np.broadcast_to(loss, method.grid_shape)


def _sla_losses(method, lam, m0, cycles, sigma, form, out, precond=None):
    shape = method.grid_shape
    nu = np.asarray(method.nu, dtype=np.float64)[..., None]
    k = _coefficients(method, lam, precond)

    def step(st):
        return _sla_cycle(st, k, method, nu, sigma, form)

    def loss_of(st):
        return 0.5 * (st.g00 @ lam + sigma ** 2)

    def freeze(st, diverged):
        return SLAMoments(*(np.where(diverged[..., None], 0.0, f) for f in st))

    st = _initial_moments_state(m0, shape)
    return _base.loss_loop(st, step, loss_of, freeze, cycles, out[(0,) * len(shape) + (0,)], out)


def expected_loss(method: TwoPhase, lam, m0, cycles: int, sigma: float = 0.0, form: str = "exact",
                  precond=None):
    """Exact expected loss ``E L = ½ (sum_i lam_i E[e_{0,i}^2] + sigma^2)`` over outer steps.

    The engine for every Part I method: SGD (``TwoPhase(eta)``), LA and LA-DiLoCo (no
    momentum: one number per mode; one cycle: a quadratic in ``nu``) and SLA (any ``R``,
    reset or carried inner buffer, heavy-ball or Nesterov outer momentum: 13 numbers per
    mode). Documented entry point: :func:`twophase.theory.expected_loss`.

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
    precond : None or array_like, shape (D,)
        Diagonal preconditioner ``p`` (finite, > 0) of the local steps,
        ``theta <- theta - eta p g`` (with inner momentum the buffer accumulates ``g`` and the
        step is ``-eta p u``); the outer step is not preconditioned. Mode ``i`` then steps
        ``eta p_i``: ``eta p_i`` replaces ``eta`` in the contraction ``1 - eta p_i lam_i``,
        in the noise ``(eta p_i)^2 lam_i (lam·m + sigma^2) / B`` and the self term
        ``(eta p_i)^2 lam_i^2 m_i / B``, and in ``M = [[1 - eta p_i lam_i, -eta p_i beta_in],
        [lam_i, beta_in]]``. Equivalently (change of variables ``e -> p^{-1/2} e``), the
        unpreconditioned method on the spectrum ``p lam`` from ``m0 / p``.

    Returns
    -------
    ndarray, shape ``grid_shape + (cycles + 1,)``
        Loss at the start of each outer step. Runs whose loss exceeds
        ``DIVERGENCE_FACTOR`` times the initial loss (or overflows) report
        ``inf`` from that step on; no floating-point warnings are emitted.

    Raises
    ------
    ValueError
        For bad arguments (naming the parameter and its range), and for runs that would need
        more memory than :data:`twophase._validate.MAX_ENTRIES` or more time than
        :data:`twophase._validate.WORK_LIMIT_SECONDS` (with the estimate).

    Examples
    --------
    >>> from twophase import SGD, spectra
    >>> lam = spectra.identical(4)
    >>> expected_loss(SGD(0.5, B=4), lam, spectra.initial_moments(lam), 2, form="hd").tolist()
    [0.5, 0.25, 0.125]
    """
    return _expected_loss(method, lam, m0, cycles, sigma, form, precond)


def _expected_loss(method, lam, m0, cycles, sigma=0.0, form="exact", precond=None, backend=None):
    """:func:`expected_loss` on ``backend`` (``None``: :func:`default_backend`)."""
    method = check_method(method)
    cycles = v.positive_int("cycles", cycles)
    lam, m0, sigma = check_problem(lam, m0, sigma, form)
    precond = check_precond(precond, lam.size)
    shape = method.grid_shape
    n_grid = float(np.prod(shape))
    momentum = method.has_momentum
    D, S = lam.size, method.S
    if momentum or cycles > 1:
        v.array_size("the (eta, nu) grid", n_grid * D * (13 if momentum else 1),
                     f"the state on a grid of shape {shape} at D = {D}")
        _check_work(n_grid * D * S * cycles, S * cycles, momentum, "expected_loss",
                    "reduce cycles, S, D or the (eta, nu) grid")
    else:
        n_eta = float(np.prod(np.shape(method.eta)))
        v.array_size("the eta grid", n_eta * D, f"the inner phase at D = {D}")
        _check_work(n_eta * D * S, S, False, "expected_loss", "reduce S, D or the eta grid")
    backend = default_backend() if backend is None else v.choice("backend", backend, BACKENDS + ("auto",))
    if backend == "compiled" and not _have_compiled():
        raise ValueError("backend 'compiled' needs numba (pip install numba); allowed: 'numpy'")
    out = np.empty(shape + (cycles + 1,))
    work = n_grid * D * S * cycles
    if backend == "auto":  # small runs stay in numpy: loading the kernels costs about 2 s per process
        backend = "compiled" if work >= _COMPILED_MIN_WORK and _have_compiled() else "numpy"
    if backend == "compiled" and (momentum or cycles > 1) and n_grid > 0 and S <= 64 * D:
        return _compiled_losses(method, lam, m0, cycles, sigma, form, out, precond)
    out[..., 0] = 0.5 * (lam @ m0 + sigma ** 2)
    if momentum:
        return _sla_losses(method, lam, m0, cycles, sigma, form, out, precond)
    if cycles == 1:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            out[..., 1] = _first_cycle_loss(method, lam, m0, sigma, form, precond)
            return _base.mark_divergence(out, _base.divergence_limit(out[(0,) * len(shape) + (0,)]))
    return _la_diloco_losses(method, lam, m0, cycles, sigma, form, out, precond)


# --------------------------------------------------------------------------- dense SLA operator
_RESET_STATE = ("g00", "g0v", "gvv")
_CARRY_STATE = ("g00", "g0v", "gvv", "x0u", "xvu", "wuu", "quu")


def state_labels(method: TwoPhase):
    """Components of the between-cycle state used by :func:`dense_cycle_operator`.

    Reset: ``(g00, g0v, gvv)`` = ``E[e_0^2], E[e_0 v], E[v^2]`` per mode; every
    worker quantity is re-initialised at the cycle start. Carry adds the carried
    buffer's moments ``E[e_0 u], E[v u], E[u^2]`` and, for ``R > 1``, ``E[u^r u^r']``.
    """
    method = check_method(method)
    if method.inner_momentum == "reset":
        return _RESET_STATE
    return _CARRY_STATE if method.R > 1 else _CARRY_STATE[:-1]


def initial_state(method: TwoPhase, m0):
    """Flattened between-cycle state at time 0 (component-major: index ``k * D + i``)."""
    labels = state_labels(method)
    m0 = v.real_array("m0", m0, ndim=1)
    if np.any(m0 < 0):
        raise ValueError("m0 must be >= 0 (second moments; allowed range [0, inf))")
    s = np.zeros(len(labels) * m0.size)
    s[: m0.size] = m0
    return s


def loss_from_state(state, lam, sigma=0.0):
    """Expected loss ``½(lam · g00 + sigma^2)`` of a flattened state (leading axes allowed)."""
    lam = v.eigenvalues(lam)
    sigma = v.nonnegative_real("sigma", sigma)
    state = v.real_array("state", state)
    if state.shape[-1] < lam.size or state.shape[-1] % lam.size:
        raise ValueError(f"state must have a last axis that is a multiple of len(lam) = {lam.size}, "
                         f"got shape {state.shape}")
    return 0.5 * (state[..., : lam.size] @ lam + sigma ** 2)


def _expand(flat, labels, D, batch_shape):
    """Flattened state(s) -> SLAMoments with the non-state components zero."""
    fields = {name: np.zeros(batch_shape + (D,)) for name in SLAMoments._fields}
    for j, name in enumerate(labels):
        fields[name] = np.array(flat[..., j * D:(j + 1) * D], dtype=np.float64)
    return SLAMoments(**fields)


class DenseCycle(NamedTuple):
    """One SLA cycle as a dense affine map ``s' = T @ s + sigma**2 * b`` on the between-cycle state."""

    T: np.ndarray       #: ``(n D, n D)`` matrix
    b: np.ndarray       #: ``(n D,)`` label-noise injection per unit ``sigma^2``
    labels: tuple       #: the ``n`` state components (:func:`state_labels`), component-major


def dense_cycle_operator(method: TwoPhase, lam, form: str = "exact", precond=None) -> DenseCycle:
    """Dense affine map of one cycle (any method, momentum or not) on the between-cycle state.

    The state is :func:`state_labels` per mode, flattened component-major
    (index ``k * D + i``), so ``T`` is ``(n D) x (n D)`` with ``n = 3`` (reset),
    ``6`` (carry, ``R = 1``) or ``7`` (carry, ``R > 1``). Start from
    :func:`initial_state`; the loss is :func:`loss_from_state`. Built by applying
    the exact cycle to the basis vectors (O(n D^2 S) work): meant for small ``D``
    (sizes that need more than :data:`twophase._validate.MAX_ENTRIES` entries are refused).
    Needs scalar ``eta`` and ``nu``. ``precond``: diagonal preconditioner of the inner steps,
    as in :func:`expected_loss`.
    """
    method = check_method(method, scalar=True, what="dense_cycle_operator")
    lam = v.eigenvalues(lam)
    check_form(form)
    precond = check_precond(precond, lam.size)
    labels = state_labels(method)
    D = lam.size
    N = len(labels) * D
    v.array_size("lam", 13.0 * N * D + N * N, f"the dense cycle operator at D = {D} (state size {N})")
    _check_work(13.0 * N * D * method.S, method.S, True, "dense_cycle_operator", "reduce D or S")
    k = _coefficients(method, lam, precond)
    nu = float(method.nu)
    labels_idx = [SLAMoments._fields.index(n) for n in labels]
    with np.errstate(over="ignore", invalid="ignore"):
        basis = _expand(np.eye(N), labels, D, (N,))
        out = _sla_cycle(basis, k, method, nu, 0.0, form)
        T = np.concatenate([out[j] for j in labels_idx], axis=-1).T
        zero = _expand(np.zeros((1, N)), labels, D, (1,))
        out = _sla_cycle(zero, k, method, nu, 1.0, form)
        b = np.concatenate([out[j] for j in labels_idx], axis=-1)[0]
    return DenseCycle(T, b, labels)
