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
"""
from __future__ import annotations

import numpy as np

from . import _validate as v
from .methods import TwoPhase
from .theory import DIVERGENCE_FACTOR

__all__ = ["loss_curves", "minibatch_gradient", "mean_se", "max_z", "tail_share", "SAMPLERS"]

SAMPLERS = ("fast", "naive")


def minibatch_gradient(e, lam, B, sigma, rng, sampler="fast"):
    """One minibatch gradient per row of ``e`` (shape ``(..., D)``), in the eigenbasis.

    Returns ``g`` with ``E[g] = lam * e`` and the exact Gaussian-design law of
    ``X^T (X e - eps) / B``.
    """
    lam = np.asarray(lam, dtype=np.float64)
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


def loss_curves(method: TwoPhase, lam, m0, cycles: int, seeds: int, sigma: float = 0.0,
                sampler: str = "fast", seed: int = 0, progress=None):
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

    Returns
    -------
    ndarray, shape (seeds, cycles + 1)
        Population loss ``½(sum_i lam_i e_i^2 + sigma^2)`` of the global iterate at
        the start of each outer step; ``inf`` from the step a run diverges (same
        rule as :func:`twophase.theory.expected_loss`).
    """
    if not isinstance(method, TwoPhase):
        raise ValueError(f"method must be a twophase.TwoPhase, got {type(method).__name__}")
    if method.grid_shape != ():
        raise ValueError(f"loss_curves needs scalar eta and nu, got grid shape {method.grid_shape}")
    cycles = v.positive_int("cycles", cycles)
    seeds = v.positive_int("seeds", seeds)
    lam = v.eigenvalues(lam)
    m0 = v.moments(m0, lam.size)
    sigma = v.nonnegative_real("sigma", sigma)
    v.choice("sampler", sampler, SAMPLERS)
    seed = v.nonnegative_int("seed", seed)

    rng = np.random.default_rng(seed)
    D, R, S = lam.size, method.R, method.S
    e0 = np.sqrt(m0) * rng.standard_normal((seeds, D))
    outer_buf = np.zeros((seeds, D))
    inner_buf = np.zeros((seeds, R, D))
    L0 = 0.5 * (lam @ m0 + sigma ** 2)
    limit = DIVERGENCE_FACTOR * max(L0, np.finfo(float).tiny)
    out = np.empty((seeds, cycles + 1))
    diverged = np.zeros(seeds, dtype=bool)

    if progress is None:
        progress = cycles * S * seeds * R * D > 2e8
    steps = range(1, cycles + 1)
    if progress:
        from tqdm.auto import tqdm

        steps = tqdm(steps, desc=f"simulate {method!r}", leave=False)

    with np.errstate(over="ignore", invalid="ignore"):
        out[:, 0] = 0.5 * (np.sum(lam * e0 * e0, axis=-1) + sigma ** 2)
        for t in steps:
            er = np.repeat(e0[:, None, :], R, axis=1)
            if method.inner_momentum == "reset":
                inner_buf[...] = 0.0
            for _ in range(S):
                g = minibatch_gradient(er, lam, method.B, sigma, rng, sampler)
                if method.beta_in:
                    inner_buf = method.beta_in * inner_buf + g
                    er = er - method.eta * inner_buf
                else:
                    er = er - method.eta * g
            delta = e0 - er.mean(axis=1)
            e0, outer_buf = _outer_step(e0, outer_buf, delta, method)
            loss = 0.5 * (np.sum(lam * e0 * e0, axis=-1) + sigma ** 2)
            diverged |= ~np.isfinite(loss) | (loss > limit)
            out[:, t] = np.where(diverged, np.inf, loss)
            if diverged.any():  # freeze diverged runs so they cannot overflow further
                e0[diverged] = 0.0
                outer_buf[diverged] = 0.0
                inner_buf[diverged] = 0.0
    return out


# --- Monte-Carlo summaries -------------------------------------------------


def mean_se(curves, axis: int = -2):
    """Mean and standard error over the seed axis (default: second to last).

    Non-finite runs make the mean ``inf`` and the SE ``nan``.
    """
    curves = np.asarray(curves, dtype=np.float64)
    n = curves.shape[axis]
    with np.errstate(invalid="ignore", over="ignore"):
        mean = curves.mean(axis=axis)
        se = curves.std(axis=axis, ddof=1) / np.sqrt(n) if n > 1 else np.full(mean.shape, np.nan)
    bad = ~np.all(np.isfinite(curves), axis=axis)
    mean = np.where(bad, np.inf, mean)
    se = np.where(bad, np.nan, se)
    return mean, se


def max_z(theory, mean, se, floor: float = 0.0):
    """Largest ``|mean - theory| / se`` over entries where all three are finite.

    ``floor`` is added to ``se`` (use a tiny relative floor for exactly
    deterministic entries such as the initial loss). Returns ``(z_max, n_compared)``.
    """
    theory, mean, se = (np.asarray(a, dtype=np.float64) for a in (theory, mean, se))
    ok = np.isfinite(theory) & np.isfinite(mean) & np.isfinite(se) & (se + floor > 0)
    if not np.any(ok):
        return np.nan, 0
    z = np.abs(mean[ok] - theory[ok]) / (se[ok] + floor)
    return float(z.max()), int(ok.sum())


def tail_share(samples, q: float = 1e-3) -> float:
    """Share of the total carried by the largest fraction ``q`` of ``samples``.

    A diagnostic for heavy tails: about ``q`` for light-tailed positive samples,
    much larger when a few runs dominate the mean, in which case the sample
    standard error is not a reliable error bar for the mean.
    """
    x = np.sort(np.asarray(samples, dtype=np.float64).ravel())
    if not (0 < q < 1):
        raise ValueError(f"q must lie in (0, 1), got {q!r}")
    if x.size == 0 or not np.all(np.isfinite(x)):
        raise ValueError("samples must be non-empty and finite")
    n_top = max(1, int(round(q * x.size)))
    return float(x[-n_top:].sum() / x.sum())
