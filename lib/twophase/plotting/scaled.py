"""Figures of chapter 8 (scaled two-phase methods). Every function takes computed results and only draws.

The ``fig_*`` builders draw one figure at the book's column width (7.2 in) and return it; the
``*_figure`` functions take the chapter's named results and return ``(figure, caption)`` for
:func:`twophase.notebook.show_figure`, with every number of the caption taken from the results.
Wrong arguments are refused by name before anything is drawn (:mod:`twophase.plotting._checks`).
"""
from __future__ import annotations

import numpy as np

from .. import _validate as v
from . import _checks as c
from . import curve_with_band

__all__ = ["fig_fixed_check", "fig_help_hurt", "fig_statistics", "fig_map", "fig_de", "fig_rotated",
           "fixed_check_figure", "help_hurt_figure", "statistics_figure", "map_figure", "de_figure",
           "rotated_figure"]

WIDTH = 7.2  #: the book's column width, inches
SPECTRA = ("power", "spiked")


def _plt():
    import matplotlib.pyplot as plt

    return plt


def _small(fig, size=8):
    """Fonts readable at the column width: 9 pt titles, 8 pt labels and ticks."""
    for ax in fig.axes:
        ax.title.set_fontsize(size + 1)
        ax.xaxis.label.set_fontsize(size)
        ax.yaxis.label.set_fontsize(size)
        ax.tick_params(which="both", labelsize=size)


# --- entry checks --------------------------------------------------------------------------------
def _items(name, rows, fields, what):
    """A non-empty sequence whose items all have the attributes ``fields`` (result rows)."""
    rows = c.sequence(name, rows, f"a non-empty sequence of {what}")
    for r in rows:
        missing = [f for f in fields if not hasattr(r, f)]
        if missing:
            raise c.TypeErr(f"{name} must be a non-empty sequence of {what} (fields {', '.join(fields)}), "
                            f"got an item {c._show(r)} without {', '.join(missing)}")
    return rows


def _obj(name, value, fields, what):
    """One result object with the attributes ``fields``."""
    missing = [f for f in fields if not hasattr(value, f)]
    if missing or isinstance(value, (dict, str)):
        raise c.TypeErr(f"{name} must be {what} (fields {', '.join(fields)}), got {c._show(value)}")
    return value


def _line(name, y) -> np.ndarray:
    """A non-empty 1-D real array (a loss curve; inf/nan allowed, they are dropped)."""
    arr = v.real_float_array(name, y, "a non-empty 1-D real array")
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D real array, got shape {arr.shape}")
    return arr


def _indices(name, picks, n: int, what: str) -> list:
    """Non-empty sequence of integer indices in ``[0, n)``."""
    out = c.sequence(name, picks, f"a non-empty sequence of indices into {what}")
    for i in out:
        v.integer(name, i, minimum=0, maximum=n - 1)
    return out


def _banded(name, mean, se, n):
    c.curve(f"{name} mean", mean, n)
    se = c.curve(f"{name} se", se, n)
    if np.any(se[np.isfinite(se)] < 0):
        raise ValueError(f"{name} se must be >= 0 where finite (standard errors; allowed range [0, inf))")


def _check_fixed(rows, picks):
    rows = _items("rows", rows, ("spectrum", "R", "S", "sigma", "nu", "theory", "mean", "se"),
                  "FixedRow (fixed_precond_check().rows)")
    for r in rows:
        v.choice("rows spectrum", r.spectrum, SPECTRA)
        v.positive_int("rows R", r.R)
        v.positive_int("rows S", r.S)
        v.nonnegative_real("rows sigma", r.sigma)
        v.positive_real("rows nu", r.nu)
        _banded("rows", r.mean, r.se, _line("rows theory", r.theory).size)
    n = min(sum(r.spectrum == s for r in rows) for s in {r.spectrum for r in rows})
    _indices("picks", picks, n, f"the rows of each spectrum ({n})")


def _check_factors(f):
    f = _obj("f", f, ("lam", "contraction", "noise", "eta"), "a Factors (help_hurt_factors())")
    lam = c.axis("f.lam", f.lam, positive=True)
    for field in ("contraction", "noise", "eta"):
        d = c.mapping(f"f.{field}", getattr(f, field), "a dict {'none': ..., 'Jacobi': ...}")
        if set(d) != {"none", "Jacobi"}:
            raise ValueError(f"f.{field} must have the keys 'none' and 'Jacobi', got {sorted(map(str, d))}")
    for name in ("none", "Jacobi"):
        c.curve(f"f.contraction[{name!r}]", f.contraction[name], lam.size)
        c.has_finite(f"f.noise[{name!r}]", c.curve(f"f.noise[{name!r}]", f.noise[name], lam.size))
        v.positive_real(f"f.eta[{name!r}]", f.eta[name])


