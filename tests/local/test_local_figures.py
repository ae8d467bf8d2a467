"""Part II figures at the book's column width (helper fmt2, issue 10): every figure function of
:mod:`twophase.local.figures` is drawn on small real results (chapters 5 and 6) or on a fake grid
in the paper profile's shape (chapter 7: 2 M x 4 H x 2 splits), fitted to the column as
``show_figure`` does, and no two texts (titles, axis labels, tick labels) may overlap."""
import itertools

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pytest

from twophase.local import digits as dg, experiments as ex, figures as fg
from twophase.notebook import COLUMN_WIDTH_IN, fit_to_column


def _texts(fig):
    """Every visible, non-empty title, axis label and tick label of ``fig``, with its box."""
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    out = []
    for ax in fig.axes:
        items = [ax.title, ax.xaxis.label, ax.yaxis.label]
        for axis in (ax.xaxis, ax.yaxis):
            for t in axis.get_majorticklabels() + axis.get_minorticklabels():
                inside = axis.get_view_interval()
                pos = t.get_position()[0 if axis is ax.xaxis else 1]
                lo, hi = min(inside), max(inside)
                # tick labels matplotlib keeps outside the view are not drawn
                if lo - 1e-9 * abs(lo) <= pos <= hi + 1e-9 * abs(hi):
                    items.append(t)
        out += [(t.get_text(), t.get_window_extent(r)) for t in items
                if t.get_visible() and t.get_text().strip()]
    if fig._supxlabel is not None:
        out.append((fig._supxlabel.get_text(), fig._supxlabel.get_window_extent(r)))
    return out


def _overlaps(fig, gap=2.0):
    """Pairs of texts closer than ``gap`` pixels (at 100 dpi) in both directions: touching
    texts read as one (the old titles "... Hessian diagonalerror falls as ...")."""
    found = []
    for (a, ba), (b, bb) in itertools.combinations(_texts(fig), 2):
        w = min(ba.x1, bb.x1) - max(ba.x0, bb.x0)
        h = min(ba.y1, bb.y1) - max(ba.y0, bb.y0)
        if w > -gap and h > -gap:
            found.append((a, b))
    return found


def _quadratic_figures():
    est = ex.preconditioner_estimates(d=12, M=4, kappa=100.0, sigma=0.5, gamma=0.3, H=2,
                                      beta=0.9, probe_counts=[1, 4, 16], n_reps=3, seed=0)
    nf = ex.noise_floor_study(d=6, Ms=[2, 4, 8], kappa=10.0, sigma=0.5, gammas=[0.8, 0.4, 0.2],
                              H=2, rounds=20, seeds=2, seed=0)
    lf = ex.logistic_floor_study(n=120, d=4, Ms=[2, 4, 8], gammas=[2.0, 1.0, 0.5], H=2, rounds=10,
                                 seeds=2, seed=0)
    Hs, gs = [1, 2, 5, 10, 20], [0.4, 0.2, 0.1, 0.05, 0.025]
    dr = ex.drift_study(d=5, M=4, kappa=10.0, Hs=Hs, gammas=gs, seed=0)
    sh = ex.shared_hessian_study(d=5, M=4, kappa=10.0, sigma=0.5, Hs=Hs, gamma=0.4, seed=0,
                                 total=40)
    bb = ex.beta_study(d=6, M=4, betas=[0.1, 0.5, 0.9, 0.99], gammas=[0.3, 1.0], H=2, rounds=8,
                       seeds=1, seed=0)
    methods = [ex.MethodSpec("Local SGD", "identity", (0.5, 1.0, 1.9)),
               ex.MethodSpec("RMSProp-type", "rmsprop", (0.002, 0.005, 0.01)),
               ex.MethodSpec("Adam-type", "adam", (0.002, 0.005, 0.01)),
               ex.MethodSpec("OASIS-type", "oasis", (0.06, 0.12, 0.25))]
    ic = ex.ill_conditioned_study(methods, d=10, M=2, H=2, kappa=1000.0, sigma=0.001,
                                  target=1e-2, rounds=30, seeds=2, seed=0)
    with np.errstate(invalid="ignore"):  # a run that never reached the target: inf / inf
        ill = fg.ill_conditioned_figure(ic, kappa=1000.0, H=2, target=1e-2)
    return {"estimates": fg.estimates_figure(est),
            "noise_floor": fg.noise_floor_figure(nf, lf, Ms=[2, 4, 8], gammas=[0.8, 0.4, 0.2],
                                                 logit_gammas=[2.0, 1.0, 0.5], H=2, logit_d=4),
            "drift": fg.drift_figure(dr, sh, Hs=Hs, gammas=gs),
            "beta": fg.beta_figure(bb, betas=[0.1, 0.5, 0.9, 0.99], gamma=1.0),
            "ill": ill}


def _digits_figures():
    rng = np.random.default_rng(0)
    Ms, Hs, splits = [4, 8], [1, 5, 10, 20], ["iid", "dirichlet"]
    methods, rounds, S = ["identity", "rmsprop", "adam", "oasis"], 40, 3
    res = {}
    for key in itertools.product(Ms, Hs, splits, methods):
        curve = np.exp(-np.arange(rounds + 1) / 10)[None] * (1 + 0.1 * rng.random((S, 1)))
        res[key] = {"loss": curve + 0.05, "acc": 0.98 - 0.5 * curve, "gamma": 0.03}
    long_runs = {(M, H, sp): {"cost": np.linspace(0, 40000, 60),
                              "loss": np.exp(-np.linspace(0, 5, 60))[None].repeat(S, 0)}
                 for M, H, sp in itertools.product(Ms, Hs, splits)}
    costs = dg.method_costs(methods, H=20, rounds=rounds, alpha=1e-3, beta=0.9)
    kw = dict(splits=splits, methods=methods)
    return {"curves_loss": fg.curves_figure(res, "loss", M=8, Hs=Hs, rounds=rounds, **kw),
            "curves_acc": fg.curves_figure(res, "acc", M=8, Hs=Hs, rounds=rounds, **kw),
            "curves_one_H": fg.curves_figure(res, "loss", M=8, Hs=[5], rounds=rounds, **kw),
            "accuracy_vs_H": fg.accuracy_vs_H_figure(res, Ms=Ms, Hs=Hs, rounds=rounds, **kw),
            "equal_cost": fg.equal_cost_figure(res, long_runs, costs, M=8, H=20, batch=32, **kw)}


@pytest.fixture(scope="module")
def figures():
    import matplotlib.pyplot as plt

    figs = _quadratic_figures() | _digits_figures()
    yield figs
    for f in figs.values():
        plt.close(f)


def test_part2_figures_fit_the_column_without_overlapping_text(figures):
    """At the column width no title, axis label or tick label overlaps another."""
    bad = {}
    for name, fig in figures.items():
        fit_to_column(fig)
        assert fig.get_size_inches()[0] <= COLUMN_WIDTH_IN + 1e-9, name
        if _overlaps(fig):
            bad[name] = _overlaps(fig)
    assert not bad, bad


def test_overlap_check_finds_overlapping_titles():
    """The check itself: two long titles on narrow neighbouring panels are reported."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(4, 2))
    for ax in axes:
        ax.set_title("a title far too long for half of a four-inch figure")
    try:
        assert _overlaps(fig)
    finally:
        plt.close(fig)
