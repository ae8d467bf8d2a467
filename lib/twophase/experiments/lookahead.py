"""Chapter 2 (Lookahead): the computations behind its results.

Owns the Figure-1 scans (:func:`figure1_panel`, :func:`best_nu_map`), the verdicts on the
caption's claims, the maps that locate where "best ``nu`` < 1" holds, the signal/noise factors of
one cycle, the check of the cycle operator against the dense reference, the comparison of theory
with Monte-Carlo, and the tuned Lookahead-against-SGD comparison at equal gradient steps.

It may import the lower layers (``twophase.theory``, ``sweeps``, ``operators``, ``simulate``,
``spectra``, ``reference``, ``methods``) and :mod:`twophase.experiments.momentum` for the shared
tuning helpers; nothing below ``twophase.experiments`` imports it.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import _validate as v
from . import _checks as c
from ..methods import TwoPhase
from ..engine import effective_spectrum
from ..operators import cycle_operator, noise_factor
from ..reference import dense_expected_loss
from ..simulate import loss_curves
from ..summaries import max_z, mean_se
from ..spectra import initial_moments, power_law
from ..sweeps import best_eta, loss_grid, one_cycle_optimum
from ..theory import expected_loss

__all__ = [
    "source_stack",
    "Figure1Panel",
    "figure1_panel",
    "BestNuMap",
    "best_nu_map",
    "OperatorCheck",
    "cycle_operator_vs_dense",
    "SignalNoiseFactors",
    "signal_noise_factors",
    "Figure1Verdicts",
    "figure1_verdicts",
    "SourceCrossing",
    "source_crossing",
    "MapSummary",
    "map_summary",
    "best_nu_by_D",
    "SimulationCheck",
    "theory_vs_simulation",
    "TunedComparison",
    "la_vs_sgd_tuned",
    "la_vs_sgd_markdown",
    "paper_verdicts",
    "Problems",
    "problems",
    "figure1_panels",
    "figure1_summary",
    "figure1_verdicts_text",
    "power_verdict_detail",
    "figure1_glue",
    "crossing_text",
    "map_summary_text",
    "map_details",
    "dimension_details",
    "maps_glue",
    "simulation_text",
    "tuning_edges",
    "tuned_glue",
]


def _decay(name, alpha):
    alpha = v.real(name, alpha)
    if not alpha < 0:
        raise ValueError(f"{name} must be a finite number < 0 (a decaying power law; allowed range (-inf, 0)), "
                         f"got {alpha!r}")
    return alpha


# --- Figure-1 scans (moved from twophase.sweeps) ---------------------------------------------


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
    c.spectrum(lam)
    exponents = c.grid("exponents", exponents, closed=True)
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
    lam = c.spectrum(lam)
    m0 = v.moments(m0, lam.size)
    nu = c.grid("nu", nu)
    S = v.positive_int("S", S)
    B = v.positive_int("B", B)
    c.form(form)
    lam = v.eigenvalues(lam)
    m0 = np.asarray(m0, dtype=np.float64)
    eta_rel = v.positive_grid("eta_rel", eta_rel)
    eta_fine_rel = v.positive_grid("eta_fine_rel", eta_fine_rel)
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
    lam = c.spectrum(lam)
    exponents = c.grid("exponents", exponents, closed=True)
    B_over_D = c.grid("B_over_D", B_over_D)
    sigma_rel = c.grid("sigma_rel", sigma_rel, closed=True)
    S = v.positive_int("S", S)
    c.form(form)
    lam = v.eigenvalues(lam)
    D = lam.size
    eta_rel = v.positive_grid("eta_rel", eta_rel)
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


# --- checks of the cycle map -------------------------------------------------------------------


class OperatorCheck(NamedTuple):
    """Outcome of :func:`cycle_operator_vs_dense`."""

    worst: float  #: largest relative difference of the loss over all cycles and forms
    cycles: int   #: cycles compared
    D: int        #: dimension of the dense reference


def cycle_operator_vs_dense(method: TwoPhase, lam, m0, *, sigma: float, cycles: int,
                            forms=("exact", "hd")) -> OperatorCheck:
    """Iterate the structured cycle map ``g' = T g + sigma^2 b`` and compare its loss with
    :func:`twophase.reference.dense_expected_loss`, which propagates full ``D x D`` covariance
    matrices with the Gaussian fourth-moment identity (an independent computation).

    Parameters
    ----------
    method : TwoPhase
        Scalar ``eta``, ``nu``; no momentum.
    lam, m0 : array_like, shape ``(D,)``
        Eigenvalues and initial second moments (``D`` small: the reference costs ``O(S D^3)``).
    sigma : float
        Label-noise level.
    cycles : int
        Number of cycles compared.
    forms : sequence of {"exact", "hd"}
        Forms of the moment equations.

    Returns
    -------
    OperatorCheck
    """
    c.method(method)
    sigma = v.nonnegative_real("sigma", sigma)
    forms = c.choices("forms", forms, ("exact", "hd"))
    lam = v.eigenvalues(lam)
    m0 = v.moments(m0, lam.size)
    cycles = v.positive_int("cycles", cycles)
    worst = 0.0
    for f in forms:
        T, b = cycle_operator(method, lam, f)
        ref = dense_expected_loss(method, lam, m0, cycles, sigma=sigma, form=f)
        g = m0
        for t in range(1, cycles + 1):
            g = T @ g + sigma ** 2 * b
            worst = max(worst, abs(0.5 * (lam @ g + sigma ** 2) - ref[t]) / ref[t])
    return OperatorCheck(float(worst), cycles, lam.size)


class SignalNoiseFactors(NamedTuple):
    """Per-mode signal and noise factors of one LA cycle against ``S`` SGD steps at ``nu eta``."""

    lam: np.ndarray          #: eigenvalue axis (``lam_max = 1``)
    etas_h: list             #: inner rates of the effective-spectrum curves
    h_by_eta: list           #: effective spectrum ``h`` for each of ``etas_h``
    signal_la: np.ndarray    #: ``(1 - nu h)^2``
    signal_sgd: np.ndarray   #: ``(1 - nu eta lam)^{2S}``
    noise_la: np.ndarray     #: LA noise factor per unit loss (``B = 1``)
    noise_sgd: np.ndarray    #: the same for ``S`` SGD steps at ``nu eta``
    rel_signal_low: float    #: max relative signal difference over the low modes
    rel_noise_low: float     #: max relative noise difference over the low modes
    n_high: int              #: number of high modes (``S eta lam >= 3``)
    dev_high: float          #: max ``|h - 1|`` over the high modes


def signal_noise_factors(S: int, eta: float, nu: float, lam, etas_h=(0.01, 0.1, 1.5)) -> SignalNoiseFactors:
    """Signal ``(1 - nu h)^2`` and noise factor of LA next to ``S`` SGD steps at rate ``nu eta``.

    Low modes are those with ``S nu eta lam <= 0.01``, high modes ``S eta lam >= 3``.
    """
    S = v.positive_int("S", S)
    eta = v.positive_real("eta", eta)
    nu = v.positive_real("nu", nu)
    lam = c.spectrum(lam)
    etas_h = c.grid("etas_h", etas_h)
    if not np.any(S * nu * eta * lam <= 1e-2):
        raise ValueError(f"lam must hold a low mode (S nu eta lam <= 0.01), got min(lam) = {lam.min():g} at "
                         f"S nu eta = {S * nu * eta:g}")
    lam = v.eigenvalues(lam)
    la = TwoPhase(eta, nu, S=S, B=1)
    sgd = TwoPhase(nu * eta, 1.0, S=S, B=1)
    etas_h = sorted(set([float(e) for e in etas_h] + [float(eta)]))
    h_by_eta = [effective_spectrum(TwoPhase(e, 1.0, S=S), lam) for e in etas_h]
    h = effective_spectrum(la, lam)
    sig_la, sig_sgd = (1 - nu * h) ** 2, (1 - nu * eta * lam) ** (2 * S)
    n_la, n_sgd = noise_factor(la, lam), noise_factor(sgd, lam)
    low = S * nu * eta * lam <= 1e-2
    high = S * eta * lam >= 3.0
    return SignalNoiseFactors(lam, etas_h, h_by_eta, sig_la, sig_sgd, n_la, n_sgd,
                              float(np.max(np.abs(sig_la[low] / sig_sgd[low] - 1))),
                              float(np.max(np.abs(n_la[low] / n_sgd[low] - 1))),
                              int(high.sum()), float(np.max(np.abs(h[high] - 1))) if high.any() else np.nan)


# --- verdicts on Figure 1 ----------------------------------------------------------------------


class Figure1Verdicts(NamedTuple):
    """The caption's three claims evaluated on Figure-1 panels of one form."""

    eta_star_decreases: bool      #: spiked: eta*(nu) non-increasing and lower at the end
    eta_star_from: float          #: first finite eta*(nu) lam_max (spiked)
    eta_star_to: float            #: last finite eta*(nu) lam_max (spiked)
    power_eta_star_decreases: bool  #: the same for the power law
    spiked_nu: float              #: spiked best nu
    power_nu: float               #: power-law best nu (closed form)
    power_nu_grid: float          #: power-law best nu on the nu grid