def _check_statistics(lam, hut_rel_sd, hut_B, gsq):
    lam = c.axis("lam", lam, positive=True)
    c.has_finite("hut_rel_sd", c.curve("hut_rel_sd", hut_rel_sd, lam.size))
    v.positive_int("hut_B", hut_B)
    for item in c.sequence("gsq", gsq, "a non-empty sequence of (label, StatCheck)"):
        label, st = c.tuple_of("gsq", item, 2, "a non-empty sequence of (label, StatCheck)")
        c.text("gsq label", label)
        _obj("gsq", st, ("rel_sd",), "a sequence of (label, StatCheck)")
        c.has_finite("gsq rel_sd", c.curve("gsq rel_sd", st.rel_sd, lam.size))


def _check_map(rows):
    rows = _items("rows", rows, ("power_alpha", "sigma_rel", "R", "S", "none", "jacobi", "adam"),
                  "MapRow (tuned_map())")
    for r in rows:
        v.real("rows power_alpha", r.power_alpha)
        v.nonnegative_real("rows sigma_rel", r.sigma_rel)
        v.positive_int("rows R", r.R)
        v.positive_int("rows S", r.S)
        for m in ("none", "jacobi", "adam"):
            x = getattr(r, m)
            if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, float, np.floating, np.integer)) \
                    or not x > 0:
                raise ValueError(f"rows {m} must be a loss ratio in (0, inf] (allowed range), got {x!r}")
        if not np.isfinite(r.none):
            raise ValueError(f"rows none must be finite (the reference of every gain), got {r.none!r}")


def _check_de(rows, picks):
    rows = _items("rows", rows, ("beta", "R", "B", "de", "median", "q"), "DERow (de_vs_simulation())")
    for r in rows:
        v.open_unit("rows beta", r.beta)
        v.positive_int("rows R", r.R)
        v.positive_int("rows B", r.B)
        n = _line("rows de", r.de).size
        c.curve("rows median", r.median, n)
        c.curve("rows q", r.q, (2, n))
    _indices("picks", picks, len(rows), f"rows ({len(rows)})")


def _check_rotated(rot):
    rot = _obj("rot", rot, ("curves",), "a Rotated (rotated_study())")
    for basis, item in c.mapping("rot.curves", rot.curves, "a dict {basis: (theory, mean, se)}").items():
        c.text("rot.curves key", basis)
        th, mean, se = c.tuple_of(f"rot.curves[{basis!r}]", item, 3, "a triple (theory, mean, se)")
        _banded(f"rot.curves[{basis!r}]", mean, se, _line(f"rot.curves[{basis!r}] theory", th).size)


# --- the figures -----------------------------------------------------------------------------------
@c.entry(_check_fixed)
def fig_fixed_check(rows, picks):
    """Theory (dashed) against Monte-Carlo (mean ± 2 SE) for the :class:`FixedRow` s at ``picks``
    (indices into each spectrum's rows); one panel per spectrum, stacked."""
    spectra = [s for s in SPECTRA if any(r.spectrum == s for r in rows)]
    fig, axes = _plt().subplots(len(spectra), 1, figsize=(WIDTH, 2.9 * len(spectra)), squeeze=False,
                                constrained_layout=True)
    for ax, spectrum in zip(axes[:, 0], spectra):
        for i in picks:
            r = [x for x in rows if x.spectrum == spectrum][i]
            t = np.arange(np.size(r.theory))
            line = curve_with_band(ax, t, r.mean, r.se, label=f"R={r.R}, S={r.S}, $\\sigma$={r.sigma:g}, "
                                   f"$\\nu$={r.nu:g}")
            ax.plot(t, r.theory, "--", color=line.get_color(), lw=1)
        ax.plot([], [], "k--", lw=1, label="exact theory")
        ax.set(yscale="log", xlabel="outer step", ylabel="loss", title=f"{spectrum} spectrum, clipped Jacobi")
        ax.legend(fontsize=7)
    _small(fig)
    return fig


