"""Chapter 4 (stacked momentum): the computations behind its results.

Owns the Figure-3 rates and their verdicts, the effective-spectrum checks (band compression, removed
modes, the slope at zero), the tuned comparison of six method families at equal gradient steps with
its verdicts, and the comparison of the SLA theory with Monte-Carlo.

It may import the lower layers (``twophase.momentum``, ``methods``, ``simulate``, ``spectra``);
nothing below ``twophase.experiments`` imports it.
"""
from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np

from .. import _validate as v
from . import _checks as c
from ..methods import TwoPhase
from ..engine import effective_spectrum, expected_loss, residual_polynomials
from ..momentum import critical_nu, from_pytorch, noiseless_cycle_map, noiseless_radius, per_step_rate, to_pytorch
from ..simulate import loss_curves
from ..summaries import mean_se

__all__ = [
    "FAMILIES",
    "family_methods",
    "tuned_losses",
    "refine_tuned",
    "retune",
    "STACKING_LO",
    "STACKING_HI",
    "STACKING_VERDICTS",
    "stacking_ratio",
    "stacking_verdict",
    "rates_vs_S",
    "band_edges",
    "band_bound",
    "h_slope_at_zero",
    "removed_modes",
    "octave_max",
    "CriticalChecks",
    "critical_checks",
    "Figure3",
    "figure3",
    "TopPanel",
    "top_panel",
    "BottomPanel",
    "SmallS",
    "small_S_comparison",
    "bottom_panel",
    "SpectrumChecks",
    "spectrum_checks",
    "sqrt_speedup",
    "Tuned",
    "tuned_comparison",
    "StackingRow",
    "stacking_table",
    "grid_edges",
    "Retuned",
    "retuned_verdict",
    "McCase",
    "sla_theory_vs_simulation",
    "paper_verdicts",
    "top_panel_details",
    "top_panel_glue",
    "bottom_panel_details",
    "octave_text",
    "bottom_panel_glue",
    "spectrum_text",
    "spectrum_details",
    "spectrum_glue",
    "budget_grid",
    "stacking_markdown",
    "tuned_params_markdown",
    "grid_edges_detail",
    "grid_edges_glue",
    "retune_detail",
    "retuned_markdown",
    "mc_text",
    "mc_z_text",
]


# --------------------------------------------------------------------------- tuned comparisons (moved from twophase.momentum)
#: Method families compared at equal gradient steps in the book (chapter 4).
FAMILIES = ("SGD", "SGD+momentum", "SGD+Nesterov", "LA", "SLA heavy ball", "SLA Nesterov")


def family_methods(family, eta, nu_pt=(1.0,), betas=(0.0,), S_values=(1,), inner=("reset",), B=1):
    """The grid of methods one family is tuned over, as ``TwoPhase`` objects.

    Every family gets the same ``eta`` values (an array, vectorised). Momentum
    families get every ``beta`` in ``betas``; two-phase families every ``S`` in
    ``S_values`` and every outer rate ``nu_pt`` (PyTorch units: the rate on the
    raw buffer, converted to EMA with :func:`from_pytorch`, so that ``nu_pt = 1``
    means "critical" for every ``beta_out``); SLA also every inner-buffer policy
    in ``inner`` and ``beta_in = beta_out = beta`` pairs over ``betas x betas``.

    * ``SGD``: ``TwoPhase(eta, S=1)``.
    * ``SGD+momentum``: heavy-ball SGD, ``TwoPhase(eta, S=1, beta_in=beta, inner_momentum="carry")``.
    * ``SGD+Nesterov``: ``TwoPhase(eta, nu=1/(1-beta), S=1, beta_out=beta, outer="nesterov")``,
      i.e. PyTorch Nesterov SGD with learning rate ``eta``.
    * ``LA``: ``TwoPhase(eta, nu=nu_pt, S)``.
    * ``SLA heavy ball`` / ``SLA Nesterov``: ``TwoPhase(eta, nu=nu_pt/(1-beta_out), S, beta_in, beta_out)``.

    Returns a list of ``TwoPhase`` whose ``eta`` has shape ``(n_eta, 1)`` and
    ``nu`` shape ``(n_nu,)`` (grid ``(n_eta, n_nu)``).
    """
    v.choice("family", family, FAMILIES)
    c.grid("eta", eta)
    c.grid("nu_pt", nu_pt)
    c.grid("betas", betas, closed=True, upper=1.0)
    c.ints("S_values", S_values)
    c.choices("inner", inner, ("reset", "carry"))
    v.positive_int("B", B)
    eta = np.asarray(eta, dtype=np.float64).reshape(-1, 1)
    nu_pt = np.asarray(nu_pt, dtype=np.float64).reshape(-1)
    out = []
    if family == "SGD":
        out.append(TwoPhase(eta, nu=np.ones(1), S=1, B=B))
    elif family == "SGD+momentum":
        out += [TwoPhase(eta, nu=np.ones(1), S=1, B=B, beta_in=b, inner_momentum="carry") for b in betas]
    elif family == "SGD+Nesterov":
        out += [TwoPhase(eta, nu=np.full(1, from_pytorch(1.0, b)), S=1, B=B, beta_out=b, outer="nesterov")
                for b in betas]
    elif family == "LA":
        out += [TwoPhase(eta, nu=nu_pt, S=S, B=B) for S in S_values]
    else:
        outer = "heavy_ball" if family == "SLA heavy ball" else "nesterov"
        out += [TwoPhase(eta, nu=from_pytorch(nu_pt, bo), S=S, B=B, beta_in=bi, beta_out=bo, outer=outer,
                         inner_momentum=pol)
                for S in S_values for bi in betas for bo in betas for pol in inner]
    return out