def _decreasing(eta_star):
    es = eta_star[np.isfinite(eta_star)]
    return bool(np.all(np.diff(es) <= 0) and es[-1] < es[0]), es


def figure1_verdicts(spiked: Figure1Panel, power: Figure1Panel, nu) -> Figure1Verdicts:
    """Evaluate "eta* decreases", "spiked best nu > 1" and "power-law best nu < 1" on two panels."""
    c.instance("spiked", spiked, Figure1Panel, "figure1_panel")
    c.instance("power", power, Figure1Panel, "figure1_panel")
    nu = c.grid("nu", nu)
    if nu.shape != np.shape(power.lmin):
        raise ValueError(f"nu must be the panels' nu grid, shape {np.shape(power.lmin)}, got {nu.shape}")
    for name, p in (("spiked", spiked), ("power", power)):
        if not np.any(np.isfinite(p.eta_star)):
            raise ValueError(f"{name} must have a finite eta_star somewhere (every eta* is inf or nan)")
    nu = np.asarray(nu, dtype=np.float64)
    dec, es = _decreasing(spiked.eta_star)
    dec_pw, _ = _decreasing(power.eta_star)
    return Figure1Verdicts(dec, float(es[0]), float(es[-1]), dec_pw, spiked.nu_best, power.nu_best,
                           float(nu[np.nanargmin(power.lmin)]))


