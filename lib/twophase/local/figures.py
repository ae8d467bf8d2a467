"""Figures of the Part II chapters (5-7). Every function takes already-computed results
(from :mod:`twophase.local.experiments` and :mod:`twophase.local.digits`) and only draws; it
returns the matplotlib figure. Imports matplotlib lazily, and nothing above this package.
"""
from __future__ import annotations

import numpy as np

__all__ = ["estimates_figure", "noise_floor_figure", "drift_figure", "beta_figure",
           "ill_conditioned_figure", "curves_figure", "accuracy_vs_H_figure", "equal_cost_figure",
           "CAPTIONS", "caption"]

LABEL = {"identity": "Local SGD", "rmsprop": "RMSProp-type", "adam": "Adam-type", "oasis": "OASIS-type"}
SHORT = {"identity": "SGD", "rmsprop": "RMSProp", "adam": "Adam", "oasis": "OASIS"}


def _need(name, value, kind):
    if isinstance(kind, str):
        ok = type(value).__name__ == kind
    else:
        ok = isinstance(value, kind)
    if not ok:
        want = kind if isinstance(kind, str) else kind.__name__
        raise TypeError(f"{name} must be a {want} result, got {type(value).__name__}")
    return value


def _plt():
    import matplotlib.pyplot as plt

    return plt


COLUMN_IN = 7.2  #: the book's column width in inches (``twophase.notebook.COLUMN_WIDTH_IN``)


def _fit(fig, title=9, label=9, ticks=8):
    """Lay ``fig`` out for the column: smaller titles, labels and tick labels on every axes,
    and matplotlib's constrained layout (re-placed when the figure is saved)."""
    for ax in fig.axes:
        ax.title.set_fontsize(title)
        ax.xaxis.label.set_fontsize(label)
        ax.yaxis.label.set_fontsize(label)
        ax.tick_params(labelsize=ticks)
    fig.set_layout_engine("constrained")
    return fig


def _log_ticks(ax, values, yscale="log"):
    """Log x axis ticked at ``values`` only, labelled as given (no crowded minor labels)."""
    from matplotlib.ticker import NullFormatter

    ax.set_xscale("log")
    if yscale:
        ax.set_yscale(yscale)
    ax.set_xticks(list(values))
    ax.set_xticklabels([f"{v:g}" for v in values])
    ax.xaxis.set_minor_formatter(NullFormatter())


def estimates_figure(est):
    """Chapter 5: OASIS Dhat vs diag A; Hutchinson error vs probes; Adam far / near x*."""
    _need("est", est, "Estimates")
    fig, axes = _plt().subplots(1, 3, figsize=(COLUMN_IN, 2.9))
    ax = axes[0]
    ax.loglog(est.diagA, est.oasis_dhat, "o", ms=3, label="OASIS, 60 rounds")
    lim = [est.diagA.min() / 2, est.diagA.max() * 2]
    ax.plot(lim, lim, "k--", lw=1, label="$y=x$")
    ax.set_xlabel("Hessian diagonal $A_{ii}$"); ax.set_ylabel("$\\hat D_{ii}$")
    ax.legend(fontsize=7)
    ax.set_title("OASIS: Hessian diagonal")
    ax = axes[1]
    hm = est.hutchinson
    ax.loglog(hm.probes, np.sqrt(hm.mse), "o-", ms=4, label="measured")
    ax.loglog(hm.probes, np.sqrt(hm.exact), "k--", label="exact")
    ax.set_xlabel("Hutchinson probes $n$"); ax.set_ylabel("RMS error"); ax.legend(fontsize=7)
    ax.set_title("error falls as $n^{-1/2}$")
    ax = axes[2]
    ax.loglog(est.diagA, est.adam_far, "s", ms=3, label="far from $x^\\star$")
    ax.loglog(est.diagA, est.adam_near, "^", ms=3, label="near $x^\\star$")
    ax.axhline(est.sigma, color="k", ls=":", lw=1, label="$\\sigma$")
    ax.set_xlabel("Hessian diagonal $A_{ii}$"); ax.set_ylabel("Adam-type $\\hat D_{ii}$")
    ax.legend(fontsize=7)
    ax.set_title("Adam: gradient size")
    return _fit(fig)


