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
* :func:`source_stack`, :func:`figure1_panel`, :func:`best_nu_map` — the
  Figure-1 scans of the Lookahead chapter: one ``(eta, nu)`` panel, and the best
  one-cycle ``nu`` over initial conditions ``m0 ∝ lam^{-s}``, label noise and ``B/D``;
* :func:`isotropic_tau`, :func:`isotropic_rate_spread`, :func:`rate_spread`,
  :func:`last_true_from_start` — per-cycle rates ``tau_R`` of LA-DiLoCo with
  identical eigenvalues under a scaling rule, and how far they spread over ``R``;
* :func:`relative_spread`, :func:`first_divergent` — how far curves over ``R`` spread and
  where they diverge.

See :cite:`agarwala2026twophase` for the settings these sweeps reproduce.

Owns: the generic sweeps above (the Figure-1 scans and isotropic rates are chapter code on
their way to ``twophase.experiments``). The one-cycle quadratic itself is
:func:`twophase.engine.one_cycle_terms`; summaries are in :mod:`twophase.summaries`.

May import: :mod:`twophase._validate`, :mod:`twophase._base`, :mod:`twophase.methods`,
:mod:`twophase.spectra`, :mod:`twophase.engine`, :mod:`twophase.operators`,
:mod:`twophase.simulate`.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _validate as v
from ._base import check_form
from .engine import _one_cycle_terms, expected_loss
from .methods import TwoPhase
from .spectra import initial_moments

__all__ = [
    "RULES",
    "loss_grid",
    "best_eta",
    "BestEta",
    "OneCycleOptimum",
    "one_cycle_optimum",
    "scaled_hyperparameters",
    "r_sweep",
    "simulate_r_sweep",
    "relative_spread",
    "first_divergent",
    "source_stack",
    "Figure1Panel",
    "figure1_panel",
    "BestNuMap",
    "best_nu_map",
    "isotropic_tau",
    "isotropic_rate_spread",
    "rate_spread",
    "last_true_from_start",
]

RULES = ("fixed", "sqrt")


def _grid1d(name, x):
    x = np.atleast_1d(v.positive_real(name, x, allow_array=True))
    if x.ndim != 1:
        raise ValueError(f"{name} must be a scalar or 1-D array, got shape {x.shape}")
    return np.asarray(x, dtype=np.float64)


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
    eta = _grid1d("eta", eta)
    nu = _grid1d("nu", nu)
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
    eta = _grid1d("eta", eta)
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
    eta = _grid1d("eta", eta)
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


def _batch_per_worker(B_tot, R):
    B_tot = v.positive_int("B_tot", B_tot)
    R = v.positive_int("R", R)
    if B_tot % R:
        raise ValueError(f"R must divide B_tot (fixed total batch), got R={R}, B_tot={B_tot}")
    return B_tot // R


def r_sweep(lam, m0, eta, nu, *, S: int, B_tot: int, Rs, rule: str = "fixed", cycles: int,
            sigma: float = 0.0, form: str = "exact"):
    """Theory loss curves over ``R`` at fixed ``B_tot``, for a grid of base rates ``eta``.

    ``eta`` (1-D) and the scalar ``nu`` are the ``R = 1`` values; each ``R``
    uses :func:`scaled_hyperparameters` and ``B = B_tot / R``. One
    ``expected_loss`` call per ``R`` (vectorised over ``eta``).

    Returns ``{R: ndarray of shape (len(eta), cycles + 1)}``.
    """
    eta = _grid1d("eta", eta)
    Rs = _worker_counts(Rs)
    out = {}
    for R in Rs:
        B = _batch_per_worker(B_tot, R)
        e, n = scaled_hyperparameters(eta, nu, R, rule)
        out[int(R)] = expected_loss(TwoPhase(e, n, S=S, R=int(R), B=B), lam, m0, cycles,
                                    sigma=sigma, form=form)
    return out


