"""Figures of chapter 4 (stacked momentum). Pure matplotlib; every function
returns a Figure and computes nothing that is not already in
:mod:`twophase.momentum` (the notebook passes the numbers in)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["fig3", "effective_spectrum_figure", "tuned_figure", "mc_figure"]

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
        roots_k = chk._real(f"roots[{key!r}]", roots[key], "a 1-D array of eigenvalues")
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
    fig, axes = plt.subplots(2, len(betas), figsize=(3.4 * len(betas), 6.2), sharex=True)
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
    fig.tight_layout()
    return fig


def tuned_figure(budgets, results, floors, sigmas):
    """Best-tuned excess loss against gradient steps; one panel per sigma.

    ``results[sigma][family] = best loss per budget``; ``floors[sigma] = sigma^2/2``.
    """
    fig, axes = plt.subplots(1, len(sigmas), figsize=(5.0 * len(sigmas), 4.0), squeeze=False)
    for ax, s in zip(axes[0], sigmas):
        for fam, best in results[s].items():
            col, ls = FAMILY_STYLE[fam]
            ax.loglog(budgets, best - floors[s], ls, color=col, marker="o", ms=3, lw=1.3, label=fam)
        ax.set_xlabel("gradient steps (per worker)")
        ax.set_ylabel(r"best-tuned excess loss $E L - \sigma^2/2$")
        ax.set_title(rf"$\sigma$ = {s:g}")
        ax.grid(alpha=0.3, which="both")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
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
        theory = chk._real("cases theory", case["theory"], "a 1-D real array")
        if theory.ndim != 1 or theory.size == 0:
            raise ValueError(f"cases theory must be a non-empty 1-D real array, got shape {theory.shape}")
        chk.curve("cases mean", case["mean"], theory.size)
        chk.curve("cases se", case["se"], theory.size)
    v.positive_real("k_band", k_band)
    n = len(cases)
    cols = 4 if n >= 4 else n
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.8 * rows), squeeze=False, sharex=True)
    for ax, c in zip(axes.ravel(), cases):
        t = np.arange(c["theory"].size)
        ax.semilogy(t, c["mean"], "-", color="tab:blue", lw=1.2, label="simulation")
        ax.fill_between(t, c["mean"] - k_band * c["se"], c["mean"] + k_band * c["se"], color="tab:blue",
                        alpha=0.25, lw=0)
        ax.semilogy(t, c["theory"], "--", color="k", lw=1.0, label="theory")
        ax.set_title(c["title"], fontsize=8)
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    axes[0, 0].legend(fontsize=7)
    for ax in axes[-1]:
        ax.set_xlabel("outer step")
    fig.tight_layout()
    return fig