def noise_floor_figure(nf, lf, *, Ms, gammas, logit_gammas, H, logit_d):
    """Chapter 6, section 1: curves with exact floors; floors against gamma (quadratic, logistic)."""
    _need("nf", nf, "NoiseFloor"); _need("lf", lf, "LogisticFloor")
    fig, axes = _plt().subplots(1, 3, figsize=(COLUMN_IN, 2.9))
    ax = axes[0]
    for g in gammas:
        line = ax.semilogy(nf.curves[Ms[1], g], lw=0.8, label=f"$\\gamma$={g}")[0]
        ax.axhline(nf.exact[Ms[1], g], color=line.get_color(), ls="--", lw=1)
    ax.set_xlabel("communication round"); ax.set_ylabel("$f(\\bar x)-f^\\star$")
    ax.set_title(f"quadratic, M={Ms[1]}, H={H}"); ax.legend(fontsize=7)
    ax = axes[1]
    for M in Ms:
        eb = ax.errorbar(gammas, [nf.mc[M, g] for g in gammas], yerr=[nf.se[M, g] for g in gammas],
                         fmt="o", ms=4, label=f"M={M}")
        ax.plot(gammas, [nf.exact[M, g] for g in gammas], "-", color=eb[0].get_color(), lw=1)
    _log_ticks(ax, gammas); ax.set_xlabel("$\\gamma$"); ax.set_ylabel("floor")
    ax.set_title("quadratic floor"); ax.legend(fontsize=7)
    ax = axes[2]
    for M in Ms:
        ax.errorbar(logit_gammas, [lf.mc[M, g] for g in logit_gammas],
                    yerr=[lf.se[M, g] for g in logit_gammas], fmt="o-", ms=4, label=f"M={M}")
    _log_ticks(ax, logit_gammas); ax.set_xlabel("$\\gamma$"); ax.set_ylabel("floor")
    ax.set_title(f"logistic, d={logit_d}"); ax.legend(fontsize=7)
    return _fit(fig)


def drift_figure(dr, sh, *, Hs, gammas):
    """Chapter 6, section 2: drift floor against H and gamma; shared-Hessian curves."""
    _need("dr", dr, "Drift"); _need("sh", sh, "SharedHessian")
    fig, axes = _plt().subplots(1, 3, figsize=(COLUMN_IN, 2.9))
    ax = axes[0]
    for g in gammas:
        ax.semilogy(Hs[1:], [dr.floor[g, H] for H in Hs[1:]], "o-", ms=4, label=f"$\\gamma$={g}")
    _log_ticks(ax, Hs[1:], yscale=None)
    ax.set_xlabel("local steps H"); ax.set_ylabel("drift floor")
    ax.set_title("identity scaling"); ax.legend(fontsize=6)
    ax = axes[1]
    gs = np.array(sorted(gammas))
    for H in Hs[1:]:
        ax.loglog(gs, [dr.floor[g, H] for g in gs], "o-", ms=4, label=f"H={H}")
    ax.loglog(gs, dr.floor[gs[0], dr.check_H] * (gs / gs[0]) ** 2, "k:", label="$\\propto\\gamma^2$")
    ax.set_xlabel("$\\gamma$"); ax.set_ylabel("drift floor"); ax.set_title("drift as $\\gamma\\to 0$")
    ax.legend(fontsize=6)
    ax = axes[2]
    steps = np.arange(sh.total + 1)
    ax.semilogy(steps, sh.base, "k-", lw=1.5, label="H=1")
    for H, lc in sh.curves.items():
        ax.semilogy(steps[::H], lc, "--", lw=0.8, label=f"H={H}")
    ax.set_xlabel("local steps"); ax.set_ylabel("$f(\\bar x)-f^\\star$")
    ax.set_title("shared Hessian"); ax.legend(fontsize=6)
    return _fit(fig)


def beta_figure(bb, *, betas, gamma):
    """Chapter 6, section 3: loss curves and logged Dhat bounds for each beta at one gamma."""
    _need("bb", bb, "BetaBounds")
    fig, axes = _plt().subplots(1, 2, figsize=(COLUMN_IN, 3.0))
    for b in betas:
        axes[0].semilogy(bb.curves[gamma, b], lw=1, label=f"$\\beta$={b}")
        dmin, dmax = bb.dranges[gamma, b]
        line = axes[1].semilogy(dmin, lw=1, label=f"$\\beta$={b}")[0]
        axes[1].semilogy(dmax, lw=1, color=line.get_color())
    axes[1].axhline(bb.alpha, color="k", ls="--", lw=1, label="$\\alpha$")
    axes[1].axhline(bb.Gamma, color="k", ls=":", lw=1, label="$\\Gamma$")
    axes[0].set_xlabel("communication round"); axes[0].set_ylabel("$f(\\bar x)-f^\\star$")
    axes[0].set_title(f"OASIS-type scaling, $\\gamma$={gamma}"); axes[0].legend(fontsize=7)
    axes[1].set_xlabel("communication round"); axes[1].set_ylabel("min and max of $\\hat D$")
    axes[1].set_title("logged bounds of $\\hat D$"); axes[1].legend(fontsize=6, ncol=2)
    return _fit(fig)


