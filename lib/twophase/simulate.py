"""Monte-Carlo simulation of two-phase optimizers on Gaussian linear regression.

The real stochastic algorithm is run in the eigenbasis of ``H`` on the error
``e = theta - theta*``, vectorised over independent seeds and over workers
(arrays of shape ``(seeds, R, D)``).

Two minibatch-gradient samplers are provided:

``"naive"``
    Draws the ``B x D`` feature matrix ``X = Z H^{1/2}`` and labels' noise
    ``eps ~ N(0, sigma^2 I_B)`` and returns ``g = X^T (X e - eps) / B``.
    Cost O(B D) per gradient; kept as the reference.
``"fast"``
    Exact in law with O(D) random numbers (``two-phase-theory.md`` §5). With
    ``w = H^{1/2} e`` and ``ŵ = w / |w|``, ``Z = γ ŵ^T + Z P_⊥`` where
    ``γ = Z ŵ ~ N(0, I_B)`` is independent of ``Z P_⊥``. Hence
    ``Z^T v = ŵ (γ·v) + |v| ξ_⊥`` with ``v = |w| γ - eps``, and the two scalars
    need only ``χ²_B = |γ|²``, ``a ~ N(0, σ²)`` (noise along γ) and ``χ²_{B-1}``:
    ``γ·v = |w| χ²_B - a χ_B``, ``|v|² = |w|² χ²_B - 2|w| a χ_B + a² + σ² χ²_{B-1}``.

Outer momentum uses the EMA convention (``v <- beta v + (1 - beta) Delta``),
see :mod:`twophase.methods`.

Owns: Monte-Carlo only (the samplers and :func:`loss_curves`); summaries of its output are in
:mod:`twophase.summaries`. Divergence follows the same rule as the exact theory
(:mod:`twophase._base`).

May import: :mod:`twophase._validate`, :mod:`twophase._base`, :mod:`twophase.methods`.
"""
from __future__ import annotations

import numpy as np

from . import _base
from . import _validate as v
from ._base import check_method, check_problem
from .methods import TwoPhase

__all__ = ["loss_curves", "minibatch_gradient", "SAMPLERS"]

SAMPLERS = ("fast", "naive")
# Measured cost (with margin) used to refuse runs that would take minutes: seconds per
# simulated coordinate-step for the fast sampler, and per coordinate x batch row for the naive one.
_SEC_PER_COORD_STEP = 1.5e-8


def minibatch_gradient(e, lam, B, sigma, rng, sampler="fast"):
    """One minibatch gradient per row of ``e`` (shape ``(..., D)``), in the eigenbasis.

    Returns ``g`` with ``E[g] = lam * e`` and the exact Gaussian-design law of
    ``X^T (X e - eps) / B``. ``B >= 1``, ``sigma >= 0``, ``rng`` a ``numpy.random.Generator``.
    """
    lam = v.eigenvalues(lam)
    e = v.real_array("e", e)
    if e.shape[-1] != lam.size:
        raise ValueError(f"e must have a last axis of length len(lam) = {lam.size}, got shape {e.shape}")
    B = v.positive_int("B", B)
    sigma = v.nonnegative_real("sigma", sigma)
    if not isinstance(rng, np.random.Generator):
        raise v.ArgumentTypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    v.choice("sampler", sampler, SAMPLERS)
    v.array_size("B", float(e.size) * (B if sampler == "naive" else 1), "the sampled features")
    return _minibatch_gradient(e, lam, B, sigma, rng, sampler)


def _minibatch_gradient(e, lam, B, sigma, rng, sampler):
    sqrt_lam = np.sqrt(lam)
    lead = e.shape[:-1]
    D = e.shape[-1]
    if sampler == "naive":
        Z = rng.standard_normal(lead + (B, D))
        X = Z * sqrt_lam
        eps = sigma * rng.standard_normal(lead + (B,)) if sigma > 0 else 0.0
        resid = np.einsum("...bd,...d->...b", X, e) - eps
        return np.einsum("...bd,...b->...d", X, resid) / B
    # fast sampler
    w = sqrt_lam * e
    wn = np.sqrt(np.sum(w * w, axis=-1, keepdims=True))
    safe = np.where(wn > 0, wn, 1.0)
    what = np.where(wn > 0, w / safe, 0.0)
    if np.any(wn == 0):  # any unit vector will do when w = 0
        what = np.where(wn > 0, what, np.eye(1, D)[0])
    xi = rng.standard_normal(lead + (D,))
    xi_perp = xi - what * np.sum(what * xi, axis=-1, keepdims=True)
    chi2_B = rng.chisquare(B, size=lead + (1,))
    chi_B = np.sqrt(chi2_B)
    if sigma > 0:
        a = sigma * rng.standard_normal(lead + (1,))
        rest = sigma ** 2 * (rng.chisquare(B - 1, size=lead + (1,)) if B > 1 else 0.0)
    else:
        a = np.zeros(lead + (1,))
        rest = 0.0
    gamma_v = wn * chi2_B - a * chi_B
    v2 = wn ** 2 * chi2_B - 2.0 * wn * a * chi_B + a ** 2 + rest
    Ztv = what * gamma_v + np.sqrt(np.maximum(v2, 0.0)) * xi_perp
    return sqrt_lam * Ztv / B


