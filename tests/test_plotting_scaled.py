"""Chapter-8 figures at the book's column width: sizes, captions from the results, texts apart."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from twophase import spectra as sp  # noqa: E402
from twophase.experiments import scaled as ex  # noqa: E402
from twophase.plotting import scaled as pl  # noqa: E402


@pytest.fixture(scope="module")
def small():
    """Small real results of every chapter-8 experiment that has a figure (seconds to compute)."""
    lam = sp.power_law(10, -1.5)
    fc = ex.fixed_precond_check([(1, 1, 0.0, 1.0), (2, 2, 0.1, 1.0)], D=10, alpha=0.05, power_alpha=-1.5,
                                B=2, eta_frac=0.5, cycles=3, seeds=8, executor="serial")
    hc = ex.hutchinson_check(lam, B=2, probes=1, samples=50, alpha=1e-3)
    gs = ex.gradient_square_check(lam, sp.initial_moments(lam), B=2, R=2, sigma=0.0, samples=50,
                                  average="squares")
    rows = ex.tuned_map(D=20, B_tot=2, steps=4, power_alphas=[-1.5, -1.0], sigma_rels=[0.0, 0.5],
                        Rs=[1, 2], Ss=[1, 10], alphas=[0.1, 1.0], eta_rels=[0.2, 0.5, 1.0],
                        adam_eta_rels=[0.1, 0.5, 1.0], beta=0.9)
    de = ex.de_vs_simulation(D=10, power_alpha=-1.5, betas=[0.5, 0.9], Rs=[1, 2], Bs=[1], S=1, rounds=3,
                             seeds=8, eta_frac=0.5, sigma_rel=0.0, executor="serial")
    rot = ex.rotated_study(D=6, power_alpha=-1.5, B=2, S=1, R=1, cycles=2, seeds=8, eta_frac=0.5,
                           sigma=0.0, eta_rels=[0.2, 0.5, 1.0], tune_cycles=3, executor="serial")
    ff = ex.help_hurt_factors(lam, B=2, alpha=0.1)
    return dict(lam=lam, fc=fc, hc=hc, gs=gs, rows=rows, de=de, rot=rot, ff=ff)


def _figures(s):
    return {
        "fixed": pl.fixed_check_figure(s["fc"], [0, 1]),
        "help_hurt": pl.help_hurt_figure(s["ff"]),
        "statistics": pl.statistics_figure(s["lam"], s["hc"], 2, [("squares", s["gs"])]),
        "map": pl.map_figure(s["rows"]),
        "de": pl.de_figure(s["de"], [0, 1, 3]),
        "rotated": pl.rotated_figure(s["rot"]),
    }


def _texts(fig):
    """``(axes index, kind, window extent)`` of every drawn non-empty text of every axes: title,
    axis labels, and the tick labels inside the view."""
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    out = []
    for i, ax in enumerate(fig.axes):
        items = [("title", ax.title), ("label", ax.xaxis.label), ("label", ax.yaxis.label)]
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            pad = 1e-9 * (hi - lo)
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if lo - pad <= tick.get_loc() <= hi + pad:
                    items += [(f"tick{axis.axis_name}", tick.label1), (f"tick{axis.axis_name}", tick.label2)]
        for kind, t in items:
            if t.get_visible() and t.get_text().strip():
                box = t.get_window_extent(r)
                if box.width > 0 and box.height > 0:
                    out.append((i, kind, box))
    return out


def _overlaps(fig):
    """Overlapping pairs: a text of one axes with a text or the plotting area of another axes, and
    two tick labels of the same axis of one axes (e.g. crowded bar labels)."""
    boxes = _texts(fig)
    r = fig.canvas.get_renderer()
    areas = [ax.get_window_extent(r) for ax in fig.axes]
    bad = [(i, j) for k, (i, _, a) in enumerate(boxes) for j, _, b in boxes[k + 1:] if i != j and a.overlaps(b)]
    bad += [(i, j) for i, _, a in boxes for j, area in enumerate(areas) if i != j and a.overlaps(area)]
    bad += [(i, kind) for k, (i, kind, a) in enumerate(boxes) for j, kind2, b in boxes[k + 1:]
            if i == j and kind == kind2 and kind.startswith("tick") and a.overlaps(b)]
    return bad


def test_chapter8_figures_are_column_wide_with_captions_from_the_results(small):
    """Every chapter-8 figure is drawn at the book's column width (7.2 in, so show_figure does not
    shrink it) and its caption carries numbers taken from the results passed in."""
    from twophase.notebook import COLUMN_WIDTH_IN

    figs = _figures(small)
    for name, (fig, caption) in figs.items():
        assert fig.get_size_inches()[0] == pytest.approx(COLUMN_WIDTH_IN), name
        assert isinstance(caption, str) and caption.strip(), name
        plt.close(fig)
    fc, rows, rot = small["fc"], small["rows"], small["rot"]
    assert f"{fc.worst_z:.2f} standard errors" in figs["fixed"][1] and f"{fc.seeds} simulated" in figs["fixed"][1]
    gains = [r.none / r.jacobi for r in rows]
    assert f"gains {min(gains):.2f} to {max(gains):.2f}" in figs["map"][1]
    assert f"in {len(rows)} configurations" in figs["map"][1]
    assert f"axis {rot.z['axis']:.2f}" in figs["rotated"][1]
    de = small["de"]
    assert f"{de[3].median_ratio:.2f}" in figs["de"][1]
    assert f"{small['ff'].eta['Jacobi']:.3g}" in figs["help_hurt"][1]
    assert "α = 0.1 times" in figs["help_hurt"][1] and "B=2," in figs["help_hurt"][1]  # read off f
    assert f"{small['hc'].rel_sd[-1]:.2g}" in figs["statistics"][1]


def test_chapter8_figures_keep_their_texts_apart(small):
    """No text of one panel (title, label, tick label) overlaps a text or the plotting area of
    another panel, and no two tick labels of one axis overlap (the map's bar labels were 16
    rotated 'a|b|R|S' strings before)."""
    for name, (fig, _) in _figures(small).items():
        assert not _overlaps(fig), (name, _overlaps(fig))
        plt.close(fig)


def test_map_figure_groups_panels_by_exponent_and_noise(small):
    """fig_map draws one panel per (exponent, noise) pair, one pair of bars per (R, S), each bar the
    ratio none / jacobi (resp. none / adam) of the row it stands for."""
    rows = small["rows"]
    fig = pl.fig_map(rows)
    assert len(fig.axes) == 4
    ax = fig.axes[0]  # exponent -1.0 (top row), sigma_rel 0.0 (left column)
    sel = sorted((r for r in rows if (r.power_alpha, r.sigma_rel) == (-1.0, 0.0)), key=lambda r: (r.R, r.S))
    heights = [p.get_height() for p in ax.patches]
    assert np.allclose(heights, [r.none / r.jacobi for r in sel] + [r.none / r.adam for r in sel], rtol=1e-12)
    assert [t.get_text() for t in ax.get_xticklabels()] == [f"R={r.R}\nS={r.S}" for r in sel]
    plt.close(fig)


def test_fig_de_draws_the_rows_it_is_given(small):
    """fig_de: one stacked panel per pick, the dashed line is that row's deterministic equivalent."""
    de = small["de"]
    fig = pl.fig_de(de, [2, 0])
    assert len(fig.axes) == 2
    assert np.array_equal(fig.axes[0].lines[-1].get_ydata(), de[2].de)
    assert np.array_equal(fig.axes[1].lines[-1].get_ydata(), de[0].de)
    plt.close(fig)


@pytest.mark.parametrize("B, alpha", [(2, 0.1), (8, 0.05), (1, 0.003)])
def test_help_hurt_caption_reads_batch_and_clipping_off_the_factors(B, alpha):
    """help_hurt_figure recovers B and the clipping level alpha from the noise factors alone
    (B = eta^2 lam^2 / noise; alpha lam_max = min lam / mu_J), to the 3 digits it prints."""
    f = ex.help_hurt_factors(sp.power_law(200, -1.5), B=B, alpha=alpha)
    fig, caption = pl.help_hurt_figure(f)
    assert f"α = {alpha:.3g} times" in caption and f"B={B}," in caption, caption
    plt.close(fig)