def ill_conditioned_figure(ic, *, kappa, H, target):
    """Chapter 6, section 4: relative loss per seed, each method at its tuned step."""
    _need("ic", ic, "IllConditioned")
    fig, axes = _plt().subplots(1, 2, figsize=(COLUMN_IN, 3.2), sharey=True)
    for ax, b in zip(axes, ["axis", "rotated"]):
        for lab, v in ic.runs[b].items():
            rel = v["curves"] / v["curves"][:, :1]
            line = ax.semilogy(rel[0], lw=1.2, label=f"{lab} ($\\gamma$={v['gamma']:.3g})")[0]
            for row in rel[1:]:
                ax.semilogy(row, lw=0.6, alpha=0.5, color=line.get_color())
        ax.axhline(target, color="k", ls="--", lw=1)
        ax.set_xlabel("communication round")
        ax.set_title(f"$\\kappa\\approx${kappa:g}, {'axis-aligned' if b == 'axis' else 'rotated'}, H={H}")
        ax.legend(fontsize=6)
    axes[0].set_ylabel("$(f-f^\\star)/(f_0-f^\\star)$")
    return _fit(fig)


def curves_figure(res, metric, *, M, Hs, splits, methods, rounds):
    """Chapter 7: mean over seeds (band: min to max) of ``metric`` against rounds."""
    _need("res", res, dict)
    if metric not in ("loss", "acc"):
        raise ValueError(f"metric must be one of 'loss', 'acc', got {metric!r}")
    colors = {m: f"C{i}" for i, m in enumerate(methods)}
    wide = len(Hs) <= 2
    fig, axes = _plt().subplots(len(splits), len(Hs),
                                figsize=(min(COLUMN_IN, 3.2 * len(Hs)), 2.6 * len(splits)),
                                squeeze=False, sharey="row")
    for i, sp in enumerate(splits):
        for j, H in enumerate(Hs):
            ax = axes[i, j]
            for m in methods:
                v = res[(M, H, sp, m)]
                y = v[metric]
                name = LABEL[m] if wide else SHORT[m]
                ax.plot(y.mean(axis=0), color=colors[m], lw=1.2,
                        label=f"{name} ($\\gamma$={v['gamma']:.3g})")
                ax.fill_between(np.arange(rounds + 1), y.min(axis=0), y.max(axis=0), color=colors[m],
                                alpha=0.2)
            if metric == "loss":
                ax.set_yscale("log")
            else:
                ax.set_ylim(0.8, 1.0)
            ax.set_title(f"M={M}, H={H}, {sp}", fontsize=9)
            ax.set_xlabel("communication round")
            if j == 0:
                ax.set_ylabel("train loss" if metric == "loss" else "test accuracy")
            ax.legend(fontsize=6 if wide else 5)
    return _fit(fig)


def accuracy_vs_H_figure(res, *, Ms, Hs, splits, methods, rounds):
    """Chapter 7: final test accuracy (mean +- s.d. over seeds) against H."""
    _need("res", res, dict)
    colors = {m: f"C{i}" for i, m in enumerate(methods)}
    n = len(Ms) * len(splits)
    fig, axes = _plt().subplots(1, n, figsize=(min(COLUMN_IN, 3.4 * n), 2.8), squeeze=False,
                                sharey=True)
    for a, (M, sp) in enumerate([(M, sp) for M in Ms for sp in splits]):
        ax = axes[0, a]
        for m in methods:
            fin = [res[(M, H, sp, m)]["acc"][:, -1] for H in Hs]
            ax.errorbar(Hs, [f.mean() for f in fin], yerr=[f.std(ddof=1) for f in fin], fmt="o-",
                        color=colors[m], label=LABEL[m], capsize=2)
        ax.set_xscale("log"); ax.set_xticks(Hs); ax.set_xticklabels(Hs)
        ax.set_xlabel("local steps H"); ax.set_title(f"M={M}, {sp}", fontsize=9)
    axes[0, 0].set_ylabel(f"test accuracy after {rounds} rounds")
    axes[0, 0].legend(fontsize=6)
    return _fit(fig)