class SourceCrossing(NamedTuple):
    """Best one-cycle nu over source exponents ``s`` and where it crosses 1."""

    s: np.ndarray        #: exponents scanned
    nu: np.ndarray       #: best nu for each s
    s_c: float           #: smallest s with best nu < 1 (nan if none)
    monotone_tail: bool  #: best nu < 1 for every s >= s_c on the grid


def source_crossing(lam, *, S: int, B: int, eta_rel, form: str = "hd", n: int = 201) -> SourceCrossing:
    """Best one-cycle ``nu`` for ``m0 ∝ lam^{-s}``, ``s`` on ``linspace(0, 1, n)``, and its crossing of 1."""
    lam = c.spectrum(lam)
    S = v.positive_int("S", S)
    B = v.positive_int("B", B)
    c.form(form)
    v.array_size("n", float(v.positive_int("n", n)) * lam.size, "the stack of initial moments")
    lam = v.eigenvalues(lam)
    s = np.linspace(0.0, 1.0, v.positive_int("n", n))
    nu = one_cycle_optimum(lam, source_stack(lam, s), v.positive_grid("eta_rel", eta_rel) / lam.max(), S=S, B=B,
                           form=form).nu
    below = nu < 1
    s_c = float(s[np.argmax(below)]) if below.any() else np.nan
    return SourceCrossing(s, nu, s_c, bool(below.any() and np.all(below[np.argmax(below):])))


class MapSummary(NamedTuple):
    """What the best-nu maps say at and around the paper's batch sizes."""

    iso_bd: np.ndarray          #: power law, isotropic m0, sigma = 0: best nu over B/D
    bd_cross: float             #: first B/D with best nu >= 1 (power law, isotropic)
    bd_below: float             #: largest B/D with best nu < 1 (power law, isotropic)
    single_crossing: bool       #: best nu >= 1 switches on once along B/D
    sig_at_paper: np.ndarray    #: power law at the paper's B/D, isotropic: best nu per sigma
    noise_raises_at: np.ndarray  #: B/D where the largest sigma raises the isotropic best nu
    spiked_min_at_paper: float  #: spiked, paper's B/D: smallest best nu over s and sigma
    bd_spiked_from: float       #: spiked, sigma = 0: best nu > 1 for every s from this B/D on
    bd_spiked_below: float      #: the B/D just below it (nan if none)
    spiked_min_below: float     #: smallest best nu over s at that B/D


def map_summary(power: BestNuMap, spiked: BestNuMap, paper_bd_power: float, paper_bd_spiked: float) -> MapSummary:
    """Crossings of best ``nu = 1`` on the maps of :func:`best_nu_map` (power law and spiked)."""
    c.instance("power", power, BestNuMap, "best_nu_map")
    c.instance("spiked", spiked, BestNuMap, "best_nu_map")
    paper_bd_power = v.positive_real("paper_bd_power", paper_bd_power)
    paper_bd_spiked = v.positive_real("paper_bd_spiked", paper_bd_spiked)
    bd, nu = power.B_over_D, power.nu
    iso = nu[0, 0]
    bd_cross = float(bd[np.argmax(iso >= 1)]) if np.any(iso >= 1) else np.nan
    bd_below = float(bd[iso < 1].max()) if np.any(iso < 1) else np.nan
    single = bool(np.any(iso < 1) and np.any(iso >= 1) and np.all(np.diff((iso >= 1).astype(int)) >= 0))
    j = int(np.argmin(np.abs(bd - paper_bd_power)))
    raises = nu[-1, 0] > nu[0, 0]
    js = int(np.argmin(np.abs(spiked.B_over_D - paper_bd_spiked)))
    above = np.all(spiked.nu[0] > 1, axis=0)
    start = next((k for k in range(above.size) if above[k:].all()), None)
    bd_from = float(spiked.B_over_D[start]) if start is not None else np.nan
    bd_before = float(spiked.B_over_D[start - 1]) if start else np.nan
    min_before = float(spiked.nu[0, :, start - 1].min()) if start else np.nan
    return MapSummary(iso, bd_cross, bd_below, single, nu[:, 0, j], bd[raises],
                      float(spiked.nu[:, :, js].min()), bd_from, bd_before, min_before)


def best_nu_by_D(Ds, *, alpha: float, B_over_D: float, eta_rel, S: int, form: str = "hd") -> dict:
    """Best one-cycle ``nu`` for the power law ``i^alpha``, isotropic ``m0``, at fixed ``B/D``,
    for each dimension in ``Ds``; returns ``{D: nu}`` (``B = max(1, round(B/D · D))``)."""
    Ds = c.ints("Ds", Ds, maximum=v.MAX_D)
    alpha = _decay("alpha", alpha)
    B_over_D = v.positive_real("B_over_D", B_over_D)
    S = v.positive_int("S", S)
    c.form(form)
    eta_rel = v.positive_grid("eta_rel", eta_rel)
    out = {}
    for D in Ds:
        lam = power_law(int(D), alpha=alpha)
        B = max(1, int(round(B_over_D * D)))
        out[int(D)] = float(one_cycle_optimum(lam, initial_moments(lam), eta_rel / lam.max(), S=S, B=B,
                                              form=form).nu)
    return out


# --- theory against simulation -----------------------------------------------------------------


