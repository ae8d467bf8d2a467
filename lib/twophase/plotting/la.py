"""Matplotlib figures for the Lookahead (chapter 2) and LA-DiLoCo (chapter 3) chapters.

Every function takes already-computed arrays (from :mod:`twophase.sweeps`,
:mod:`twophase.operators`, :mod:`twophase.simulate`) and returns a figure or
draws on given axes; no numerics happen here.
"""
from __future__ import annotations

import numpy as np

__all__ = [
    "curve_with_band",
    "fig_signal_noise",
    "fig_figure1",
    "fig_best_nu_map",
    "fig_theory_vs_sim",
    "fig_figure2",
    "fig_eigenvalues_vs_R",
    "signal_noise_figure",
    "figure1_figure",
    "best_nu_map_figure",
    "la_simulation_figure",
    "rates_vs_R_figure",
    "figure2_figure",
]

from . import curve_with_band  # noqa: E402,F401  (shared helper)
from .. import _validate as v  # noqa: E402
from . import _checks as c  # noqa: E402


def _plt():
    import matplotlib.pyplot as plt

    return plt


def _check_signal_noise(lam, h_by_eta, etas, S, signal_la, signal_sgd, noise_la, noise_sgd, eta, nu):
    """Entry checks of :func:`fig_signal_noise` (applied by a decorator, so its body stays as it is)."""
    lam = c.axis("lam", lam, positive=True)
    etas = c.sequence("etas", etas, "a non-empty sequence of positive rates")
    for e in etas:
        v.positive_real("etas", e)
    h_by_eta = c.sequence("h_by_eta", h_by_eta, "a non-empty sequence of effective spectra, one per eta")
    if len(h_by_eta) != len(etas):
        raise ValueError(f"h_by_eta must hold one curve per entry of etas ({len(etas)}), got {len(h_by_eta)}")
    for h in h_by_eta:
        c.curve("h_by_eta", h, lam.size)
    v.positive_int("S", S)
    for name, y in (("signal_la", signal_la), ("signal_sgd", signal_sgd), ("noise_la", noise_la),
                    ("noise_sgd", noise_sgd)):
        c.curve(name, y, lam.size)
    v.positive_real("eta", eta)
    v.positive_real("nu", nu)


@c.entry(_check_signal_noise)
def fig_signal_noise(lam, h_by_eta, etas, S, signal_la, signal_sgd, noise_la, noise_sgd, eta, nu):
    """Three panels: effective spectrum h(λ); per-mode signal factor; per-mode noise factor.

    Drawn at the book's column width (7.2 in), with short panel titles so they do not overlap.
    """
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(7.2, 3.4), constrained_layout=True)
    ax = axes[0]
    for e, h in zip(etas, h_by_eta):
        (ln,) = ax.loglog(lam, h, label=f"$\\eta\\lambda_{{max}}$={e:g}")
        ax.loglog(lam, S * e * lam, ls=":", color=ln.get_color(), lw=1)
    ax.plot([], [], ls=":", color="0.4", lw=1, label="$S\\eta\\lambda$")
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set(xlabel="eigenvalue $\\lambda$", ylabel="$h(\\lambda)=1-(1-\\eta\\lambda)^S$",
           title=f"effective spectrum, S={S}", ylim=(1e-4, 2))
    ax.legend(fontsize=7, loc="lower right")
    ax = axes[1]
    ax.loglog(lam, signal_la, label=f"LA $(1-\\nu h)^2$,\n$\\eta$={eta:g}, $\\nu$={nu:g}")
    ax.loglog(lam, signal_sgd, ls="--", label=f"SGD, S steps\nat $\\nu\\eta$={nu * eta:g}")
    ax.axhline((1 - nu) ** 2, color="k", lw=0.8, ls=":", label="$(1-\\nu)^2$")
    ax.set(xlabel="eigenvalue $\\lambda$", ylabel="signal factor per cycle", title="signal (mean error)²",
           ylim=(1e-6, 1e1))
    ax.legend(fontsize=7, loc="lower left")
    ax = axes[2]
    ax.loglog(lam, noise_la, label="LA")
    ax.loglog(lam, noise_sgd, ls="--", label="SGD at $\\nu\\eta$")
    ax.set(xlabel="eigenvalue $\\lambda$", ylabel="noise factor $n_i$ per cycle (× B)",
           title="noise per unit loss")
    ax.legend(fontsize=7, loc="upper left")
    for ax in axes:
        ax.title.set_fontsize(9)
        ax.tick_params(labelsize=8)
        ax.xaxis.label.set_fontsize(9)
        ax.yaxis.label.set_fontsize(9)
    return fig