def simulate_r_sweep(lam, m0, eta, nu, *, S: int, B_tot: int, Rs, rule: str = "fixed",
                     cycles: int, seeds, sigma: float = 0.0, seed: int = 0,
                     sampler: str = "fast", progress: bool = True):
    """Monte-Carlo counterpart of :func:`r_sweep` (fast sampler, vectorised over seeds and workers).

    ``seeds`` is an int or a dict ``{R: int}`` (e.g. fewer seeds for large ``R``).
    Each ``(R, eta)`` pair gets its own deterministic seed.

    Returns ``{R: ndarray of shape (len(eta), seeds_R, cycles + 1)}``.
    """
    from .simulate import loss_curves

    eta = _grid1d("eta", eta)
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
    for R in Rs:
        _batch_per_worker(B_tot, R)
    jobs = [(R, j) for R in Rs for j in range(eta.size)]
    if progress:
        from tqdm.auto import tqdm

        jobs = tqdm(jobs, desc=f"simulate ({rule})", leave=False)
    out = {int(R): [] for R in Rs}
    for R, j in jobs:
        B = _batch_per_worker(B_tot, R)
        e, n = scaled_hyperparameters(eta[j], nu, R, rule)
        n_seeds = seeds[R] if isinstance(seeds, dict) else seeds
        out[int(R)].append(loss_curves(TwoPhase(float(e), float(n), S=S, R=int(R), B=B), lam, m0,
                                       cycles, n_seeds, sigma=sigma, sampler=sampler,
                                       seed=seed + 1000 * int(R) + j, progress=False))
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


# --- Figure-1 scans (Lookahead chapter) -------------------------------------------------------


def source_stack(lam, exponents):
    """Stack of initial moments ``m0 ∝ lam^{-s}``, one row per exponent ``s``.

    Row ``k`` is :func:`twophase.spectra.initial_moments` with ``kind="isotropic"``
    (``m0_i = 1/D``) where ``exponents[k] == 0`` and ``kind="source"`` with
    ``exponent=exponents[k]`` otherwise (both normalised to ``sum(m0) = 1``).

    Parameters
    ----------
    lam : array_like, shape ``(D,)``
        Eigenvalues.
    exponents : array_like, shape ``(K,)``
        Source exponents ``s >= 0``.

    Returns
    -------
    ndarray, shape ``(K, D)``
    """
    exponents = np.atleast_1d(np.asarray(exponents, dtype=np.float64))
    if exponents.ndim != 1 or exponents.size == 0:
        raise ValueError(f"exponents must be a non-empty scalar or 1-D array, got shape {exponents.shape}")
    return np.stack([initial_moments(lam, "isotropic") if s == 0 else
                     initial_moments(lam, "source", exponent=float(s)) for s in exponents])


class Figure1Panel(NamedTuple):
    """One panel of Figure 1: the one-cycle loss over ``(eta, nu)`` and its optima.

    Losses are relative to the initial loss ``L0 = ½ lam·m0``; rates are
    ``eta lam_max``.
    """

    L: np.ndarray          #: loss after one cycle / L0, shape (n_eta, n_nu)
    eta_star: np.ndarray   #: best eta lam_max for each nu (parabola-refined), shape (n_nu,)
    lmin: np.ndarray       #: min over eta of L / L0 for each nu, shape (n_nu,)
    nu_best: float         #: best nu overall (closed form in nu, fine eta grid)
    eta_best: float        #: eta lam_max at that optimum
    loss_best: float       #: loss at that optimum / L0