class SimulationCheck(NamedTuple):
    """Theory against Monte-Carlo for several outer rates at one inner rate."""

    nus: list     #: outer rates
    rows: list    #: ``(label, theory, mean, se)`` per nu, for the figure
    z: list       #: max |mean - theory| / SE per nu (cycles 1..)
    n: list       #: number of cycles compared per nu


def theory_vs_simulation(lam, m0, eta: float, nus, *, S: int, B: int, cycles: int, seeds: int,
                         seed: int = 0) -> SimulationCheck:
    """Exact-form theory against the fast exact sampler for LA (``R = 1``), one run per ``nu``."""
    lam = c.spectrum(lam)
    m0 = v.moments(m0, lam.size)
    eta = v.positive_real("eta", eta)
    c.grid("nus", nus)
    S = v.positive_int("S", S)
    B = v.positive_int("B", B)
    cycles = v.positive_int("cycles", cycles)
    seeds = v.integer("seeds", seeds, minimum=2)  # a standard error needs two runs
    seed = v.nonnegative_int("seed", seed)
    rows, zs, ns = [], [], []
    for i, n in enumerate(nus):
        meth = TwoPhase(eta, n, S=S, R=1, B=B)
        theory = expected_loss(meth, lam, m0, cycles, form="exact")
        runs = loss_curves(meth, lam, m0, cycles, seeds, seed=seed + i, sampler="fast")
        mean, se = mean_se(runs, axis=0)
        z, n_cmp = max_z(theory[1:], mean[1:], se[1:])
        rows.append((f"ν={n:g}", theory, mean, se))
        zs.append(float(z))
        ns.append(int(n_cmp))
    return SimulationCheck(list(nus), rows, zs, ns)


# --- tuned LA against tuned SGD ----------------------------------------------------------------


class TunedComparison(NamedTuple):
    """Best-tuned LA against best-tuned SGD at equal gradient steps, per setting."""

    settings: list   #: ``(spectrum, B, sigma_rel, sigma)`` per row
    sgd: np.ndarray  #: tuned SGD excess loss (above ``sigma^2/2``) per setting
    la: np.ndarray   #: tuned LA excess loss per setting
    ratio: np.ndarray  #: ``la / sgd``
    la_params: list  #: tuned LA hyper-parameters per setting (dicts of ``tuned_losses``)
    budget: int      #: gradient steps


def la_vs_sgd_tuned(spectra: dict, Bs, sigma_rel, *, budget: int, eta_rel, nu_grid, S_values) -> TunedComparison:
    """Tune SGD (over ``eta``) and LA (over ``eta``, ``nu``, ``S``) separately, exact theory, isotropic
    ``m0``, and compare their excess losses after ``budget`` gradient steps.

    Parameters
    ----------
    spectra : dict
        ``{name: lam}``.
    Bs : sequence of int
        Batch sizes.
    sigma_rel : sequence of float
        Label noise as ``sigma^2 = r · lam·m0`` (comparable to the initial loss).
    budget : int
        Gradient steps (a multiple of every ``S``).
    eta_rel : array_like
        Shared grid of ``eta lam_max``.
    nu_grid : array_like
        LA outer rates (include 1, so that tuned LA can never be worse than tuned SGD).
    S_values : sequence of int
        Inner steps for LA.

    Returns
    -------
    TunedComparison
    """
    c.mapping("spectra", spectra, what="a non-empty dict {name: lam}")
    for name, lam in spectra.items():
        c.spectrum(lam, f"spectra[{name!r}]")
    Bs = c.ints("Bs", Bs)
    sigma_rel = c.grid("sigma_rel", sigma_rel, closed=True)
    budget = v.positive_int("budget", budget)
    nu_grid = c.grid("nu_grid", nu_grid)
    S_values = c.ints("S_values", S_values)
    if any(budget % S for S in S_values):
        raise ValueError(f"budget must be a multiple of every S in S_values, got budget={budget}, "
                         f"S_values={S_values}")
    from .momentum import family_methods, tuned_losses

    eta_rel = v.positive_grid("eta_rel", eta_rel)
    settings, sgd, la, pars = [], [], [], []
    for name, lam in spectra.items():
        lam = v.eigenvalues(lam)
        m0 = initial_moments(lam)
        eta = eta_rel / lam.max()
        for B in Bs:
            for r in sigma_rel:
                s = float(np.sqrt(r * (lam @ m0)))
                floor = 0.5 * s ** 2
                b_sgd, _ = tuned_losses(family_methods("SGD", eta, B=B), lam, m0, [budget], sigma=s)
                b_la, p_la = tuned_losses(family_methods("LA", eta, nu_grid, S_values=S_values, B=B),
                                          lam, m0, [budget], sigma=s)
                settings.append((name, int(B), float(r), s))
                sgd.append(b_sgd[0] - floor)
                la.append(b_la[0] - floor)
                pars.append(p_la[0])
    sgd, la = np.array(sgd), np.array(la)
    return TunedComparison(settings, sgd, la, la / sgd, pars, int(budget))


# --- verdicts on the paper's claims ------------------------------------------------------------


