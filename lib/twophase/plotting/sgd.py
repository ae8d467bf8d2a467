"""Figures of chapter 1 (SGD). Every function takes computed arrays and only draws."""
from __future__ import annotations

import numpy as np

from .. import _validate as v
from . import curve_with_band
from . import _checks as c

__all__ = ["fig_model", "fig_noise_kernel", "fig_theory_vs_sim"]


def _plt():
    import matplotlib.pyplot as plt

    return plt


def fig_model(lam, lam_spiked, alpha, shares):
    """Left: the power-law and spiked spectra. Right: the initial-loss share per mode (``{s: shares}``)."""
    lam = c.axis("lam", lam, positive=True)
    c.curve("lam_spiked", lam_spiked, lam.size)
    c.axis("lam_spiked", lam_spiked, positive=True)
    c.scalar("alpha", alpha)
    for s, share in c.mapping("shares", shares, "a non-empty dict {s: share per mode}").items():
        c.scalar("shares", s)
        c.curve(f"shares[{s!r}]", share, lam.size)
    fig, axes = _plt().subplots(1, 2, figsize=(11, 3.8), constrained_layout=True)
    i = np.arange(1, lam.size + 1)
    axes[0].loglog(i, lam, label=f"power law, $\\alpha={alpha}$")
    axes[0].loglog(i, lam_spiked, label="spiked: 1% of modes at 20×")
    axes[0].set(xlabel="mode index $i$", ylabel="eigenvalue $\\lambda_i$", title="spectra")
    axes[0].legend()
    for s, share in shares.items():
        axes[1].loglog(i, share, label="isotropic $m_0=1/D$" if s == 0 else f"source, $s={s}$")
    axes[1].set(xlabel="mode index $i$",
                ylabel="share of initial loss $\\lambda_i m_{0,i}/\\sum_j\\lambda_j m_{0,j}$",
                title="where the initial loss sits (power law)")
    axes[1].legend()
    return fig


def fig_noise_kernel(kc, B, small_B, sigma):
    """Noise kernel per batch and form, and the stationary loss (a :class:`KernelCurves`)."""
    for field in ("x", "K", "L_inf"):
        if not hasattr(kc, field):
            raise c.TypeErr(f"kc must be a KernelCurves (the result of experiments.sgd.kernel_curves), got "
                            f"{type(kc).__name__}")
    x = c.axis("kc.x", kc.x)
    B = v.positive_int("B", B)
    small_B = v.positive_int("small_B", small_B)
    for b, name in ((B, "B"), (small_B, "small_B")):
        for f in ("exact", "hd"):
            if (b, f) not in kc.K:
                raise ValueError(f"{name} must be a batch size of kc (kc.K has no ({b}, {f!r}))")
            c.curve(f"kc.K[{b}, {f!r}]", kc.K[b, f], x.size)
    for f in ("exact", "hd"):
        if f not in kc.L_inf:
            raise ValueError(f"kc must hold the stationary loss of both forms (kc.L_inf has no {f!r})")
        c.curve(f"kc.L_inf[{f!r}]", kc.L_inf[f], x.size)
    v.nonnegative_real("sigma", sigma)
    fig, axes = _plt().subplots(1, 2, figsize=(11, 3.8), constrained_layout=True)
    for b, ls in ((B, "-"), (small_B, "--")):
        for f, color in (("exact", "C0"), ("hd", "C1")):
            axes[0].plot(kc.x, kc.K[b, f], ls=ls, color=color, label=f"{f}, B={b}")
    axes[0].axhline(1, color="k", lw=0.8)
    axes[0].set(xlabel="$\\eta/\\eta_c$ (exact edge at the chapter's B)", ylabel="noise kernel $K(\\eta)$",
                ylim=(0, 2), title="noise kernel")
    axes[0].legend()
    for f, color in (("exact", "C0"), ("hd", "C1")):
        axes[1].semilogy(kc.x, kc.L_inf[f], color=color, label=f"$\\sigma^2/(2(1-K))$, {f}")
    axes[1].axhline(sigma ** 2 / 2, color="k", lw=0.8, ls=":", label="$\\sigma^2/2$ (irreducible)")
    axes[1].set(xlabel="$\\eta/\\eta_c$", ylabel="stationary loss", title=f"stationary loss, B={B}")
    axes[1].legend()
    return fig


def fig_theory_vs_sim(panels):
    """One panel per ``(B, rows)`` of :class:`SimRow`: simulated mean ± 2 SE, exact (dashed), hd (dotted)."""
    for item in c.sequence("panels", panels, "a non-empty list of (B, rows of SimRow)"):
        b, rows = c.tuple_of("panels", item, 2, "a non-empty list of (B, rows of SimRow)")
        v.positive_int("panels", b)
        rows = c.sequence("panels", rows, "a non-empty list of (B, rows of SimRow)")
        for r in rows:
            if not all(hasattr(r, f) for f in ("eta", "mean", "se", "exact", "hd")):
                raise c.TypeErr(f"panels must hold rows of SimRow (experiments.sgd.theory_vs_simulation), got "
                                f"{type(r).__name__}")
            n = np.size(r.mean)
            for f in ("se", "exact", "hd"):
                c.curve(f"panels: SimRow.{f}", getattr(r, f), n)
    fig, axes = _plt().subplots(1, len(panels), figsize=(12, 4.2), constrained_layout=True)
    for ax, (b, rows) in zip(np.atleast_1d(axes), panels):
        t = np.arange(rows[0].mean.size) + 1
        for r in rows:
            line = curve_with_band(ax, t, r.mean, r.se, k=2.0, label=f"simulation, $\\eta$={r.eta:.3g}")
            ax.plot(t, r.exact, "--", color="k", lw=1)
            ax.plot(t, r.hd, ":", color=line.get_color(), lw=1.5)
        ax.set(xscale="log", yscale="log", xlabel="step + 1", ylabel="loss", title=f"SGD, B = {b}")
        ax.legend(fontsize=8)
    return fig