def tuned_losses(methods, lam, m0, budgets, sigma=0.0, form="exact"):
    """Best expected loss over a grid of methods at each budget of gradient steps.

    Parameters
    ----------
    methods : list of TwoPhase
        Grids as produced by :func:`family_methods` (``R = 1`` so a cycle of ``S``
        inner steps costs ``S`` gradient steps).
    budgets : sequence of int
        Gradient-step budgets; each must be a multiple of every method's ``S``.

    Returns
    -------
    best : ndarray, shape (len(budgets),)
        Minimum expected loss over every grid point of every method.
    params : list of dict
        For each budget, the tuned ``eta``, ``nu`` (EMA), ``nu_pt``, ``S``, ``beta_in``,
        ``beta_out``, ``inner_momentum`` and whether ``eta``/``nu`` sit at the edge of their grid.
    """
    _methods(methods)
    c.ints("budgets", budgets)
    sigma = v.nonnegative_real("sigma", sigma)
    c.form(form)
    lam = v.eigenvalues(lam)
    budgets = np.asarray([v.positive_int("budget", int(b)) for b in budgets])
    best = np.full(budgets.size, np.inf)
    params = [None] * budgets.size
    for m in methods:
        if any(b % m.S for b in budgets):
            raise ValueError(f"every budget must be a multiple of S={m.S}, got {budgets.tolist()}")
        L = expected_loss(m, lam, m0, int(budgets.max() // m.S), sigma=sigma, form=form)
        Lb = L[..., budgets // m.S]  # grid + (nb,)
        flat = Lb.reshape(-1, budgets.size)
        idx = np.argmin(flat, axis=0)
        eta_g = np.broadcast_to(np.asarray(m.eta, dtype=float), m.grid_shape)
        nu_g = np.broadcast_to(np.asarray(m.nu, dtype=float), m.grid_shape)
        for k in range(budgets.size):
            val = flat[idx[k], k]
            if val < best[k]:
                best[k] = val
                i = np.unravel_index(idx[k], m.grid_shape)
                params[k] = {
                    "eta": float(eta_g[i]), "nu": float(nu_g[i]),
                    "nu_pt": float(nu_g[i] * (1 - m.beta_out)), "S": m.S,
                    "beta_in": m.beta_in, "beta_out": m.beta_out, "outer": m.outer,
                    "inner_momentum": m.inner_momentum,
                    "eta_at_edge": bool(i[0] in (0, m.grid_shape[0] - 1)) if m.grid_shape[0] > 1 else False,
                    "nu_at_edge": bool(i[-1] in (0, m.grid_shape[-1] - 1)) if m.grid_shape[-1] > 1 else False,
                }
    return best, params


def _methods(methods):
    if isinstance(methods, TwoPhase) or isinstance(methods, (str, bytes, dict)) or not hasattr(methods, "__iter__"):
        raise v.ArgumentTypeError(f"methods must be a non-empty list of twophase.TwoPhase (from family_methods), "
                                  f"got {type(methods).__name__}")
    methods = list(methods)
    if not methods:
        raise ValueError("methods must be a non-empty list of twophase.TwoPhase, got an empty one")
    for m in methods:
        c.instance("methods", m, TwoPhase)
    return methods


_PARAM_KEYS = ("eta", "nu", "nu_pt", "S", "beta_in", "beta_out", "outer", "inner_momentum")


def _params(params):
    """A winner of :func:`tuned_losses` (a dict with at least :data:`_PARAM_KEYS`)."""
    c.mapping("params", params, what="a dict of tuned hyper-parameters (from tuned_losses)")
    missing = [k for k in _PARAM_KEYS if k not in params]
    if missing:
        raise ValueError(f"params must hold the keys {_PARAM_KEYS} (a winner of tuned_losses), missing {missing}")
    for k in ("eta", "nu", "nu_pt"):
        v.positive_real(f"params[{k!r}]", params[k])
    v.positive_int("params['S']", params["S"])
    return params


def _figure3(f3):
    c.instance("f3", f3, Figure3, "figure3")
    if np.size(f3.S) < 4:
        raise ValueError(f"f3 must hold rates up to S_max >= 4 (the panels fit halves and quarters of S), "
                         f"got S_max = {np.size(f3.S)}")
    return f3


def _tuned(t):
    c.instance("t", t, Tuned, "tuned_comparison")
    for s, res in t.results.items():
        missing = [f for f in SINGLE + STACKED if f not in res]
        if missing:
            raise ValueError(f"t must hold the momentum families {SINGLE + STACKED}, missing {missing} at sigma={s}")
    return t


# --------------------------------------------------------------------------- Figure 3 helpers
def rates_vs_S(method: TwoPhase, lam: float, S_values):
    """Per-step rate ``rho^{1/S}`` of one mode ``lam`` for each ``S`` in ``S_values``
    (all other fields of ``method`` kept; scalar ``eta``, ``nu``)."""
    c.grid("lam", lam, closed=True)
    c.ints("S_values", S_values)
    if not isinstance(method, TwoPhase):
        raise ValueError(f"method must be a twophase.TwoPhase, got {type(method).__name__}")
    if method.grid_shape != ():
        raise ValueError(f"rates_vs_S needs scalar eta and nu, got grid shape {method.grid_shape}")
    lam = np.atleast_1d(np.asarray(lam, dtype=np.float64))
    return np.array([per_step_rate(method.replace(S=int(S)), lam)[0] for S in S_values])


def band_edges(eta, beta_in):
    """Complex-root band of inner heavy ball: ``eta lam`` in ``[(1 - sqrt b)^2, (1 + sqrt b)^2]``.

    Inside it ``p_k = beta^{k/2} (U_k(x) - sqrt(beta) U_{k-1}(x))`` with
    ``x = (1 + beta - eta lam) / (2 sqrt(beta))`` (Chebyshev polynomials of the second
    kind), so ``|p_S| <= (S + 1)(1 + sqrt(beta)) beta^{S/2}``. Returns ``(lam_lo, lam_hi)``.
    """
    b = v.unit_interval("beta_in", beta_in)
    eta = v.positive_real("eta", eta)
    return (1 - np.sqrt(b)) ** 2 / eta, (1 + np.sqrt(b)) ** 2 / eta


def band_bound(S, beta_in):
    """Bound ``(S + 1)(1 + sqrt(beta)) beta^{S/2}`` on ``|p_S|`` inside :func:`band_edges`."""
    b = v.unit_interval("beta_in", beta_in)
    S = v.positive_int("S", S)
    return (S + 1) * (1 + np.sqrt(b)) * b ** (S / 2)


def h_slope_at_zero(eta, beta_in, S):
    """``dh/dlam`` at ``lam = 0``: ``eta sum_{k=1}^{S} (1 - beta^k) / (1 - beta)``
    (``-> eta S / (1 - beta)`` for large ``S``; ``eta S`` without momentum)."""
    eta = v.positive_real("eta", eta)
    b = v.unit_interval("beta_in", beta_in)
    S = v.positive_int("S", S)
    k = np.arange(1, S + 1)
    return float(eta * np.sum((1 - b ** k) / (1 - b)))


def removed_modes(eta, beta_in, S, lam_max=None, n=200001):
    """Eigenvalues ``lam`` in ``(0, lam_max]`` where ``p_S(lam) = 0``, i.e. ``h = 1``:
    the modes a critical Nesterov outer step (``nu_pt h = 1``) removes in one cycle.

    Located by sign changes on a fine grid and refined by bisection. ``lam_max``
    defaults to the stability edge ``2 (1 + beta_in) / eta`` of inner heavy ball.
    """
    if lam_max is not None:
        lam_max = v.positive_real("lam_max", lam_max)
    n = v.integer("n", n, minimum=3)
    v.array_size("n", float(n) * (v.positive_int("S", S) + 1), "the residual polynomials on the grid")
    b = v.unit_interval("beta_in", beta_in)
    eta = v.positive_real("eta", eta)
    S = v.positive_int("S", S)
    lam_max = 2 * (1 + b) / eta if lam_max is None else float(lam_max)
    x = np.linspace(0, lam_max, n)[1:]
    p = residual_polynomials(x, eta, b, S)[-1]
    roots = []
    if b == 0.0:
        return np.array([1.0 / eta]) if 1.0 / eta <= lam_max else np.array([])
    idx = np.nonzero(np.sign(p[:-1]) * np.sign(p[1:]) < 0)[0]
    for i in idx:
        lo, hi = x[i], x[i + 1]
        flo = p[i]
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            fm = residual_polynomials(mid, eta, b, S)[-1]
            if np.sign(fm) == np.sign(flo):
                lo, flo = mid, fm
            else:
                hi = mid
        roots.append(0.5 * (lo + hi))
    return np.array(roots)


def refine_tuned(params, lam, m0, budget, sigma=0.0, B=1, factor=1.6, n=9, form="exact"):
    """Re-tune one winner of :func:`tuned_losses` on a finer local grid.

    Keeps the discrete choices in ``params`` (``S``, betas, outer, inner policy)
    and scans ``eta`` and the PyTorch-unit outer rate ``nu_pt`` over
    ``geomspace(x / factor, x * factor, n)`` around the tuned values (``nu`` is
    only scanned for two-phase methods, ``S > 1``; for ``S = 1`` only the
    product ``nu * eta`` matters). Returns ``(best loss at budget, params)`` with
    ``params`` updated to the new optimum, so it can be applied repeatedly with a
    shrinking ``factor`` to check that the tuning has converged.
    """
    params = _params(params)
    factor = v.positive_real("factor", factor)
    if not factor > 1:
        raise ValueError(f"factor must be a finite number > 1 (allowed range (1, inf)), got {factor!r}")
    n = v.positive_int("n", n)
    B = v.positive_int("B", B)
    sigma = v.nonnegative_real("sigma", sigma)
    c.form(form)
    lam = v.eigenvalues(lam)
    budget = v.positive_int("budget", budget)
    S = int(params["S"])
    if budget % S:
        raise ValueError(f"budget must be a multiple of S={S}, got {budget}")
    eta = params["eta"] * np.geomspace(1 / factor, factor, n)[:, None]
    bo = float(params["beta_out"])
    if S > 1:
        nu = from_pytorch(params["nu_pt"] * np.geomspace(1 / factor, factor, n), bo)
    else:
        nu = np.array([params["nu"]])
    m = TwoPhase(eta, nu=nu, S=S, B=B, beta_in=float(params["beta_in"]), beta_out=bo,
                 outer=params["outer"], inner_momentum=params["inner_momentum"])
    L = expected_loss(m, lam, m0, budget // S, sigma=sigma, form=form)[..., -1]
    i = np.unravel_index(np.argmin(L), L.shape)
    eta_g = np.broadcast_to(np.asarray(m.eta, dtype=float), m.grid_shape)
    nu_g = np.broadcast_to(np.asarray(m.nu, dtype=float), m.grid_shape)
    new = dict(params)
    new.update(eta=float(eta_g[i]), nu=float(nu_g[i]), nu_pt=float(nu_g[i] * (1 - bo)),
               eta_at_edge=bool(i[0] in (0, n - 1)), nu_at_edge=bool(S > 1 and i[1] in (0, n - 1)))
    return float(L[i]), new


def retune(params, lam, m0, budget, sigma=0.0, B=1, factors=(1.6, 1.25, 1.1, 1.04, 1.015), n=9, tol=0.01,
           form="exact"):
    """Apply :func:`refine_tuned` with shrinking ``factors`` until one round lowers the
    excess loss ``L - sigma^2/2`` by less than the fraction ``tol``.

    Returns ``(loss, params, history, converged)``: ``history`` lists the excess loss after
    each round (the first entry is the starting point's).
    """
    params = _params(params)
    lam = c.spectrum(lam)
    m0 = v.moments(m0, lam.size)
    budget = v.positive_int("budget", budget)
    sigma = v.nonnegative_real("sigma", sigma)
    B = v.positive_int("B", B)
    factors = c.grid("factors", factors, lower=1.0).tolist()
    n = v.positive_int("n", n)
    tol = v.nonnegative_real("tol", tol)
    c.form(form)
    floor = 0.5 * float(sigma) ** 2
    loss, p = None, dict(params)
    history = []
    converged = False
    for f in factors:
        new, p = refine_tuned(p, lam, m0, budget, sigma=sigma, B=B, factor=f, n=n, form=form)
        history.append(new - floor)
        if loss is not None and (loss - new) <= tol * (loss - floor):
            converged = True
            loss = new
            break
        loss = new
    return loss, p, history, converged


# --------------------------------------------------------------------------- chapter 4 verdict
#: Verdict bands for :func:`stacking_verdict`: a ratio below ``STACKING_LO`` means stacking
#: helps, above ``STACKING_HI`` that single-loop momentum is better (``1.25 = 1 / 0.8``, so the
#: band is symmetric on a log scale around 1).
STACKING_LO, STACKING_HI = 0.8, 1.25

#: The three outcomes of :func:`stacking_verdict`.
STACKING_VERDICTS = ("stacking helps", "about equal", "single-loop momentum is better")


def stacking_ratio(stacked, single, floor=0.0):
    r"""Excess-loss ratio of the best stacked method to the best single-loop momentum method.

    .. math:: r = \frac{L_\mathrm{stacked} - L_\infty}{L_\mathrm{single} - L_\infty},
              \qquad L_\infty = \sigma^2 / 2 \text{ (the noise floor)}.

    Parameters
    ----------
    stacked, single : float
        Best tuned expected losses of the stacked (SLA) and the single-loop momentum families
        at the same budget of gradient steps.
    floor : float, optional
        The irreducible loss ``sigma**2 / 2`` subtracted from both (default 0).

    Returns
    -------
    float
        The ratio ``r``; ``r < 1`` means stacking reaches the lower excess loss.
    """
    stacked = np.float64(v.real("stacked", stacked))
    single = np.float64(v.real("single", single))
    floor = np.float64(v.nonnegative_real("floor", floor))
    for name, x in (("stacked", stacked), ("single", single)):
        if x < floor:
            raise ValueError(f"{name} must be >= floor = {floor!r} (a loss above the noise floor), got {x!r}")
    return (stacked - floor) / (single - floor)


def stacking_verdict(ratio, lo=STACKING_LO, hi=STACKING_HI):
    """Turn an excess-loss ratio (:func:`stacking_ratio`) into chapter 4's verdict.

    Parameters
    ----------
    ratio : float
        ``excess(stacked) / excess(single-loop)``; ``inf`` is allowed (single-loop reached the
        floor), nan is not.
    lo, hi : float, optional
        Band edges, ``0 < lo <= hi`` (defaults 0.8 and 1.25). Strict inequalities: a ratio
        exactly at an edge is "about equal".

    Returns
    -------
    str
        ``"stacking helps"`` if ``ratio < lo``, ``"single-loop momentum is better"`` if
        ``ratio > hi``, otherwise ``"about equal"`` (one of :data:`STACKING_VERDICTS`).

    Raises
    ------
    ValueError
        If ``ratio`` is nan or not a real scalar, or the band is not ``0 < lo <= hi``.

    Examples
    --------
    >>> stacking_verdict(0.5), stacking_verdict(1.0), stacking_verdict(2.0)
    ('stacking helps', 'about equal', 'single-loop momentum is better')
    """
    if (isinstance(ratio, (bool, np.bool_)) or not isinstance(ratio, (numbers.Real, np.ndarray, np.generic))
            or np.asarray(ratio).dtype.kind not in "iuf"):
        raise v.ArgumentTypeError(f"ratio must be a real scalar, not nan (allowed range [0, inf]), "
                                  f"got {type(ratio).__name__} {ratio!r:.60}")
    if np.asarray(ratio).ndim == 0 and ratio < 0:
        raise ValueError(f"ratio must be >= 0 (a ratio of excess losses; allowed range [0, inf]), got {ratio!r}")
    lo = v.positive_real("lo", lo)
    hi = v.positive_real("hi", hi)
    if hi < lo:
        raise ValueError(f"hi must be >= lo (allowed range [lo, inf)), got lo={lo}, hi={hi}")
    r = np.asarray(ratio, dtype=np.float64) if not isinstance(ratio, str) else None
    if r is None or r.ndim or np.isnan(r):
        raise ValueError(f"ratio must be a real scalar, not nan (allowed range [-inf, inf]), got {ratio!r}")
    r = float(r)
    if r < lo:
        return STACKING_VERDICTS[0]
    if r > hi:
        return STACKING_VERDICTS[2]
    return STACKING_VERDICTS[1]




# --------------------------------------------------------------------------- chapter 4 computations
def octave_max(S, x, lo=8):
    """Max of ``x`` over octaves ``[2^k, 2^{k+1})`` of ``S`` starting at ``lo``: (starts, maxima).

    (Moved from ``twophase.plotting.momentum``: it computes numbers that decide a claim.)
    """
    S = np.asarray(c.ints("S", S))
    x = c.real_values("x", x)
    if x.shape != S.shape:
        raise ValueError(f"x must have the shape of S {S.shape}, got {x.shape}")
    lo = v.positive_int("lo", lo)
    S = np.asarray(S)
    x = np.asarray(x)
    starts, out = [], []
    k = lo
    while k < S.max():
        w = (S >= k) & (S < 2 * k)
        if np.any(w):
            starts.append(k)
            out.append(float(np.max(x[w])))
        k *= 2
    return np.array(starts), np.array(out)


class CriticalChecks(NamedTuple):
    """Nilpotency of the critical Nesterov cycle and the heavy-ball determinant."""

    worst_square: float  #: max |A_N^2| at nu_pt h = 1
    worst_det: float     #: max |det A_HB - beta_out|


def critical_checks(eta, beta_in, beta_out, nu, lam, S_values=(1, 3, 8, 20)) -> CriticalChecks:
    """``A_N^2 = 0`` at the critical rate ``nu_pt h = 1`` (per mode), ``det A_HB = beta_out`` at ``nu``."""
    eta = v.positive_real("eta", eta)
    v.unit_interval("beta_in", beta_in)
    v.unit_interval("beta_out", beta_out)
    v.positive_real("nu", nu)
    lam = c.grid("lam", lam)
    S_values = c.ints("S_values", S_values)
    v.work_estimate(len(S_values) * (3e-4 * lam.size + 2e-7 * sum(S_values) * lam.size),
                    f"critical_checks ({lam.size:,} modes, one cycle map each, at {len(S_values)} S)",
                    "use fewer modes lam or S_values")
    lam = np.asarray(lam, dtype=np.float64)
    sq, det = 0.0, 0.0
    for S in S_values:
        base = TwoPhase(eta, S=S, beta_in=beta_in, beta_out=beta_out, outer="nesterov")
        h = effective_spectrum(base, lam)
        for i in range(lam.size):
            A = noiseless_cycle_map(base.replace(nu=critical_nu(beta_out, h[i])), lam[i:i + 1])[0]
            sq = max(sq, float(np.max(np.abs(A @ A))))
        A_hb = noiseless_cycle_map(base.replace(nu=nu, outer="heavy_ball"), lam)
        det = max(det, float(np.max(np.abs(np.linalg.det(A_hb) - beta_out))))
    return CriticalChecks(sq, det)


class Figure3(NamedTuple):
    """Per-step rates of one mode against ``S`` (Figure 3)."""

    S: np.ndarray   #: 1..S_max
    top: dict       #: ``{(outer, inner): rates}`` at ``nu``
    bottom: dict    #: the same at ``nu = 1/(1 - beta_out)``
    nu: float
    nu_crit: float
    limit: float    #: ``beta_in^{1/4}``


def figure3(eta, lam, beta_in, beta_out, nu, S_max: int) -> Figure3:
    """Rates of both outer momenta with the inner buffer reset or carried, at ``nu`` and at critical ``nu``."""
    v.positive_real("eta", eta)
    v.positive_real("lam", lam)
    v.unit_interval("beta_in", beta_in)
    v.unit_interval("beta_out", beta_out)
    v.positive_real("nu", nu)
    S_max = v.positive_int("S_max", S_max)
    v.work_estimate(2e-3 * S_max * (1 + S_max / 2000), f"figure3 (8 rate curves over S = 1..{S_max:,})",
                    "use a smaller S_max")
    S = np.arange(1, v.positive_int("S_max", S_max) + 1)
    base = TwoPhase(eta, beta_in=beta_in, beta_out=beta_out)
    nc = critical_nu(beta_out)
    combos = [(o, i) for o in ("heavy_ball", "nesterov") for i in ("reset", "carry")]
    top = {c: rates_vs_S(base.replace(nu=nu, outer=c[0], inner_momentum=c[1]), lam, S) for c in combos}
    bot = {c: rates_vs_S(base.replace(nu=nc, outer=c[0], inner_momentum=c[1]), lam, S) for c in combos}
    return Figure3(S, top, bot, float(nu), nc, float(beta_in) ** 0.25)


class TopPanel(NamedTuple):
    """Verdict inputs for Figure 3's top panel."""

    hb_increasing: bool       #: reduced heavy ball strictly increasing over S
    S_mono: int               #: full heavy ball increasing from this S on
    unstable_carry: list      #: S where full heavy ball has rate >= 1
    hb_lower_bound: bool      #: reduced heavy ball >= beta_out^{1/(2S)} at every S (det = beta_out)
    hb_gap_last: float        #: 1 - rate at S_max (reduced heavy ball)
    hb_gap_bound: float       #: -log(beta_out) / (2 S_max), the bound on that gap
    hb_slope: float           #: fitted exponent of 1 - rate against S on S >= S_max/2
    nesterov_faster_reset: bool  #: reduced Nesterov < reduced heavy ball at every S
    nesterov_faster_carry: float  #: fraction of S where full Nesterov < full heavy ball
    nu_pt: float              #: PyTorch outer rate of the top panel
    nesterov_late_increasing: bool  #: reduced Nesterov strictly increasing on S >= S_max/2
    nesterov_late: tuple      #: (rate at S_max/2, at S_max)


def top_panel(f3: Figure3, beta_out: float) -> TopPanel:
    """Measure Figure 3's top-panel statements (heavy ball worsens with S and tends to one; Nesterov faster)."""
    _figure3(f3)
    beta_out = v.open_unit("beta_out", beta_out)
    S, top = f3.S, f3.top
    hb_r, ne_r = top["heavy_ball", "reset"], top["nesterov", "reset"]
    hb_c, ne_c = top["heavy_ball", "carry"], top["nesterov", "carry"]
    inc = np.diff(hb_c) > 0
    S_mono = int(S[np.max(np.nonzero(~inc)[0]) + 1]) if np.any(~inc) else 1
    late = S >= S[-1] // 2
    lb = beta_out ** (1 / (2 * S))
    slope = float(np.polyfit(np.log(S[late]), np.log(1 - hb_r[late]), 1)[0])
    return TopPanel(bool(np.all(np.diff(hb_r) > 0)), S_mono, S[hb_c >= 1].tolist(),
                    bool(np.all(hb_r >= lb - 1e-12)), float(1 - hb_r[-1]), float(-np.log(beta_out) / (2 * S[-1])),
                    slope, bool(np.all(ne_r < hb_r)), float(np.mean(ne_c < hb_c)), float(to_pytorch(f3.nu, beta_out)),
                    bool(np.all(np.diff(ne_r[late]) > 0)), (float(ne_r[S[-1] // 2 - 1]), float(ne_r[-1])))


class BottomPanel(NamedTuple):
    """Verdict inputs for Figure 3's bottom panel (critical ``nu``)."""

    env: tuple           #: worst reduced-Nesterov rate on [S/2, 3S/4) and [3S/4, S]
    hb_env: tuple        #: the same for reduced heavy ball
    gap_ratio: float     #: Nesterov (1 - env2) / (1 - env1)
    hb_gap_ratio: float  #: heavy ball's
    q: float             #: gap ratio a 1/S decay predicts, (S/2) / (3S/4)
    limit_err: float     #: |env2 - beta_in^{1/4}| / (1 - beta_in^{1/4})
    hb_slope: float      #: fitted exponent of 1 - rate (heavy ball) on S >= S_max/2
    octaves: np.ndarray  #: octave starts
    diff_max: np.ndarray  #: max |rate_reduced - rate_full| per octave
    rel_diff_max: np.ndarray  #: max |log rate_reduced - log rate_full| / |log rate_reduced| per octave
    stable_reset: list   #: S <= S_small where the reduced system is stable
    stable_carry: list   #: the same for the full system
    median_reset: float
    median_carry: float
    full_wins: list      #: S <= S_small where the full system has the smaller rate
    n_small: int


def bottom_panel(f3: Figure3, S_small: int) -> BottomPanel:
    """Measure Figure 3's bottom-panel statements."""
    _figure3(f3)
    S_small = v.positive_int("S_small", S_small)
    S, bot = f3.S, f3.bottom
    ne_r, ne_c, hb_r = bot["nesterov", "reset"], bot["nesterov", "carry"], bot["heavy_ball", "reset"]
    n = S[-1]
    h1, h2 = (S >= n // 2) & (S < 3 * n // 4), S >= 3 * n // 4
    env = (float(ne_r[h1].max()), float(ne_r[h2].max()))
    hb_env = (float(hb_r[h1].max()), float(hb_r[h2].max()))
    w = S >= n // 2
    slope = float(np.polyfit(np.log(S[w]), np.log(1 - hb_r[w]), 1)[0])
    starts, dmax = octave_max(S, np.abs(ne_r - ne_c))
    _, rel = octave_max(S, np.abs(np.log(ne_r) - np.log(ne_c)) / np.abs(np.log(ne_r)))
    small = S <= S_small
    return BottomPanel(env, hb_env, (1 - env[1]) / (1 - env[0]), (1 - hb_env[1]) / (1 - hb_env[0]),
                       float((n // 2) / (3 * n // 4)), abs(env[1] - f3.limit) / (1 - f3.limit), slope, starts, dmax,
                       rel, [int(s) for s in S[small & (ne_r < 1)]], [int(s) for s in S[small & (ne_c < 1)]],
                       float(np.median(ne_r[small])), float(np.median(ne_c[small])),
                       [int(s) for s in S[small & (ne_c < ne_r)]], int(small.sum()))


class SmallS(NamedTuple):
    """Reduced against full system at small ``S`` for one outer momentum and one ``nu``."""

    stable_reset: list
    stable_carry: list
    median_reset: float
    median_carry: float
    full_wins: list     #: S where the full system has the smaller rate


def small_S_comparison(f3: Figure3, S_small: int, panel: str = "bottom", outer: str = "nesterov") -> SmallS:
    """Stability and median rate of the reduced and full systems for ``S <= S_small``."""
    _figure3(f3)
    S_small = v.positive_int("S_small", S_small)
    v.choice("panel", panel, ("bottom", "top"))
    v.choice("outer", outer, ("heavy_ball", "nesterov"))
    rates = f3.bottom if panel == "bottom" else f3.top
    r, c, S = rates[outer, "reset"], rates[outer, "carry"], f3.S
    small = S <= S_small
    return SmallS([int(s) for s in S[small & (r < 1)]], [int(s) for s in S[small & (c < 1)]],
                  float(np.median(r[small])), float(np.median(c[small])), [int(s) for s in S[small & (c < r)]])


class SpectrumChecks(NamedTuple):
    """The effective-spectrum curves and the three consequences of the Chebyshev form."""

    x: np.ndarray       #: eta lam axis
    curves: dict        #: ``{(beta, S): h(x)}``
    roots: dict         #: ``{(beta, S): removed modes}``
    bands: dict         #: ``{beta: (lo, hi)}``
    absp: dict          #: ``{(beta, S): |1 - h|}``
    rows: list          #: ``(beta, S, n_roots, sup_band, bound, slope, predicted)`` for beta > 0
    S_tight: int        #: smallest S with band bound < 0.1 at the largest beta
    no_momentum_err: float  #: max |p_S - (1 - x)^S| / max(|(1-x)^S|) from the recursion, beta = 0


def spectrum_checks(betas, S_values, eta: float = 1.0, n_x: int = 1500) -> SpectrumChecks:
    """Effective spectra ``h = 1 - p_S`` and the checks of band compression, removed modes and ``h'(0)``.

    Without inner momentum the recursion is compared with the closed form ``(1 - eta lam)^S``, whose
    only zero is ``eta lam = 1`` (an independent check of the single removed mode).
    """
    c.grid("betas", betas, closed=True, upper=1.0)
    S_values = c.ints("S_values", S_values)
    eta = v.positive_real("eta", eta)
    n_x = v.positive_int("n_x", n_x)
    v.array_size("S_values", (max(S_values) + 1) * 200001.0, "the residual polynomials on removed_modes' grid")
    v.array_size("n_x", float(n_x) * len(betas) * len(S_values), "the effective-spectrum curves")
    v.work_estimate(len(betas) * len(S_values) * (0.02 + 5e-9 * max(S_values) * (200001 + 4001 + n_x)),
                    f"spectrum_checks ({len(betas) * len(S_values)} curves up to S = {max(S_values)})",
                    "use fewer or smaller S_values")
    x = np.geomspace(1e-3, 2 * (1 + max(betas)) * 0.999, n_x)
    curves, roots, bands, absp, rows = {}, {}, {}, {}, []
    err0 = 0.0
    for b in betas:
        bands[b] = band_edges(eta, b) if b > 0 else (1.0 / eta, 1.0 / eta)
        for S in S_values:
            m = TwoPhase(eta, S=S, beta_in=b)
            curves[b, S] = effective_spectrum(m, x)
            absp[b, S] = np.abs(1 - curves[b, S])
            roots[b, S] = removed_modes(eta, b, S)
            if b > 0:
                lo, hi = bands[b]
                sup = float(np.max(np.abs(1 - effective_spectrum(m, np.linspace(lo, hi, 4001)))))
                d = 1e-7
                slope = (effective_spectrum(m, [d])[0] - effective_spectrum(m, [0.0])[0]) / d
                rows.append((b, S, roots[b, S].size, sup, band_bound(S, b), slope, h_slope_at_zero(eta, b, S)))
            else:
                xs = np.linspace(0, 2 / eta, 2001)
                p = residual_polynomials(xs, eta, 0.0, S)[-1]
                err0 = max(err0, float(np.max(np.abs(p - (1 - eta * xs) ** S))))
    b_hi = max(betas)
    S_tight = next(S for S in range(1, 100000) if band_bound(S, b_hi) < 0.1)
    return SpectrumChecks(x, curves, roots, bands, absp, rows, S_tight, err0)


def sqrt_speedup(hs):
    """Per-cycle factor of outer Nesterov (``nu_pt = 1``) with ``beta_out = (1 - sqrt h)/(1 + sqrt h)`` on a
    mode of effective eigenvalue ``h``; returns ``(rho, 1 - sqrt(h))``."""
    c.grid("hs", hs, upper=1.0, upper_closed=True)
    hs = np.asarray(hs, dtype=np.float64)
    bo = (1 - np.sqrt(hs)) / (1 + np.sqrt(hs))
    rho = np.array([noiseless_radius(TwoPhase(1.0, nu=from_pytorch(1.0, b), S=1, beta_out=b, outer="nesterov"),
                                    [h])[0] for h, b in zip(hs, bo)])
    return rho, 1 - np.sqrt(hs)


class Tuned(NamedTuple):
    """Best-tuned expected loss per family and budget."""

    budgets: np.ndarray
    results: dict   #: ``{sigma: {family: best loss per budget}}``
    params: dict    #: ``{sigma: {family: [tuned hyper-parameters per budget]}}``
    sizes: dict     #: grid points per family
    floors: dict    #: ``{sigma: sigma^2 / 2}``


def tuned_comparison(lam, m0, budgets, *, eta_grid, nu_pt_grid, betas, S_values, inner, B: int, sigmas,
                     families=None, progress: bool = True) -> Tuned:
    """Tune every family of :data:`FAMILIES` separately at each budget (exact theory, shared grids)."""
    lam = c.spectrum(lam)
    m0 = v.moments(m0, lam.size)
    c.ints("budgets", budgets)
    if families is not None:
        c.choices("families", families, FAMILIES)
    c.grid("eta_grid", eta_grid)
    c.grid("nu_pt_grid", nu_pt_grid)
    c.grid("betas", betas, closed=True, upper=1.0)
    c.ints("S_values", S_values)
    c.choices("inner", inner, ("reset", "carry"))
    B = v.positive_int("B", B)
    c.grid("sigmas", sigmas, closed=True)
    v.flag("progress", progress)
    families = FAMILIES if families is None else tuple(families)
    results, params, sizes = {}, {}, {}
    for s in sigmas:
        results[s], params[s] = {}, {}
        it = families
        if progress:
            from tqdm.auto import tqdm

            it = tqdm(families, desc=f"tuning, sigma={s}")
        for fam in it:
            ms = family_methods(fam, eta_grid, nu_pt_grid, betas, S_values, inner, B=B)
            sizes[fam] = sum(int(np.prod(m.grid_shape)) for m in ms)
            results[s][fam], params[s][fam] = tuned_losses(ms, lam, m0, budgets, sigma=s)
    return Tuned(np.asarray(budgets), results, params, sizes, {s: s ** 2 / 2 for s in sigmas})


SINGLE = ("SGD+momentum", "SGD+Nesterov")
STACKED = ("SLA heavy ball", "SLA Nesterov")


class StackingRow(NamedTuple):
    """One row of the stacking table."""

    sigma: float
    budget: int
    winner: str
    ratio: float
    verdict: str


def stacking_table(t: Tuned) -> list:
    """Best stacked against best single-loop momentum, per noise level and budget (shared grid)."""
    _tuned(t)
    rows = []
    for s in t.results:
        for k, N in enumerate(t.budgets):
            b_single = min(t.results[s][f][k] for f in SINGLE)
            b_stack = min(t.results[s][f][k] for f in STACKED)
            ratio = stacking_ratio(b_stack, b_single, t.floors[s])
            winner = min(t.results[s], key=lambda f: t.results[s][f][k])
            rows.append(StackingRow(s, int(N), winner, float(ratio), stacking_verdict(ratio)))
    return rows


def grid_edges(t: Tuned, *, betas, S_values) -> dict:
    """Which tuned hyper-parameters (at the largest budget) sit at an end of their grid or list.

    Returns ``{"eta_nu": [(sigma, family)], "S": [...], "beta": [...]}``; ``S`` and ``beta`` only count
    when their list has more than one value.
    """
    _tuned(t)
    c.grid("betas", betas, closed=True, upper=1.0)
    c.ints("S_values", S_values)
    out = {"eta_nu": [], "S": [], "beta": []}
    for s in t.params:
        for f, ps in t.params[s].items():
            p = ps[-1]
            if p["eta_at_edge"] or p["nu_at_edge"]:
                out["eta_nu"].append((s, f))
            if len(S_values) > 1 and f in ("LA",) + STACKED and p["S"] in (min(S_values), max(S_values)):
                out["S"].append((s, f, int(p["S"])))
            used = [b for b in (p["beta_in"], p["beta_out"]) if b]
            if len(betas) > 1 and any(b in (min(betas), max(betas)) for b in used):
                out["beta"].append((s, f, tuple(used)))
    return out


class Retuned(NamedTuple):
    """The verdict at the largest budget after converged local re-tuning."""

    sigma: float
    losses: dict     #: ``{family: re-tuned loss}``
    params: dict     #: ``{family: re-tuned params}``
    history: dict    #: ``{family: excess loss per round}``
    converged: dict  #: ``{family: bool}`` (converged and inside the local grid)
    best_single: str
    best_stacked: str
    ratio: float
    verdict: str


def retuned_verdict(t: Tuned, sigma: float, lam, m0, *, B: int, tol: float = 0.01) -> Retuned:
    """Re-tune the four momentum families at the largest budget (:func:`retune`) and give the verdict."""
    _tuned(t)
    try:
        known = not isinstance(sigma, (str, bytes, bool, np.bool_)) and sigma in t.params
    except TypeError:  # unhashable
        known = False
    if not known:
        raise ValueError(f"sigma must be one of the noise levels of t {list(t.params)}, got {sigma!r}")
    lam = c.spectrum(lam)
    m0 = v.moments(m0, lam.size)
    B = v.positive_int("B", B)
    tol = v.nonnegative_real("tol", tol)
    N = int(t.budgets[-1])
    losses, pars, hist, conv = {}, {}, {}, {}
    for f in SINGLE + STACKED:
        loss, p, h, ok = retune(t.params[sigma][f][-1], lam, m0, N, sigma=sigma, B=B, tol=tol)
        losses[f], pars[f], hist[f] = loss, p, h
        conv[f] = bool(ok and not (p["eta_at_edge"] or p["nu_at_edge"]))
    fs = min(SINGLE, key=lambda f: losses[f])
    fk = min(STACKED, key=lambda f: losses[f])
    ratio = stacking_ratio(losses[fk], losses[fs], t.floors[sigma])
    return Retuned(sigma, losses, pars, hist, conv, fs, fk, float(ratio), stacking_verdict(ratio))


class McCase(NamedTuple):
    """SLA theory against simulation for one configuration."""

    title: str
    theory: np.ndarray
    mean: np.ndarray
    se: np.ndarray
    z: float


def sla_theory_vs_simulation(lam, m0, *, eta, nu, S: int, B: int, beta: float, sigma: float, cycles: int,
                             seeds: int, seed: int = 2024) -> list:
    """Heavy-ball and Nesterov outer momentum, reset and carried inner buffers, ``R`` in ``{1, 4}``."""
    lam = c.spectrum(lam)
    m0 = v.moments(m0, lam.size)
    v.positive_real("eta", eta)
    v.positive_real("nu", nu)
    S = v.positive_int("S", S)
    B = v.positive_int("B", B)
    v.unit_interval("beta", beta)
    sigma = v.nonnegative_real("sigma", sigma)
    cycles = v.positive_int("cycles", cycles)
    seeds = v.integer("seeds", seeds, minimum=2)  # a standard error needs two runs
    seed = v.nonnegative_int("seed", seed)
    cases = []
    for outer in ("heavy_ball", "nesterov"):
        for inner in ("reset", "carry"):
            for R in (1, 4):
                m = TwoPhase(eta, nu=nu, S=S, R=R, B=B, beta_in=beta, beta_out=beta, outer=outer,
                             inner_momentum=inner)
                th = expected_loss(m, lam, m0, cycles, sigma=sigma)
                mean, se = mean_se(loss_curves(m, lam, m0, cycles, seeds, sigma=sigma, seed=seed))
                cases.append(McCase(f"{outer}, {inner}, R={R}", th, mean, se,
                                    float(np.max(np.abs(mean[1:] - th[1:]) / se[1:]))))
    return cases


# --------------------------------------------------------------------------- verdicts on the paper's claims
def paper_verdicts(f3: Figure3, tp: TopPanel, bp: BottomPanel, small: dict, cc: CriticalChecks, speedup, t: Tuned,
                   ret: dict, *, setting: str, S_small: int, rate_tol: float = 0.1) -> list:
    """Chapter 4's verdicts on Figure 3's statements and on the abstract's stacking claims.

    ``small`` maps ``(panel, outer)`` to :class:`SmallS`; ``speedup`` is :func:`sqrt_speedup`'s pair;
    ``ret`` maps ``sigma`` to :class:`Retuned`. Two log-rates *agree* when they differ by at most
    ``rate_tol`` of their size (chapter 3's tolerance). Returns a list of
    :class:`~twophase.experiments.PaperVerdict`.
    """
    _figure3(f3)
    c.instance("tp", tp, TopPanel, "top_panel")
    c.instance("bp", bp, BottomPanel, "bottom_panel")
    if not np.size(bp.diff_max):
        raise ValueError("bp must compare the systems over at least one octave of S (figure3 with S_max >= 16)")
    c.mapping("small", small, what="a dict {(panel, outer): SmallS} (results of small_S_comparison)")
    for k, x in small.items():
        c.instance(f"small[{k!r}]", x, SmallS, "small_S_comparison")
    if ("bottom", "nesterov") not in small:
        raise ValueError(f"small must hold the key ('bottom', 'nesterov'), got keys {list(small)}")
    c.instance("cc", cc, CriticalChecks, "critical_checks")
    if not isinstance(speedup, tuple) or len(speedup) != 2:
        raise v.ArgumentTypeError(f"speedup must be the pair (rho, 1 - sqrt(h)) of sqrt_speedup, got "
                                  f"{type(speedup).__name__} {speedup!r:.60}")
    _tuned(t)
    c.mapping("ret", ret, what="a dict {sigma: Retuned} (results of retuned_verdict)")
    for k, x in ret.items():
        c.instance(f"ret[{k!r}]", x, Retuned, "retuned_verdict")
    c.text("setting", setting)
    S_small = v.positive_int("S_small", S_small)
    rate_tol = v.positive_real("rate_tol", rate_tol)
    from ._verdict import PaperVerdict, grade

    S_max, N = int(f3.S[-1]), int(t.budgets[-1])
    sq = np.sqrt(bp.q)
    s_ind = bool(sq < bp.gap_ratio < 1 / sq and bp.limit_err < rate_tol)
    better = {k: set(x.stable_carry) <= set(x.stable_reset) and x.median_reset < x.median_carry for k, x in small.items()}
    mech = bool(np.allclose(speedup[0], speedup[1], atol=1e-6) and cc.worst_square < 1e-10)
    beats_la = all(min(t.results[s][f][-1] for f in STACKED) < t.results[s]["LA"][-1] for s in t.results)
    st_v = {s: r.verdict for s, r in ret.items()}
    nest = {s: bool(r.losses["SLA Nesterov"] <= r.losses["SLA heavy ball"]) for s, r in ret.items()}
    best6 = {s: min(FAMILIES, key=lambda f: t.results[s][f][-1]) for s in t.results}
    return [
        PaperVerdict("I-fig3-hb-rate-worsens-with-S", grade(tp.hb_increasing), f"one mode ({setting}), noiseless: reduced "
                     f"heavy-ball rate increases at every S ≤ {S_max}, 1 - rate ~ S^{tp.hb_slope:.2f}; the full system "
                     f"only from S = {tp.S_mono}", "ch4-figure3-top",
                     ["fig3-top-heavy-ball-worsens-with-S", "fig3-top-heavy-ball-tends-to-one"]),
        PaperVerdict("I-fig3-nesterov-faster", grade(tp.nesterov_faster_reset, tp.nesterov_faster_carry == 1),
                     f"ν={f3.nu:g}: Nesterov faster at every S (reduced), at {100 * tp.nesterov_faster_carry:.0f}% of S "
                     "(full)", "ch4-figure3-top", ["fig3-top-nesterov-faster"]),
        PaperVerdict("I-fig3-critical-nu-S-invariant", grade(s_ind), f"ν = 1/(1-β_out): worst reduced-Nesterov rate "
                     f"{bp.env[0]:.4f} → {bp.env[1]:.4f} over the last two quarter-ranges of S ≤ {S_max} (β_in^1/4 = "
                     f"{f3.limit:.4f}); heavy ball's gap shrinks like S^{bp.hb_slope:.2f}", "ch4-figure3-bottom",
                     ["fig3-bottom-nesterov-S-independent", "fig3-bottom-heavy-ball-not-S-independent"]),
        PaperVerdict("I-fig3-reduced-like-full-large-S", grade(bool(np.all(np.diff(bp.diff_max) < 0)),
                     bp.rel_diff_max[-1] <= rate_tol), f"the largest reduced-vs-full difference per octave of S falls from "
                     f"{bp.diff_max[0]:.3f} to {bp.diff_max[-1]:.3f}; log-rates differ by {100 * bp.rel_diff_max[-1]:.0f}% "
                     f"in the last octave (≤ {rate_tol:.0%} counts as agreement)", "ch4-figure3-bottom",
                     ["fig3-bottom-reduced-and-full-agree-at-large-S"]),
        PaperVerdict("I-fig3-reduced-better-small-S", grade(better["bottom", "nesterov"], all(better.values())
                     and not bp.full_wins), f"S ≤ {S_small}: reduced at least as stable and with the smaller median rate: "
                     + ", ".join(f"{pn} ν, {o}: {better[pn, o]} (median {x.median_reset:.3f} vs {x.median_carry:.3f})"
                                 for (pn, o), x in small.items()) + f"; bottom Nesterov: full faster at S = {bp.full_wins}",
                     "ch4-figure3-bottom", ["fig3-bottom-reduced-more-stable-and-faster-at-small-S",
                                            "fig3-bottom-neither-stable-at-every-small-S"]),
        PaperVerdict("I-abstract-stacking-accelerates", grade(mech and beats_la, all(v == STACKING_VERDICTS[0]
                     for v in st_v.values())), "per mode: the inner heavy ball maps the spectrum to h (band squeezed "
                     "to 1, bottom stretched by 1/(1-β_in)) and outer Nesterov gives 1-√h per cycle; tuned at "
                     f"{N} steps: best SLA beats LA at every σ; against single-loop momentum: " + "; ".join(
                         f"σ={s:g}: {v} (ratio {ret[s].ratio:.2f})" for s, v in st_v.items()), "ch4-effective-spectrum",
                     ["outer-nesterov-sqrt-speedup", "spectrum-band-bound", "nesterov-nilpotent-at-critical-rate"]
                     + [f"momentum-improves-LA-sigma-{s:g}" for s in t.results]),
        PaperVerdict("I-abstract-nesterov-best", grade(tp.nesterov_faster_reset, all(nest.values())),
                     f"per mode: Nesterov outer faster than heavy ball at every S (ν={f3.nu:g}); tuned at {N} steps after "
                     "re-tuning, SLA Nesterov ≤ SLA heavy ball: " + ", ".join(f"σ={s:g}: {x}" for s, x in nest.items())
                     + "; best of six families on the grid: " + ", ".join(f"σ={s:g}: {f}" for s, f in best6.items()),
                     "ch4-tuned", ["fig3-top-nesterov-faster"] + [f"tuning-converged-sigma-{s:g}-SLA Nesterov"
                                                                  for s in t.results]),
    ]


# --------------------------------------------------------------------------- the chapter's text
# Printed summaries, claim details and glued numbers of chapter 4. Each helper formats numbers the
# functions above computed; only budget_grid computes (the list of budgets).


def _results(name, value, cls, producer):
    from ._verdict import expect

    return expect(name, value, cls, producer)


def top_panel_details(fig3: Figure3, top: TopPanel) -> dict:
    """Details of the claims on Figure 3's top panel, keyed ``"worsens"``, ``"unstable"``,
    ``"tends_to_one"``, ``"nesterov_faster"`` and ``"subcritical"``."""
    f3 = _results("fig3", fig3, Figure3, "figure3()")
    tp = _results("top", top, TopPanel, "top_panel()")
    S_max = int(f3.S[-1])
    hb_r = f3.top["heavy_ball", "reset"]
    return {
        "worsens": f"reduced heavy-ball rate strictly increasing over S = 1..{S_max}: "
                   f"{hb_r[0]:.4f} -> {hb_r[-1]:.5f}",
        "unstable": f"full heavy ball: not monotone below S = {tp.S_mono}, unstable at S = {tp.unstable_carry}",
        "tends_to_one": f"beta_out^(1/2S) <= rate < 1 at every S, so 1 - rate <= -log(beta_out)/(2S) -> 0: "
                        f"at S={S_max} 1 - rate = {tp.hb_gap_last:.3g} <= {tp.hb_gap_bound:.3g}; fitted "
                        f"1 - rate ~ S^{tp.hb_slope:.3f} on S >= {S_max // 2}",
        "nesterov_faster": f"reduced: Nesterov rate < heavy-ball rate at every S = 1..{S_max}; "
                           f"full: at {100 * tp.nesterov_faster_carry:.0f}% of S",
        "subcritical": f"nu_pt = {tp.nu_pt:g} < 1; reduced Nesterov rate strictly increasing on S >= "
                       f"{S_max // 2}, {tp.nesterov_late[0]:.5f} -> {tp.nesterov_late[1]:.5f}, still below "
                       f"heavy ball's {hb_r[-1]:.5f}",
    }


def top_panel_glue(top: TopPanel) -> dict:
    """Glue values of the top-panel prose: ``hb_carry_mono_S`` (an int), ``nest_faster_carry_pct``,
    ``nu_pt3``, ``hb_top_slope``."""
    tp = _results("top", top, TopPanel, "top_panel()")
    return {"hb_carry_mono_S": tp.S_mono, "nest_faster_carry_pct": f"{100 * tp.nesterov_faster_carry:.0f}",
            "nu_pt3": f"{tp.nu_pt:g}", "hb_top_slope": f"{tp.hb_slope:.2f}"}


def bottom_panel_details(fig3: Figure3, bottom: BottomPanel, S_small: int) -> dict:
    """Details of the claims on Figure 3's bottom panel, keyed ``"S_independent"``, ``"hb"``,
    ``"agree"``, ``"small_S"`` and ``"neither"``."""
    f3 = _results("fig3", fig3, Figure3, "figure3()")
    bp = _results("bottom", bottom, BottomPanel, "bottom_panel()")
    S_small = v.positive_int("S_small", S_small)
    S_max = int(f3.S[-1])
    sq = np.sqrt(bp.q)
    unstable = lambda stable: sorted(set(range(1, S_small + 1)) - set(stable))  # noqa: E731
    return {
        "S_independent": f"worst Nesterov rate on S in [{S_max // 2},{3 * S_max // 4}) = {bp.env[0]:.4f}, on "
                         f"[{3 * S_max // 4},{S_max}] = {bp.env[1]:.4f}: gap ratio {bp.gap_ratio:.3f} in "
                         f"({sq:.3f}, {1 / sq:.3f}); heavy ball's {bp.hb_gap_ratio:.3f} is not (1/S predicts "
                         f"{bp.q:.3f}); |env - beta_in^(1/4)| = {bp.limit_err:.1%} of the gap {1 - f3.limit:.4f}",
        "hb": f"heavy ball: 1 - rate ~ S^{bp.hb_slope:.3f} on S >= {S_max // 2} (rate -> 1 like beta^(1/2S))",
        "agree": f"octave maxima of |difference| decrease: {np.round(bp.diff_max, 4).tolist()} (last < "
                 f"first/10); as a share of the log-rate: {np.round(bp.rel_diff_max, 3).tolist()}",
        "small_S": f"S <= {S_small}: reduced stable at {bp.stable_reset}, full at {bp.stable_carry}; median "
                   f"rate reduced {bp.median_reset:.4f} < full {bp.median_carry:.4f}; full has the smaller "
                   f"rate at S = {bp.full_wins}",
        "neither": f"S <= {S_small}: reduced unstable at {unstable(bp.stable_reset)}, "
                   f"full unstable at {unstable(bp.stable_carry)}",
    }


def octave_text(bottom: BottomPanel) -> str:
    """The largest reduced-against-full rate difference per octave of ``S`` (one line)."""
    bp = _results("bottom", bottom, BottomPanel, "bottom_panel()")
    return "max |rate_reduced - rate_full| per octave of S: " + str(
        {f"[{s},{2 * s})": round(float(d), 4) for s, d in zip(bp.octaves, bp.diff_max)})


def bottom_panel_glue(bottom: BottomPanel, limit: float, S_small: int) -> dict:
    """Glue values of the bottom-panel prose (rates, gap ratios, the small-``S`` lists)."""
    bp = _results("bottom", bottom, BottomPanel, "bottom_panel()")
    limit = v.open_unit("limit", limit)
    S_small = v.positive_int("S_small", S_small)
    return {"nest_env": f"{bp.env[1]:.4f}", "nest_limit": f"{limit:.4f}", "hb_slope": f"{bp.hb_slope:.2f}",
            "nest_gap_ratio": f"{bp.gap_ratio:.3f}", "hb_gap_ratio": f"{bp.hb_gap_ratio:.3f}",
            "agree_last": f"{bp.diff_max[-1]:.3f}", "agree_rel_last": f"{100 * bp.rel_diff_max[-1]:.0f}",
            "S_small": S_small, "stable_r": ", ".join(map(str, bp.stable_reset)),
            "stable_c": ", ".join(map(str, bp.stable_carry)),
            "full_wins": ", ".join(map(str, bp.full_wins)) or "none"}


def spectrum_text(checks: SpectrumChecks) -> str:
    """One line per ``(beta_in > 0, S)``: zeros in the band, the band bound and the slope at zero."""
    spc = _results("checks", checks, SpectrumChecks, "spectrum_checks()")
    return "\n".join(f"beta_in={b:g} S={S:3d}: zeros of p_S in band = {n:3d}; sup_band |1-h| = {sup:.2e} <= "
                     f"bound {bound:.2e}; h'(0) = {slope:.4f} (formula {pred:.4f})"
                     for b, S, n, sup, bound, slope, pred in spc.rows)


def _spectrum_ends(betas, S_values):
    c.grid("betas", betas, closed=True, upper=1.0)
    c.ints("S_values", S_values)
    betas = np.atleast_1d(v.real_array("betas", betas))
    S_values = [v.positive_int("S_values", S) for S in S_values]
    pos = betas[betas > 0]
    if pos.size == 0:
        raise ValueError(f"betas must hold at least one beta_in > 0, got {betas.tolist()}")
    return float(pos.min()), float(betas.max()), max(S_values)


def _band_sups(spc, b_lo, b_hi, S_top) -> dict:
    """``{beta_in: sup_band |1 - h|}`` at ``S_top``; refuses betas or an ``S`` the checks never ran."""
    sup = {b: s for b, S, n, s, *_ in spc.rows if S == S_top}
    missing = [b for b in (b_lo, b_hi) if b not in sup]
    if not sup or missing:
        ran = sorted({b for b, *_ in spc.rows}), sorted({S for _, S, *_ in spc.rows})
        raise ValueError(f"betas and S_values must be among those spectrum_checks() ran (beta_in in "
                         f"{ran[0]}, S in {ran[1]}), got beta_in {missing or [b_lo, b_hi]} at S = {S_top}")
    return sup


def spectrum_details(checks: SpectrumChecks, betas, S_values) -> dict:
    """Details of the band-compression claim (``"compression"``, at the largest ``S``) and of the
    no-momentum check (``"no_momentum"``)."""
    spc = _results("checks", checks, SpectrumChecks, "spectrum_checks()")
    b_lo, b_hi, S_top = _spectrum_ends(betas, S_values)
    sup = _band_sups(spc, b_lo, b_hi, S_top)
    return {
        "compression": f"S = {S_top}: sup_band |1 - h| = {sup[b_hi]:.2e} at beta_in = {b_hi:g}, {sup[b_lo]:.2e} "
                       f"at beta_in = {b_lo:g}; the band bound at beta_in = {b_hi:g} is below 0.1 only from "
                       f"S = {spc.S_tight}",
        "no_momentum": f"without inner momentum the recursion gives p_S = (1 - eta lam)^S on [0, 2/eta] for S in "
                       f"{list(S_values)} (max abs. difference {spc.no_momentum_err:.1e}), whose only zero is "
                       f"eta lam = 1",
    }


def spectrum_glue(checks: SpectrumChecks, betas, S_values) -> dict:
    """Glue strings of the effective-spectrum prose: both betas, the largest ``S``, the band sup at
    each, and ``S_tight``."""
    spc = _results("checks", checks, SpectrumChecks, "spectrum_checks()")
    b_lo, b_hi, S_top = _spectrum_ends(betas, S_values)
    sup = _band_sups(spc, b_lo, b_hi, S_top)
    return {"b_lo": f"{b_lo:g}", "b_hi": f"{b_hi:g}", "S_top": str(S_top), "sup_lo": f"{sup[b_lo]:.1e}",
            "sup_hi": f"{sup[b_hi]:.1f}", "S_tight": str(spc.S_tight)}


def budget_grid(budget_max: int, S_values, smallest: int = 16) -> np.ndarray:
    """Budgets of gradient steps for the tuned comparison: the powers of two from ``smallest`` up
    to ``budget_max`` that every ``S`` in ``S_values`` divides.

    Raises ``ValueError`` if no budget qualifies.
    """
    budget_max = v.positive_int("budget_max", budget_max)
    smallest = v.positive_int("smallest", smallest)
    c.ints("S_values", S_values)
    S_values = [v.positive_int("S_values", S) for S in S_values]
    out = [b for b in (2 ** k for k in range(int(np.log2(smallest)), 63)) if smallest <= b <= budget_max
           and all(b % s == 0 for s in S_values)]
    if not out:
        raise ValueError(f"budget_max must allow a power of two >= {smallest} that every S in {S_values} "
                         f"divides, got budget_max={budget_max}")
    return np.array(out)


def stacking_markdown(rows) -> str:
    """:func:`stacking_table` as a Markdown table."""
    c.iterable("rows", rows)
    rows = list(rows)
    for i, r in enumerate(rows):
        _results(f"rows[{i}]", r, StackingRow, "stacking_table()")
    head = ("| sigma | steps | best family | excess(SLA) / excess(single-loop) | verdict |\n"
            "|---|---|---|---|---|\n")
    return head + "\n".join(f"| {r.sigma:g} | {r.budget} | {r.winner} | {r.ratio:.3g} | {r.verdict} |"
                            for r in rows)


def tuned_params_markdown(tuned: Tuned) -> str:
    """The tuned hyper-parameters of every family at the largest budget, as a Markdown table."""
    t = _results("tuned", tuned, Tuned, "tuned_comparison()")
    rows = [f"| {s:g} | {f} | {t.results[s][f][-1] - t.floors[s]:.3g} | {p['eta']:.3g} | {p['nu_pt']:.3g} | "
            f"{p['S']} | {p['beta_in']:g} | {p['beta_out']:g} | {p['inner_momentum'] if p['beta_in'] else '-'} |"
            for s in t.params for f, p in ((f, t.params[s][f][-1]) for f in FAMILIES if f in t.params[s])]
    return (f"Tuned hyper-parameters at {t.budgets[-1]} steps:\n\n| sigma | family | excess loss | eta | nu_pt | "
            "S | beta_in | beta_out | inner |\n|---|---|---|---|---|---|---|---|---|\n" + "\n".join(rows))


def _edges(edges):
    from ._verdict import expect_keys

    return expect_keys("edges", edges, ["eta_nu", "S", "beta"])


def grid_edges_detail(edges: dict, budget: int) -> str:
    """Detail of the claim that the tuned ``eta`` and ``nu_pt`` are inside their grids (:func:`grid_edges`)."""
    e = _edges(edges)
    budget = v.positive_int("budget", budget)
    return (f"every family's tuned eta and nu_pt at {budget} steps lie inside their grids (edge cases: "
            f"{e['eta_nu']}); at an end of their list: S {e['S']}, beta {e['beta']}")


def grid_edges_glue(edges: dict) -> dict:
    """Glue strings ``S_edges`` and ``beta_edges``: the tuned ``S`` and ``beta`` at an end of their lists."""
    e = _edges(edges)
    return {"S_edges": ", ".join(f"{f} (σ={s:g}, S={S})" for s, f, S in e["S"]) or "none",
            "beta_edges": ", ".join(f"{f} (σ={s:g}, β={b})" for s, f, b in e["beta"]) or "none"}


def retune_detail(tuned: Tuned, retuned: Retuned, family: str) -> str:
    """Detail of one family's converged re-tuning: grid excess loss, the rounds, the final rates."""
    t = _results("tuned", tuned, Tuned, "tuned_comparison()")
    r = _results("retuned", retuned, Retuned, "retuned_verdict()")
    v.choice("family", family, list(r.history))
    s = r.sigma
    return (f"sigma={s:g}, {family}: excess loss {t.results[s][family][-1] - t.floors[s]:.4g} on the grid, then "
            f"{', '.join(f'{h:.4g}' for h in r.history[family])} over local re-tuning rounds (last gain < 1%); "
            f"eta={r.params[family]['eta']:.4g}, nu_pt={r.params[family]['nu_pt']:.4g}")


def retuned_markdown(retuned: dict, rows) -> str:
    """One bullet per noise level: the re-tuned verdict at the largest budget, and the budgets at
    which stacking helps on the shared grid (``rows`` from :func:`stacking_table`)."""
    if not isinstance(retuned, dict) or not retuned:
        raise ValueError(f"retuned must be a non-empty dict {{sigma: Retuned}}, got {type(retuned).__name__}")
    for s, r in retuned.items():
        _results(f"retuned[{s!r}]", r, Retuned, "retuned_verdict()")
    c.iterable("rows", rows)
    rows = list(rows)
    for i, r in enumerate(rows):
        _results(f"rows[{i}]", r, StackingRow, "stacking_table()")
    verdicts = {(r.sigma, r.budget): (r.ratio, r.verdict) for r in rows}
    N = max(r.budget for r in rows)
    return "\n".join(
        f"* $\\sigma={s:g}$: at {N} steps, after converged re-tuning, the best stacked method ({r.best_stacked}) "
        f"reaches {r.ratio:.2g}× the excess loss of the best single-loop momentum method ({r.best_single}) "
        f"(grid value {verdicts[(s, N)][0]:.2g}): **{r.verdict}**. On the shared grid, stacking helps (ratio < "
        f"{STACKING_LO:g}) at budgets "
        f"{[b for (ss, b), (_, x) in verdicts.items() if ss == s and x == 'stacking helps'] or 'none'}."
        for s, r in retuned.items())


def _cases(cases):
    if isinstance(cases, (str, bytes, dict)) or cases is None or not hasattr(cases, "__iter__"):
        raise v.ArgumentTypeError(f"cases must be a sequence of McCase, got {type(cases).__name__} {cases!r:.60}")
    cases = list(cases)
    if not cases:
        raise ValueError("cases must be a non-empty list of McCase (from sla_theory_vs_simulation())")
    for i, c in enumerate(cases):
        _results(f"cases[{i}]", c, McCase, "sla_theory_vs_simulation()")
    return cases


def mc_text(cases) -> str:
    """One line per case of :func:`sla_theory_vs_simulation`: final theory and simulated loss, max z."""
    return "\n".join(f"{c.title}: theory final {c.theory[-1]:.5f}, simulation {c.mean[-1]:.5f} ± {c.se[-1]:.5f}; "
                     f"max |z| = {c.z:.2f}" for c in _cases(cases))


def mc_z_text(cases) -> str:
    """``"heavy_ball/reset/R=1: 1.23, ..."``: the largest z of every case."""
    return ", ".join(f"{c.title.replace(', ', '/')}: {c.z:.2f}" for c in _cases(cases))