def fig_figure1(eta_rel, nu, loss_rel, eta_star_rel, nu_best_spiked, nu_grid_min, power_curves,
                titles=("spiked", "power law")):
    """Figure 1: heat map of L/L0 over (ηλ_max, ν) with η*(ν); min_η L vs ν (spiked); same (power law).

    ``power_curves`` is a list of ``(label, min_loss_rel_over_eta(nu), best_nu)``; each is drawn
    relative to its own minimum so that curves from different initial conditions share an axis.
    The map spans the top row and the two curves share the bottom row, so that the figure
    reads at the book's column width (7.2 in) without overlapping titles.
    """
    eta_rel = c.axis("eta_rel", eta_rel, positive=True)
    nu = c.axis("nu", nu, positive=True)
    loss = c.curve("loss_rel", loss_rel, (eta_rel.size, nu.size))
    if not np.any(np.isfinite(loss) & (loss > 0)):
        raise ValueError("loss_rel must hold at least one finite value > 0 (a log colour scale)")
    c.curve("eta_star_rel", eta_star_rel, nu.size)
    c.scalar("nu_best_spiked", nu_best_spiked, positive=True)
    c.curve("nu_grid_min", nu_grid_min, nu.size)
    for item in c.sequence("power_curves", power_curves, "a non-empty list of (label, curve, best nu)"):
        label, curve, best = c.tuple_of("power_curves", item, 3, "a non-empty list of (label, curve, best nu)")
        c.text("power_curves label", label)
        c.has_finite("power_curves curve", c.curve("power_curves curve", curve, nu.size))
        c.scalar("power_curves best nu", best, positive=True)
    for t in c.tuple_of("titles", titles, 2, "a pair of str"):
        c.text("titles", t)
    plt = _plt()
    from matplotlib.colors import LogNorm
    from matplotlib.ticker import FuncFormatter, LogLocator

    fig, axd = plt.subplot_mosaic([["map", "map"], ["spiked", "power"]], figsize=(7.2, 6.4),
                                  constrained_layout=True, height_ratios=[1.1, 1.0])
    ax = axd["map"]
    Z = np.where(np.isfinite(loss_rel), loss_rel, np.nan)
    vmax = min(np.nanmax(Z), 10.0)
    pc = ax.pcolormesh(nu, eta_rel, Z, norm=LogNorm(vmin=np.nanmin(Z), vmax=vmax), shading="auto",
                       cmap="viridis")
    ax.plot(nu, eta_star_rel, color="w", lw=2, label="$\\eta^*(\\nu)$")
    ax.set_yscale("log")
    ax.set(xlabel="outer rate $\\nu$", ylabel="$\\eta\\,\\lambda_{max}$",
           title=f"{titles[0]}: loss after one cycle / $L_0$")
    ax.legend(loc="lower left", fontsize=8)
    fig.colorbar(pc, ax=ax, shrink=0.9, label="$L / L_0$")
    ax = axd["spiked"]
    ax.plot(nu, nu_grid_min, color="C0")
    ax.axvline(1.0, color="k", lw=0.8, ls=":")
    ax.axvline(nu_best_spiked, color="C3", lw=1.2, label=f"best $\\nu$ = {nu_best_spiked:.3f}")
    ax.set(xlabel="outer rate $\\nu$", ylabel="$\\min_\\eta L / L_0$", title=f"{titles[0]}: best over $\\eta$")
    ax.legend(fontsize=7, loc="upper center")
    ax = axd["power"]
    for i, (label, curve, best) in enumerate(power_curves):
        curve = np.asarray(curve, dtype=float)
        (ln,) = ax.plot(nu, curve / np.nanmin(curve), ls="-" if i == 0 else "--",
                        label=f"{label}: best $\\nu$ = {best:.3f}")
        ax.axvline(best, color=ln.get_color(), lw=1.0)
    ax.axvline(1.0, color="k", lw=0.8, ls=":")
    ax.set(xlabel="outer rate $\\nu$", ylabel="$\\min_\\eta L$ / its minimum over $\\nu$",
           title=f"{titles[1]}: best over $\\eta$")
    ax.set_yscale("log")
    ax.yaxis.set_minor_locator(LogLocator(subs=(1.0, 1.25, 1.5, 2.0, 3.0, 5.0)))
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda y, _: f"{y:g}"))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))
    ax.legend(fontsize=7, loc="upper center")
    for ax in axd.values():
        ax.title.set_fontsize(9)
        ax.tick_params(which="both", labelsize=8)
    return fig