def _outer_step(e0, buf, delta, method: TwoPhase):
    """Outer update on the global error with EMA-convention momentum.

    Heavy ball: ``v <- b v + (1-b) Δ``, ``e0 <- e0 - nu v``.
    Nesterov:   ``v <- b v + (1-b) Δ``, ``e0 <- e0 - nu (b v + (1-b) Δ)``.
    With ``b = 0`` both are ``e0 <- e0 - nu Δ`` (LA-DiLoCo).
    """
    b, nu = method.beta_out, method.nu
    if b == 0.0:
        return e0 - nu * delta, buf
    buf = b * buf + (1.0 - b) * delta
    if method.outer == "nesterov":
        return e0 - nu * (b * buf + (1.0 - b) * delta), buf
    return e0 - nu * buf, buf


def _check_precond(precond, D: int):
    """``None`` or a diagonal preconditioner ``p``: float64, shape ``(D,)``, finite and > 0."""
    if precond is None:
        return None
    p = v.real_array("precond", precond)
    if p.shape != (D,):
        raise ValueError(f"precond must be None or an array of shape ({D},) to match lam, got shape {p.shape}")
    if np.any(p <= 0):
        raise ValueError(f"precond must be > 0 in every mode (allowed range (0, inf)), got min {p.min()!r}")
    return p


def loss_curves(method: TwoPhase, lam, m0, cycles: int, seeds: int, sigma: float = 0.0,
                sampler: str = "fast", seed: int = 0, progress=None, precond=None):
    """Monte-Carlo loss curves of the real stochastic algorithm.

    Parameters
    ----------
    method : TwoPhase
        Scalar ``eta`` and ``nu`` (no grids here).
    lam, m0 : array_like, shape (D,)
        Eigenvalues and initial second moments; the initial error has independent
        Gaussian coordinates ``e_i(0) ~ N(0, m0_i)``, drawn per seed.
    cycles : int
        Outer steps (>= 1).
    seeds : int
        Independent runs (>= 1), simulated together.
    sigma : float
        Label-noise standard deviation (>= 0).
    sampler : {"fast", "naive"}
        Minibatch-gradient sampler (see module docstring).
    seed : int
        Seed of ``numpy.random.default_rng``; the result is deterministic given it.
    progress : bool or None
        Show a progress bar over cycles (``None``: only for long runs).
    precond : None or array_like, shape (D,)
        Diagonal preconditioner ``p`` (finite, > 0) of the local steps:
        ``theta <- theta - eta p g``, or with inner momentum ``u <- beta_in u + g``,
        ``theta <- theta - eta p u``. The outer step is not preconditioned.

    Returns
    -------
    ndarray, shape (seeds, cycles + 1)
        Population loss ``½(sum_i lam_i e_i^2 + sigma^2)`` of the global iterate at
        the start of each outer step; ``inf`` from the step a run diverges (same
        rule as :func:`twophase.theory.expected_loss`).
    """
    method = check_method(method, scalar=True, what="loss_curves")
    cycles = v.positive_int("cycles", cycles)
    seeds = v.positive_int("seeds", seeds)
    lam, m0, sigma = check_problem(lam, m0, sigma, "exact")
    v.choice("sampler", sampler, SAMPLERS)
    seed = v.nonnegative_int("seed", seed)
    if progress is not None:
        v.flag("progress", progress)
    precond = _check_precond(precond, lam.size)
    D, R, S = lam.size, method.R, method.S
    per_step = float(seeds) * R * D * (method.B if sampler == "naive" else 1)
    v.array_size("seeds", per_step, f"one step of {seeds} seeds x {R} workers at D = {D}")
    v.work_estimate(_SEC_PER_COORD_STEP * per_step * S * cycles,
                    f"loss_curves ({cycles} cycles x {S} steps x {seeds} seeds x {R} workers at D = {D})",
                    "reduce seeds, cycles, S or D")

    rng = np.random.default_rng(seed)
    e0 = np.sqrt(m0) * rng.standard_normal((seeds, D))
    L0 = 0.5 * (lam @ m0 + sigma ** 2)
    out = np.empty((seeds, cycles + 1))

    if progress is None:
        progress = cycles * S * seeds * R * D > 2e8
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=cycles, desc=f"simulate {method!r}", leave=False)
    reset = method.inner_momentum == "reset"
    lr = method.eta if precond is None else method.eta * precond  # the local step, per mode

    def step(state):
        if bar is not None:
            bar.update(1)
        e0, outer_buf, inner_buf = state
        er = np.repeat(e0[:, None, :], R, axis=1)
        if reset:
            inner_buf[...] = 0.0
        for _ in range(S):
            g = _minibatch_gradient(er, lam, method.B, sigma, rng, sampler)
            if method.beta_in:
                inner_buf = method.beta_in * inner_buf + g
                er = er - lr * inner_buf
            else:
                er = er - lr * g
        delta = e0 - er.mean(axis=1)
        e0, outer_buf = _outer_step(e0, outer_buf, delta, method)
        return e0, outer_buf, inner_buf

    def loss_of(state):
        e0 = state[0]
        return 0.5 * (np.sum(lam * e0 * e0, axis=-1) + sigma ** 2)

    def freeze(state, diverged):  # diverged runs are set to zero so they cannot overflow further
        for a in state:
            a[diverged] = 0.0
        return state

    with np.errstate(over="ignore", invalid="ignore"):
        out[:, 0] = 0.5 * (np.sum(lam * e0 * e0, axis=-1) + sigma ** 2)
    state = (e0, np.zeros((seeds, D)), np.zeros((seeds, R, D)))
    try:
        return _base.loss_loop(state, step, loss_of, freeze, cycles, L0, out)
    finally:
        if bar is not None:
            bar.close()
