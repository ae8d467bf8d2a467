"""Figures of chapter 8 (scaled two-phase methods). Every function takes computed results and only draws."""
from __future__ import annotations

import numpy as np

from . import curve_with_band

__all__ = ["fig_fixed_check", "fig_help_hurt", "fig_statistics", "fig_map", "fig_de", "fig_rotated"]


def _plt():
    import matplotlib.pyplot as plt

    return plt


def fig_fixed_check(rows, picks):
    """Theory (dashed) against Monte-Carlo (mean ± 2 SE) for the :class:`FixedRow` s at ``picks``."""
    fig, axes = _plt().subplots(1, 2, figsize=(11, 3.8), constrained_layout=True)
    for ax, spectrum in zip(axes, ("power", "spiked")):
        for i in picks:
            r = [x for x in rows if x.spectrum == spectrum][i]
            t = np.arange(r.theory.size)
            line = curve_with_band(ax, t, r.mean, r.se, label=f"R={r.R}, S={r.S}, $\\sigma$={r.sigma:g}, "
                                   f"$\\nu$={r.nu:g}")
            ax.plot(t, r.theory, "--", color=line.get_color(), lw=1)
        ax.set(yscale="log", xlabel="outer step", ylabel="loss", title=f"{spectrum} spectrum, clipped Jacobi")
        ax.legend(fontsize=8)
    return fig


def fig_help_hurt(f):
    """Per-mode contraction and noise factor of the loss shares (a :class:`Factors`)."""
    fig, axes = _plt().subplots(1, 2, figsize=(11, 3.8), constrained_layout=True)
    i = np.arange(1, f.lam.size + 1)
    for name, ls in (("none", "-"), ("Jacobi", "--")):
        lab = f"{name}, $\\eta$={f.eta[name]:.3g}"
        axes[0].semilogx(i, f.contraction[name], ls=ls, label=lab)
        axes[1].loglog(i, f.noise[name], ls=ls, label=lab)
    axes[0].set(xlabel="mode index $i$", ylabel="$(1-\\eta\\mu_i)^2$", title="signal: contraction per step")
    axes[1].set(xlabel="mode index $i$", ylabel="$\\eta^2\\mu_i^2/B$", title="noise injected per unit loss")
    for ax in axes:
        ax.legend()
    return fig


def fig_statistics(lam, hut_rel_sd, hut_B, gsq):
    """Left: relative spread of the Hutchinson estimate per mode. Right: spread of the squared-gradient
    statistic per mode for each ``(label, StatCheck)`` in ``gsq``."""
    fig, axes = _plt().subplots(1, 2, figsize=(11, 3.8), constrained_layout=True)
    i = np.arange(1, lam.size + 1)
    axes[0].loglog(i, hut_rel_sd, label=f"minibatch Hessian, B={hut_B}")
    axes[0].axhline(1.0, color="k", lw=0.8, ls=":")
    axes[0].set(xlabel="mode index $i$", ylabel="sd / mean of $z\\odot\\hat H z$",
                title="OASIS-type estimate (exact products: 0)")
    axes[0].legend()
    for label, st in gsq:
        axes[1].semilogx(i, st.rel_sd, label=label)
    axes[1].set(xlabel="mode index $i$", ylabel="sd / mean of the statistic",
                title="Adam-type refresh statistic (sampled)")
    axes[1].legend(fontsize=8)
    return fig


def fig_map(rows):
    """Gain of each scaling over no scaling (ratio of best tuned excess losses), per configuration."""
    fig, ax = _plt().subplots(figsize=(11, 4.0), constrained_layout=True)
    x = np.arange(len(rows))
    w = 0.38
    ax.bar(x - w / 2, [r.none / r.jacobi for r in rows], w, label="clipped Jacobi (best $\\alpha$)")
    ax.bar(x + w / 2, [r.none / r.adam for r in rows], w, label="Adam-type (deterministic equivalent)")
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_xticks(x, [f"{r.power_alpha:g}|{r.sigma_rel:g}|{r.R}|{r.S}" for r in rows], rotation=60,
                  fontsize=7)
    ax.set(ylabel="loss without scaling / with", xlabel="power-law exponent | $\\sigma^2$ rel. | R | S",
           title="gain of the tuned scaled method after the step budget")
    ax.legend()
    return fig


def fig_de(rows, picks):
    """Deterministic equivalent (dashed) against the real method's median and 10-90 % band."""
    fig, axes = _plt().subplots(1, len(picks), figsize=(12, 3.8), constrained_layout=True)
    for ax, i in zip(np.atleast_1d(axes), picks):
        r = rows[i]
        t = np.arange(r.de.size)
        ax.fill_between(t, r.q[0], r.q[1], alpha=0.25, lw=0, label="simulation, 10-90 %")
        ax.plot(t, r.median, label="simulation, median")
        ax.plot(t, r.de, "k--", lw=1, label="deterministic equivalent")
        ax.set(yscale="log", xlabel="round", ylabel="loss", title=f"$\\beta$={r.beta:g}, R={r.R}, B={r.B}")
        ax.legend(fontsize=8)
    return fig


def fig_rotated(rot):
    """Exact theory (dashed) against dense Monte-Carlo (mean ± 2 SE), axis-aligned and rotated."""
    fig, ax = _plt().subplots(figsize=(7, 3.8), constrained_layout=True)
    for basis, (th, mean, se) in rot.curves.items():
        t = np.arange(th.size)
        line = curve_with_band(ax, t, mean, se, label=f"{basis}, simulation")
        ax.plot(t, th, "--", color=line.get_color(), lw=1, label=f"{basis}, exact theory")
    ax.set(yscale="log", xlabel="outer step", ylabel="loss", title="Jacobi scaling $p=1/\\mathrm{diag}(H)$")
    ax.legend(fontsize=8)
    return fig