def fig_best_nu_map(b_over_d, exponents, nu_map, paper_b_over_d, sigma_rows, title):
    """Left: best ν over (B/D, initial-condition exponent s) with the ν = 1 contour.
    Right: best ν vs B/D for several label-noise levels ``sigma_rows`` = [(label, nu_of_BD)]."""
    b_over_d = c.axis("b_over_d", b_over_d, positive=True)
    exponents = c.axis("exponents", exponents, nonnegative=True)
    c.has_finite("nu_map", c.curve("nu_map", nu_map, (exponents.size, b_over_d.size)))
    v.positive_real("paper_b_over_d", paper_b_over_d)
    for item in c.sequence("sigma_rows", sigma_rows, "a list of (label, best nu over B/D)"):
        label, row = c.tuple_of("sigma_rows", item, 2, "a list of (label, best nu over B/D)")
        c.text("sigma_rows label", label)
        c.curve("sigma_rows row", row, b_over_d.size)
    c.text("title", title)
    plt = _plt()
    from matplotlib.colors import TwoSlopeNorm

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.0), constrained_layout=True)
    ax = axes[0]
    lo, hi = np.nanmin(nu_map), np.nanmax(nu_map)
    norm = TwoSlopeNorm(vcenter=1.0, vmin=min(lo, 0.99), vmax=max(hi, 1.01))
    pc = ax.pcolormesh(b_over_d, exponents, nu_map, shading="auto", cmap="RdBu_r", norm=norm)
    if lo < 1 < hi:
        ax.contour(b_over_d, exponents, nu_map, levels=[1.0], colors="k", linewidths=1.5)
    ax.axvline(paper_b_over_d, color="k", ls=":", lw=1)
    ax.set_xscale("log")
    ax.set(xlabel="B / D", ylabel="initial condition exponent s  ($m_0 \\propto \\lambda^{-s}$)",
           title=f"{title}: best $\\nu$ (black: $\\nu$=1)")
    fig.colorbar(pc, ax=ax)
    ax = axes[1]
    for label, row in sigma_rows:
        ax.plot(b_over_d, row, marker=".", label=label)
    ax.axhline(1.0, color="k", lw=0.8)
    ax.axvline(paper_b_over_d, color="k", ls=":", lw=1)
    ax.set_xscale("log")
    ax.set(xlabel="B / D", ylabel="best $\\nu$", title=f"{title}: label noise (s = 0)")
    ax.legend(fontsize=8)
    return fig


def fig_theory_vs_sim(t, rows, *, k=2.0, ylabel="loss", title=""):
    """Loss curves: simulation mean ± k·SE (solid + band) and theory (dashed).

    ``rows`` is a list of ``(label, theory, mean, se)``.
    """
    t = c.axis("t", t)
    for item in c.sequence("rows", rows, "a non-empty list of (label, theory, mean, se)"):
        label, theory, mean, se = c.tuple_of("rows", item, 4, "a non-empty list of (label, theory, mean, se)")
        c.text("rows label", label)
        for name, y in (("theory", theory), ("mean", mean), ("se", se)):
            c.curve(f"rows {name}", y, t.size)
    v.positive_real("k", k)
    c.text("ylabel", ylabel)
    c.text("title", title)
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 4.0), constrained_layout=True)
    for i, (label, theory, mean, se) in enumerate(rows):
        ln = curve_with_band(ax, t, mean, se, k=k, color=f"C{i}", label=f"{label} (sim ± {k:g} SE)")
        th = np.where(np.isfinite(theory), theory, np.nan)
        ax.plot(t, th, ls="--", color=ln.get_color(), lw=1.5)
    ax.set_yscale("log")
    ax.set(xlabel="outer step (cycle)", ylabel=ylabel, title=title + "  (dashed: theory)")
    ax.legend(fontsize=8)
    return fig