def paper_verdicts(v1: Figure1Verdicts, v2: Figure1Verdicts, ms: MapSummary, cross: SourceCrossing, nu_by_D: dict,
                   tc: TunedComparison, *, nu, bd_spiked: float, bd_power: float, power_D: int,
                   sigma_rel_max: float, helps_below: float = 0.8) -> list:
    """Chapter 2's verdicts on Figure 1's three claims and on the abstract's LA trade-off.

    Returns a list of :class:`~twophase.experiments.PaperVerdict`, computed from the chapter's results
    (``v1``/``v2``: the chapter's form and the other one; ``tc``: tuned LA against SGD; LA *helps* where its
    excess loss is below ``helps_below`` times SGD's).
    """
    for name, x in (("v1", v1), ("v2", v2)):
        c.instance(name, x, Figure1Verdicts, "figure1_verdicts")
    c.instance("ms", ms, MapSummary, "map_summary")
    c.instance("cross", cross, SourceCrossing, "source_crossing")
    c.mapping("nu_by_D", nu_by_D, what="a non-empty dict {D: best nu} (the result of best_nu_by_D)")
    c.instance("tc", tc, TunedComparison, "la_vs_sgd_tuned")
    nu = c.grid("nu", nu)
    bd_spiked = v.positive_real("bd_spiked", bd_spiked)
    bd_power = v.positive_real("bd_power", bd_power)
    power_D = v.dimension("power_D", power_D)
    sigma_rel_max = v.nonnegative_real("sigma_rel_max", sigma_rel_max)
    helps_below = v.positive_real("helps_below", helps_below)
    from ._verdict import PaperVerdict, grade

    nu = np.asarray(nu, dtype=np.float64)
    out = [PaperVerdict("I-fig1-eta-star-decreases", grade(v1.eta_star_decreases and v2.eta_star_decreases),
                        f"spiked spectrum, isotropic m0, σ=0, both forms: η*λmax falls monotonically from "
                        f"{v1.eta_star_from:.3f} to {v1.eta_star_to:.3f} over ν∈[{nu[0]:g}, {nu[-1]:g}]", "ch2-figure1",
                        ["ch2-fig1-eta-star-decreases", "ch2-fig1-verdicts-form-independent"]),
           PaperVerdict("I-fig1-spiked-best-nu-above-1", grade(v1.spiked_nu > 1 and ms.spiked_min_at_paper > 1),
                        f"best ν = {v1.spiked_nu:.3f} at B/D={bd_spiked:g}; > 1 for every s∈[0,1] and σ on the map "
                        f"(min {ms.spiked_min_at_paper:.3f}); needs B/D ≥ {ms.bd_spiked_from:g} (σ=0)", "ch2-best-nu-maps",
                        ["ch2-fig1-spiked-best-nu-above-1", "ch2-spiked-above-1-robust",
                         "ch2-spiked-above-1-needs-large-batch"])]
    some = bool(np.isfinite(cross.s_c) or np.isfinite(ms.bd_below) or ms.sig_at_paper[-1] < 1)
    D0 = min(nu_by_D)
    out.append(PaperVerdict("I-fig1-power-best-nu-below-1", grade(v1.power_nu < 1 or some, v1.power_nu < 1),
                            f"isotropic m0, σ=0, B/D={bd_power:g}, D={power_D}: best ν = {v1.power_nu:.3f}; below 1 for "
                            f"m0∝λ^-s with s ≥ {cross.s_c:.2f}, or B/D ≤ {ms.bd_below:g}, or σ² = {sigma_rel_max:g}·λ·m0 "
                            f"(ν = {ms.sig_at_paper[-1]:.3f}); at D={D0} best ν = {nu_by_D[D0]:.3f}", "ch2-best-nu-maps",
                            ["ch2-fig1-power-verdict-consistent", "ch2-power-below-1-needs-low-mode-weight",
                             "ch2-power-below-1-at-small-batch", "ch2-power-verdict-flips-with-D"]))
    helps = tc.ratio < helps_below
    out.append(PaperVerdict("I-abstract-la-tradeoff", grade(bool(helps.any()), bool(helps.mean() >= 0.5)),
                            f"tuned LA vs tuned SGD at {tc.budget} gradient steps (exact theory): LA's excess loss < "
                            f"{helps_below:g}× SGD's in {int(helps.sum())}/{helps.size} settings: " + "; ".join(
                                f"{n}, B={b}, r={r:g}: ratio {q:.2f}" for (n, b, r, _), q in zip(tc.settings, tc.ratio)),
                            "ch2-la-vs-sgd", ["ch2-la-tuned-contains-sgd", "ch2-la-tuning-interior"]))
    return out


def la_vs_sgd_markdown(tc: TunedComparison) -> str:
    """The tuned comparison as a Markdown table (one row per setting)."""
    c.instance("tc", tc, TunedComparison, "la_vs_sgd_tuned")
    head = "| spectrum | B | r | SGD excess | LA excess | ratio | LA ν, S |\n|---|---|---|---|---|---|---|\n"
    return head + "\n".join(f"| {n} | {b} | {r:g} | {x:.3g} | {y:.3g} | {q:.3g} | {p['nu']:.3g}, {p['S']} |"
                            for (n, b, r, _), x, y, q, p in zip(tc.settings, tc.sgd, tc.la, tc.ratio, tc.la_params))


class Problems(NamedTuple):
    """The chapter's two Figure-1 problems (isotropic ``m0``)."""

    lam_spiked: np.ndarray
    m0_spiked: np.ndarray
    spiked_B: int
    lam_power: np.ndarray
    m0_power: np.ndarray
    power_B: int
    description: str


