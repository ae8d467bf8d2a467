"""Figures of chapter 4 (stacked momentum). Pure matplotlib; every function
returns a Figure and computes nothing that is not already in
:mod:`twophase.momentum` (the notebook passes the numbers in)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["fig3", "effective_spectrum_figure", "tuned_figure", "mc_figure", "fig3_with_caption",
           "effective_spectrum_with_caption", "tuned_with_caption"]

COLORS = {"heavy_ball": "tab:blue", "nesterov": "tab:red"}
LABELS = {"heavy_ball": "heavy-ball outer", "nesterov": "Nesterov outer"}
FAMILY_STYLE = {
    "SGD": ("0.4", ":"),
    "SGD+momentum": ("tab:blue", ":"),
    "SGD+Nesterov": ("tab:red", ":"),
    "LA": ("0.2", "-"),
    "SLA heavy ball": ("tab:blue", "-"),
    "SLA Nesterov": ("tab:red", "-"),
}

from .. import _validate as v  # noqa: E402
from . import _checks as chk  # noqa: E402


def _check_tuned(budgets, results, floors, sigmas):
    """Entry checks of :func:`tuned_figure` (wrapped around it below, so its body stays as it is)."""
    budgets = chk.axis("budgets", budgets, positive=True)
    sigmas = chk.sequence("sigmas", sigmas, "a non-empty sequence of noise levels")
    chk.mapping("results", results, "a dict {sigma: {family: best loss per budget}}")
    chk.mapping("floors", floors, "a dict {sigma: sigma^2 / 2}")
    for s in sigmas:
        try:
            known = s in results and s in floors
        except TypeError:  # unhashable
            known = False
        if not known:
            raise ValueError(f"sigmas must be keys of results and floors, got {s!r}")
        v.nonnegative_real(f"floors[{s!r}]", floors[s])
        for fam, best in chk.mapping(f"results[{s!r}]", results[s], "a dict {family: best loss per budget}").items():
            if fam not in FAMILY_STYLE:
                raise ValueError(f"results must be keyed by the families {tuple(FAMILY_STYLE)}, got {fam!r}")
            chk.curve(f"results[{s!r}][{fam!r}]", best, budgets.size)


def fig3(S, top, bottom, nu_top, nu_bottom, beta_out, limit=None):
    """Figure 3: per-step rate against S. ``top``/``bottom`` map (outer, inner) to rates."""
    S = chk.axis("S", S, positive=True)
    for name, rates in (("top", top), ("bottom", bottom)):
        chk.mapping(name, rates, "a non-empty dict {(outer, inner): rates over S}")
        for key, r in rates.items():
            if not (isinstance(key, tuple) and len(key) == 2 and key[0] in COLORS and key[1] in ("reset", "carry")):
                raise ValueError(f"{name} must be keyed by (outer, inner), outer in {tuple(COLORS)} and inner in "
                                 f"('reset', 'carry'), got the key {key!r}")
            chk.curve(f"{name}[{key!r}]", r, S.size)
    v.positive_real("nu_top", nu_top)
    v.positive_real("nu_bottom", nu_bottom)
    v.unit_interval("beta_out", beta_out)
    if limit is not None:
        v.positive_real("limit", limit)
    fig, axes = plt.subplots(2, 1, figsize=(7.0, 7.0), sharex=True)
    for ax, rates, nu, title in ((axes[0], top, nu_top, "top"), (axes[1], bottom, nu_bottom, "bottom")):
        for (outer, inner), r in rates.items():
            ls = "-" if inner == "reset" else "--"
            name = "reduced (reset)" if inner == "reset" else "full (carry)"
            ax.plot(S, r, ls, color=COLORS[outer], lw=1.4 if inner == "reset" else 1.0,
                    alpha=1.0 if inner == "reset" else 0.75, label=f"{LABELS[outer]}, {name}")
        ax.axhline(1.0, color="k", lw=0.6)
        if limit is not None and title == "bottom":
            ax.axhline(limit, color="tab:red", lw=0.6, ls=":", label=r"$\beta_{in}^{1/4}$ (Nesterov limit)")
        ax.set_xscale("log")
        ax.set_ylim(0.55, 1.12)
        ax.set_ylabel(r"per-step rate $\rho^{1/S}$")
        ax.set_title(rf"{title}: $\nu$ = {nu:g} (EMA), i.e. PyTorch rate {nu * (1 - beta_out):g}")
        ax.legend(fontsize=7, loc="lower right")
        ax.grid(alpha=0.3, which="both")
    axes[1].set_xlabel("inner steps per cycle S")
    fig.tight_layout()
    return fig


def effective_spectrum_figure(x, curves, roots, band, bound_curves):
    """``h(eta lam)`` for several S and beta_in, with the modes removed at the critical rate.

    ``curves[(beta, S)] = h`` on grid ``x = eta lam``; ``roots[(beta, S)]`` the zeros of
    ``p_S``; ``band[beta] = (lo, hi)``; ``bound_curves[(beta, S)] = |p_S|``.
    """
    x = chk.axis("x", x, positive=True)
    chk.mapping("curves", curves, "a non-empty dict {(beta, S): h}")
    for key in curves:
        if not (isinstance(key, tuple) and len(key) == 2):
            raise ValueError(f"curves must be keyed by (beta, S), got the key {key!r}")
        v.unit_interval("curves beta", key[0])
        v.positive_int("curves S", key[1])
    grid = [(b, S) for b in {b for b, _ in curves} for S in {S for _, S in curves}]
    if any(key not in curves for key in grid):
        raise ValueError(f"curves must hold every (beta, S) of its betas and S (a full grid), missing "
                         f"{[key for key in grid if key not in curves]}")
    for name, d in (("roots", roots), ("bound_curves", bound_curves)):
        chk.mapping(name, d, "a dict with the keys of curves")
        missing = [key for key in curves if key not in d]
        if missing:
            raise ValueError(f"{name} must have every key of curves, missing {missing}")
    chk.mapping("band", band, "a dict {beta: (lo, hi)}")
    for key, h in curves.items():
        b = float(key[0])
        chk.curve(f"curves[{key!r}]", h, x.size)
        chk.curve(f"bound_curves[{key!r}]", bound_curves[key], x.size)
        roots_k = v.real_float_array(f"roots[{key!r}]", roots[key], "a 1-D array of eigenvalues")
        if roots_k.ndim != 1:
            raise ValueError(f"roots[{key!r}] must be a 1-D array of eigenvalues, got shape {roots_k.shape}")
        if b > 0:
            if b not in band:
                raise ValueError(f"band must hold (lo, hi) for every beta > 0 of curves, missing {b!r}")
            lo, hi = chk.tuple_of(f"band[{b!r}]", band[b], 2, "a pair (lo, hi)")
            if not v.positive_real("band", lo) <= v.positive_real("band", hi):
                raise ValueError(f"band[{b!r}] must be a pair (lo, hi) with 0 < lo <= hi, got {band[b]!r}")
    betas = sorted({b for b, _ in curves})
    Ss = sorted({s for _, s in curves})
    fig, axes = plt.subplots(2, len(betas), figsize=(7.2, 5.6), sharex=True, sharey="row",
                             squeeze=False, constrained_layout=True)
    cmap = plt.get_cmap("viridis")
    for j, b in enumerate(betas):
        ax, ax2 = axes[0, j], axes[1, j]
        for k, S in enumerate(Ss):
            col = cmap(k / max(1, len(Ss) - 1) * 0.85)
            ax.plot(x, curves[(b, S)], color=col, lw=1.2, label=f"S = {S}")
            ax.plot(roots[(b, S)], np.ones_like(roots[(b, S)]), "o", ms=3, color=col)
            ax2.semilogy(x, np.maximum(bound_curves[(b, S)], 1e-16), color=col, lw=1.0)
        if b > 0:
            for a in (ax, ax2):
                a.axvspan(*band[b], color="0.9", zorder=0)
        ax.axhline(1.0, color="k", lw=0.6)
        ax.set_ylim(-0.5, 2.5)
        ax.set_xscale("log")
        ax.set_title(rf"$\beta_{{in}}$ = {b:g}")
        ax2.set_xlabel(r"$\eta\lambda$")
        ax2.set_ylim(1e-8, 1e2)
        if j == 0:
            ax.set_ylabel(r"effective eigenvalue $h$")
            ax2.set_ylabel(r"$|1-h| = |p_S|$")
            ax.legend(fontsize=7, loc="upper left")
        ax.grid(alpha=0.3)
        ax2.grid(alpha=0.3)
        for a in (ax, ax2):
            a.tick_params(labelsize=8)
    return fig


def _sci(y, _pos=None):
    """Tick label ``m×10^e`` (mathtext) for a positive ``y``; ``10^e`` when ``m = 1``."""
    if not y > 0:
        return ""
    e = int(np.floor(np.log10(y) + 1e-9))
    m = y / 10.0 ** e
    return f"$10^{{{e}}}$" if abs(m - 1) < 1e-6 else f"${m:.0f}\\times10^{{{e}}}$"


def tuned_figure(budgets, results, floors, sigmas):
    """Best-tuned excess loss against gradient steps; one panel per sigma.

    ``results[sigma][family] = best loss per budget``; ``floors[sigma] = sigma^2/2``.
    """
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    fig, axes = plt.subplots(1, len(sigmas), figsize=(7.2, 3.6), squeeze=False, constrained_layout=True)
    for j, (ax, s) in enumerate(zip(axes[0], sigmas)):
        for fam, best in results[s].items():
            col, ls = FAMILY_STYLE[fam]
            ax.loglog(budgets, best - floors[s], ls, color=col, marker="o", ms=3, lw=1.3, label=fam)
        ax.set_xlabel("gradient steps (per worker)", fontsize=9)
        if j == 0:
            ax.set_ylabel(r"best-tuned excess loss $E L - \sigma^2/2$", fontsize=9)
        ax.set_title(rf"$\sigma$ = {s:g}", fontsize=10)
        ax.yaxis.set_minor_formatter(NullFormatter())
        lo, hi = ax.get_ylim()
        ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0) if hi < 100 * lo else (1.0,),
                                              numticks=12))
        ax.yaxis.set_major_formatter(FuncFormatter(_sci))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xticks(np.asarray(budgets), [str(int(b)) for b in budgets])
        ax.tick_params(which="both", labelsize=8)
        ax.grid(alpha=0.3, which="both")
    axes[0, 0].legend(fontsize=7)
    return fig


tuned_figure = chk.entry(_check_tuned)(tuned_figure)  # entry checks; the body is left as it is


def mc_figure(cases, k_band=2.0):
    """Theory (dashed) against simulation (solid mean, band of ``k_band`` standard errors).

    ``cases`` is a list of dicts with keys ``title``, ``theory``, ``mean``, ``se``.
    """
    for case in chk.sequence("cases", cases, "a non-empty list of dicts with title, theory, mean, se"):
        if not isinstance(case, dict) or any(k not in case for k in ("title", "theory", "mean", "se")):
            raise chk.TypeErr(f"cases must be a list of dicts with the keys title, theory, mean, se; got "
                            f"{type(case).__name__} {case!r:.60}")
        chk.text("cases title", case["title"])
        theory = v.real_float_array("cases theory", case["theory"], "a 1-D real array")
        if theory.ndim != 1 or theory.size == 0:
            raise ValueError(f"cases theory must be a non-empty 1-D real array, got shape {theory.shape}")
        chk.curve("cases mean", case["mean"], theory.size)
        chk.curve("cases se", case["se"], theory.size)
    v.positive_real("k_band", k_band)
    n = len(cases)
    cols = 4 if n >= 4 else n
    rows = int(np.ceil(n / cols))
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(rows, cols, figsize=(7.2, 2.2 * rows + 0.4), squeeze=False, sharex=True,
                             constrained_layout=True)
    for ax, c in zip(axes.ravel(), cases):
        t = np.arange(c["theory"].size)
        ax.plot(t, c["mean"], "-", color="tab:blue", lw=1.2, label="simulation")
        ax.fill_between(t, c["mean"] - k_band * c["se"], c["mean"] + k_band * c["se"], color="tab:blue",
                        alpha=0.25, lw=0)
        ax.plot(t, c["theory"], "--", color="k", lw=1.0, label="theory")
        ax.set_title(c["title"].replace("heavy_ball", "heavy ball"), fontsize=7)
        ax.yaxis.set_major_locator(MaxNLocator(4))
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    axes[0, 0].legend(fontsize=7)
    for ax in axes[-1]:
        ax.set_xlabel("outer step", fontsize=8)
    return fig


# --------------------------------------------------------------------------- figures with captions
# Each returns ``(figure, caption)`` for :func:`twophase.notebook.show_figure`.


def _expect(name, value, cls, producer):
    from ..experiments._verdict import expect

    return expect(name, value, cls, producer)


def fig3_with_caption(figure3, beta_out: float):
    """Figure 3 of :cite:`agarwala2026twophase`, regenerated, with its caption.

    Parameters
    ----------
    figure3 : twophase.experiments.momentum.Figure3
        From :func:`~twophase.experiments.momentum.figure3`.
    beta_out : float
        The outer momentum (for the PyTorch rate in the titles), in ``[0, 1)``.

    Returns
    -------
    (matplotlib.figure.Figure, str)
    """
    from .. import _validate as v
    from ..experiments.momentum import Figure3

    f3 = _expect("figure3", figure3, Figure3, "figure3()")
    beta_out = v.unit_interval("beta_out", beta_out)
    fig = fig3(f3.S, f3.top, f3.bottom, f3.nu, f3.nu_crit, beta_out, limit=f3.limit)
    caption = (f"Figure 3 regenerated. Top: nu = {f3.nu:g}; bottom: nu = 1/(1-beta_out) = {f3.nu_crit:g} "
               "(EMA convention). Blue: heavy-ball outer momentum; red: Nesterov. Solid: reduced "
               "system (inner buffer reset each cycle); dashed: full system (buffer carried). "
               "Rates above 1 diverge.")
    return fig, caption


def effective_spectrum_with_caption(checks):
    """The effective-spectrum figure of chapter 4 with its caption.

    Parameters
    ----------
    checks : twophase.experiments.momentum.SpectrumChecks
        From :func:`~twophase.experiments.momentum.spectrum_checks`.

    Returns
    -------
    (matplotlib.figure.Figure, str)
    """
    from ..experiments.momentum import SpectrumChecks

    spc = _expect("checks", checks, SpectrumChecks, "spectrum_checks()")
    fig = effective_spectrum_figure(spc.x, spc.curves, spc.roots, spc.bands, spc.absp)
    caption = ("Effective eigenvalue h(eta lam) = 1 - p_S seen by the outer step, for several S "
               "(colours) and inner momenta (columns); dots: modes with h = 1, removed in one cycle by "
               "a critical Nesterov outer step; shaded: the band where the inner heavy-ball roots are "
               "complex. Bottom row: |1 - h| = |p_S| on a log scale.")
    return fig, caption


def tuned_with_caption(tuned):
    """The tuned comparison of chapter 4 (one panel per noise level) with its caption.

    Parameters
    ----------
    tuned : twophase.experiments.momentum.Tuned
        From :func:`~twophase.experiments.momentum.tuned_comparison`.

    Returns
    -------
    (matplotlib.figure.Figure, str)
    """
    from ..experiments.momentum import Tuned

    t = _expect("tuned", tuned, Tuned, "tuned_comparison()")
    fig = tuned_figure(t.budgets, t.results, t.floors, list(t.results))
    caption = ("Best-tuned excess expected loss (exact theory) against gradient steps on a power-law "
               "problem, each family tuned separately at each budget over a shared grid. Dotted: "
               "single-loop methods; solid: two-phase methods.")
    return fig, caption