@c.entry(_check_factors)
def fig_help_hurt(f):
    """Per-mode contraction and noise factor of the loss shares (a :class:`Factors`)."""
    fig, axes = _plt().subplots(1, 2, figsize=(WIDTH, 3.2), constrained_layout=True)
    i = np.arange(1, np.size(f.lam) + 1)
    for name, ls in (("none", "-"), ("Jacobi", "--")):
        lab = f"{name}, $\\eta$={f.eta[name]:.3g}"
        axes[0].semilogx(i, f.contraction[name], ls=ls, label=lab)
        axes[1].loglog(i, f.noise[name], ls=ls, label=lab)
    axes[0].set(xlabel="mode index $i$", ylabel="$(1-\\eta\\mu_i)^2$", title="signal: contraction per step")
    axes[1].set(xlabel="mode index $i$", ylabel="$\\eta^2\\mu_i^2/B$", title="noise per unit loss")
    for ax in axes:
        ax.legend(fontsize=7)
    _small(fig)
    return fig


@c.entry(_check_statistics)
def fig_statistics(lam, hut_rel_sd, hut_B, gsq):
    """Left: relative spread of the Hutchinson estimate per mode. Right: spread of the squared-gradient
    statistic per mode for each ``(label, StatCheck)`` in ``gsq``."""
    fig, axes = _plt().subplots(1, 2, figsize=(WIDTH, 3.2), constrained_layout=True)
    i = np.arange(1, np.size(lam) + 1)
    axes[0].loglog(i, hut_rel_sd, label=f"minibatch Hessian, B={hut_B}")
    axes[0].axhline(1.0, color="k", lw=0.8, ls=":")
    axes[0].set(xlabel="mode index $i$", ylabel="sd / mean of $z\\odot\\hat H z$",
                title="OASIS-type estimate")
    axes[0].legend(fontsize=7)
    from matplotlib.ticker import FuncFormatter, LogLocator

    axes[0].yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))
    axes[0].yaxis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))
    axes[0].yaxis.set_minor_formatter(FuncFormatter(lambda y, _: f"{y:g}"))
    for label, st in gsq:
        axes[1].semilogx(i, st.rel_sd, label=label)
    axes[1].set(xlabel="mode index $i$", ylabel="sd / mean of the statistic",
                title="Adam-type statistic (sampled)")
    axes[1].legend(fontsize=7, title="averaged over workers", title_fontsize=7)
    _small(fig)
    return fig


@c.entry(_check_map)
def fig_map(rows):
    """Gain of each scaling over no scaling (ratio of best tuned excess losses), per configuration.

    One panel per (power-law exponent, label noise), in a grid (exponents down, noise levels
    across); inside a panel one pair of bars per (R, S), labelled on two lines.
    """
    exps = sorted({float(r.power_alpha) for r in rows}, reverse=True)
    sigs = sorted({float(r.sigma_rel) for r in rows})
    fig, axes = _plt().subplots(len(exps), len(sigs), figsize=(WIDTH, 0.6 + 2.3 * len(exps)),
                                sharey=True, squeeze=False, constrained_layout=True)
    w = 0.38
    for a, e in enumerate(exps):
        for b, s in enumerate(sigs):
            ax = axes[a, b]
            sel = sorted((r for r in rows if (r.power_alpha, r.sigma_rel) == (e, s)), key=lambda r: (r.R, r.S))
            x = np.arange(len(sel))
            ax.bar(x - w / 2, [r.none / r.jacobi for r in sel], w, color="C0",
                   label="clipped Jacobi (best $\\alpha$)")
            ax.bar(x + w / 2, [r.none / r.adam for r in sel], w, color="C1",
                   label="Adam-type (deterministic equivalent)")
            ax.axhline(1.0, color="k", lw=0.8)
            ax.set_xticks(x, [f"R={r.R}\nS={r.S}" for r in sel])
            ax.set_title(f"$\\lambda_i\\propto i^{{{e:g}}}$, $\\sigma^2$/signal = {s:g}")
            if b == 0:
                ax.set_ylabel("loss without / with")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncols=2, fontsize=8)
    _small(fig)
    return fig


