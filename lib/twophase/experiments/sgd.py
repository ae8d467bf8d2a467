"""Chapter 1 (SGD): the computations behind its results.

Owns the comparison of the exact and high-dimensional forms, the stability edges, the checks of the
stationary loss, the noise-kernel curves, theory against Monte-Carlo with its light-tail guard, the
heavy-tail scan towards the edge, and the divergence run.

It may import the lower layers (``twophase.theory``, ``simulate``, ``methods``); nothing below
``twophase.experiments`` imports it.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import _validate as v
from . import _checks as c
from ..methods import SGD
from ..simulate import loss_curves
from ..summaries import max_z, mean_se, tail_share
from ..theory import (expected_loss, noise_kernel, sgd_critical_eta, sgd_stationary_loss,
                      sgd_stationary_moments)

__all__ = [
    "FormGap",
    "form_gap",
    "Edges",
    "stability_edges",
    "EdgeRun",
    "edge_run",
    "stationary_check",
    "KernelCurves",
    "kernel_curves",
    "SimRow",
    "theory_vs_simulation",
    "TailRow",
    "tail_scan",
    "Divergence",
    "divergence_run",
    "loss_shares",
]


def _problem(lam, m0, B, steps, sigma, **grid):
    """The checks shared by the runs: spectrum, moments, batch, steps, noise and one rate grid."""
    lam = c.spectrum(lam)
    m0 = v.moments(m0, lam.size)
    B = v.positive_int("B", B)
    steps = v.positive_int("steps", steps)
    sigma = v.nonnegative_real("sigma", sigma)
    g = [c.grid(k, x) for k, x in grid.items()]
    return lam, m0, B, (g[0] if g else None), steps, sigma


def _work(what, steps, D, n_rates, calls=1, seeds=0):
    """Refuse runs of minutes by naming ``steps`` (the engine's and the sampler's measured speeds)."""
    seconds = n_rates * steps * (calls * (D * 1e-8 + 8e-6) + seeds * D * 8e-9)
    v.work_estimate(seconds, f"{what} ({steps:,} steps x {n_rates} rates at D = {D}"
                    + (f", {seeds:,} runs each)" if seeds else ")"), "reduce steps, the number of rates, seeds or D")


class FormGap(NamedTuple):
    """Exact against hd expected loss at one batch size."""

    B: int
    etas: np.ndarray     #: learning rates used
    hd_below: bool       #: hd loss <= exact loss at every (eta, step) (relative rounding 1e-12)
    gap: float           #: largest relative gap (exact - hd) / exact
    n: int               #: number of (eta, step) points


def form_gap(lam, m0, B: int, eta_fracs, *, steps: int, sigma: float) -> FormGap:
    """Run both forms at ``eta = eta_fracs * eta_c(B)`` (exact edge) and compare the losses."""
    lam, m0, B, eta_fracs, steps, sigma = _problem(lam, m0, B, steps, sigma, eta_fracs=eta_fracs)
    _work("form_gap", steps, lam.size, eta_fracs.size, calls=2)
    etas = np.asarray(eta_fracs, dtype=np.float64) * sgd_critical_eta(lam, B, form="exact")
    ex = expected_loss(SGD(etas, B=B), lam, m0, steps, sigma=sigma, form="exact")
    hd = expected_loss(SGD(etas, B=B), lam, m0, steps, sigma=sigma, form="hd")
    return FormGap(int(B), etas, bool(np.all(hd <= ex * (1 + 1e-12))), float(np.max((ex - hd) / ex)), int(ex.size))


class Edges(NamedTuple):
    """Stochastic stability edges against the deterministic one."""

    eta_c: dict          #: ``{B: {"exact": eta_c, "hd": eta_c}}``
    deterministic: float  #: ``2 / lam_max``
    ratio: dict          #: ``{B: eta_c(exact) / (2 / lam_max)}``


def stability_edges(lam, Bs) -> Edges:
    """``eta_c`` (``K(eta_c) = 1``) in both forms for each batch size, and ``2 / lam_max``."""
    c.spectrum(lam)
    c.ints("Bs", Bs)
    lam = v.eigenvalues(lam)
    eta_c = {int(b): {f: sgd_critical_eta(lam, int(b), form=f) for f in ("exact", "hd")} for b in Bs}
    det = float(2 / lam.max())
    return Edges(eta_c, det, {b: e["exact"] / det for b, e in eta_c.items()})


class EdgeRun(NamedTuple):
    """Long exact runs just below and just above the edge."""

    below: np.ndarray
    above: np.ndarray
    settles: bool     #: below: finite, last relative change < 1e-4
    diverges: bool    #: above: not finite, or grown by 1e6


def edge_run(lam, m0, B: int, eta_c: float, fracs, *, steps: int, sigma: float) -> EdgeRun:
    """Run the exact recursion at ``fracs[0] * eta_c`` and ``fracs[-1] * eta_c`` for ``steps`` steps."""
    lam, m0, B, fracs, steps, sigma = _problem(lam, m0, B, steps, sigma, fracs=fracs)
    eta_c = v.positive_real("eta_c", eta_c)
    _work("edge_run", steps, lam.size, fracs.size)
    L = expected_loss(SGD(np.asarray(fracs, dtype=np.float64) * eta_c, B=B), lam, m0, steps, sigma=sigma,
                      form="exact")
    below, above = L[0], L[-1]
    return EdgeRun(below, above, bool(np.isfinite(below[-1]) and abs(below[-1] / below[-2] - 1) < 1e-4),
                   bool((not np.isfinite(above[-1])) or above[-1] > 1e6 * above[0]))


def stationary_check(eta: float, lam, B: int, sigma: float, form: str, steps: int = 500):
    """Start the recursion at the closed-form fixed point ``m*``; return ``(L_inf, max relative deviation)``."""
    eta = v.positive_real("eta", eta)
    lam = c.spectrum(lam)
    B = v.positive_int("B", B)
    sigma = v.positive_real("sigma", sigma)  # L_inf = 0 at sigma = 0: no relative deviation
    c.form(form)
    steps = v.positive_int("steps", steps)
    _work("stationary_check", steps, lam.size, 1)
    m_star = sgd_stationary_moments(eta, lam, B, sigma, form=form)
    stay = expected_loss(SGD(eta, B=B), lam, m_star, steps, sigma=sigma, form=form)
    L_inf = float(sgd_stationary_loss(eta, lam, B, sigma, form=form))
    return L_inf, float(np.max(np.abs(stay - L_inf)) / L_inf)


class KernelCurves(NamedTuple):
    """Noise kernel and stationary loss on a grid of ``eta / eta_c``."""

    x: np.ndarray     #: eta / eta_c (exact edge at the chapter's B)
    K: dict           #: ``{(B, form): K}``
    L_inf: dict       #: ``{form: stationary loss}`` at the chapter's B


def kernel_curves(lam, Bs, eta_c: float, sigma: float, n: int = 400) -> KernelCurves:
    """``K(eta)`` for each batch and form, and ``sigma^2/(2(1-K))`` at ``Bs[0]``."""
    lam = c.spectrum(lam)
    Bs = c.ints("Bs", Bs)
    eta_c = v.positive_real("eta_c", eta_c)
    sigma = v.nonnegative_real("sigma", sigma)
    n = v.positive_int("n", n)
    v.array_size("n", float(n) * lam.size * (2 * len(Bs) + 2), "the kernel curves")
    x = np.linspace(0.005, 1.2, n)
    grid = x * eta_c
    K = {(b, f): noise_kernel(grid, lam, b, form=f) for b in Bs for f in ("exact", "hd")}
    L = {f: sgd_stationary_loss(grid, lam, Bs[0], sigma, form=f) for f in ("exact", "hd")}
    return KernelCurves(x, K, L)


class SimRow(NamedTuple):
    """Theory against simulation at one learning rate."""

    eta: float
    mean: np.ndarray
    se: np.ndarray
    exact: np.ndarray
    hd: np.ndarray
    z: float        #: max |mean - exact| / SE
    n: int          #: steps compared
    z_hd: float     #: the same for the hd form
    share: float    #: top-0.1 % share of the loss over the second half (light tail: ~0.001)


def theory_vs_simulation(lam, m0, B: int, etas, *, steps: int, seeds: int, sigma: float, seed: int = 0) -> list:
    """Simulate SGD at each rate (seed ``seed + 100 j + B``) and compare with both forms."""
    lam, m0, B, etas, steps, sigma = _problem(lam, m0, B, steps, sigma, etas=etas)
    seeds = v.integer("seeds", seeds, minimum=2)  # a standard error needs two runs
    _work("theory_vs_simulation", steps, lam.size, etas.size, calls=2, seeds=seeds)
    seed = v.nonnegative_int("seed", seed)
    rows = []
    for j, e in enumerate(etas):
        method = SGD(float(e), B=B)
        runs = loss_curves(method, lam, m0, steps, seeds, sigma=sigma, seed=seed + 100 * j + B)
        mean, se = mean_se(runs)
        exact = expected_loss(method, lam, m0, steps, sigma=sigma, form="exact")
        hd = expected_loss(method, lam, m0, steps, sigma=sigma, form="hd")
        z, n = max_z(exact, mean, se, floor=1e-12 * exact[0])
        z_hd, _ = max_z(hd, mean, se, floor=1e-12 * exact[0])
        rows.append(SimRow(float(e), mean, se, exact, hd, float(z), int(n), float(z_hd),
                           float(tail_share(runs[:, steps // 2:], q=1e-3))))
    return rows


class TailRow(NamedTuple):
    """Heaviness of the loss's tail at one ``eta / eta_c``."""

    frac: float
    share: float     #: top-0.1 % share
    z: float         #: max |mean - exact| / SE
    final_bias: float  #: (mean - exact) / exact at the last step