def problems(*, spiked_D: int, spiked_ratio: float, spiked_fraction: float, spiked_B_over_D: float, power_D: int,
             power_alpha: float, power_B_over_D: float) -> Problems:
    """Spiked and power-law spectra with their batch sizes ``B = max(1, round(B/D · D))``."""
    spiked_D = v.dimension("spiked_D", spiked_D)
    spiked_ratio = v.positive_real("spiked_ratio", spiked_ratio)
    spiked_fraction = v.open_unit("spiked_fraction", spiked_fraction)
    spiked_B_over_D = v.positive_real("spiked_B_over_D", spiked_B_over_D)
    power_D = v.dimension("power_D", power_D)
    power_alpha = _decay("power_alpha", power_alpha)
    power_B_over_D = v.positive_real("power_B_over_D", power_B_over_D)
    from ..spectra import spiked

    sB = max(1, int(round(spiked_B_over_D * spiked_D)))
    pB = max(1, int(round(power_B_over_D * power_D)))
    ls, lp = spiked(spiked_D, ratio=spiked_ratio, fraction=spiked_fraction), power_law(power_D, alpha=power_alpha)
    text = (f"spiked: D={spiked_D}, B={sB} (B/D={sB / spiked_D:g}), {int((ls > ls.min()).sum())} modes at "
            f"{spiked_ratio:g}x the bulk; power law: D={power_D}, B={pB} (B/D={pB / power_D:g}), alpha={power_alpha}")
    return Problems(ls, initial_moments(ls, "isotropic"), sB, lp, initial_moments(lp, "isotropic"), pB, text)


# --- the chapter's text: printed summaries, claim details and glued numbers ---------------------
# Each helper formats numbers that the functions above computed; none computes a verdict.


def _results(name, value, cls, producer):
    from ._verdict import expect

    return expect(name, value, cls, producer)


def figure1_panels(problems: Problems, eta_rel, nu, eta_fine_rel, *, S: int, forms=("hd", "exact"),
                   source_exponent: float = 0.5) -> dict:
    """Every Figure-1 panel the chapter draws: :func:`figure1_panel` per problem and form.

    The spiked and the power-law problem of :func:`problems` (isotropic ``m0``) are computed in
    every form of ``forms``; the power law with ``m0 ∝ lam^{-s}`` (``s = source_exponent``) only in
    the first form.

    Parameters
    ----------
    problems : Problems
        The chapter's two problems (:func:`problems`).
    eta_rel, nu, eta_fine_rel : array_like
        Grids as in :func:`figure1_panel`.
    S : int
        Inner steps.
    forms : sequence of {"hd", "exact"}
        Forms of the moment equations; the first is the chapter's.
    source_exponent : float
        Exponent ``s > 0`` of the third initial condition.

    Returns
    -------
    dict
        ``{(problem, form): Figure1Panel}`` with problems ``"spiked"``, ``"power"`` and
        ``"power-s<s>"`` (e.g. ``"power-s0.5"``), in that order.
    """
    pr = _results("problems", problems, Problems, "problems()")
    c.choices("forms", forms, ("hd", "exact"))
    if isinstance(forms, str) or len(forms) == 0:
        raise ValueError(f"forms must be a non-empty sequence of 'hd'/'exact', got {forms!r}")
    forms = [v.choice("form", f, ("hd", "exact")) for f in forms]
    s = v.positive_real("source_exponent", source_exponent)
    src = initial_moments(pr.lam_power, "source", exponent=s)
    cases = {"spiked": (pr.lam_spiked, pr.m0_spiked, pr.spiked_B, forms),
             "power": (pr.lam_power, pr.m0_power, pr.power_B, forms),
             f"power-s{s:g}": (pr.lam_power, src, pr.power_B, forms[:1])}
    return {(k, f): figure1_panel(lam, m0, eta_rel, nu, eta_fine_rel, S=S, B=b, form=f)
            for k, (lam, m0, b, fs) in cases.items() for f in fs}


def figure1_summary(panels: dict) -> str:
    """One line per panel of :func:`figure1_panels`: best ``nu``, its ``eta lam_max`` and ``L/L0``."""
    if not isinstance(panels, dict) or not panels:
        raise ValueError(f"panels must be a non-empty dict from figure1_panels(), got {type(panels).__name__}")
    for key, r in panels.items():
        _results(f"panels[{key!r}]", r, Figure1Panel, "figure1_panel()")
    return "\n".join(f"{k[0]:>11s} {k[1]:>5s}: best nu = {r.nu_best:.4f} at eta*lam_max = "
                     f"{r.eta_best:.4f}, L/L0 = {r.loss_best:.4f}" for k, r in panels.items())


def figure1_verdicts_text(verdicts: dict) -> str:
    """One line per form: ``eta*(nu)`` range, and both best ``nu`` (``{form: Figure1Verdicts}``)."""
    if not isinstance(verdicts, dict) or not verdicts:
        raise ValueError(f"verdicts must be a non-empty dict {{form: Figure1Verdicts}}, got "
                         f"{type(verdicts).__name__}")
    for f, x in verdicts.items():
        _results(f"verdicts[{f!r}]", x, Figure1Verdicts, "figure1_verdicts()")
    return "\n".join(f"[{f}] eta*(nu) from {x.eta_star_from:.3f} to {x.eta_star_to:.3f} (x lambda_max), "
                     f"non-increasing: {x.eta_star_decreases}; spiked best nu = {x.spiked_nu:.4f}; "
                     f"power-law best nu = {x.power_nu:.4f}" for f, x in verdicts.items())