def equal_cost_figure(res, long_runs, costs, *, M, H, splits, methods, batch):
    """Chapter 7: train loss against per-worker gradient work (per-sample gradients), one
    configuration per split; Local SGD continued to the scaled methods' work."""
    _need("res", res, dict); _need("long_runs", long_runs, dict); _need("costs", costs, dict)
    from matplotlib.ticker import MaxNLocator

    colors = {m: f"C{i}" for i, m in enumerate(methods)}
    fig, axes = _plt().subplots(1, len(splits), figsize=(min(COLUMN_IN, 3.6 * len(splits)), 3.0),
                                squeeze=False, sharey=True)
    for ax, sp in zip(axes[0], splits):
        lr = long_runs[(M, H, sp)]
        ax.plot(lr["cost"], lr["loss"].mean(axis=0), color=colors["identity"], lw=1.2, label=LABEL["identity"])
        for m in methods:
            if m != "identity":
                ax.plot(costs[m], res[(M, H, sp, m)]["loss"].mean(axis=0), color=colors[m], lw=1.2, label=LABEL[m])
        ax.set_yscale("log")
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
        ax.set_title(f"M={M}, H={H}, {sp}", fontsize=9)
    fig.supxlabel(f"per-worker gradient work (per-sample gradients; batch {batch})", fontsize=9)
    axes[0, 0].set_ylabel("train loss (mean over seeds)"); axes[0, 0].legend(fontsize=6)
    return _fit(fig)


#: Captions of the Part II figures, keyed by figure name; ``{field}`` is filled by :func:`caption`.
CAPTIONS = {
    "ch5_what_preconditioners_estimate":
        "Left: OASIS's diagonal against the true Hessian diagonal of a quadratic with condition "
        "number about kappa. Middle: Hutchinson error against the number of probes, with its "
        "exact prediction. Right: the Adam-type scaling against the same diagonal, far from and "
        "near the optimum.",
    "ch6_noise_floor":
        "Linear decrease, then a noise floor that shrinks with the step size and with the number "
        "of workers. Left: loss curves on the quadratic, dashed: the exact floors. Middle: the "
        "quadratic's floor, simulation (dots) against the exact value (lines). Right: logistic "
        "regression, simulation only.",
    "ch6_client_drift":
        "Client drift: the exact fixed-point floor against H and the step size; with a shared "
        "Hessian the averaged iterate does not depend on H.",
    "ch6_beta_bounds":
        "Small beta makes the scaling follow single noisy probes; with a large step the loss "
        "then stops decreasing monotonically. The logged min/max of Dhat stay within "
        "[alpha, Gamma].",
    "ch6_ill_conditioned":
        "Each method at its own tuned step size on an ill-conditioned quadratic, one line per "
        "seed (runs stop at the target); dashed: the target.",
    "ch7_train_loss":
        "Train loss against communication rounds, M={M}; lines: mean over {S} seeds, bands: min "
        "to max; each method at its own tuned step size.",
    "ch7_test_accuracy":
        "Test accuracy against communication rounds, M={M}; lines: mean over {S} seeds, bands: "
        "min to max; each method at its own tuned step size.",
    "ch7_equal_work":
        "Train loss against per-worker gradient work (M={M}, H={H}): Local SGD is continued to "
        "the work the scaled methods spend, refreshes and warm start included.",
    "ch7_accuracy_vs_H":
        "Final test accuracy (mean ± s.d. over {S} seeds) against the number of local steps per "
        "round.",
}


def caption(name: str, **values) -> str:
    """The caption of the Part II figure ``name`` (a key of :data:`CAPTIONS`).

    ``values`` fill the template's fields, e.g. ``caption("ch7_equal_work", M=4, H=5)``; they
    must be exactly the template's fields (the figure's number of workers ``M``, local steps
    ``H`` or seeds ``S``), so a caption never shows a stale or missing number.
    """
    import string

    if not isinstance(name, str):
        raise TypeError(f"name must be a str, one of {sorted(CAPTIONS)}, got {type(name).__name__}")
    if name not in CAPTIONS:
        raise ValueError(f"name must be one of {sorted(CAPTIONS)}, got {name!r}")
    text = CAPTIONS[name]
    fields = {f for _, f, _, _ in string.Formatter().parse(text) if f}
    if set(values) != fields:
        raise ValueError(f"caption {name!r} takes exactly the values {sorted(fields)}, got "
                         f"{sorted(values)}")
    return text.format(**values)