def fig_figure2(t, panels, Rs, *, k=2.0, ylim=None):
    """Figure 2 grid: rows = scaling rules, columns = base learning rates.

    ``panels[(rule, j)] = (title, {R: (theory, mean, se)})``.
    """
    t = c.axis("t", t)
    Rs = c.ints("Rs", Rs)
    c.mapping("panels", panels, "a non-empty dict {(rule, j): (title, {R: (theory, mean, se)})}")
    for key, item in panels.items():
        if not (isinstance(key, tuple) and len(key) == 2 and key[0] in ("fixed", "sqrt")):
            raise ValueError(f"panels must be keyed by (rule, j) with rule 'fixed' or 'sqrt', got the key {key!r}")
        v.nonnegative_int("panels column j", key[1])
        title, curves = c.tuple_of("panels", item, 2, "a dict of (title, {R: (theory, mean, se)})")
        c.text("panels title", title)
        c.mapping("panels curves", curves)
        for R in Rs:
            if R not in curves:
                raise ValueError(f"Rs must be the worker counts of every panel; panel {key!r} has no R={R}")
            for name, y in zip(("theory", "mean", "se"), c.tuple_of("panels curves", curves[R], 3,
                                                                    "(theory, mean, se) per R")):
                c.curve(f"panels {name}", y, t.size)
    v.positive_real("k", k)
    if ylim is not None:
        lo, hi = c.tuple_of("ylim", ylim, 2, "None or a pair (low, high) with 0 < low < high")
        if not v.positive_real("ylim", lo) < v.positive_real("ylim", hi):
            raise ValueError(f"ylim must be None or a pair (low, high) with 0 < low < high, got {ylim!r}")
    plt = _plt()
    rules = sorted({r for r, _ in panels}, key=lambda r: ["fixed", "sqrt"].index(r))
    ncol = 1 + max(j for _, j in panels)
    fig, axes = plt.subplots(len(rules), ncol, figsize=(3.7 * ncol, 3.1 * len(rules)), squeeze=False,
                             constrained_layout=True, sharey=True)
    cmap = plt.get_cmap("viridis")
    colors = {R: cmap(i / max(1, len(Rs) - 1)) for i, R in enumerate(Rs)}
    for (rule, j), (title, curves) in panels.items():
        ax = axes[rules.index(rule), j]
        for R in Rs:
            theory, mean, se = curves[R]
            curve_with_band(ax, t, mean, se, k=k, color=colors[R], label=f"R={R}")
            ax.plot(t, np.where(np.isfinite(theory), theory, np.nan), ls="--", color=colors[R], lw=1.2)
        ax.set_yscale("log")
        if ylim is not None:
            ax.set_ylim(*ylim)
        ax.set_title(title, fontsize=9)
        if j == 0:
            ax.set_ylabel("loss")
        if rules.index(rule) == len(rules) - 1:
            ax.set_xlabel("outer step")
    axes[0, 0].legend(fontsize=7, loc="lower left")
    return fig