@c.entry(_check_de)
def fig_de(rows, picks):
    """Deterministic equivalent (dashed) against the real method's median and 10-90 % band, one
    panel per row at ``picks`` (stacked, one legend)."""
    fig, axes = _plt().subplots(len(picks), 1, figsize=(WIDTH, 0.4 + 2.2 * len(picks)), squeeze=False,
                                sharex=True, constrained_layout=True)
    for ax, i in zip(axes[:, 0], picks):
        r = rows[i]
        t = np.arange(np.size(r.de))
        q = np.asarray(r.q, dtype=float)
        ax.fill_between(t, q[0], q[1], alpha=0.25, lw=0, label="simulation, 10-90 %")
        ax.plot(t, r.median, label="simulation, median")
        ax.plot(t, r.de, "k--", lw=1, label="deterministic equivalent")
        ax.set(yscale="log", ylabel="loss", title=f"$\\beta$={r.beta:g}, R={r.R}, B={r.B}")
    axes[-1, 0].set_xlabel("round")
    axes[0, 0].legend(fontsize=7)
    _small(fig)
    return fig


@c.entry(_check_rotated)
def fig_rotated(rot):
    """Exact theory (dashed) against dense Monte-Carlo (mean ± 2 SE), axis-aligned and rotated."""
    fig, ax = _plt().subplots(figsize=(WIDTH, 3.4), constrained_layout=True)
    for basis, (th, mean, se) in rot.curves.items():
        t = np.arange(np.size(th))
        line = curve_with_band(ax, t, mean, se, label=f"{basis}, simulation")
        ax.plot(t, th, "--", color=line.get_color(), lw=1, label=f"{basis}, exact theory")
    ax.set(yscale="log", xlabel="outer step", ylabel="loss", title="Jacobi scaling $p=1/\\mathrm{diag}(H)$")
    ax.legend(fontsize=7)
    _small(fig)
    return fig


# --- the chapter's figures with their captions -------------------------------------------------------
def _expect(name, value, cls, producer):
    from ..experiments._verdict import expect

    return expect(name, value, cls, producer)


def fixed_check_figure(check, picks):
    """:func:`fig_fixed_check` of a :class:`~twophase.experiments.scaled.FixedCheck`, with its caption.

    Parameters
    ----------
    check : twophase.experiments.scaled.FixedCheck
        From :func:`~twophase.experiments.scaled.fixed_precond_check`.
    picks : sequence of int
        Indices into each spectrum's rows (the configurations drawn).

    Returns
    -------
    (matplotlib.figure.Figure, str)
    """
    from ..experiments.scaled import FixedCheck

    fc = _expect("check", check, FixedCheck, "fixed_precond_check()")
    fig = fig_fixed_check(fc.rows, picks)
    n_spectra = len({r.spectrum for r in fc.rows})
    caption = (f"Scaled LA-DiLoCo with a fixed clipped-Jacobi preconditioner, D={fc.D}: exact theory "
               f"(dashed) against the mean of {fc.seeds} simulated runs (band: ±2 standard errors), "
               f"{len(picks)} of the {len(fc.rows) // n_spectra} configurations per spectrum. Over all "
               f"{len(fc.rows)} configurations of both spectra and every outer step, the simulated mean "
               f"is within {fc.worst_z:.2f} standard errors of the theory.")
    return fig, caption


def help_hurt_figure(f):
    """:func:`fig_help_hurt` with its caption; the batch size and clipping level are read off ``f``.

    With ``mu = p lam`` the noise factors are ``eta^2 mu^2 / B``, so ``B = eta^2 lam^2 / noise``
    (no scaling, ``mu = lam``) and ``mu_J = lam (eta / eta_J) sqrt(noise_J / noise)``; clipped
    Jacobi ``p = 1 / max(alpha lam_max, lam)`` gives ``lam / mu_J = max(alpha lam_max, lam)``,
    whose minimum over the modes is ``alpha lam_max``.

    Parameters
    ----------
    f : twophase.experiments.scaled.Factors
        From :func:`~twophase.experiments.scaled.help_hurt_factors`.

    Returns
    -------
    (matplotlib.figure.Figure, str)
    """
    from ..experiments.scaled import Factors

    f = _expect("f", f, Factors, "help_hurt_factors()")
    fig = fig_help_hurt(f)
    lam = np.asarray(f.lam, dtype=float)
    e0, e1 = f.eta["none"], f.eta["Jacobi"]
    n0, n1 = (np.asarray(f.noise[k], dtype=float) for k in ("none", "Jacobi"))
    with np.errstate(divide="ignore", invalid="ignore"):
        B = np.nanmedian(e0 ** 2 * lam ** 2 / n0)
        alpha = np.nanmin((e1 / e0) * np.sqrt(n0 / n1)) / lam.max()  # min of lam / mu_J
    caption = (f"Per-step contraction of each mode's loss share (left) and the noise it receives per "
               f"unit of loss (right), without scaling and with Jacobi clipped at α = {alpha:.3g} "
               f"times the largest eigenvalue; power law, D={lam.size}, B={B:.3g}, each method at half its "
               f"stability edge (η = {e0:.3g} and {e1:.3g}).")
    return fig, caption