def tail_scan(lam, m0, B: int, eta_c: float, fracs, *, steps: int, seeds: int, sigma: float, seed: int = 0) -> list:
    """Simulate at ``fracs * eta_c`` (seed ``seed + 500 + j``) and measure the tail and the apparent bias."""
    lam, m0, B, fracs, steps, sigma = _problem(lam, m0, B, steps, sigma, fracs=fracs)
    eta_c = v.positive_real("eta_c", eta_c)
    seeds = v.integer("seeds", seeds, minimum=2)  # a standard error needs two runs
    _work("tail_scan", steps, lam.size, fracs.size, seeds=seeds)
    seed = v.nonnegative_int("seed", seed)
    out = []
    for j, f in enumerate(fracs):
        method = SGD(float(f * eta_c), B=B)
        runs = loss_curves(method, lam, m0, steps, seeds, sigma=sigma, seed=seed + 500 + j)
        exact = expected_loss(method, lam, m0, steps, sigma=sigma)
        mean, se = mean_se(runs)
        z, _ = max_z(exact, mean, se, floor=1e-12 * exact[0])
        out.append(TailRow(float(f), float(tail_share(runs[:, steps // 2:], q=1e-3)), float(z),
                           float(mean[-1] / exact[-1] - 1)))
    return out


class Divergence(NamedTuple):
    """A run above the edge: where theory and simulation declare divergence."""

    theory_step: int
    sim_steps: np.ndarray   #: first non-finite step of each run
    all_diverge: bool       #: every run and the theory end non-finite


def divergence_run(lam, m0, B: int, eta: float, *, steps: int, runs: int = 16, sigma: float, seed: int = 0) -> Divergence:
    """Theory and ``runs`` simulations at ``eta`` above the edge (seed ``seed + 7``)."""
    lam, m0, B, _, steps, sigma = _problem(lam, m0, B, steps, sigma)
    eta = v.positive_real("eta", eta)
    runs = v.positive_int("runs", runs)
    v.array_size("runs", float(runs) * lam.size, "the simulated runs")
    _work("divergence_run", steps, lam.size, 1, seeds=runs)
    seed = v.nonnegative_int("seed", seed)
    sim = loss_curves(SGD(eta, B=B), lam, m0, steps, runs, sigma=sigma, seed=seed + 7)
    th = expected_loss(SGD(eta, B=B), lam, m0, steps, sigma=sigma)
    first = np.argmax(~np.isfinite(sim), axis=1)
    return Divergence(int(np.argmax(~np.isfinite(th))), first,
                      bool(np.all(~np.isfinite(sim[:, -1])) and not np.isfinite(th[-1])))


def loss_shares(lam, exponents=(0.0, 0.5, 1.0)) -> dict:
    """Share ``lam_i m0_i / sum_j lam_j m0_j`` of the initial loss per mode, for ``m0 ∝ lam^{-s}``
    (``s = 0`` isotropic); returns ``{s: shares}``."""
    c.spectrum(lam)
    exponents = c.grid("exponents", exponents, closed=True)
    from ..spectra import initial_moments

    lam = v.eigenvalues(lam)
    out = {}
    for s in exponents:
        m = initial_moments(lam, "isotropic") if s == 0 else initial_moments(lam, "source", exponent=float(s))
        out[float(s)] = lam * m / (lam @ m)
    return out