def fig_eigenvalues_vs_R(eta, rates_by_rule, Rs, *, title=""):
    """Per-inner-step rate ``rho(T_R)^{1/S}`` against the base ``eta`` for each R and rule.

    ``rates_by_rule[rule] = {R: rate(eta)}``. Each panel is titled by its rule; ``title`` (the
    settings shared by both panels) goes above them, so the titles do not overlap at the book's
    column width.
    """
    eta = c.axis("eta", eta, positive=True)
    Rs = c.ints("Rs", Rs)
    c.mapping("rates_by_rule", rates_by_rule, "a non-empty dict {rule: {R: rate(eta)}}")
    for rule, rates in rates_by_rule.items():
        c.text("rates_by_rule rule", rule)
        c.mapping(f"rates_by_rule[{rule!r}]", rates, "a non-empty dict {R: rate(eta)}")
        for R in Rs:
            if R not in rates:
                raise ValueError(f"Rs must be the worker counts of rates_by_rule; {rule!r} has no R={R}")
            c.curve(f"rates_by_rule[{rule!r}][{R}]", rates[R], eta.size)
    c.text("title", title)
    plt = _plt()
    cmap = plt.get_cmap("viridis")
    fig, axes = plt.subplots(1, len(rates_by_rule), figsize=(7.2, 3.4),
                             constrained_layout=True, sharey=True, squeeze=False)
    for j, (ax, (rule, rates)) in enumerate(zip(axes[0], rates_by_rule.items())):
        for i, R in enumerate(Rs):
            ax.plot(eta, rates[R], color=cmap(i / max(1, len(Rs) - 1)), label=f"R={R}")
        ax.axhline(1.0, color="k", lw=0.8)
        ax.set_xscale("log")
        ax.set(xlabel="base inner rate $\\eta$ (R = 1 value)", title=f"{rule} rule", ylim=(None, 1.06))
        if j == 0:
            ax.set_ylabel("$\\rho(T_R)^{1/S}$")
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title.strip().strip("()"), fontsize=10)
    return fig


# --- the chapters' figures with their captions -----------------------------------------------
# Each returns ``(figure, caption)`` for :func:`twophase.notebook.show_figure`; the caption says
# what is drawn, with the settings taken from the results it is given.


def _expect(name, value, cls, producer):
    from ..experiments._verdict import expect

    return expect(name, value, cls, producer)


def signal_noise_figure(factors, S: int, eta: float, nu: float):
    """Figure 2.1: the effective spectrum, the signal factor and the noise factor of one LA cycle.

    Parameters
    ----------
    factors : twophase.experiments.lookahead.SignalNoiseFactors
        From :func:`~twophase.experiments.lookahead.signal_noise_factors` (same ``S``, ``eta``, ``nu``).
    S : int
        Inner steps.
    eta, nu : float
        Inner rate (``eta lam_max``) and outer rate.

    Returns
    -------
    (matplotlib.figure.Figure, str)
        The figure and its caption.
    """
    from .. import _validate as v
    from ..experiments.lookahead import SignalNoiseFactors

    sn = _expect("factors", factors, SignalNoiseFactors, "signal_noise_factors()")
    S = v.positive_int("S", S)
    eta, nu = v.positive_real("eta", eta), v.positive_real("nu", nu)
    fig = fig_signal_noise(sn.lam, sn.h_by_eta, sn.etas_h, S, sn.signal_la, sn.signal_sgd, sn.noise_la,
                           sn.noise_sgd, eta, nu)
    caption = ("Left: the effective spectrum h(λ) is linear (Sηλ) at the bottom and saturates at 1 "
               "at the top. Middle: per-cycle signal factor of LA against S SGD steps at rate νη, "
               "equal for low modes, bounded at (1-ν)² for high modes. Right: noise factor per "
               "unit loss (times B), equal for low modes.")
    return fig, caption


