r"""Scaled two-phase methods in high dimension (Part III): exact theory and its limits.

The local (inner) steps of LA-DiLoCo are multiplied by a diagonal preconditioner
``P = diag(p)``, ``p_i = 1 / Dhat_i > 0``: ``theta <- theta - eta * p * g``; the outer step is
not preconditioned. This joins the exact theory of Part I :cite:`agarwala2026twophase` with the
scaled local method of Part II :cite:`chezhegov2024local`.

**A fixed preconditioner is a change of variables.** With ``e~ = P^{-1/2} e`` and features
``x~ = P^{1/2} x ~ N(0, P^{1/2} H P^{1/2})`` the residual is unchanged, ``x.e = x~.e~``, the
gradient in the new variables is ``g~ = P^{1/2} g`` and the scaled step
``e <- e - eta P g`` is the plain step ``e~ <- e~ - eta g~``; the outer step is linear, so
it is unchanged too. The scaled method on ``(H, m0)`` is therefore *exactly* the unscaled
method on the Gaussian problem with covariance ``P^{1/2} H P^{1/2}`` and the same loss, and
every recursion of Part I applies to it (:func:`preconditioned_problem`). For ``H = diag(lam)``
the new spectrum is ``mu = p lam`` and the new moments ``m0 / p``; per mode, in the original
variables,

    m_i <- (1 - eta p_i lam_i)^2 m_i
           + (eta p_i)^2 [lam_i (sum_j lam_j m_j + sigma^2) + lam_i^2 m_i] / B

(the bracket's last term is the exact form's self term). For a rotated ``H`` the new
covariance is not diagonal in the preconditioner's basis, but in its own eigenbasis the
diagonal of the second moments still closes (the Gaussian identity
``E[Hhat M Hhat] = (1 + 1/B) H M H + H tr(H M) / B`` has a diagonal that depends on the
diagonal of ``M`` only), so the rotated case is exact too.

**OASIS-type scaling is Jacobi here** (:func:`hutchinson_moments`, :func:`oasis_precond`): with
``H`` diagonal and Rademacher ``z``, ``z * (H z) = lam`` exactly. With a minibatch Hessian
``Hhat = X^T X / B`` the estimate has mean ``lam`` and variance
``2 lam_i^2 / B + lam_i (tr H - lam_i) / (B n)`` for ``n`` probes.

**Adam/RMSProp-type scaling refreshed at communication** depends on the realised gradients,
so the recursion no longer closes. :func:`deterministic_equivalent` replaces the statistic by
its expectation given the moments (:func:`gradient_square_moment`), runs the exponential
average (with bias correction for Adam) on it and propagates the moments with the resulting
``p`` each round; :func:`simulate_adaptive` runs the real stochastic method, whose
preconditioner is computed from sampled gradients at the synchronised point.

Owns: the change of variables, the Hutchinson/OASIS and squared-gradient statistics, the
deterministic equivalent and the Monte-Carlo of the adaptive method, and the dense Monte-Carlo
of a rotated problem (:func:`simulate_rotated`).

May import: :mod:`twophase._validate`, :mod:`twophase._base`, :mod:`twophase.methods`,
:mod:`twophase.parallel`, :mod:`twophase.simulate`, :mod:`twophase.theory`.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _base
from . import _validate as v
from ._base import check_form, check_method
from .methods import TwoPhase
from .parallel import chunk_seeds, chunk_slices, map_chunks
from .simulate import minibatch_gradient

__all__ = [
    "RULES", "AVERAGES",
    "PreconditionedProblem", "preconditioned_problem", "jacobi",
    "HutchinsonMoments", "hutchinson_moments", "hutchinson_sample", "oasis_precond",
    "gradient_square_moment", "gradient_square_sample",
    "cycle_moments", "AdaptiveTheory", "deterministic_equivalent",
    "AdaptiveSimulation", "simulate_adaptive", "simulate_rotated",
]

#: Adaptive rules: ``"adam"`` (EMA of squared gradients with bias correction) and ``"rmsprop"``.
RULES = ("adam", "rmsprop")
#: How the R workers' statistics are combined: ``"squares"`` averages the R squared gradients
#: (the Part II method, :mod:`twophase.local.method`), ``"gradients"`` squares their average.
AVERAGES = ("squares", "gradients")
_CHUNK = 64                    # seeds per Monte-Carlo chunk (fixed by the problem)
_SEC_PER_COORD_STEP = 3e-8     # measured cost, with margin, of one simulated coordinate-step
_SEC_PER_DENSE = 3e-9          # per multiply-add of the dense (rotated) simulation


def _precond(p, D):
    p = v.real_array("precond", p)
    if p.shape[-1] != D:
        raise ValueError(f"precond must have a last axis of length len(lam) = {D}, got shape {p.shape}")
    if not np.all(p > 0):
        raise ValueError("precond must be > 0 (a positive diagonal; allowed range (0, inf))")
    return p


def _no_momentum(method, what):
    method = check_method(method)
    if method.has_momentum:
        raise ValueError(f"{what} covers methods without momentum (allowed: beta_in = beta_out = 0)")
    return method


# ----------------------------------------------------------------------- fixed preconditioner
class PreconditionedProblem(NamedTuple):
    """Result of :func:`preconditioned_problem`: the equivalent unscaled problem."""

    lam: np.ndarray    #: spectrum ``mu`` of ``P^{1/2} H P^{1/2}`` (shape (D,))
    m0: np.ndarray     #: initial second moments in its eigenbasis (shape (D,))
    basis: object      #: its eigenvectors in the original coordinates (None when H is diagonal)


def preconditioned_problem(H, m0, precond) -> PreconditionedProblem:
    r"""The unscaled problem that a scaled method with fixed ``P = diag(precond)`` solves.

    Parameters
    ----------
    H : array_like, shape (D,) or (D, D)
        Eigenvalues ``lam`` of a diagonal ``H`` (1-D), or a symmetric positive semi-definite
        covariance in the preconditioner's basis (2-D, e.g. a rotated problem).
    m0 : array_like, shape (D,)
        Initial second moments ``E[e_i(0)^2]`` (independent coordinates in the original basis).
    precond : array_like, shape (D,)
        The diagonal ``p`` (> 0) of the local steps ``theta <- theta - eta p g``.

    Returns
    -------
    PreconditionedProblem
        ``(lam, m0, basis)``: for a diagonal ``H``, ``lam = p H`` and ``m0 = m0 / p``; for a
        full ``H``, ``P^{1/2} H P^{1/2} = U diag(lam) U^T`` and
        ``m0_k = sum_i U_ik^2 m0_i / p_i``. Feeding them to
        :func:`twophase.theory.expected_loss` gives the scaled method's expected loss exactly
        (the loss ``½(sum lam m + sigma^2)`` is the same in both variables).

    Notes
    -----
    With ``e~ = P^{-1/2} e`` and ``x~ = P^{1/2} x`` the residual ``x.e - eps`` is unchanged and
    ``e <- e - eta P g`` becomes ``e~ <- e~ - eta g~`` with ``g~ = P^{1/2} g`` the gradient of
    the problem with covariance ``P^{1/2} H P^{1/2}``; features stay Gaussian.

    Examples
    --------
    >>> preconditioned_problem([4.0, 1.0], [0.5, 0.5], [0.25, 1.0]).lam.tolist()
    [1.0, 1.0]
    """
    H = v.real_array("H", H)
    if H.ndim == 1:
        lam = v.eigenvalues(H, "H")
        m0 = v.moments(m0, lam.size)
        p = _precond(precond, lam.size)
        if p.ndim != 1:
            raise ValueError(f"precond must be 1-D of shape ({lam.size},), got shape {p.shape}")
        return PreconditionedProblem(p * lam, m0 / p, None)
    if H.ndim != 2 or H.shape[0] != H.shape[1]:
        raise ValueError(f"H must be 1-D (eigenvalues) or a square 2-D matrix, got shape {H.shape}")
    D = H.shape[0]
    v.dimension("len(H)", D)
    if not np.allclose(H, H.T, rtol=1e-12, atol=1e-14 * np.abs(H).max()):
        raise ValueError("H must be symmetric (a covariance; allowed: H == H.T)")
    m0 = v.moments(m0, D)
    p = _precond(precond, D)
    if p.ndim != 1:
        raise ValueError(f"precond must be 1-D of shape ({D},), got shape {p.shape}")
    s = np.sqrt(p)
    mu, U = np.linalg.eigh(s[:, None] * H * s[None, :])
    tol = 1e-12 * max(float(np.abs(mu).max()), np.finfo(float).tiny)
    if mu.min() < -tol:
        raise ValueError(f"H must be positive semi-definite (allowed: eigenvalues >= 0), got {mu.min():.3g}")
    order = np.argsort(mu)[::-1]
    mu, U = np.maximum(mu[order], 0.0), U[:, order]
    return PreconditionedProblem(mu, (U * U).T @ (m0 / p), U)


def jacobi(lam, alpha: float = 0.0):
    """Clipped Jacobi scaling ``p_i = 1 / max(alpha, lam_i)``.

    ``alpha`` (>= 0) is the clipping level of OASIS-type rules; ``alpha >= max(lam)`` gives
    ``p = 1 / alpha`` (no scaling, up to the step size) and ``alpha = 0`` the pure Jacobi
    ``1 / lam`` (then every ``lam_i`` must be > 0).

    Examples
    --------
    >>> jacobi([1.0, 0.01], alpha=0.1).tolist()
    [1.0, 10.0]
    """
    lam = v.eigenvalues(lam)
    alpha = v.nonnegative_real("alpha", alpha)
    d = np.maximum(alpha, lam)
    if np.any(d <= 0):
        raise ValueError("alpha must be > 0 when some lam_i = 0 (allowed range (0, inf))")
    return 1.0 / d


# ----------------------------------------------------------------------- OASIS / Hutchinson
class HutchinsonMoments(NamedTuple):
    """Result of :func:`hutchinson_moments`."""

    mean: np.ndarray   #: ``E[z * (Hhat z)] = lam``
    var: np.ndarray    #: its variance per mode


def _optional_batch(B):
    return None if B is None else v.positive_int("B", B)


def hutchinson_moments(lam, B=None, probes: int = 1) -> HutchinsonMoments:
    r"""Mean and variance of Hutchinson's diagonal estimate ``mean_k z_k * (Hhat z_k)``.

    Parameters
    ----------
    lam : array_like, shape (D,)
        Eigenvalues of ``H = diag(lam)``.
    B : int or None
        Samples in the minibatch Hessian ``Hhat = X^T X / B`` (rows ``x ~ N(0, H)``);
        ``None``: exact Hessian-vector products, ``Hhat = H``.
    probes : int
        Independent Rademacher vectors ``z_k`` averaged with the same ``Hhat`` (>= 1).

    Returns
    -------
    HutchinsonMoments
        ``mean = lam`` and ``var = 2 lam_i^2 / B + lam_i (tr H - lam_i) / (B probes)``
        (zero for exact products, since ``z_i (H z)_i = lam_i z_i^2 = lam_i``).

    Notes
    -----
    ``z_i (Hhat z)_i = Hhat_ii + sum_{j != i} Hhat_ij z_i z_j``; the products ``z_i z_j`` are
    uncorrelated with mean zero, ``Var Hhat_ii = 2 lam_i^2 / B`` and
    ``E Hhat_ij^2 = lam_i lam_j / B`` (``i != j``). Hutchinson's estimator as used by OASIS
    :cite:`jahani2021oasis`.

    Examples
    --------
    >>> hutchinson_moments([1.0, 1.0], B=2).var.tolist()
    [1.5, 1.5]
    """
    lam = v.eigenvalues(lam)
    B = _optional_batch(B)
    probes = v.positive_int("probes", probes)
    if B is None:
        return HutchinsonMoments(lam.copy(), np.zeros_like(lam))
    return HutchinsonMoments(lam.copy(), 2.0 * lam ** 2 / B + lam * (lam.sum() - lam) / (B * probes))


def _rng(rng):
    if not isinstance(rng, np.random.Generator):
        raise v.ArgumentTypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    return rng


def hutchinson_sample(lam, rng, B=None, probes: int = 1, size: int = 1):
    """``size`` independent draws of the estimate of :func:`hutchinson_moments`, shape ``(size, D)``.

    Each draw uses a fresh minibatch Hessian of ``B`` Gaussian samples (``None``: exact
    products ``H z``) and ``probes`` Rademacher vectors; cost ``size * probes * B * D``.
    """
    lam = v.eigenvalues(lam)
    rng = _rng(rng)
    B = _optional_batch(B)
    probes = v.positive_int("probes", probes)
    size = v.positive_int("size", size)
    D = lam.size
    v.array_size("size", float(size) * probes * D * (1 if B is None else max(B, probes) + 1),
                 "the sampled probes and features")
    z = rng.choice(np.array([-1.0, 1.0]), size=(size, probes, D))
    if B is None:
        Hz = lam * z
    else:
        X = rng.standard_normal((size, B, D)) * np.sqrt(lam)
        Hz = np.einsum("sbd,sbk->skd", X, np.einsum("sbd,skd->sbk", X, z)) / B
    return np.mean(z * Hz, axis=1)


def oasis_precond(lam, alpha: float, rng=None, B=None, probes: int = 1):
    """OASIS-type scaling ``p = 1 / max(alpha, |Dhat|)`` from one Hutchinson estimate.

    With exact Hessian-vector products (``B=None``; ``rng`` may then be None) the estimate is
    ``lam`` exactly, so the result is :func:`jacobi` ``(lam, alpha)``; with a minibatch
    Hessian (``B`` samples) it is random (see :func:`hutchinson_moments`). ``alpha > 0``.

    Examples
    --------
    >>> oasis_precond([2.0, 0.001], alpha=0.01).tolist()
    [0.5, 100.0]
    """
    lam = v.eigenvalues(lam)
    alpha = v.positive_real("alpha", alpha)
    B = _optional_batch(B)
    if B is None and rng is None:
        rng = np.random.default_rng(0)
    d = hutchinson_sample(lam, rng, B=B, probes=probes, size=1)[0]
    return 1.0 / np.maximum(alpha, np.abs(d))


# ----------------------------------------------------------------------- squared gradients
def gradient_square_moment(lam, m, B: int, sigma: float = 0.0, R: int = 1, average: str = "squares"):
    r"""Expected refresh statistic of Adam/RMSProp-type scaling given the moments.

    At the synchronised point ``e`` (independent coordinates, ``E e_i^2 = m_i``) each of ``R``
    workers draws a batch-``B`` gradient ``g_r``; the statistic is ``mean_r g_r^2``
    (``average="squares"``, Part II's method) or ``(mean_r g_r)^2`` (``"gradients"``).

    Returns, with ``n = B`` (squares) or ``n = R B`` (gradients),

        E[s_i] = lam_i^2 m_i (1 + 1/n) + lam_i (sum_j lam_j m_j + sigma^2) / n ,

    shape of ``m`` (``(..., D)``). From the Gaussian-design identity
    ``E[g g^T | e] = (1 + 1/B) H e e^T H + (e^T H e + sigma^2) H / B``.

    Examples
    --------
    >>> gradient_square_moment([1.0, 1.0], [1.0, 1.0], B=2).tolist()
    [2.5, 2.5]
    """
    lam = v.eigenvalues(lam)
    m = v.real_array("m", m)
    if m.shape[-1] != lam.size or np.any(m < 0):
        raise ValueError(f"m must be >= 0 with a last axis of length {lam.size} (allowed range [0, inf)), "
                         f"got shape {m.shape}")
    B = v.positive_int("B", B)
    sigma = v.nonnegative_real("sigma", sigma)
    R = v.positive_int("R", R)
    v.choice("average", average, AVERAGES)
    return _grad_sq_moment(lam, m, B, sigma, R, average)


def _grad_sq_moment(lam, m, B, sigma, R, average):
    n = B if average == "squares" else R * B
    L = (m @ lam)[..., None] + sigma ** 2
    return lam ** 2 * m * (1.0 + 1.0 / n) + lam * L / n


def gradient_square_sample(lam, e, B: int, rng, sigma: float = 0.0, R: int = 1,
                           average: str = "squares"):
    """One draw of the refresh statistic at each synchronised point ``e`` (shape ``(..., D)``).

    ``R`` fresh batch-``B`` gradients per point (the exact-in-law fast sampler of
    :func:`twophase.simulate.minibatch_gradient`), combined as ``average`` says (see
    :func:`gradient_square_moment`). Returns shape ``e.shape``.
    """
    lam = v.eigenvalues(lam)
    e = v.real_array("e", e)
    if e.shape[-1] != lam.size:
        raise ValueError(f"e must have a last axis of length len(lam) = {lam.size}, got shape {e.shape}")
    R = v.positive_int("R", R)
    v.choice("average", average, AVERAGES)
    v.array_size("R", float(e.size) * R, "the R gradients per point")
    g = minibatch_gradient(np.repeat(e[..., None, :], R, axis=-2), lam, B, sigma, _rng(rng))
    return np.mean(g * g, axis=-2) if average == "squares" else np.mean(g, axis=-2) ** 2


# ----------------------------------------------------------------------- moment recursion
def _cycle(g, lam, eta_p, S, R, B, nu, sigma, form):
    """One LA-DiLoCo cycle of the diagonal moments with per-mode inner step ``eta_p``."""
    c = 1.0 - eta_p * lam
    k = eta_p * eta_p / B
    d = c * c + (k * lam * lam if form == "exact" else 0.0)
    m = g
    for _ in range(S):
        m = d * m + k * lam * ((m @ lam)[..., None] + sigma ** 2)
    cS = c ** S
    return (1.0 - nu * (1.0 - cS)) ** 2 * g + (nu * nu / R) * (m - cS * cS * g)


def cycle_moments(method: TwoPhase, lam, g, precond, sigma: float = 0.0, form: str = "exact"):
    r"""One outer step of scaled LA-DiLoCo on the diagonal second moments.

    Parameters
    ----------
    method : TwoPhase
        Without momentum; ``eta``, ``nu`` may be arrays (grid shape ``G``).
    lam : array_like, shape (D,)
    g : array_like, shape (..., D)
        Global second moments at the cycle start; broadcasts against ``G + (D,)``.
    precond : array_like, shape (..., D)
        The diagonal ``p`` (> 0) of this cycle's local steps; broadcasts likewise.
    sigma, form
        As in :func:`twophase.theory.expected_loss`.

    Returns
    -------
    ndarray
        ``g' = (1 - nu h)^2 g + (nu^2 / R)(m_S - c^{2S} g)`` with ``c = 1 - eta p lam``,
        ``h = 1 - c^S`` and ``m_S`` one worker's moments after ``S`` scaled steps
        (``m <- c^2 m + (eta p)^2 [lam (lam.m + sigma^2) + lam^2 m] / B``).
    """
    method = _no_momentum(method, "cycle_moments")
    lam = v.eigenvalues(lam)
    g = v.real_array("g", g)
    if g.shape[-1] != lam.size or np.any(g < 0):
        raise ValueError(f"g must be >= 0 with a last axis of length {lam.size} (allowed range [0, inf))")
    p = _precond(precond, lam.size)
    sigma = v.nonnegative_real("sigma", sigma)
    check_form(form)
    _, eta, nu = _base.grid_arrays(method)
    try:
        shape = np.broadcast_shapes(eta.shape + (lam.size,), g.shape, p.shape)
    except ValueError:
        raise ValueError(f"g {g.shape}, precond {p.shape} and the grid {eta.shape} must broadcast") from None
    v.array_size("g", float(np.prod(shape)), "the moments")
    with np.errstate(over="ignore", invalid="ignore"):
        return _cycle(g, lam, eta[..., None] * p, method.S, method.R, method.B, nu[..., None], sigma, form)


# ----------------------------------------------------------------------- adaptive rules
def _rule_args(rule, beta, eps, average):
    v.choice("rule", rule, RULES)
    beta = v.open_unit("beta", beta)
    eps = v.positive_real("eps", eps)
    v.choice("average", average, AVERAGES)
    return rule, beta, eps, average


def _refresh(vstat, s, t, rule, beta, eps):
    """EMA ``v <- beta v + (1 - beta) s`` and ``p = 1 / (sqrt(v [/(1 - beta^t)]) + eps)``."""
    vstat = beta * vstat + (1.0 - beta) * s
    vhat = vstat / (1.0 - beta ** t) if rule == "adam" else vstat
    return vstat, 1.0 / (np.sqrt(vhat) + eps)


class AdaptiveTheory(NamedTuple):
    """Result of :func:`deterministic_equivalent`."""

    loss: np.ndarray      #: expected loss, shape ``G + (rounds + 1,)``
    precond: np.ndarray   #: the ``p`` of each round, shape ``G + (rounds, D)``
    moments: np.ndarray   #: the global moments after the last round, shape ``G + (D,)``


def deterministic_equivalent(method: TwoPhase, lam, m0, rounds: int, sigma: float = 0.0, *,
                             rule: str = "adam", beta: float = 0.9, eps: float = 1e-8,
                             average: str = "squares", form: str = "exact") -> AdaptiveTheory:
    r"""Deterministic equivalent of Adam/RMSProp-type scaling refreshed at communication.

    Round ``t = 1, 2, ...``: the statistic is replaced by its expectation given the global
    moments ``g_t`` (:func:`gradient_square_moment`), ``v_t = beta v_{t-1} + (1 - beta) E[s]``
    (``v_0 = 0``), ``p_t = 1 / (sqrt(v_t / (1 - beta^t)) + eps)`` (Adam; RMSProp without the
    bias correction), and ``g_{t+1}`` = :func:`cycle_moments` ``(g_t; p_t)``.

    Parameters
    ----------
    method : TwoPhase
        Without momentum; ``eta``, ``nu`` may be arrays (each grid point its own trajectory).
    lam, m0 : array_like, shape (D,)
    rounds : int
        Communication rounds (>= 1); one cycle of ``S`` local steps each.
    sigma : float
        Label noise (>= 0).
    rule : {"adam", "rmsprop"}
    beta : float in (0, 1)
        Weight of the old statistic.
    eps : float > 0
        Added to ``sqrt(v)`` (positivity, Adam style).
    average : {"squares", "gradients"}
        How the ``R`` workers' statistics are combined (see :data:`AVERAGES`).
    form : {"exact", "hd"}

    Returns
    -------
    AdaptiveTheory
        Loss curves (``inf`` from divergence, the rule of :mod:`twophase._base`), the
        preconditioner of every round and the final moments.

    Notes
    -----
    Exact when the statistic concentrates on its conditional mean; how far off it is
    otherwise is measured against :func:`simulate_adaptive` (book chapter 8).
    """
    method = _no_momentum(method, "deterministic_equivalent")
    rounds = v.positive_int("rounds", rounds)
    lam, m0, sigma = _base.check_problem(lam, m0, sigma, form)
    rule, beta, eps, average = _rule_args(rule, beta, eps, average)
    shape, eta, nu = _base.grid_arrays(method)
    D = lam.size
    n = float(np.prod(shape))
    v.array_size("rounds", n * rounds * D, f"the preconditioners of {rounds} rounds on a grid {shape}")
    v.work_estimate(2e-9 * n * D * (method.S + 3) * rounds, f"deterministic_equivalent ({rounds} rounds)",
                    "reduce rounds, S, D or the eta grid")
    P = np.empty(shape + (rounds, D))
    out = np.empty(shape + (rounds + 1,))
    out[..., 0] = 0.5 * (lam @ m0 + sigma ** 2)
    eta_c, nu_c = eta[..., None], nu[..., None]

    def step(state):
        g, vstat, t = state
        vstat, p = _refresh(vstat, _grad_sq_moment(lam, g, method.B, sigma, method.R, average), t + 1,
                            rule, beta, eps)
        P[..., t, :] = p
        return _cycle(g, lam, eta_c * p, method.S, method.R, method.B, nu_c, sigma, form), vstat, t + 1

    def freeze(state, diverged):
        g, vstat, t = state
        return np.where(diverged[..., None], 0.0, g), vstat, t

    g0 = np.broadcast_to(m0, shape + (D,)).copy()
    state = [g0, np.zeros(shape + (D,)), 0]
    box = {}

    def step_keep(s):
        box["s"] = step(s)
        return box["s"]

    loss = _base.loss_loop(state, step_keep, lambda s: 0.5 * (s[0] @ lam + sigma ** 2), freeze, rounds,
                           out[(0,) * len(shape) + (0,)], out)
    return AdaptiveTheory(loss, P, box["s"][0])


class AdaptiveSimulation(NamedTuple):
    """Result of :func:`simulate_adaptive`."""

    loss: np.ndarray          #: loss of every seed, shape ``(seeds, rounds + 1)``
    precond_mean: np.ndarray  #: mean over seeds of each round's ``p``, shape ``(rounds, D)``
    precond_sd: np.ndarray    #: its standard deviation over seeds, shape ``(rounds, D)``


def _adaptive_chunk(method, lam, m0, rounds, n, sigma, rule, beta, eps, average, seq):
    rng = np.random.default_rng(seq)
    D, R, S = lam.size, method.R, method.S
    e0 = np.sqrt(m0) * rng.standard_normal((n, D))
    vstat = np.zeros((n, D))
    out = np.empty((n, rounds + 1))
    psum = np.zeros((rounds, D))
    psq = np.zeros((rounds, D))
    limit = _base.divergence_limit(0.5 * (lam @ m0 + sigma ** 2))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        out[:, 0] = 0.5 * (np.sum(lam * e0 * e0, axis=-1) + sigma ** 2)
        for t in range(rounds):
            s = gradient_square_sample(lam, e0, method.B, rng, sigma, R, average)
            vstat, p = _refresh(vstat, s, t + 1, rule, beta, eps)
            psum[t] += p.sum(axis=0)
            psq[t] += (p * p).sum(axis=0)
            er = np.repeat(e0[:, None, :], R, axis=1)
            for _ in range(S):
                er = er - method.eta * p[:, None, :] * minibatch_gradient(er, lam, method.B, sigma, rng)
            e0 = e0 - method.nu * (e0 - er.mean(axis=1))
            loss = 0.5 * (np.sum(lam * e0 * e0, axis=-1) + sigma ** 2)
            out[:, t + 1] = loss
            bad = ~np.isfinite(loss) | (loss > limit)
            e0[bad] = 0.0
            vstat[bad] = 1.0
        _base.mark_divergence(out, limit)
    return out, psum, psq


def simulate_adaptive(method: TwoPhase, lam, m0, rounds: int, seeds: int, sigma: float = 0.0, *,
                      rule: str = "adam", beta: float = 0.9, eps: float = 1e-8,
                      average: str = "squares", seed: int = 0, executor=None) -> AdaptiveSimulation:
    r"""Monte-Carlo of the real scaled method with Adam/RMSProp-type scaling.

    Each round, at the synchronised error ``e_0`` every worker draws a fresh batch-``B``
    gradient; the statistic (:func:`gradient_square_sample`) updates ``v`` and
    ``p = 1 / (sqrt(v [/(1 - beta^t)]) + eps)`` exactly as in
    :func:`deterministic_equivalent`, but from the sampled gradients. Then every worker runs
    ``S`` local steps ``e_r <- e_r - eta p g_r`` on fresh batches and the outer step is
    ``e_0 <- e_0 - nu (e_0 - mean_r e_r)``. The statistic's gradients are extra evaluations
    (one per worker per round), as in Part II's method.

    Parameters
    ----------
    method : TwoPhase
        Scalar ``eta`` and ``nu``, no momentum.
    lam, m0 : array_like, shape (D,)
        Eigenvalues and initial moments; ``e_i(0) ~ N(0, m0_i)`` per seed.
    rounds, seeds : int
        Communication rounds and independent runs (>= 1).
    sigma, rule, beta, eps, average
        As in :func:`deterministic_equivalent`.
    seed : int
        Root seed; seeds are split into chunks of 64 with their own
        :class:`numpy.random.SeedSequence` child, so results do not depend on ``executor``.
    executor : None, "serial" or concurrent.futures.Executor
        Where the chunks run (:func:`twophase.parallel.map_chunks`).

    Returns
    -------
    AdaptiveSimulation
        Per-seed losses (``inf`` from divergence) and the mean and standard deviation over
        seeds of each round's preconditioner.
    """
    method = _no_momentum(method, "simulate_adaptive")
    method = check_method(method, scalar=True, what="simulate_adaptive")
    rounds = v.positive_int("rounds", rounds)
    seeds = v.positive_int("seeds", seeds)
    lam, m0, sigma = _base.check_problem(lam, m0, sigma, "exact")
    rule, beta, eps, average = _rule_args(rule, beta, eps, average)
    seed = v.nonnegative_int("seed", seed)
    D, R, S = lam.size, method.R, method.S
    v.array_size("seeds", float(min(seeds, _CHUNK)) * R * D * 3, "one chunk's workers")
    v.work_estimate(_SEC_PER_COORD_STEP * seeds * R * D * (S + 1) * rounds,
                    f"simulate_adaptive ({rounds} rounds x {S + 1} gradients x {seeds} seeds x {R} workers "
                    f"at D = {D})", "reduce seeds, rounds, S or D")
    slices = chunk_slices(seeds, _CHUNK)
    tasks = [(method, lam, m0, rounds, sl.stop - sl.start, sigma, rule, beta, eps, average, sq)
             for sl, sq in zip(slices, chunk_seeds(seed, len(slices)))]
    parts = map_chunks(_adaptive_chunk, tasks, executor)
    loss = np.concatenate([p[0] for p in parts])
    mean = sum(p[1] for p in parts) / seeds
    sq = sum(p[2] for p in parts) / seeds
    return AdaptiveSimulation(loss, mean, np.sqrt(np.maximum(sq - mean * mean, 0.0)))


# ----------------------------------------------------------------------- rotated problems
def _rotated_chunk(method, root, p, m0, cycles, n, sigma, seq):
    rng = np.random.default_rng(seq)
    D, R, B, S = root.shape[0], method.R, method.B, method.S
    e0 = rng.standard_normal((n, D)) * np.sqrt(m0)
    out = np.empty((n, cycles + 1))
    H = root @ root
    lossf = lambda e: 0.5 * (np.einsum("sd,de,se->s", e, H, e) + sigma ** 2)  # noqa: E731
    limit = _base.divergence_limit(0.5 * (np.trace(H * m0[None, :]) + sigma ** 2))
    with np.errstate(over="ignore", invalid="ignore"):
        out[:, 0] = lossf(e0)
        for t in range(cycles):
            er = np.repeat(e0[:, None, :], R, axis=1)
            for _ in range(S):
                Z = rng.standard_normal((n, R, B, D))         # X = Z H^{1/2}: rows x ~ N(0, H)
                res = np.einsum("srbd,srd->srb", Z, er @ root)
                if sigma > 0:
                    res = res - sigma * rng.standard_normal((n, R, B))
                g = np.einsum("srbd,srb->srd", Z, res) @ root / B
                er = er - method.eta * p * g
            e0 = e0 - method.nu * (e0 - er.mean(axis=1))
            out[:, t + 1] = lossf(e0)
            bad = ~np.isfinite(out[:, t + 1]) | (out[:, t + 1] > limit)
            e0[bad] = 0.0
        _base.mark_divergence(out, limit)
    return out


def simulate_rotated(method: TwoPhase, H, m0, cycles: int, seeds: int, precond=None,
                     sigma: float = 0.0, seed: int = 0, executor=None):
    r"""Dense Monte-Carlo of scaled LA-DiLoCo on a problem with a full covariance ``H``.

    Features ``x = H^{1/2} z`` (``z`` standard Gaussian, ``B`` rows per worker and step), labels
    with noise ``sigma``; local steps ``e_r <- e_r - eta p g_r``, outer step
    ``e_0 <- e_0 - nu (e_0 - mean_r e_r)``; ``e_i(0) ~ N(0, m0_i)`` independent in the given
    coordinates. No structure of ``H`` is used (cost ``O(B D^2)`` per gradient): the
    independent check of :func:`preconditioned_problem` on rotated problems.

    Parameters
    ----------
    method : TwoPhase
        Scalar ``eta``, ``nu``; no momentum.
    H : array_like, shape (D, D)
        Symmetric positive semi-definite covariance.
    m0 : array_like, shape (D,)
    cycles, seeds : int
    precond : array_like of shape (D,) or None
        The diagonal ``p`` (> 0); None is the identity.
    sigma : float
    seed : int
        Root seed; chunks of 64 seeds with their own SeedSequence child.
    executor : None, "serial" or concurrent.futures.Executor

    Returns
    -------
    ndarray, shape (seeds, cycles + 1)
        The loss ``½(e^T H e + sigma^2)`` of the global iterate at each outer step.
    """
    method = _no_momentum(method, "simulate_rotated")
    method = check_method(method, scalar=True, what="simulate_rotated")
    H = v.real_array("H", H, ndim=2)
    if H.shape[0] != H.shape[1] or not np.allclose(H, H.T, rtol=1e-12, atol=1e-14 * np.abs(H).max()):
        raise ValueError(f"H must be a symmetric square matrix (a covariance), got shape {H.shape}")
    D = v.dimension("len(H)", H.shape[0])
    m0 = v.moments(m0, D)
    p = np.ones(D) if precond is None else _precond(precond, D)
    if p.shape != (D,):
        raise ValueError(f"precond must have shape ({D},), got {p.shape}")
    cycles = v.positive_int("cycles", cycles)
    seeds = v.positive_int("seeds", seeds)
    sigma = v.nonnegative_real("sigma", sigma)
    seed = v.nonnegative_int("seed", seed)
    w, U = np.linalg.eigh(H)
    if w.min() < -1e-12 * max(abs(w).max(), np.finfo(float).tiny):
        raise ValueError(f"H must be positive semi-definite (allowed: eigenvalues >= 0), got {w.min():.3g}")
    root = (U * np.sqrt(np.maximum(w, 0.0))) @ U.T
    R, B, S = method.R, method.B, method.S
    v.array_size("seeds", float(min(seeds, _CHUNK)) * R * B * D, "one chunk's features")
    v.work_estimate(_SEC_PER_DENSE * seeds * R * D * (2 * D + 2 * B) * S * cycles,
                    f"simulate_rotated ({cycles} cycles x {S} steps x {seeds} seeds x {R} workers, "
                    f"B = {B}, D = {D})", "reduce seeds, cycles, S, B or D")
    slices = chunk_slices(seeds, _CHUNK)
    tasks = [(method, root, p, m0, cycles, sl.stop - sl.start, sigma, sq)
             for sl, sq in zip(slices, chunk_seeds(seed, len(slices)))]
    return np.concatenate(map_chunks(_rotated_chunk, tasks, executor))