def figure1_panel(lam, m0, eta_rel, nu, eta_fine_rel, *, S: int, B: int, form: str = "hd") -> Figure1Panel:
    """Figure 1 of :cite:`agarwala2026twophase` for one spectrum: loss after one LA cycle.

    The grid ``L(eta, nu)`` is one :func:`loss_grid` call (``R = 1``, ``sigma = 0``,
    one cycle from ``m0``); ``eta*(nu)`` and ``min_eta L`` come from
    :func:`best_eta`; the overall best ``(eta, nu)`` from :func:`one_cycle_optimum`
    on the finer grid ``eta_fine_rel`` (``nu`` in closed form, no ``nu`` grid).

    Parameters
    ----------
    lam, m0 : array_like, shape ``(D,)``
        Eigenvalues and initial second moments.
    eta_rel, eta_fine_rel : array_like
        Log-spaced grids of ``eta lam_max`` for the map and for the optimum.
    nu : array_like
        Outer rates of the map.
    S, B : int
        Inner steps and batch size.
    form : {"hd", "exact"}
        Form of the moment equations.

    Returns
    -------
    Figure1Panel
    """
    lam = v.eigenvalues(lam)
    m0 = np.asarray(m0, dtype=np.float64)
    eta_rel = _grid1d("eta_rel", eta_rel)
    eta_fine_rel = _grid1d("eta_fine_rel", eta_fine_rel)
    L = loss_grid(lam, m0, eta_rel / lam.max(), nu, S=S, B=B, form=form)  # one call, n_eta x n_nu
    L0 = 0.5 * lam @ m0
    eta_star, lmin, _ = best_eta(L, eta_rel)
    opt = one_cycle_optimum(lam, m0, eta_fine_rel / lam.max(), S=S, B=B, form=form)
    return Figure1Panel(L / L0, eta_star, lmin / L0, float(opt.nu), float(opt.eta) * lam.max(),
                        float(opt.loss / opt.loss0))


class BestNuMap(NamedTuple):
    """Best one-cycle ``nu`` over label noise, initial condition and batch size."""

    B_over_D: np.ndarray  #: realised B/D (B rounded to an integer >= 1), shape (n_BD,)
    nu: np.ndarray        #: best nu, shape (n_sigma, n_exponent, n_BD)


def best_nu_map(lam, exponents, B_over_D, sigma_rel, eta_rel, *, S: int, form: str = "hd") -> BestNuMap:
    """Best outer rate after one LA cycle over ``(sigma, s, B/D)``.

    For each ``B/D`` (``B = max(1, round(B/D · D))``, ``D = len(lam)``) one
    :func:`one_cycle_optimum` call evaluates every initial condition
    ``m0 ∝ lam^{-s}`` (:func:`source_stack`) and every label noise
    ``sigma^2 = r · lam·m0_iso`` (``r`` in ``sigma_rel``, ``m0_iso`` the isotropic
    row, so noise and initial error have comparable scales).

    Parameters
    ----------
    lam : array_like, shape ``(D,)``
        Eigenvalues.
    exponents : array_like, shape ``(n_exponent,)``
        Source exponents ``s`` (``0`` = isotropic).
    B_over_D : sequence of float
        Batch sizes relative to ``D``.
    sigma_rel : sequence of float
        Ratios ``r = sigma^2 / (lam·m0_iso)``, each ``>= 0``.
    eta_rel : array_like
        Log-spaced grid of ``eta lam_max`` for the optimum over ``eta``.
    S : int
        Inner steps.
    form : {"hd", "exact"}
        Form of the moment equations.

    Returns
    -------
    BestNuMap
        ``(B_over_D, nu)``; ``nu[i, k, j]`` is the best ``nu`` for ``sigma_rel[i]``,
        ``exponents[k]`` and ``B_over_D[j]``.
    """
    lam = v.eigenvalues(lam)
    D = lam.size
    eta_rel = _grid1d("eta_rel", eta_rel)
    m0s = source_stack(lam, exponents)
    scale = float(lam @ initial_moments(lam, "isotropic"))
    sigmas = np.sqrt(np.asarray(sigma_rel, dtype=np.float64) * scale)
    bds, nus = [], []
    for bd in B_over_D:
        B = max(1, int(round(bd * D)))
        opt = one_cycle_optimum(lam, m0s, eta_rel / lam.max(), S=S, B=B, sigma=sigmas, form=form)
        bds.append(B / D)
        nus.append(opt.nu)  # shape (n_sigma, n_exponent)
    return BestNuMap(np.array(bds), np.stack(nus, axis=-1))


# --- rates over R with identical eigenvalues (LA-DiLoCo chapter) -------------------------------