def figure1_figure(panels: dict, eta_rel, nu, *, form: str, S: int, alpha: float, spiked_B_over_D: float,
                   power_B_over_D: float, source: str = "power-s0.5"):
    """Figure 1 of :cite:`agarwala2026twophase`, regenerated, with its caption.

    Parameters
    ----------
    panels : dict
        ``{(problem, form): Figure1Panel}`` from
        :func:`~twophase.experiments.lookahead.figure1_panels`; uses ``("spiked", form)``,
        ``("power", form)`` and ``(source, form)``.
    eta_rel, nu : array_like
        The map's grids (``eta lam_max`` and ``nu``).
    form : {"hd", "exact"}
        The form drawn.
    S : int
        Inner steps.
    alpha, spiked_B_over_D, power_B_over_D : float
        The power-law exponent and both problems' ``B/D`` (for the titles).
    source : str
        Key of the source initial condition's panel.

    Returns
    -------
    (matplotlib.figure.Figure, str)
    """
    from .. import _validate as v
    from ..experiments._verdict import expect_keys

    v.choice("form", form, ("hd", "exact"))
    expect_keys("panels", panels, [("spiked", form), ("power", form), (source, form)])
    S = v.positive_int("S", S)
    sp_, pw, src = panels["spiked", form], panels["power", form], panels[source, form]
    titles = ("spiked, B/D=%g" % v.positive_real("spiked_B_over_D", spiked_B_over_D),
              "power law α=%g, B/D=%g" % (v.real("alpha", alpha), v.positive_real("power_B_over_D", power_B_over_D)))
    fig = fig_figure1(eta_rel, nu, sp_.L, sp_.eta_star, sp_.nu_best, sp_.lmin,
                      [("isotropic $m_0$", pw.lmin, pw.nu_best),
                       ("$m_0\\propto\\lambda^{-1/2}$", src.lmin, src.nu_best)], titles=titles)
    caption = (f"Figure 1 regenerated ({form} form, one cycle of S={S} from m0, σ=0). Top: loss after "
               "one cycle over (η, ν), spiked spectrum, with the best η for each ν (white). Bottom left: "
               "loss minimised over η against ν. Bottom right: the same for the power law, for isotropic "
               "m0 (solid) and for m0 ∝ λ^(-1/2) (dashed), each relative to its own minimum.")
    return fig, caption


def best_nu_map_figure(best_map, exponents, paper_B_over_D: float, sigma_rel, name: str, *, alpha: float):
    """The best-``nu`` maps of chapter 2 for one spectrum, with the caption.

    Parameters
    ----------
    best_map : twophase.experiments.lookahead.BestNuMap
        From :func:`~twophase.experiments.lookahead.best_nu_map`.
    exponents : array_like
        The source exponents ``s`` of the map.
    paper_B_over_D : float
        The paper's ``B/D`` (dotted line).
    sigma_rel : sequence of float
        The label-noise ratios of the map's rows.
    name : {"power", "spiked"}
        Which spectrum (title and caption).
    alpha : float
        The power-law exponent (title).

    Returns
    -------
    (matplotlib.figure.Figure, str)
    """
    c.axis("sigma_rel", sigma_rel, nonnegative=True)
    from .. import _validate as v
    from ..experiments.lookahead import BestNuMap

    mp = _expect("best_map", best_map, BestNuMap, "best_nu_map()")
    v.choice("name", name, ("power", "spiked"))
    bd = v.positive_real("paper_B_over_D", paper_B_over_D)
    rows = [(f"σ² = {r:g}·λ·m0", mp.nu[i, 0]) for i, r in enumerate(sigma_rel)]
    title = f"power law α={v.real('alpha', alpha):g}" if name == "power" else "spiked"
    fig = fig_best_nu_map(mp.B_over_D, exponents, mp.nu[0], bd, rows, title)
    if name == "power":
        caption = ("Power law: best outer rate ν after one cycle. Left: over B/D and the initial-condition "
                   "exponent s (σ=0); red is ν>1, blue ν<1, black the ν=1 contour; dotted: the paper's "
                   "B/D. Right: isotropic m0 with label noise.")
    else:
        caption = ("Spiked spectrum: the same maps. The best ν stays above 1 at the paper's B/D (dotted), "
                   "but not at small B/D.")
    return fig, caption


def la_simulation_figure(check, eta_rel: float, S: int, B: int):
    """Lookahead: simulated mean loss ± 2 SE against the exact theory, per ``nu``, with the caption.

    Parameters
    ----------
    check : twophase.experiments.lookahead.SimulationCheck
        From :func:`~twophase.experiments.lookahead.theory_vs_simulation`.
    eta_rel : float
        The inner rate as ``eta lam_max`` (title).
    S, B : int
        Inner steps and batch size (title).

    Returns
    -------
    (matplotlib.figure.Figure, str)
    """
    from .. import _validate as v
    from ..experiments.lookahead import SimulationCheck

    c = _expect("check", check, SimulationCheck, "theory_vs_simulation()")
    eta_rel = v.positive_real("eta_rel", eta_rel)
    S, B = v.positive_int("S", S), v.positive_int("B", B)
    cycles = len(c.rows[0][1]) - 1
    fig = fig_theory_vs_sim(np.arange(cycles + 1), c.rows, title=f"LA, spiked, ηλmax={eta_rel:.3f}, S={S}, B={B}")
    caption = ("Lookahead at the spiked Figure-1 setting: simulated mean loss ± 2 SE (solid, band) "
               "and the exact theory (dashed, exact form).")
    return fig, caption