def power_verdict_detail(verdicts: Figure1Verdicts) -> str:
    """Detail of the power-law claim: the closed-form and the grid best ``nu``, and the verdict."""
    x = _results("verdicts", verdicts, Figure1Verdicts, "figure1_verdicts()")
    return (f"power law, isotropic m0: closed-form best nu = {x.power_nu:.4f}, grid best nu = "
            f"{x.power_nu_grid:.4f}; reproduces 'best nu < 1': {x.power_nu < 1}")


def figure1_glue(verdicts: Figure1Verdicts, source: Figure1Panel) -> dict:
    """The numbers the Figure-1 verdicts quote in the prose, as glue strings.

    ``verdicts`` of the chapter's form; ``source`` the panel of the source initial condition.
    Keys: ``spiked_nu``, ``power_nu``, ``eta_from``, ``power_nu_src``, ``eta_to``, ``power_verdict``.
    """
    x = _results("verdicts", verdicts, Figure1Verdicts, "figure1_verdicts()")
    src = _results("source", source, Figure1Panel, "figure1_panel()")
    return {"spiked_nu": f"{x.spiked_nu:.3f}", "power_nu": f"{x.power_nu:.3f}",
            "eta_from": f"{x.eta_star_from:.3f}", "power_nu_src": f"{src.nu_best:.3f}",
            "eta_to": f"{x.eta_star_to:.3f}",
            "power_verdict": "reproduced" if x.power_nu < 1 else "not reproduced"}


def crossing_text(cross: SourceCrossing, B_over_D: float) -> str:
    """Where the power law's best ``nu`` crosses 1 over the source exponent ``s`` (one line)."""
    c = _results("cross", cross, SourceCrossing, "source_crossing()")
    bd = v.positive_real("B_over_D", B_over_D)
    return (f"power law at B/D={bd:g}: best nu(s=0) = {c.nu[0]:.4f}; best nu < 1 for s >= "
            f"{c.s_c:.3f} (and for every larger s on the grid: {c.monotone_tail})")


def map_summary_text(power: BestNuMap, summary: MapSummary, sigma_rel) -> str:
    """Three lines: the isotropic best ``nu`` over ``B/D``, by label noise, and the spiked minimum."""
    mp = _results("power", power, BestNuMap, "best_nu_map()")
    ms = _results("summary", summary, MapSummary, "map_summary()")
    c.grid("sigma_rel", sigma_rel, closed=True)
    sig = np.atleast_1d(v.real_array("sigma_rel", sigma_rel))
    iso = {float(b): float(x) for b, x in zip(np.round(mp.B_over_D, 5), np.round(ms.iso_bd, 4))}
    by_sigma = {float(r): float(x) for r, x in zip(sig, np.round(ms.sig_at_paper, 4))}
    return "\n".join([f"power law, isotropic m0, sigma=0: best nu over B/D: {iso}",
                      f"power law at the paper's B/D, isotropic m0, by sigma^2/(lam.m0): {by_sigma}",
                      f"spiked at the paper's B/D: smallest best nu over all s and sigma = "
                      f"{ms.spiked_min_at_paper:.4f}"])


def map_details(cross: SourceCrossing, summary: MapSummary, *, B_over_D: float, spiked_B_over_D: float,
                sigma_rel_max: float) -> dict:
    """Details of the claims about the best-``nu`` maps, keyed by a short name.

    Keys: ``"s"`` (the crossing in the source exponent), ``"batch"`` (the crossing in ``B/D``),
    ``"noise"`` (the best ``nu`` by label noise), ``"spiked"`` and ``"spiked_batch"`` (the spiked
    map at and below the paper's ``B/D``), ``"noise_not_monotone"``.
    """
    c = _results("cross", cross, SourceCrossing, "source_crossing()")
    ms = _results("summary", summary, MapSummary, "map_summary()")
    bd = v.positive_real("B_over_D", B_over_D)
    bds = v.positive_real("spiked_B_over_D", spiked_B_over_D)
    r = v.nonnegative_real("sigma_rel_max", sigma_rel_max)
    return {
        "s": f"B/D={bd:g}: isotropic best nu = {c.nu[0]:.4f} >= 1; best nu < 1 exactly for "
             f"s >= {c.s_c:.3f}",
        "batch": f"isotropic m0, sigma=0: best nu < 1 for B/D <= {ms.bd_below:g}, >= 1 from "
                 f"B/D = {ms.bd_cross:g} on (single crossing on the grid)",
        "noise": f"paper's B/D, isotropic m0: best nu falls with sigma^2: "
                 f"{np.round(ms.sig_at_paper, 4)}",
        "spiked": f"spiked at B/D={bds:g}: best nu > 1 for every s in [0, 1] and sigma on the map "
                  f"(min {ms.spiked_min_at_paper:.4f})",
        "spiked_batch": f"spiked, sigma=0: best nu > 1 for every s from B/D = {ms.bd_spiked_from:g} "
                        f"on; at B/D = {ms.bd_spiked_below:g} some s gives best nu <= 1 "
                        f"(min {ms.spiked_min_below:.3f})",
        "noise_not_monotone": f"isotropic m0: sigma^2 = {r:g} lam.m0 brings the best nu to "
                              f"{ms.sig_at_paper[-1]:.4f} < 1 at the paper's B/D, and raises it at "
                              f"the smaller B/D {ms.noise_raises_at.tolist()}",
    }


