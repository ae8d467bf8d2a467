"""Vectorised hyper-parameter sweeps of LA / LA-DiLoCo theory (and Monte-Carlo over R).

Everything here is a thin, tested layer over :func:`twophase.theory.expected_loss`
and :func:`twophase.simulate.loss_curves`:

* :func:`loss_grid` — loss after ``k`` cycles over an ``(eta, nu)`` grid in ONE
  ``expected_loss`` call (``eta[:, None]``, ``nu[None, :]`` broadcasting);
* :func:`best_eta` — ``eta*(nu)`` and ``min_eta L`` from such a grid, refined by a
  parabola in ``log eta`` through the grid minimum;
* :func:`one_cycle_optimum` — the exact best ``(eta, nu)`` for the loss after
  one cycle, for many initial conditions and label-noise levels at once. The
  one-cycle loss is a quadratic in ``nu``,

  .. math::

      L(\\eta, \\nu) = \\tfrac12\\big(A_0 - 2\\nu A_1 + \\nu^2 (A_2 + N/R) + \\sigma^2\\big),

  with ``A_0 = lam·m0``, ``A_1 = (h lam)·m0``, ``A_2 = (h^2 lam)·m0`` and the
  noise ``N = (P^S lam - c^{2S} lam)·m0 + sigma^2 (eta^2/B) sum_{k<S} lam·P^k lam``
  (``P`` is symmetric, so ``lam·P^S m0 = (P^S lam)·m0``). Hence
  ``nu*(eta) = A_1 / (A_2 + N/R)`` and ``L*(eta) = ½(A_0 - A_1^2/(A_2 + N/R) + sigma^2)``,
  linear algebra over an ``eta`` grid shared by all ``m0`` and ``sigma``;
* :func:`scaled_hyperparameters`, :func:`r_sweep`, :func:`simulate_r_sweep` —
  sweeps over the number of workers ``R`` at fixed total batch ``B_tot`` under a
  scaling rule: ``"fixed"`` (``eta``, ``nu`` unchanged) or ``"sqrt"``
  (``eta ∝ R^{-1/2}``, ``nu ∝ R^{1/2}``, ``nu eta`` fixed);
* :func:`relative_spread`, :func:`first_divergent` — how far curves over ``R`` spread and
  where they diverge.

The sweeps that loop (:func:`r_sweep` over ``R``, :func:`simulate_r_sweep` over ``(R, eta)``
and seeds) take ``executor=`` (:mod:`twophase.parallel`): the same numbers bit for bit on one
core, every local core or a cluster.

See :cite:`agarwala2026twophase` for the settings these sweeps reproduce.

Owns: the generic sweeps above (the chapters' scans are in :mod:`twophase.experiments`). The one-cycle quadratic itself is
:func:`twophase.engine.one_cycle_terms`; summaries are in :mod:`twophase.summaries`.

May import: :mod:`twophase._validate`, :mod:`twophase._base`, :mod:`twophase.methods`,
:mod:`twophase.engine`, :mod:`twophase.operators`,
:mod:`twophase.simulate`, :mod:`twophase.parallel`.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _validate as v
from ._base import check_form
from .engine import _one_cycle_terms, expected_loss
from .methods import TwoPhase
from .parallel import _check_executor, map_chunks

__all__ = [
    "RULES",
    "loss_grid",
    "best_eta",
    "BestEta",
    "OneCycleOptimum",
    "one_cycle_optimum",
    "scaled_hyperparameters",
    "batch_per_worker",
    "r_sweep",
    "simulate_r_sweep",
    "relative_spread",
    "first_divergent",
]

RULES = ("fixed", "sqrt")


def loss_grid(lam, m0, eta, nu, *, S: int, B: int, R: int = 1, cycles: int = 1,
              sigma: float = 0.0, form: str = "hd", curves: bool = False):
    """Expected loss after ``cycles`` outer steps over the grid ``eta x nu``.

    One call of :func:`twophase.theory.expected_loss` with
    ``TwoPhase(eta[:, None], nu[None, :], S, R, B)``; no loop over grid points.

    Returns
    -------
    ndarray, shape ``(len(eta), len(nu))`` — or ``(len(eta), len(nu), cycles + 1)``
    with ``curves=True``. Diverged runs are ``inf``.
    """
    eta = v.positive_grid("eta", eta)
    nu = v.positive_grid("nu", nu)
    curves = v.flag("curves", curves)
    method = TwoPhase(eta[:, None], nu[None, :], S=S, R=R, B=B)
    out = expected_loss(method, lam, m0, cycles, sigma=sigma, form=form)
    return out if curves else out[..., cycles]


def _parabola_min(x, y, i):
    """Vertex of the parabola through ``(x[i-1..i+1], y[i-1..i+1])`` (x equally spaced)."""
    y0, y1, y2 = y[i - 1], y[i], y[i + 1]
    den = y0 - 2 * y1 + y2
    if not np.isfinite(den) or den <= 0:
        return x[i], y1
    s = 0.5 * (y0 - y2) / den
    s = float(np.clip(s, -0.5, 0.5))
    dx = x[i + 1] - x[i]
    return x[i] + s * dx, y1 - 0.25 * (y0 - y2) * s


class BestEta(NamedTuple):
    """Result of :func:`best_eta` (each of shape ``(n_nu,)``)."""

    eta: np.ndarray    #: best eta per column (parabola-refined; nan for an all-inf column)
    loss: np.ndarray   #: loss at that eta
    index: np.ndarray  #: grid index of the minimum


def best_eta(loss, eta, refine: bool = True):
    """Best ``eta`` for every column of ``loss`` (shape ``(n_eta, n_nu)``).

    ``eta`` must be log-spaced when ``refine`` is true: the minimum is refined
    by a parabola in ``log eta`` through the grid minimum and its neighbours
    (kept on the grid point at the edges). Columns that are entirely ``inf``
    give ``nan``.

    Returns ``(eta_star, loss_min, index)``, each of shape ``(n_nu,)``.
    """
    loss = v._as_float_array("loss", loss)
    eta = v.positive_grid("eta", eta)
    refine = v.flag("refine", refine)
    if loss.ndim not in (1, 2) or np.any(np.isnan(loss)):
        raise ValueError(f"loss must be a 1-D or 2-D array without NaN (inf marks divergence), got shape {loss.shape}")
    if loss.ndim == 1:
        loss = loss[:, None]
    if loss.shape[0] != eta.size:
        raise ValueError(f"loss must have len(eta) = {eta.size} rows, got shape {loss.shape}")
    finite = np.isfinite(loss)
    safe = np.where(finite, loss, np.inf)
    idx = np.argmin(safe, axis=0)
    cols = np.arange(loss.shape[1])
    eta_star = eta[idx].copy()
    lmin = safe[idx, cols].copy()
    if refine:
        x = np.log(eta)
        for j in cols:
            i = idx[j]
            if 0 < i < eta.size - 1 and np.all(finite[i - 1:i + 2, j]):
                xs, ys = _parabola_min(x, safe[:, j], i)
                eta_star[j], lmin[j] = np.exp(xs), ys
    none = ~np.any(finite, axis=0)
    eta_star[none] = np.nan
    lmin[none] = np.nan
    return BestEta(eta_star, lmin, idx)


class OneCycleOptimum(NamedTuple):
    """Best one-cycle hyper-parameters; leading shape ``sigma.shape + m0.shape[:-1]``."""

    eta: np.ndarray          #: best eta (refined)
    nu: np.ndarray           #: best nu = A1 / (A2 + N/R) at that eta
    loss: np.ndarray         #: minimal one-cycle loss
    loss0: np.ndarray        #: initial loss ½(lam·m0 + sigma^2)
    nu_of_eta: np.ndarray    #: nu*(eta) on the grid, shape (..., n_eta)
    loss_of_eta: np.ndarray  #: min over nu of L(eta, nu) on the grid, shape (..., n_eta)
    eta_grid: np.ndarray


def one_cycle_optimum(lam, m0, eta, *, S: int, B: int, R: int = 1, sigma=0.0,
                      form: str = "hd") -> OneCycleOptimum:
    """Exact minimiser over ``(eta, nu)`` of the loss after one cycle from ``m0``.

    ``nu`` is optimised in closed form (the loss is quadratic in ``nu``);
    ``eta`` on the log-spaced grid ``eta`` and refined by a parabola in
    ``log eta``. ``m0`` may be a stack ``(..., D)`` and ``sigma`` a 1-D array:
    all combinations are evaluated in one pass of linear algebra.
    """
    lam = v.eigenvalues(lam)
    m0 = v.real_array("m0", m0)
    if m0.shape[-1] != lam.size or np.any(m0 < 0):
        raise ValueError(f"m0 must be finite, >= 0 (allowed range [0, inf)), with last axis of length "
                         f"{lam.size}, got shape {m0.shape}")
    if np.any(m0 @ lam <= 0):
        raise ValueError("m0 must put some weight on a mode with lam > 0 (lam·m0 > 0 for every row): "
                         "with zero initial loss there is no optimum")
    R = v.positive_int("R", R)
    S = v.positive_int("S", S)
    B = v.positive_int("B", B)
    check_form(form)
    sig = v._as_float_array("sigma", sigma)
    if sig.ndim > 1 or np.any(sig < 0) or not np.all(np.isfinite(sig)):
        raise ValueError(f"sigma must be a finite scalar or 1-D array >= 0 (allowed range [0, inf)), got {sigma!r}")
    eta = v.positive_grid("eta", eta)
    n_rows = m0.size // lam.size  # initial conditions in the stack
    v.array_size("eta", 5.0 * eta.size * lam.size + 4.0 * eta.size * n_rows * max(1, sig.size),
                 "the one-cycle terms and losses")
    with np.errstate(over="ignore", invalid="ignore"):
        h_lam, h2_lam, noise_vec, noise_sigma = _one_cycle_terms(lam, eta, S, B, form)
    s2 = (sig ** 2).reshape(sig.shape + (1,) * (m0.ndim - 1) + (1,))
    A0 = (m0 @ lam)[..., None]
    A1 = m0 @ h_lam.T
    A2 = m0 @ h2_lam.T
    with np.errstate(over="ignore", invalid="ignore"):
        N = m0 @ noise_vec.T + s2 * noise_sigma
        Q = A2 + N / R
        nu_eta = A1 / Q
        L_eta = 0.5 * (A0 - A1 * nu_eta + s2)
    L_eta = np.where(np.isfinite(L_eta), L_eta, np.inf)
    lead = L_eta.shape[:-1]
    flat = L_eta.reshape(-1, eta.size)
    eta_best, L_best, idx = best_eta(flat.T, eta)
    # nu at the refined eta: interpolate nu*(eta) linearly in log eta
    nu_flat = nu_eta.reshape(-1, eta.size)
    x = np.log(eta)
    nu_best = np.array([np.interp(np.log(e), x, n) if np.isfinite(e) else np.nan
                        for e, n in zip(eta_best, nu_flat)])
    loss0 = 0.5 * (A0[..., 0] + s2[..., 0])
    return OneCycleOptimum(eta_best.reshape(lead), nu_best.reshape(lead), L_best.reshape(lead),
                           np.broadcast_to(loss0, lead), nu_eta.reshape(lead + (eta.size,)),
                           L_eta, eta)


def scaled_hyperparameters(eta, nu, R: int, rule: str):
    """``(eta_R, nu_R)`` from the ``R = 1`` values under a scaling rule.

    ``"fixed"``: unchanged. ``"sqrt"``: ``eta_R = eta / sqrt(R)``,
    ``nu_R = nu sqrt(R)`` (so ``nu_R eta_R = nu eta``).
    """
    R = v.positive_int("R", R)
    v.choice("rule", rule, RULES)
    eta = np.asarray(v.positive_real("eta", eta, allow_array=True), dtype=np.float64)
    nu = np.asarray(v.positive_real("nu", nu, allow_array=True), dtype=np.float64)
    if rule == "fixed":
        return eta, nu
    return eta / np.sqrt(R), nu * np.sqrt(R)


def batch_per_worker(B_tot, R):
    """Batch per worker ``B = B_tot / R`` at a fixed total batch; ``R`` must divide ``B_tot``."""
    B_tot = v.positive_int("B_tot", B_tot)
    R = v.positive_int("R", R)
    if B_tot % R:
        raise ValueError(f"R must divide B_tot (fixed total batch), got R={R}, B_tot={B_tot}")
    return B_tot // R


def r_sweep(lam, m0, eta, nu, *, S: int, B_tot: int, Rs, rule: str = "fixed", cycles: int,
            sigma: float = 0.0, form: str = "exact", executor=None):
    """Theory loss curves over ``R`` at fixed ``B_tot``, for a grid of base rates ``eta``.

    ``eta`` (1-D) and the scalar ``nu`` are the ``R = 1`` values; each ``R``
    uses :func:`scaled_hyperparameters` and ``B = B_tot / R``. One
    ``expected_loss`` call per ``R`` (vectorised over ``eta``); the calls run where
    ``executor`` says (:mod:`twophase.parallel`; ``None``: every local core).

    Returns ``{R: ndarray of shape (len(eta), cycles + 1)}``.
    """
    eta = v.positive_grid("eta", eta)
    Rs = _worker_counts(Rs)
    for R in Rs:
        batch_per_worker(B_tot, R)
        scaled_hyperparameters(eta, nu, R, rule)
    tasks = [(lam, m0, eta, nu, S, B_tot, R, rule, cycles, sigma, form) for R in Rs]
    return dict(zip((int(R) for R in Rs), map_chunks(_r_sweep_one, tasks, executor)))


def _r_sweep_one(lam, m0, eta, nu, S, B_tot, R, rule, cycles, sigma, form):
    """One ``R`` of :func:`r_sweep` (module level, so process and cluster executors can run it)."""
    e, n = scaled_hyperparameters(eta, nu, R, rule)
    return expected_loss(TwoPhase(e, n, S=S, R=int(R), B=batch_per_worker(B_tot, R)), lam, m0,
                         cycles, sigma=sigma, form=form)


def simulate_r_sweep(lam, m0, eta, nu, *, S: int, B_tot: int, Rs, rule: str = "fixed",
                     cycles: int, seeds, sigma: float = 0.0, seed: int = 0,
                     sampler: str = "fast", progress: bool = True, executor=None):
    """Monte-Carlo counterpart of :func:`r_sweep` (fast sampler, vectorised over seeds and workers).

    ``seeds`` is an int or a dict ``{R: int}`` (e.g. fewer seeds for large ``R``).
    Each ``(R, eta)`` pair is one :func:`twophase.simulate.loss_curves` run with its own
    deterministic seed ``seed + 1000 R + j``; the chunks of all the runs go to ``executor``
    together (:mod:`twophase.parallel`; ``None``: every local core), so the numbers are the
    same bit for bit whatever runs them, and equal those of the separate ``loss_curves`` calls.

    Returns ``{R: ndarray of shape (len(eta), seeds_R, cycles + 1)}``.
    """
    from .simulate import _in_process, _plan, _Progress, _simulate_chunk

    eta = v.positive_grid("eta", eta)
    Rs = _worker_counts(Rs)
    if isinstance(seeds, dict):
        missing = [R for R in Rs if R not in seeds]
        if missing:
            raise ValueError(f"seeds must give a count for every R in Rs, missing {missing}")
        for R in Rs:
            v.positive_int(f"seeds[{R}]", seeds[R])
    else:
        v.positive_int("seeds", seeds)
    progress = v.flag("progress", progress)
    executor = _check_executor(executor)
    for R in Rs:
        batch_per_worker(B_tot, R)
    jobs = [(R, j) for R in Rs for j in range(eta.size)]
    plans = []
    for R, j in jobs:
        e, n = scaled_hyperparameters(eta[j], nu, R, rule)
        n_seeds = seeds[R] if isinstance(seeds, dict) else seeds
        plans.append(_plan(TwoPhase(float(e), float(n), S=S, R=int(R), B=batch_per_worker(B_tot, R)),
                           lam, m0, cycles, n_seeds, sigma, sampler, seed + 1000 * int(R) + j, False,
                           None, executor))
    bar = None
    if progress and _in_process(executor):
        bar = _Progress(sum(len(p.tasks) for p in plans) * cycles, f"simulate ({rule})")
    tasks = [t[:-1] + (bar,) for p in plans for t in p.tasks]
    try:
        parts = iter(map_chunks(_simulate_chunk, tasks, executor))
    finally:
        if bar is not None:
            bar.close()
    out = {int(R): [] for R in Rs}
    for (R, _), p in zip(jobs, plans):
        out[int(R)].append(np.concatenate([next(parts)[0] for _ in p.tasks], axis=0))
    return {R: np.stack(c) for R, c in out.items()}


def _worker_counts(Rs):
    if isinstance(Rs, (str, bytes)) or not hasattr(Rs, "__iter__"):
        raise v.ArgumentTypeError(f"Rs must be a sequence of worker counts (ints >= 1), got {type(Rs).__name__}")
    Rs = [v.positive_int("Rs", R) for R in Rs]
    if not Rs:
        raise ValueError("Rs must not be empty (allowed: one or more ints >= 1)")
    return Rs


def relative_spread(curves_by_R: dict, reference: int = 1):
    """``max_{R, t} |log(L_R(t) / L_ref(t))|`` for every row (base ``eta``).

    ``inf`` where any curve diverges while the reference does not (or vice versa).
    ``curves_by_R`` is a dict ``{R: curves}`` of arrays of one shape holding ``reference``.
    """
    if not isinstance(curves_by_R, dict) or not curves_by_R:
        raise v.ArgumentTypeError(f"curves_by_R must be a non-empty dict {{R: curves}}, got "
                                  f"{type(curves_by_R).__name__}")
    if reference not in curves_by_R:
        raise ValueError(f"reference must be one of the keys of curves_by_R {sorted(curves_by_R)}, got {reference!r}")
    ref = v._as_float_array("curves_by_R", curves_by_R[reference])
    for R, c in curves_by_R.items():
        if np.shape(c) != ref.shape:
            raise ValueError(f"curves_by_R[{R!r}] must have the reference's shape {ref.shape}, got {np.shape(c)}")
    spread = np.zeros(ref.shape[:-1])
    with np.errstate(divide="ignore", invalid="ignore"):
        for R, c in curves_by_R.items():
            c = np.asarray(c, dtype=np.float64)
            both_inf = ~np.isfinite(c) & ~np.isfinite(ref)
            d = np.abs(np.log(c) - np.log(ref))
            d = np.where(both_inf, 0.0, d)
            d = np.where(np.isnan(d), np.inf, d)
            spread = np.maximum(spread, d.max(axis=-1))
    return spread


def first_divergent(curves, factor: float = 1.0):
    """Index of the first cycle whose loss exceeds ``factor`` × the initial loss
    (or is ``inf``); ``-1`` if none. Shape ``curves.shape[:-1]``."""
    curves = v._as_float_array("curves", curves)
    factor = v.positive_real("factor", factor)
    if curves.ndim == 0 or curves.shape[-1] == 0:
        raise ValueError(f"curves must have a non-empty last (time) axis, got shape {curves.shape}")
    bad = ~np.isfinite(curves) | (curves > factor * curves[..., :1])
    bad[..., 0] = False
    anyb = bad.any(axis=-1)
    return np.where(anyb, np.argmax(bad, axis=-1), -1)
