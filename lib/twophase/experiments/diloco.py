"""Chapter 3 (LA-DiLoCo): the computations behind its results.

Owns the Theorem 3.1 grid check (:func:`theorem31_check`), the random-spectrum domination
check, the closed-form per-cycle rates ``tau_R`` under a scaling rule and their spread over ``R``,
the Figure-2 comparison of theory with Monte-Carlo, the timing of divergence, and the Figure-2
statements on a second spectrum.

It may import the lower layers (``twophase.theory``, ``sweeps``, ``operators``, ``simulate``,
``spectra``, ``methods``); nothing below ``twophase.experiments`` imports it.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import _validate as v
from . import _checks as c
from ..methods import TwoPhase
from ..operators import cycle_operator, isotropic_eigenvalues, isotropic_noise, second_moment_radius
from ..summaries import max_z, mean_se
from ..spectra import power_law, spiked
from ..sweeps import RULES, batch_per_worker, r_sweep, scaled_hyperparameters, simulate_r_sweep
from .._base import FORMS

__all__ = [
    "isotropic_tau",
    "rate_spread",
    "isotropic_rate_spread",
    "last_true_from_start",
    "Theorem31Check",
    "theorem31_check",
    "DominationCheck",
    "domination_draws",
    "RadiusOverR",
    "radius_over_R",
    "ClosedFormCheck",
    "closed_form_vs_operator",
    "rate_scan",
    "Figure2",
    "figure2",
    "DivergenceTiming",
    "divergence_timing",
    "Figure2Statements",
    "figure2_statements",
    "OtherSpectrum",
    "other_spectrum_statements",
    "Setup",
    "setup",
    "paper_verdicts",
    "radius_text",
    "radius_detail",
    "radius_glue",
    "closed_form_detail",
    "figure2_detail",
    "statements_text",
    "statements_markdown",
    "final_simulated_loss",
    "fixed_large_detail",
    "sqrt_universal_detail",
    "thresholds_detail",
    "statements_glue",
    "timing_detail",
    "timing_glue",
    "other_spectrum_text",
    "other_spectrum_detail",
]


# --- rates over R with identical eigenvalues (moved from twophase.sweeps) ----------------------


def _iso(S, B_tot, lam0, D, form):
    """The checks of the identical-eigenvalue problem shared by the closed-form rates."""
    v.choice("form", form, FORMS)
    return v.positive_int("S", S), v.positive_int("B_tot", B_tot), v.positive_real("lam0", lam0), v.dimension("D", D)


def _is_key(R, d) -> bool:
    """``R`` is a worker count (an int, not a bool) among the keys of ``d``."""
    try:
        return not isinstance(R, (bool, np.bool_)) and R in d
    except TypeError:  # unhashable
        return False


def _n_divisors(n: int) -> int:
    k, count = 1, 0
    while k * k <= n:
        if n % k == 0:
            count += 1 if k * k == n else 2
        k += 1
    return count


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
    eta = c.scalar_or_grid("eta", eta)
    nu = v.positive_real("nu", nu)
    R = v.positive_int("R", R)
    v.choice("rule", rule, RULES)
    S, B_tot, lam0, D = _iso(S, B_tot, lam0, D, form)
    B = batch_per_worker(B_tot, R)
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
    c.mapping("tau_by_R", tau_by_R, what="a non-empty dict {R: tau}")
    shapes = set()
    for R, tau in tau_by_R.items():
        if isinstance(tau, (str, bytes, bool, np.bool_)) or tau is None or np.asarray(tau).dtype.kind not in "iuf":
            raise v.ArgumentTypeError(f"tau_by_R must map R to real rates (arrays of one shape), got "
                                      f"{type(tau).__name__} {tau!r:.60} at R={R!r}")
        if np.any(np.isnan(np.asarray(tau, dtype=np.float64))):
            raise ValueError(f"tau_by_R must hold rates, not nan (allowed range [0, inf]), at R={R!r}")
        shapes.add(np.shape(tau))
    if len(shapes) > 1:
        raise ValueError(f"tau_by_R must hold rates of one shape, got shapes {sorted(shapes)}")
    if Rs is not None:
        if isinstance(Rs, (str, bytes, dict)) or np.ndim(Rs) != 1 or not len(Rs):
            raise v.ArgumentTypeError(f"Rs must be None or a non-empty sequence of keys of tau_by_R, got {Rs!r:.60}")
        missing = [R for R in Rs if not _is_key(R, tau_by_R)]
        if missing:
            raise ValueError(f"Rs must hold keys of tau_by_R {sorted(tau_by_R)}, got {missing}")
    if not _is_key(reference, tau_by_R):
        raise ValueError(f"reference must be a key of tau_by_R {sorted(tau_by_R)}, got {reference!r}")
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
    eta = v.positive_real("eta", eta)
    nu = v.positive_real("nu", nu)
    Rs = c.ints("Rs", Rs)
    v.choice("rule", rule, RULES)
    S, B_tot, lam0, D = _iso(S, B_tot, lam0, D, form)
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
    if isinstance(mask, (str, bytes)) or mask is None or np.asarray(mask).dtype.kind != "b":
        raise v.ArgumentTypeError(f"mask must be an array of bools (no coercion from numbers or strings), "
                                  f"got {type(mask).__name__} {mask!r:.60}")
    grid = c.grid("grid", grid, lower=None)
    mask = np.asarray(mask, dtype=bool)
    grid = np.asarray(grid, dtype=np.float64)
    if mask.ndim != 1 or mask.shape != grid.shape or mask.size == 0:
        raise ValueError(f"mask and grid must be non-empty 1-D arrays of one shape, got {mask.shape}, {grid.shape}")
    if not mask[0]:
        return np.nan
    k = np.argmin(mask) if not mask.all() else mask.size
    return float(grid[k - 1])


class Theorem31Check(NamedTuple):
    """Outcome of :func:`theorem31_check`."""

    n_checks: int   #: grid points checked (finite tau_sym at every R), over all forms and settings
    n_strict: int   #: of which with S >= 2 (strict increase required)
    failures: list  #: settings ``(form, S, B_tot, lam0, D)`` with at least one failing grid point


def theorem31_check(eta_rel, nu, *, forms=FORMS, S_values=(1, 2, 5, 10, 20), B_tots=(4, 16, 64, 96),
                    lam0s=(0.1, 1.0, 10.0), Ds=(1, 100, 3200), rtol_S1: float = 1e-12) -> Theorem31Check:
    """Check Theorem 3.1 of :cite:`agarwala2026twophase` on a grid, from the closed form.

    For ``D`` identical eigenvalues ``lam0`` and a fixed total batch
    ``B_tot = R B``, the eigenvalues of the cycle operator are
    ``tau = (1 - nu h)^2 + n(R)`` (:func:`isotropic_eigenvalues`); only the noise
    part ``n(R)`` (:func:`isotropic_noise`) depends on ``R``. For every setting
    ``(form, S, B_tot, lam0, D)`` this evaluates ``n(R)`` over the grid
    ``eta = eta_rel[:, None] / lam0``, ``nu[None, :]`` (one vectorised call per ``R``)
    for every divisor ``R`` of ``B_tot`` and requires, at every grid point
    where ``n_sym`` is finite for all ``R``:

    * ``S = 1``: ``|n_sym(R') - n_sym(R)| <= rtol_S1 · n_sym(1)`` between consecutive
      divisors (no dependence on ``R``);
    * ``S >= 2``: ``n_sym`` strictly increasing in ``R``, and ``n_perp`` strictly
      increasing (exact form) or exactly constant (``hd`` form, where ``a_perp = c^2``).

    Parameters
    ----------
    eta_rel : array_like, shape ``(n_eta,)``
        Values of ``eta lam0``.
    nu : array_like, shape ``(n_nu,)``
        Outer rates.
    forms, S_values, B_tots, lam0s, Ds : sequences
        The settings looped over (in this order, outermost first).
    rtol_S1 : float
        Relative tolerance of the ``S = 1`` equality.

    Returns
    -------
    Theorem31Check
        ``(n_checks, n_strict, failures)``; the theorem holds on the grid iff
        ``failures`` is empty (and ``n_checks > 0``).
    """
    eta_rel = c.grid("eta_rel", eta_rel, scalar_ok=False)
    nu = c.grid("nu", nu, scalar_ok=False)
    forms = c.choices("forms", forms, FORMS)
    S_values = c.ints("S_values", S_values)
    B_tots = c.ints("B_tots", B_tots)
    lam0s = c.grid("lam0s", lam0s, scalar_ok=False)
    Ds = c.ints("Ds", Ds, maximum=v.MAX_D)
    rtol_S1 = v.nonnegative_real("rtol_S1", rtol_S1)
    scan = len(forms) * len(S_values) * 5e-8 * sum(B_tots)  # the divisor scans
    n_R = sum(_n_divisors(b) for b in B_tots) if max(B_tots) <= 10 ** 10 else np.inf
    calls = len(forms) * len(S_values) * n_R * lam0s.size * len(Ds)
    v.work_estimate(scan + calls * (3e-4 + 1e-7 * eta_rel.size * nu.size),
                    f"theorem31_check ({calls:.3g} closed-form evaluations of {eta_rel.size * nu.size:,} points)",
                    "use coarser eta_rel and nu grids, or fewer settings")
    eta_rel = np.asarray(eta_rel, dtype=np.float64)
    nu = np.asarray(nu, dtype=np.float64)
    if eta_rel.ndim != 1 or nu.ndim != 1:
        raise ValueError(f"eta_rel and nu must be 1-D arrays, got shapes {eta_rel.shape}, {nu.shape}")
    for f in forms:
        v.choice("form", f, FORMS)
    n_checks, n_strict, failures = 0, 0, []
    for f in forms:
        for S_ in S_values:
            for Bt in B_tots:
                Rs_all = [r for r in range(1, Bt + 1) if Bt % r == 0]
                for lam_ in lam0s:
                    for D_ in Ds:
                        sym, perp = [], []
                        for R in Rs_all:
                            meth = TwoPhase(eta_rel[:, None] / lam_, nu[None, :], S=S_, R=R, B=Bt // R)
                            ns, npp = isotropic_noise(meth, lam_, D_, f)  # tau minus the R-free signal
                            sym.append(ns)
                            perp.append(npp)
                        sym, perp = np.stack(sym), np.stack(perp)  # (n_R, n_eta, n_nu)
                        ok = np.all(np.isfinite(sym), axis=0)
                        with np.errstate(invalid="ignore"):  # inf - inf at unchecked points
                            d_sym, d_perp = np.diff(sym, axis=0), np.diff(perp, axis=0)
                        if S_ == 1:
                            good = np.all(np.abs(d_sym) <= rtol_S1 * sym[0], axis=0)
                        else:
                            good = np.all(d_sym > 0, axis=0)
                            if f == "exact":
                                good &= np.all(d_perp > 0, axis=0)
                            else:
                                good &= np.all(d_perp == 0, axis=0)
                            n_strict += int(ok.sum())
                        n_checks += int(ok.sum())
                        if not np.all(good[ok]):
                            failures.append((f, S_, Bt, lam_, D_))
    return Theorem31Check(n_checks, n_strict, failures)


# --- general spectra ---------------------------------------------------------------------------


class DominationCheck(NamedTuple):
    """Outcome of :func:`domination_draws`."""

    n_pairs: int  #: (draw, R) pairs checked
    failures: list  #: ``(trial, R)`` pairs where a statement failed


def domination_draws(n_trials: int = 60, seed: int = 0, B_tots=(4, 8, 12, 16)) -> DominationCheck:
    """Random spectra, rates, ``S`` and forms: the noise part of ``T_R`` dominates ``T_1``.

    For each draw (``D`` in ``[2, 25)``; power-law, spiked or uniform spectrum) and every divisor
    ``R > 1`` of ``B_tot`` this checks, from dense matrices, that the noise part of ``T_R`` is
    entry-wise larger than that of ``T_1`` when ``S >= 2`` (equal to rounding when ``S = 1``), and
    that ``rho(T_R) >= rho(T_1)``.
    """
    n_trials = v.positive_int("n_trials", n_trials)
    B_tots = c.ints("B_tots", B_tots)
    n_R = max(_n_divisors(b) for b in B_tots) if max(B_tots) <= 10 ** 10 else np.inf
    v.work_estimate(n_trials * (5e-8 * max(B_tots) + 2e-3 * n_R),
                    f"domination_draws ({n_trials:,} draws, up to {n_R:.3g} worker counts each)",
                    "use fewer n_trials or smaller B_tots")
    rng = np.random.default_rng(v.nonnegative_int("seed", seed))
    n, bad = 0, []
    for trial in range(v.positive_int("n_trials", n_trials)):
        D_ = int(rng.integers(2, 25))
        kind = trial % 3
        lam = (power_law(D_, float(rng.uniform(-2.5, -0.5))) if kind == 0 else
               spiked(D_, float(rng.uniform(2, 30)), 0.2) if kind == 1 else rng.uniform(0.05, 1.0, D_))
        Bt = int(rng.choice(list(B_tots)))
        S_ = int(rng.integers(1, 9))
        eta = float(rng.uniform(0.05, 1.8) / lam.max())
        nu = float(rng.uniform(0.2, 3.0))
        f = ("exact", "hd")[trial % 2]
        m1 = TwoPhase(eta, nu, S=S_, R=1, B=Bt)
        N1 = cycle_operator(m1, lam, f).T.noise.dense()
        r1 = second_moment_radius(m1, lam, f, how="dense")
        for R in [r for r in range(2, Bt + 1) if Bt % r == 0]:
            meth = TwoPhase(eta, nu, S=S_, R=R, B=Bt // R)
            NR = cycle_operator(meth, lam, f).T.noise.dense()
            tol = 1e-12 * np.abs(N1) + 4e-16 * np.diag((1 - eta * lam) ** 2)
            entrywise = np.all(np.abs(NR - N1) <= tol) if S_ == 1 else np.all(NR - N1 > 0)
            rho_ok = second_moment_radius(meth, lam, f, how="dense") >= r1 * (1 - 1e-12)
            n += 1
            if not (entrywise and rho_ok):
                bad.append((trial, R))
    return DominationCheck(n, bad)


class RadiusOverR(NamedTuple):
    """Spectral radius of ``T_R`` over ``R`` at several rates, on one spectrum."""

    eta: np.ndarray       #: rates (``eta lam_max``)
    rho: dict             #: ``{R: rho(T_R)}``, arrays over ``eta``
    monotone: bool        #: non-decreasing in R at every eta (relative rounding 1e-12)
    gain: np.ndarray      #: ``rho(T_Rmax) - rho(T_1)`` per eta
    signal: np.ndarray    #: the slowest mode's signal factor ``(1 - nu h_min)^2`` per eta
    equal_to_signal: np.ndarray  #: ``max_R |rho_R - signal| / signal`` per eta


def radius_over_R(lam, eta_rel, *, nu: float, S: int, B_tot: int, Rs, form: str = "exact") -> RadiusOverR:
    """``rho(T_R)`` at fixed ``B_tot`` for each ``R`` in ``Rs`` (secular solver for large ``D``)."""
    lam = c.spectrum(lam)
    eta_rel = c.grid("eta_rel", eta_rel)
    nu = v.positive_real("nu", nu)
    S = v.positive_int("S", S)
    B_tot = v.positive_int("B_tot", B_tot)
    Rs = c.divisors_of("Rs", Rs, B_tot)
    c.form(form)
    lam = v.eigenvalues(lam)
    eta_rel = np.asarray(eta_rel, dtype=np.float64)
    eta = eta_rel / lam.max()
    rho = {int(R): np.asarray(second_moment_radius(TwoPhase(eta, nu, S=S, R=int(R), B=batch_per_worker(B_tot, R)),
                                              lam, form), dtype=np.float64) for R in Rs}
    Rs = sorted(rho)
    mono = all(np.all(rho[b] >= rho[a] * (1 - 1e-12)) for a, b in zip(Rs, Rs[1:]))
    sig = (1 - nu * (1 - (1 - eta * lam.min()) ** S)) ** 2
    eq = np.max([np.abs(rho[R] - sig) / sig for R in Rs], axis=0)
    return RadiusOverR(eta_rel, rho, bool(mono), rho[Rs[-1]] - rho[Rs[0]], sig, eq)


class ClosedFormCheck(NamedTuple):
    """The closed-form ``tau_sym`` against the operator, two ways."""

    D_dense: int           #: dimension of the dense eigenvalue check
    dense_err: float       #: max relative difference to ``eigvals`` of the dense ``T`` at ``D_dense``
    action_err: float      #: max relative difference of ``(T 1) / 1`` to ``tau_sym`` at the full D


def closed_form_vs_operator(eta, nu: float, R: int, *, S: int, B_tot: int, lam0: float, D: int,
                            D_dense: int = 200, form: str = "exact") -> ClosedFormCheck:
    """Check ``tau_sym`` (:func:`twophase.operators.isotropic_eigenvalues`) against the cycle operator.

    * at ``D_dense`` it is compared with the largest eigenvalue of the dense ``D_dense x D_dense``
      matrix (``numpy.linalg.eigvals``, no grouping);
    * at the full ``D`` the structured operator is applied to the all-ones vector, which must come
      back multiplied by ``tau_sym`` in every entry (it is the eigenvector).
    """
    eta = c.grid("eta", eta)
    nu = v.positive_real("nu", nu)
    R = v.positive_int("R", R)
    S, B_tot, lam0, D = _iso(S, B_tot, lam0, D, form)
    D_dense = v.positive_int("D_dense", D_dense)
    eta = np.atleast_1d(np.asarray(eta, dtype=np.float64))
    B = batch_per_worker(B_tot, R)
    errs_d, errs_a = [], []
    for e in eta:
        m = TwoPhase(float(e), nu, S=S, R=int(R), B=B)
        Dd = min(int(D), int(D_dense))
        tau_d = isotropic_eigenvalues(m, lam0, Dd, form)[0]
        rho_d = second_moment_radius(m, np.full(Dd, float(lam0)), form, how="dense")
        errs_d.append(abs(rho_d - tau_d) / tau_d)
        tau = isotropic_eigenvalues(m, lam0, D, form)[0]
        T, _ = cycle_operator(m, np.full(int(D), float(lam0)), form)
        errs_a.append(float(np.max(np.abs(T @ np.ones(int(D)) - tau)) / tau))
    return ClosedFormCheck(min(int(D), int(D_dense)), float(max(errs_d)), float(max(errs_a)))


def rate_scan(eta, nu: float, Rs, *, S: int, B_tot: int, lam0: float, D: int, form: str = "exact") -> dict:
    """``{(rule, R): tau_sym(eta)}`` for both scaling rules (:data:`twophase.sweeps.RULES`)."""
    eta = c.scalar_or_grid("eta", eta)
    nu = v.positive_real("nu", nu)
    S, B_tot, lam0, D = _iso(S, B_tot, lam0, D, form)
    Rs = c.divisors_of("Rs", Rs, B_tot)
    return {(rule, int(R)): isotropic_tau(eta, nu, int(R), rule, S=S, B_tot=B_tot, lam0=lam0, D=D, form=form)
            for rule in RULES for R in Rs}


# --- Figure 2 ----------------------------------------------------------------------------------


class Figure2(NamedTuple):
    """Theory and simulation of Figure 2, and their agreement."""

    theory: dict      #: ``{rule: {R: array (n_eta, cycles + 1)}}``
    sims: dict        #: ``{rule: {R: array (n_eta, seeds, cycles + 1)}}``
    panels: dict      #: ``{(rule, j): (title, {R: (theory, mean, se)})}`` for the figure
    z: list           #: ``(z, rule, eta, R)`` per curve with points compared
    divergence_agrees: list  #: ``(agree, rule, eta, R)``: final mean above L0 iff theory is
    lowest: float     #: smallest finite theory loss (for the y-range)
    L0: float         #: initial loss


def figure2(lam, m0, etas, nu: float, *, S: int, B_tot: int, Rs, cycles: int, seeds: int,
            seed: int = 0) -> Figure2:
    """Theory (exact form) and fast-sampler simulation of LA-DiLoCo over ``R`` under both rules.

    ``R = 1`` is one run shared by the two rules. Theory and simulation are compared at every cycle
    where the expected loss is below ``10 L0`` (beyond, the loss is heavy-tailed).
    """
    lam = c.spectrum(lam)
    m0 = v.moments(m0, lam.size)
    c.grid("etas", etas)
    nu = v.positive_real("nu", nu)
    S = v.positive_int("S", S)
    B_tot = v.positive_int("B_tot", B_tot)
    Rs = c.divisors_of("Rs", Rs, B_tot, need_one=True)
    cycles = v.positive_int("cycles", cycles)
    seeds = v.integer("seeds", seeds, minimum=2)  # a standard error needs two runs
    seed = v.nonnegative_int("seed", seed)
    L0 = 0.5 * float(np.asarray(lam) @ np.asarray(m0))
    theory = {rule: r_sweep(lam, m0, etas, nu, S=S, B_tot=B_tot, Rs=Rs, rule=rule, cycles=cycles, form="exact")
              for rule in RULES}
    sims = {"fixed": simulate_r_sweep(lam, m0, etas, nu, S=S, B_tot=B_tot, Rs=Rs, rule="fixed", cycles=cycles,
                                      seeds=seeds, seed=seed)}
    sims["sqrt"] = dict(simulate_r_sweep(lam, m0, etas, nu, S=S, B_tot=B_tot, Rs=[r for r in Rs if r != 1],
                                         rule="sqrt", cycles=cycles, seeds=seeds, seed=seed))
    sims["sqrt"][1] = sims["fixed"][1]
    panels, zs, agree = {}, [], []
    for rule in RULES:
        for j, eta in enumerate(etas):
            curves = {}
            for R in Rs:
                mean, se = mean_se(sims[rule][R][j])
                thy = theory[rule][R][j]
                curves[R] = (thy, mean, se)
                ok = np.isfinite(thy) & (thy < 10 * L0)
                z, n = max_z(thy[1:][ok[1:]], mean[1:][ok[1:]], se[1:][ok[1:]])
                if n:
                    zs.append((z, rule, eta, R))
                agree.append(((mean[-1] > L0) == (thy[-1] > L0), rule, eta, R))
            title = f"{rule}: η={eta:g}, ν={nu:g}" if rule == "fixed" else f"sqrt: η={eta:g}/√R, ν={nu:g}√R"
            panels[rule, j] = (title, curves)
    lowest = min(float(np.nanmin(np.where(np.isfinite(c[0]), c[0], np.nan))) for _, cs in panels.values()
                 for c in cs.values())
    return Figure2(theory, sims, panels, zs, agree, lowest, L0)


class DivergenceTiming(NamedTuple):
    """First cycle at which the loss passes ``level · L0`` (``inf`` if never), per ``R``."""

    Rs: list
    level: float     #: threshold as a multiple of L0
    theory: dict     #: ``{R: first cycle}`` of the theory curve
    simulation: dict  #: ``{R: first cycle}`` of the simulated mean
    predicted: dict  #: ``{R: ceil(log(level) / log(tau_R))}`` from the closed form (inf if tau <= 1)
    earlier: bool    #: theory: non-increasing in R, finite at Rmax and earlier than at R = 1
    sim_agrees: bool  #: simulation crosses at the theory's cycle ±1 (both inf where theory is inf)


def _first_above(curve, level):
    above = np.asarray(curve) > level
    return int(np.argmax(above)) if above.any() else np.inf


def divergence_timing(fig2: Figure2, j: int, rule: str = "fixed", *, nu: float, eta: float, S: int,
                      B_tot: int, lam0: float, D: int, level: float = 10.0) -> DivergenceTiming:
    """When does each ``R`` blow up at base rate ``etas[j]``? Theory, simulation and the closed form.

    The loss is ``L0 tau_R^t`` here, so a run with ``tau_R > 1`` passes ``level · L0`` at cycle
    ``ceil(log(level) / log(tau_R))``: the larger ``tau_R`` (the larger ``R``, Theorem 3.1), the earlier.
    """
    c.instance("fig2", fig2, Figure2, "figure2")
    v.choice("rule", rule, RULES)
    j = c.index("j", j, min(np.shape(x)[0] for x in fig2.theory[rule].values()))
    nu = v.positive_real("nu", nu)
    eta = v.positive_real("eta", eta)
    S, B_tot, lam0, D = _iso(S, B_tot, lam0, D, "exact")
    level = v.positive_real("level", level)
    if not level > 1:
        raise ValueError(f"level must be a multiple of L0 > 1 (allowed range (1, inf)), got {level!r}")
    Rs = sorted(fig2.theory[rule])
    cyc = fig2.theory[rule][Rs[0]].shape[-1] - 1
    th = {R: _first_above(fig2.theory[rule][R][j], level * fig2.L0) for R in Rs}
    sim = {R: _first_above(mean_se(fig2.sims[rule][R][j])[0], level * fig2.L0) for R in Rs}
    pred = {}
    for R in Rs:
        tau = isotropic_tau(eta, nu, R, rule, S=S, B_tot=B_tot, lam0=lam0, D=D)
        k = int(np.ceil(np.log(level) / np.log(tau))) if tau > 1 else np.inf
        pred[R] = k if k <= cyc else np.inf
    ok = (all(th[b] <= th[a] for a, b in zip(Rs, Rs[1:])) and np.isfinite(th[Rs[-1]]) and th[Rs[-1]] < th[Rs[0]])
    agree = all((abs(sim[R] - th[R]) <= 1) if np.isfinite(th[R]) else not np.isfinite(sim[R]) for R in Rs)
    return DivergenceTiming(Rs, float(level), th, sim, pred, bool(ok), bool(agree))


class Figure2Statements(NamedTuple):
    """The caption's statements measured on the closed-form rates."""

    table: list            #: per Figure-2 rate: dict of eta, tau1, tau_Rmax (both rules), spreads
    spread_fixed: np.ndarray  #: rate spread over R on the fine grid (fixed rule)
    spread_sqrt: np.ndarray   #: the same, square-root rule
    eta_indep_fixed: float  #: fixed rule R-independent (spread <= tol) up to this base eta
    eta_univ_sqrt: float    #: sqrt rule universal up to this base eta
    eta_div: dict           #: ``{rule: {R: first eta with tau >= 1}}``


def figure2_statements(rho: dict, eta_scan, etas, nu: float, Rs, *, rate_tol: float, S: int, B_tot: int,
                       lam0: float, D: int) -> Figure2Statements:
    """Spreads of the per-cycle log-rate over ``R`` (fine grid and Figure-2 rates), and where each
    rule stops being ``R``-independent or diverges (``rho`` from :func:`rate_scan`)."""
    c.mapping("rho", rho, what="a dict {(rule, R): tau} (the result of rate_scan)")
    eta_scan = c.grid("eta_scan", eta_scan)
    c.grid("etas", etas)
    nu = v.positive_real("nu", nu)
    rate_tol = v.positive_real("rate_tol", rate_tol)
    S, B_tot, lam0, D = _iso(S, B_tot, lam0, D, "exact")
    Rs = c.divisors_of("Rs", Rs, B_tot, need_one=True)
    missing = [(rule, R) for rule in RULES for R in Rs if (rule, R) not in rho]
    if missing:
        raise ValueError(f"rho must hold every (rule, R) of rate_scan for Rs={Rs}, missing {missing}")
    bad = [(rule, R) for rule in RULES for R in Rs if np.shape(rho[rule, R]) != eta_scan.shape]
    if bad:
        raise ValueError(f"rho must hold rates on eta_scan (shape {eta_scan.shape}), not at {bad}")
    eta_scan = np.asarray(eta_scan, dtype=np.float64)
    iso = dict(S=S, B_tot=B_tot, lam0=lam0, D=D, form="exact")
    sf = rate_spread({R: rho["fixed", R] for R in Rs}, Rs)
    ss = rate_spread({R: rho["sqrt", R] for R in Rs}, Rs)
    div = {rule: {R: (float(eta_scan[np.argmax(rho[rule, R] >= 1)]) if np.any(rho[rule, R] >= 1) else np.inf)
                  for R in Rs} for rule in RULES}
    Rmax = max(Rs)
    table = [dict(eta=e, fixed_spread=isotropic_rate_spread(e, nu, Rs, "fixed", **iso),
                  sqrt_spread=isotropic_rate_spread(e, nu, Rs, "sqrt", **iso),
                  tau1=isotropic_tau(e, nu, 1, "fixed", **iso),
                  tauRmax_fixed=isotropic_tau(e, nu, Rmax, "fixed", **iso),
                  tauRmax_sqrt=isotropic_tau(e, nu, Rmax, "sqrt", **iso)) for e in etas]
    return Figure2Statements(table, sf, ss, last_true_from_start(sf <= rate_tol, eta_scan),
                             last_true_from_start(ss <= rate_tol, eta_scan), div)


class OtherSpectrum(NamedTuple):
    """Figure 2's statements on a second spectrum, from the theory's loss after ``cycles``."""

    eta: np.ndarray          #: base rates (``eta lam_max``)
    spread: dict             #: ``{rule: average log-rate spread over R}`` per eta
    diverges: dict           #: ``{rule: {R: first eta with L(cycles) > L0}}``
    eta_indep_fixed: float   #: fixed rule R-independent up to this eta
    eta_univ_sqrt: float     #: sqrt rule universal up to this eta


def other_spectrum_statements(lam, m0, eta_rel, nu: float, *, S: int, B_tot: int, Rs, cycles: int,
                              rate_tol: float) -> OtherSpectrum:
    """The Figure-2 statements on any spectrum, where the loss is not one exponential.

    The spread is that of the *average* per-cycle log-rate ``log(L_R(T)/L0)/T`` over ``R``, relative
    to ``R = 1``: ``max_R |log L_R(T) - log L_1(T)| / |log(L_1(T)/L0)|``; a run diverges at ``eta`` if
    ``L_R(T) > L0``.
    """
    lam = c.spectrum(lam)
    m0 = v.moments(m0, lam.size)
    eta_rel = c.grid("eta_rel", eta_rel)
    nu = v.positive_real("nu", nu)
    S = v.positive_int("S", S)
    B_tot = v.positive_int("B_tot", B_tot)
    Rs = c.divisors_of("Rs", Rs, B_tot, need_one=True)
    cycles = v.positive_int("cycles", cycles)
    rate_tol = v.positive_real("rate_tol", rate_tol)
    lam = v.eigenvalues(lam)
    eta_rel = np.asarray(eta_rel, dtype=np.float64)
    L0 = 0.5 * float(lam @ np.asarray(m0))
    spread, div = {}, {}
    for rule in RULES:
        cur = r_sweep(lam, m0, eta_rel / lam.max(), nu, S=S, B_tot=B_tot, Rs=Rs, rule=rule, cycles=cycles)
        final = {R: cur[R][:, -1] for R in Rs}
        with np.errstate(divide="ignore", invalid="ignore"):
            base = np.log(final[1] / L0)
            d = np.max([np.abs(np.log(final[R] / L0) - base) for R in Rs], axis=0) / np.abs(base)
        spread[rule] = np.where(np.isfinite(d), d, np.inf)
        div[rule] = {R: (float(eta_rel[np.argmax(final[R] > L0)]) if np.any(final[R] > L0) else np.inf)
                     for R in Rs}
    return OtherSpectrum(eta_rel, spread, div, last_true_from_start(spread["fixed"] <= rate_tol, eta_rel),
                         last_true_from_start(spread["sqrt"] <= rate_tol, eta_rel))


# --- verdicts on the paper's claims ------------------------------------------------------------


class Setup(NamedTuple):
    """The chapter's problem: ``D`` identical eigenvalues, isotropic ``m0``."""

    lam: np.ndarray
    m0: np.ndarray
    L0: float
    description: str


def setup(D: int, lam0: float, *, B_tot: int, S: int, nu: float, Rs, etas) -> Setup:
    """Identical eigenvalues and isotropic ``m0``; refuses an ``R`` that does not divide ``B_tot``."""
    D = v.dimension("D", D)
    lam0 = v.positive_real("lam0", lam0)
    B_tot = v.positive_int("B_tot", B_tot)
    S = v.positive_int("S", S)
    nu = v.positive_real("nu", nu)
    Rs = c.divisors_of("Rs", Rs, B_tot)
    c.grid("etas", etas)
    from ..spectra import identical, initial_moments

    for R in Rs:
        batch_per_worker(B_tot, R)
    lam = identical(D, lam0)
    m0 = initial_moments(lam, "isotropic")
    return Setup(lam, m0, 0.5 * float(lam @ m0),
                 f"D={D}, B_tot={B_tot}, S={S}, nu={nu}, lambda={lam0}; R in {list(Rs)}; base rates {list(etas)}")


def paper_verdicts(thm: Theorem31Check, dom: DominationCheck, st: Figure2Statements, f2: Figure2,
                   dt: DivergenceTiming, oth: OtherSpectrum, *, Rs, rate_tol: float, k_se: float, seeds: int, D: int,
                   B_tot: int, other_alpha: float) -> list:
    """Chapter 3's verdicts on Theorem 3.1, the abstract's worker-noise claims and Figure 2's statements.

    Returns a list of :class:`~twophase.experiments.PaperVerdict` computed from the chapter's results.
    """
    c.instance("thm", thm, Theorem31Check, "theorem31_check")
    c.instance("dom", dom, DominationCheck, "domination_draws")
    c.instance("st", st, Figure2Statements, "figure2_statements")
    c.instance("f2", f2, Figure2, "figure2")
    c.instance("dt", dt, DivergenceTiming, "divergence_timing")
    c.instance("oth", oth, OtherSpectrum, "other_spectrum_statements")
    if not f2.z:
        raise ValueError("f2 must compare theory and simulation at some point (f2.z is empty)")
    if not st.table:
        raise ValueError("st must hold a table of Figure-2 rates (st.table is empty)")
    Rs = c.ints("Rs", Rs)
    if any(R not in st.eta_div["fixed"] or R not in oth.diverges["fixed"] for R in (1, max(Rs))):
        raise ValueError(f"Rs must be the worker counts of st and oth (with 1), got {Rs}")
    rate_tol = v.positive_real("rate_tol", rate_tol)
    k_se = v.positive_real("k_se", k_se)
    seeds = v.positive_int("seeds", seeds)
    D = v.dimension("D", D)
    B_tot = v.positive_int("B_tot", B_tot)
    other_alpha = v.real("other_alpha", other_alpha)
    from ._verdict import PaperVerdict, grade

    small, large = st.table[0], st.table[-1]
    Rmax, div, dv_o = max(Rs), st.eta_div, oth.diverges
    thm_ok = not thm.failures and not dom.failures and thm.n_checks > 0
    fix_ok = st.eta_univ_sqrt > st.eta_indep_fixed
    zmax = max(z[0] for z in f2.z)
    sq_bad = large["sqrt_spread"] > rate_tol
    return [
        PaperVerdict("I-thm31-eigenvalues-increase-with-R", grade(thm_ok),
                     f"closed form on {thm.n_checks:,} grid points (identical eigenvalues, both forms), strict for "
                     f"S ≥ 2, R-free for S = 1; entry-wise domination on {dom.n_pairs} random spectra", "ch3-theorem31",
                     ["ch3-theorem31-grid", "ch3-general-spectrum-domination", "ch3-general-spectrum-rho-D3200"]),
        PaperVerdict("I-abstract-workers-noise", grade(thm_ok), f"at fixed B_tot={B_tot} the noise part of T_R grows "
                     "with R for S ≥ 2 (equal for S = 1)", "ch3-theorem31",
                     ["ch3-theorem31-grid", "ch3-general-spectrum-domination"]),
        PaperVerdict("I-abstract-noise-fixable", grade(fix_ok, not sq_bad), f"η ∝ R^-1/2, ν ∝ R^1/2 keeps rates within "
                     f"{rate_tol:.0%} across R={list(Rs)} for base η ≤ {st.eta_univ_sqrt:.3g} (fixed rule: ≤ "
                     f"{st.eta_indep_fixed:.3g}); not beyond", "ch3-statements",
                     ["ch3-thresholds-ordered", "ch3-fig2-sqrt-universal-except-largest"]),
        PaperVerdict("I-fig2-theory-matches-simulation", grade(zmax < k_se), f"max |sim - theory|/SE = {zmax:.2f} < "
                     f"{k_se:g} where L < 10 L0 (identical eigenvalues, D={D}, {seeds} seeds)", "ch3-figure2",
                     ["ch3-fig2-theory-matches-simulation", "ch3-cycle-operator-matches-theory"]),
        PaperVerdict("I-fig2-fixed-rule-similar-small-eta", grade(small["fixed_spread"] <= rate_tol,
                     bool(np.isfinite(oth.eta_indep_fixed))), f"rates within {rate_tol:.0%} for base η ≤ "
                     f"{st.eta_indep_fixed:.3g} (identical λ); power law α={other_alpha:g}: η·λmax ≤ "
                     f"{oth.eta_indep_fixed:.3g}", "ch3-statements", ["ch3-fig2-fixed-R-independent-small-eta"]),
        PaperVerdict("I-fig2-fixed-rule-large-R-diverges-early", grade(dt.earlier and dt.sim_agrees,
                     dv_o["fixed"][Rmax] < dv_o["fixed"][1]),
                     f"η={large['eta']:g}: R={Rmax} diverges from η={div['fixed'][Rmax]:.3g} (R=1: {div['fixed'][1]:.3g}); "
                     "first cycle above 10 L0: " + ", ".join(f"R={R}: {c}" for R, c in dt.theory.items()) +
                     f"; power law: R={Rmax} from η·λmax={dv_o['fixed'][Rmax]:.3g}, R=1 from {dv_o['fixed'][1]:.3g}",
                     "ch3-divergence-timing", ["ch3-fig2-fixed-large-R-diverges", "ch3-fig2-large-R-diverges-earlier",
                                               "ch3-other-spectrum-large-R-diverges-no-later"]),
        PaperVerdict("I-fig2-sqrt-rule-better", grade(fix_ok, oth.eta_univ_sqrt > oth.eta_indep_fixed),
                     f"sqrt rule universal up to η={st.eta_univ_sqrt:.3g} vs fixed {st.eta_indep_fixed:.3g} (identical λ); "
                     f"power law: {oth.eta_univ_sqrt:.3g} vs {oth.eta_indep_fixed:.3g} (η·λmax)", "ch3-other-spectrum",
                     ["ch3-thresholds-ordered", "ch3-fig2-sqrt-universal-except-largest"]),
        PaperVerdict("I-fig2-sqrt-rule-nonuniversal-large-eta", grade(sq_bad), f"at η={large['eta']:g} the sqrt-rule rates "
                     f"spread by {large['sqrt_spread']:.2f} > {rate_tol:g}; large R slower above η={st.eta_univ_sqrt:.3g}",
                     "ch3-statements", ["ch3-fig2-sqrt-universal-except-largest",
                                        "ch3-sqrt-large-R-slower-beyond-universality"]),
    ]


# --- the chapter's text: printed summaries, claim details and glued numbers ---------------------
# Each helper formats numbers that the functions above computed; only final_simulated_loss
# computes (a mean over seeds).


def _results(name, value, cls, producer):
    from ._verdict import expect

    return expect(name, value, cls, producer)


def _mask(name, mask, n):
    mask = np.asarray(mask)
    if mask.dtype != bool or mask.shape != (n,):
        raise ValueError(f"{name} must be a boolean array of shape ({n},) (one entry per rate), got "
                         f"{mask.dtype} of shape {mask.shape}")
    return mask


def radius_text(radius: RadiusOverR, D: int) -> str:
    """One line: ``rho(T_R) - 1`` per ``R`` at each rate of :func:`radius_over_R`."""
    r = _results("radius", radius, RadiusOverR, "radius_over_R()")
    D = v.positive_int("D", D)
    return (f"power law D={D}: rho(T_R) - 1 at eta*lam_max = {r.eta.tolist()} "
            f"{ {R: np.round(x - 1, 12) for R, x in r.rho.items()} }")


def radius_detail(radius: RadiusOverR, equal, *, D: int, alpha: float) -> str:
    """Detail of the claim that ``rho(T_R)`` does not fall with ``R`` on a power law.

    ``equal`` marks the rates where ``rho(T_R)`` is ``R``-free to rounding (the slowest mode's
    signal factor sets it); the detail quotes the growth at the other rates.
    """
    r = _results("radius", radius, RadiusOverR, "radius_over_R()")
    eq = _mask("equal", equal, r.eta.size)
    D, alpha = v.positive_int("D", D), v.real("alpha", alpha)
    Rs = list(r.rho)
    return (f"power law alpha={alpha:g}, D={D}: rho(T_R) non-decreasing in R over {Rs} at "
            f"eta*lam_max={r.eta.tolist()}; it grows with R at {r.eta[~eq].tolist()} (by up to "
            f"{r.gain.max():.3g}, R={Rs[0]} to {Rs[-1]}); at {r.eta[eq].tolist()} it equals the "
            f"slowest mode's signal factor to {r.equal_to_signal[eq].max():.1e} for every R")


def radius_glue(radius: RadiusOverR, equal) -> dict:
    """Glue strings of the power-law radius check: ``pl_equal``, ``pl_eq_etas``, ``pl_eta_top``,
    ``pl_gain`` (``equal`` as in :func:`radius_detail`)."""
    r = _results("radius", radius, RadiusOverR, "radius_over_R()")
    eq = _mask("equal", equal, r.eta.size)
    return {"pl_equal": f"{r.equal_to_signal[eq].max():.0e}",
            "pl_eq_etas": ", ".join(f"{x:g}" for x in r.eta[eq]),
            "pl_eta_top": ", ".join(f"{x:g}" for x in r.eta[~eq]),
            "pl_gain": f"{r.gain.max():.3g}"}


def closed_form_detail(check: ClosedFormCheck, D: int) -> str:
    """Detail of the check of the closed form ``tau_sym`` against the operator (both ways)."""
    cf = _results("check", check, ClosedFormCheck, "closed_form_vs_operator()")
    D = v.positive_int("D", D)
    return (f"isotropic closed form tau_sym vs the largest eigenvalue of the dense {cf.D_dense} x "
            f"{cf.D_dense} operator (max rel. diff {cf.dense_err:.1e}) and vs T applied to the all-ones "
            f"vector at D={D} ({cf.action_err:.1e})")


def figure2_detail(fig2: Figure2, k_se: float) -> str:
    """Detail of the Figure-2 claim: the largest z against ``k_se``, and the divergence agreement."""
    f2 = _results("fig2", fig2, Figure2, "figure2()")
    k = v.positive_real("k_se", k_se)
    zmax = max(f2.z)
    return (f"max z = {zmax[0]:.2f} < k = {k:g} over {len(f2.z)} curves (points with expected loss "
            f"< 10 L0), and the simulation ends above L0 exactly where the theory does "
            f"({len(f2.divergence_agrees)} curves)")


def statements_text(statements: Figure2Statements, rate_tol: float) -> str:
    """Three lines: where each rule stops being ``R``-independent, and where each ``R`` diverges."""
    st = _results("statements", statements, Figure2Statements, "figure2_statements()")
    tol = v.positive_real("rate_tol", rate_tol)
    div = {rule: {R: round(x, 5) for R, x in d.items()} for rule, d in st.eta_div.items()}
    return "\n".join([f"fixed rule: R-independent (rates within {tol:.0%}) for eta <= {st.eta_indep_fixed:.4g}",
                      f"sqrt rule:  universal for eta <= {st.eta_univ_sqrt:.4g}",
                      f"first eta with rho(T_R) >= 1 (divergence): {div}"])


def statements_markdown(statements: Figure2Statements) -> str:
    """The Figure-2 rates as a Markdown table: ``tau`` at ``R = 1`` and ``R_max``, and the spreads."""
    st = _results("statements", statements, Figure2Statements, "figure2_statements()")
    head = ("| base η | τ₁ | τ_Rmax fixed | τ_Rmax sqrt | rate spread fixed | rate spread sqrt |\n"
            "|---|---|---|---|---|---|\n")
    return head + "\n".join(f"| {r['eta']:g} | {r['tau1']:.4f} | {r['tauRmax_fixed']:.4f} | "
                            f"{r['tauRmax_sqrt']:.4f} | {r['fixed_spread']:.3f} | {r['sqrt_spread']:.3f} |"
                            for r in st.table)


def final_simulated_loss(fig2: Figure2, rule: str, j: int) -> dict:
    """``{R: simulated mean loss at the last cycle}`` at base rate ``etas[j]`` under ``rule``."""
    f2 = _results("fig2", fig2, Figure2, "figure2()")
    v.choice("rule", rule, RULES)
    n = next(iter(f2.sims[rule].values())).shape[0]
    j = v.integer("j", j, minimum=0, maximum=n - 1)
    return {R: float(mean_se(x[j])[0][-1]) for R, x in f2.sims[rule].items()}


def _rows(st):
    return st.table[0], st.table[-1], max(st.eta_div["fixed"])


def fixed_large_detail(statements: Figure2Statements, final: dict, L0: float) -> str:
    """Detail of "at the largest rate the large-R run diverges": ``tau`` at ``R = 1`` and ``R_max``
    and the simulated final losses ``final`` (:func:`final_simulated_loss`) against ``L0``."""
    st = _results("statements", statements, Figure2Statements, "figure2_statements()")
    if not isinstance(final, dict) or 1 not in final or len(final) < 2:
        raise ValueError(f"final must be a dict {{R: loss}} with R = 1 and a larger R, got {final!r:.60}")
    L0 = v.positive_real("L0", L0)
    _, large, _ = _rows(st)
    Rmax = max(final)
    return (f"eta={large['eta']:g}: tau_1={large['tau1']:.3f} < 1 < tau_{Rmax}={large['tauRmax_fixed']:.3f}; "
            f"simulated final loss R=1: {final[1]:.3g}, R={Rmax}: {final[Rmax]:.3g} (L0={L0:g})")


def sqrt_universal_detail(statements: Figure2Statements, rate_tol: float) -> str:
    """Detail of "the square-root rule is universal except at the largest rate"."""
    st = _results("statements", statements, Figure2Statements, "figure2_statements()")
    tol = v.positive_real("rate_tol", rate_tol)
    fails = [r["eta"] for r in st.table if r["fixed_spread"] > tol]
    return (f"sqrt-rule rate spreads {[round(float(r['sqrt_spread']), 3) for r in st.table]} (tol {tol:g}); "
            f"universal for eta <= {st.eta_univ_sqrt:.4g}; smaller than the fixed rule's at every rate where "
            f"the fixed rule is not R-independent ({fails})")


def thresholds_detail(statements: Figure2Statements) -> str:
    """Detail of the ordering of the thresholds (fixed independence, sqrt universality, divergence)."""
    st = _results("statements", statements, Figure2Statements, "figure2_statements()")
    _, _, Rmax = _rows(st)
    d = st.eta_div["fixed"]
    return (f"fixed R-independence ends at {st.eta_indep_fixed:.4g} < sqrt universality ends at "
            f"{st.eta_univ_sqrt:.4g}; fixed-rule divergence starts at {d[Rmax]:.4g} for R={Rmax} vs "
            f"{d[1]:.4g} for R=1")


def statements_glue(statements: Figure2Statements, rate_tol: float) -> dict:
    """Glue strings of the Figure-2 verdicts (thresholds, ``R_max``, and the rates where both
    rules are within ``rate_tol``)."""
    st = _results("statements", statements, Figure2Statements, "figure2_statements()")
    tol = v.positive_real("rate_tol", rate_tol)
    _, _, Rmax = _rows(st)
    both_ok = [r for r in st.table if r["fixed_spread"] <= tol]
    return {"eta_indep": f"{st.eta_indep_fixed:.3g}", "eta_univ": f"{st.eta_univ_sqrt:.3g}", "Rmax": str(Rmax),
            "eta_div_fixed_R": f"{st.eta_div['fixed'][Rmax]:.3g}", "eta_div_fixed_1": f"{st.eta_div['fixed'][1]:.3g}",
            "eta_div_sqrt_R": f"{st.eta_div['sqrt'][Rmax]:.3g}",
            "both_small": ", ".join(f"η={r['eta']:g}: sqrt {r['sqrt_spread']:.3f}, fixed {r['fixed_spread']:.3f}"
                                    for r in both_ok) or "none"}


def timing_detail(timing: DivergenceTiming, eta: float, cycles: int) -> str:
    """Detail of "the large-R runs diverge earlier": first cycle above ``level · L0`` per ``R``."""
    dt = _results("timing", timing, DivergenceTiming, "divergence_timing()")
    eta, cycles = v.positive_real("eta", eta), v.positive_int("cycles", cycles)
    return (f"eta={eta:g}, fixed rule: first cycle with loss > {dt.level:g} L0 per R (inf = never within "
            f"{cycles}): theory {dt.theory}, closed form {dt.predicted}, simulated mean {dt.simulation} "
            f"(within one cycle)")


def timing_glue(timing: DivergenceTiming) -> str:
    """``"R=1: never, R=2: 9, ..."``: the theory's first cycle above the level, per ``R``."""
    dt = _results("timing", timing, DivergenceTiming, "divergence_timing()")
    return ", ".join(f"R={R}: {c if np.isfinite(c) else 'never'}" for R, c in dt.theory.items())


def other_spectrum_text(other: OtherSpectrum) -> str:
    """One line: the thresholds on the second spectrum and the first diverging rate per rule and ``R``."""
    o = _results("other", other, OtherSpectrum, "other_spectrum_statements()")
    return (f"power law: fixed rule R-independent for eta*lam_max <= {o.eta_indep_fixed:.3g}, sqrt "
            f"universal for <= {o.eta_univ_sqrt:.3g}; first eta with L(T) > L0: {o.diverges}")


def other_spectrum_detail(other: OtherSpectrum, reported: dict, *, alpha: float) -> str:
    """Detail of the second-spectrum claim, with the ``reported`` (not asserted) statements."""
    o = _results("other", other, OtherSpectrum, "other_spectrum_statements()")
    if not isinstance(reported, dict):
        raise ValueError(f"reported must be a dict {{statement: bool}}, got {type(reported).__name__}")
    alpha = v.real("alpha", alpha)
    d = o.diverges["fixed"]
    Rmax = max(d)
    return (f"power law alpha={alpha:g}, fixed rule: L_R(T) > L0 from eta*lam_max = {d[Rmax]:.3g} at "
            f"R={Rmax}, {d[1]:.3g} at R=1 (domination: never later); reported: {reported}")