def isotropic_tau(eta, nu, R: int, rule: str, *, S: int, B_tot: int, lam0: float, D: int,
                  form: str = "exact"):
    """Per-cycle loss factor ``tau_sym`` of LA-DiLoCo with ``D`` identical eigenvalues ``lam0``.

    The base rates ``(eta, nu)`` (the ``R = 1`` values) are scaled to ``R`` workers by
    :func:`scaled_hyperparameters`, with ``B = B_tot / R``; ``tau_sym`` is the closed
    form of :func:`twophase.operators.isotropic_eigenvalues` (the spectral radius
    of the cycle operator; the loss is ``L0 tau^t`` from isotropic ``m0``).

    Parameters
    ----------
    eta : float or array_like
        Base inner rate(s).
    nu : float
        Base outer rate.
    R : int
        Number of workers (must divide ``B_tot``).
    rule : {"fixed", "sqrt"}
        Scaling rule.
    S, B_tot, lam0, D, form
        Inner steps, total batch, eigenvalue, dimension, form of the moment equations.

    Returns
    -------
    float or ndarray
        A float for scalar ``eta``, else an array of ``eta``'s shape.
    """
    from .operators import isotropic_eigenvalues

    B = _batch_per_worker(B_tot, R)
    e, n = scaled_hyperparameters(eta, nu, R, rule)
    if e.ndim == 0 and n.ndim == 0:
        return float(isotropic_eigenvalues(TwoPhase(float(e), float(n), S=S, R=int(R), B=B), lam0, D, form)[0])
    return isotropic_eigenvalues(TwoPhase(e, n, S=S, R=int(R), B=B), lam0, D, form)[0]


def rate_spread(tau_by_R: dict, Rs=None, reference: int = 1):
    """Relative spread of per-cycle log-rates over ``R``.

    .. math::

        \\max_{R} \\frac{|\\log\\tau_R - \\log\\tau_{\\rm ref}|}{|\\log\\tau_{\\rm ref}|},

    the largest fraction by which the convergence rate with ``R`` workers
    differs from the reference one. Entries that are not finite (a rate
    ``<= 0`` or ``inf``, or ``tau_ref = 1``) give ``inf``.

    Parameters
    ----------
    tau_by_R : dict
        ``{R: tau}``, arrays of a common shape (or floats).
    Rs : sequence of int, optional
        Worker counts to compare (default: every key).
    reference : int
        Key of the reference rate.

    Returns
    -------
    ndarray, the common shape of the ``tau``.
    """
    Rs = list(tau_by_R) if Rs is None else list(Rs)
    with np.errstate(invalid="ignore", divide="ignore"):
        base = np.log(tau_by_R[reference])
        d = np.max([np.abs(np.log(tau_by_R[R]) - base) for R in Rs], axis=0) / np.abs(base)
    return np.where(np.isfinite(d), d, np.inf)


def isotropic_rate_spread(eta: float, nu: float, Rs, rule: str, *, S: int, B_tot: int, lam0: float,
                          D: int, form: str = "exact") -> float:
    """:func:`rate_spread` of :func:`isotropic_tau` at one base rate ``eta`` (reference ``R = 1``).

    Returns ``max_{R in Rs} |log tau_R - log tau_1| / |log tau_1|`` as a float.
    """
    kw = dict(S=S, B_tot=B_tot, lam0=lam0, D=D, form=form)
    b = np.log(isotropic_tau(eta, nu, 1, rule, **kw))
    return float(max(abs(np.log(isotropic_tau(eta, nu, R, rule, **kw)) - b) for R in Rs) / abs(b))


def last_true_from_start(mask, grid) -> float:
    """Largest ``grid`` value up to which ``mask`` holds without interruption from the start.

    Parameters
    ----------
    mask : array_like of bool, shape ``(n,)``
    grid : array_like, shape ``(n,)``
        Increasing grid the mask is evaluated on.

    Returns
    -------
    float
        ``grid[k - 1]`` where ``k`` is the first index with ``mask`` false
        (``grid[-1]`` if it never fails); ``nan`` if ``mask[0]`` is false.
    """
    mask = np.asarray(mask, dtype=bool)
    grid = np.asarray(grid, dtype=np.float64)
    if mask.ndim != 1 or mask.shape != grid.shape or mask.size == 0:
        raise ValueError(f"mask and grid must be non-empty 1-D arrays of one shape, got {mask.shape}, {grid.shape}")
    if not mask[0]:
        return np.nan
    k = np.argmin(mask) if not mask.all() else mask.size
    return float(grid[k - 1])