def rates_vs_R_figure(eta, rho: dict, Rs, *, S: int, D: int, B_tot: int, nu: float):
    """Chapter 3: the per-inner-step rate ``rho(T_R)^{1/S}`` over the base ``eta``, both rules.

    Parameters
    ----------
    eta : array_like
        Base inner rates.
    rho : dict
        ``{(rule, R): tau_sym(eta)}`` from :func:`~twophase.experiments.diloco.rate_scan`.
    Rs : sequence of int
        Worker counts drawn.
    S, D, B_tot : int
        Inner steps, dimension and total batch (title).
    nu : float
        Base outer rate (title).

    Returns
    -------
    (matplotlib.figure.Figure, str)
    """
    c.ints("Rs", Rs)
    from .. import _validate as v
    from ..experiments._verdict import expect_keys
    from ..sweeps import RULES

    S = v.positive_int("S", S)
    expect_keys("rho", rho, [(rule, int(R)) for rule in RULES for R in Rs])
    rates = {rule: {R: rho[rule, R] ** (1 / S) for R in Rs} for rule in RULES}
    fig = fig_eigenvalues_vs_R(eta, rates, Rs, title=f"(D={v.positive_int('D', D)}, "
                               f"B_tot={v.positive_int('B_tot', B_tot)}, S={S}, ν={v.real('nu', nu):g} at R=1)")
    caption = ("Per-inner-step convergence rate ρ(T_R)^(1/S) of LA-DiLoCo with identical eigenvalues. "
               "Left: η and ν fixed across R. Right: η ∝ R^(-1/2), ν ∝ R^(1/2). Above 1 = divergence.")
    return fig, caption


def _panel_Rs(fig2, Rs):
    """``Rs`` must be worker counts drawn in every panel of ``fig2`` (when it has panels)."""
    Rs = c.ints("Rs", Rs)
    panels = getattr(fig2, "panels", None)
    if isinstance(panels, dict) and panels:
        curves = next(iter(panels.values()))[1]
        missing = [R for R in Rs if R not in curves]
        if missing:
            raise ValueError(f"Rs must be worker counts of fig2's panels {sorted(curves)}, got {missing}")


def figure2_figure(fig2, Rs, *, D: int, B_tot: int, S: int):
    """Figure 2 of :cite:`agarwala2026twophase`, regenerated, with its caption.

    Parameters
    ----------
    fig2 : twophase.experiments.diloco.Figure2
        From :func:`~twophase.experiments.diloco.figure2`.
    Rs : sequence of int
        Worker counts drawn.
    D, B_tot, S : int
        Dimension, total batch and inner steps (caption).

    Returns
    -------
    (matplotlib.figure.Figure, str)
        The y-range runs from half the lowest theory loss to ``30 L0``.
    """
    _panel_Rs(fig2, Rs)
    from .. import _validate as v
    from ..experiments.diloco import Figure2

    f2 = _expect("fig2", fig2, Figure2, "figure2()")
    D, B_tot, S = v.positive_int("D", D), v.positive_int("B_tot", B_tot), v.positive_int("S", S)
    cycles = next(iter(f2.panels.values()))[1][Rs[0]][0].size - 1
    fig = fig_figure2(np.arange(cycles + 1), f2.panels, Rs, ylim=(0.5 * f2.lowest, 30 * f2.L0))
    caption = (f"Figure 2 regenerated: LA-DiLoCo, identical eigenvalues, D={D}, B_tot={B_tot}, S={S}. "
               "Solid: simulated mean loss ± 2 SE; dashed: exact theory. Top: η, ν fixed across R. "
               "Bottom: η ∝ R^(-1/2) with νη fixed.")
    return fig, caption