def _nu_by_D(nu_by_D) -> dict:
    if not isinstance(nu_by_D, dict) or not nu_by_D:
        raise ValueError(f"nu_by_D must be a non-empty dict {{D: best nu}} from best_nu_by_D(), got "
                         f"{type(nu_by_D).__name__} {nu_by_D!r:.60}")
    bad = [D for D in nu_by_D if isinstance(D, (bool, np.bool_)) or not isinstance(D, (int, np.integer))]
    if bad:
        raise v.ArgumentTypeError(f"nu_by_D must map dimensions D (integers) to the best nu, got the key {bad[0]!r}")
    return nu_by_D


def dimension_details(nu_by_D: dict, cross: SourceCrossing, *, B_over_D: float, dnu: float) -> dict:
    """Details of the claims on the best ``nu`` over the dimension and on the isotropic margin.

    Keys: ``"grows"``, ``"flips"`` (:func:`best_nu_by_D`) and ``"margin"`` (the isotropic best
    ``nu`` against one step ``dnu`` of the Figure-1 ``nu`` grid).
    """
    nd = _nu_by_D(nu_by_D)
    c = _results("cross", cross, SourceCrossing, "source_crossing()")
    bd = v.positive_real("B_over_D", B_over_D)
    dnu = v.positive_real("dnu", dnu)
    vals = np.array(list(nd.values()))
    return {
        "grows": f"B/D={bd:g}, isotropic m0: best nu for D in {list(nd)}: {np.round(vals, 4)} "
                 f"(increasing)",
        "flips": f"isotropic m0, B/D={bd:g}: best nu < 1 at D in {[k for k, x in nd.items() if x < 1]}, "
                 f">= 1 at D in {[k for k, x in nd.items() if x >= 1]}",
        "margin": f"isotropic best nu at the paper's B/D = {c.nu[0]:.4f}: {c.nu[0] - 1:.4f} above 1, "
                  f"less than one step ({dnu:.4f}) of the Figure-1 nu grid",
    }


def maps_glue(summary: MapSummary, cross: SourceCrossing, nu_by_D: dict, *, B_over_D: float, dnu: float,
              sigma_rel_max: float) -> dict:
    """The numbers the prose on the best-``nu`` maps quotes, as glue strings (keys without prefix)."""
    ms = _results("summary", summary, MapSummary, "map_summary()")
    c = _results("cross", cross, SourceCrossing, "source_crossing()")
    nd = _nu_by_D(nu_by_D)
    bd = v.positive_real("B_over_D", B_over_D)
    dnu = v.positive_real("dnu", dnu)
    r = v.nonnegative_real("sigma_rel_max", sigma_rel_max)
    return {"bd_spiked_from": f"{ms.bd_spiked_from:g}", "bd_spiked_below": f"{ms.bd_spiked_below:g}",
            "s_c": f"{c.s_c:.2f}", "bd_cross": f"{ms.bd_cross:g}", "bd_below": f"{ms.bd_below:g}",
            "nu_by_D": ", ".join(f"{x:.3f} (D={k}, B={max(1, int(round(bd * k)))})" for k, x in nd.items()),
            "nu_iso_paper": f"{c.nu[0]:.3f}", "sig_max": f"{r:g}", "nu_sig_max": f"{ms.sig_at_paper[-1]:.3f}",
            "margin_pct": f"{100 * (c.nu[0] - 1):.1f}", "dnu": f"{dnu:.3f}",
            "bd_noise_raises": f"{ms.noise_raises_at.max():g}"}


def simulation_text(check: SimulationCheck) -> str:
    """One line per ``nu`` of :func:`theory_vs_simulation`: largest z, final simulated and exact loss."""
    c = _results("check", check, SimulationCheck, "theory_vs_simulation()")
    return "\n".join(f"nu={n:g}: max |sim - theory| / SE = {z:.2f} over {k} cycles; final loss sim "
                     f"{r[2][-1]:.4e} ± {r[3][-1]:.1e}, theory {r[1][-1]:.4e}"
                     for n, z, k, r in zip(c.nus, c.z, c.n, c.rows))


def tuning_edges(comparison: TunedComparison) -> list:
    """Settings ``(spectrum, B, sigma_rel)`` whose tuned LA ``eta`` or ``nu`` is at an end of its grid."""
    tc = _results("comparison", comparison, TunedComparison, "la_vs_sgd_tuned()")
    return [s[:3] for s, p in zip(tc.settings, tc.la_params) if p["eta_at_edge"] or p["nu_at_edge"]]


def tuned_glue(comparison: TunedComparison, helps_below: float = 0.8) -> dict:
    """Glue strings of the tuned comparison: the budget, in how many settings LA *helps* (excess
    below ``helps_below`` times SGD's) and the range of the excess-loss ratio."""
    tc = _results("comparison", comparison, TunedComparison, "la_vs_sgd_tuned()")
    helps = tc.ratio < v.positive_real("helps_below", helps_below)
    return {"tune_budget": str(tc.budget), "la_helps": f"{int(helps.sum())} of {helps.size}",
            "ratio_min": f"{tc.ratio.min():.2f}", "ratio_max": f"{tc.ratio.max():.2f}"}