def statistics_figure(lam, hut, B: int, gsq):
    """:func:`fig_statistics` from the :class:`StatCheck` results, with its caption.

    Parameters
    ----------
    lam : array_like
        The spectrum.
    hut : twophase.experiments.scaled.StatCheck
        From :func:`~twophase.experiments.scaled.hutchinson_check` (its ``rel_sd`` is drawn).
    B : int
        Its minibatch size.
    gsq : sequence of (str, StatCheck)
        Labelled results of :func:`~twophase.experiments.scaled.gradient_square_check`.

    Returns
    -------
    (matplotlib.figure.Figure, str)
    """
    from ..experiments.scaled import StatCheck

    hut = _expect("hut", hut, StatCheck, "hutchinson_check()")
    fig = fig_statistics(lam, hut.rel_sd, B, gsq)
    samples = sorted({int(st.samples) for _, st in gsq})
    caption = (f"Spread of the two refresh statistics per mode of a power-law spectrum, D={np.size(lam)}. "
               f"Left: the minibatch OASIS estimate (closed form; with exact products it is 0), from "
               f"{hut.rel_sd[0]:.2g} in the top mode to {hut.rel_sd[-1]:.2g} in the lowest. Right: the "
               f"squared-gradient statistic at a random point ({', '.join(map(str, samples))} draws).")
    return fig, caption


def map_figure(rows):
    """:func:`fig_map` with its caption (the range of the gains, from ``rows``).

    Parameters
    ----------
    rows : sequence of twophase.experiments.scaled.MapRow
        From :func:`~twophase.experiments.scaled.tuned_map`.

    Returns
    -------
    (matplotlib.figure.Figure, str)
    """
    fig = fig_map(rows)
    gj = [r.none / r.jacobi for r in rows]
    ga = [r.none / r.adam for r in rows]
    caption = (f"Best tuned excess loss without scaling divided by that with clipped Jacobi (tuned α; "
               f"gains {min(gj):.2f} to {max(gj):.2f}) and with the Adam-type rule ({min(ga):.2f} to "
               f"{max(ga):.2f}), in {len(rows)} configurations: one panel per power-law exponent and "
               f"label noise (σ² relative to the initial signal), one pair of bars per (R, S).")
    return fig, caption


def de_figure(rows, picks):
    """:func:`fig_de` with its caption (the configurations drawn, from ``rows``).

    Parameters
    ----------
    rows : sequence of twophase.experiments.scaled.DERow
        From :func:`~twophase.experiments.scaled.de_vs_simulation`.
    picks : sequence of int
        Indices into ``rows`` (one panel each).

    Returns
    -------
    (matplotlib.figure.Figure, str)
    """
    fig = fig_de(rows, picks)
    cfg = "; ".join(f"β={rows[i].beta:g}, R={rows[i].R}, B={rows[i].B} (median / equivalent at the end "
                    f"{rows[i].median_ratio:.2f})" for i in picks)
    caption = ("The Adam-type rule: deterministic equivalent (dashed) against the real stochastic "
               f"method (median and 10-90 % of the runs). Top to bottom: {cfg}.")
    return fig, caption


def rotated_figure(rot):
    """:func:`fig_rotated` with its caption (the deviations and condition numbers, from ``rot``).

    Parameters
    ----------
    rot : twophase.experiments.scaled.Rotated
        From :func:`~twophase.experiments.scaled.rotated_study`.

    Returns
    -------
    (matplotlib.figure.Figure, str)
    """
    from ..experiments.scaled import Rotated

    rot = _expect("rot", rot, Rotated, "rotated_study()")
    fig = fig_rotated(rot)
    dev = ", ".join(f"{b} {z:.2f}" for b, z in rot.z.items())
    caption = ("Jacobi scaling on a power-law covariance along the axes and in a random rotation: exact "
               "theory (dashed) against a dense simulation (mean ± 2 standard errors). Largest "
               f"deviation in standard errors: {dev}.")
    return fig, caption
