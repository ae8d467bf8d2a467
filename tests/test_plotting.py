"""Shared plotting helpers: the band drops non-finite points instead of drawing NaNs."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from twophase.plotting import curve_with_band  # noqa: E402


def test_curve_with_band_skips_diverged_points():
    fig, ax = plt.subplots()
    x = np.arange(5)
    mean = np.array([1.0, 0.5, 0.25, np.inf, np.inf])
    se = np.array([0.1, 0.1, 0.05, np.nan, np.nan])
    line = curve_with_band(ax, x, mean, se, k=2.0, label="m")
    xs, ys = line.get_data()
    assert list(xs) == [0, 1, 2] and np.all(np.isfinite(ys)), (xs, ys)
    band = ax.collections[0].get_paths()[0].vertices
    assert np.all(np.isfinite(band)) and np.all(band[:, 1] > 0), "band must be finite and positive (log axes)"
    plt.close(fig)


def test_chapter_figure_modules_export_what_they_list():
    """The chapter figure builders are importable from the plotting package."""
    from twophase.plotting import la, momentum, sgd

    for mod in (la, momentum, sgd):
        names = getattr(mod, "__all__", [n for n in dir(mod) if n.startswith("fig")])
        assert names, mod.__name__
        for name in names:
            assert callable(getattr(mod, name)), f"{mod.__name__}.{name}"


def test_sgd_figures_draw_what_they_are_given():
    """The chapter-1 figures draw the arrays passed in (one line per curve), nothing computed here."""
    from twophase import spectra as sp
    from twophase.experiments import sgd as ex
    from twophase.plotting import sgd as pl

    lam = sp.power_law(20, -1.5)
    fig = pl.fig_model(lam, sp.spiked(20, 20.0, 0.1), -1.5, ex.loss_shares(lam))
    assert [len(ax.lines) for ax in fig.axes] == [2, 3]
    plt.close(fig)
    kc = ex.kernel_curves(lam, (8, 1), 0.5, 0.1, n=5)
    fig = pl.fig_noise_kernel(kc, 8, 1, 0.1)
    assert np.allclose(fig.axes[0].lines[0].get_ydata(), kc.K[8, "exact"])
    plt.close(fig)


def _title_boxes(fig):
    """Window extents of the non-empty axes titles after fitting ``fig`` to the book's column."""
    from twophase.notebook import fit_to_column

    fit_to_column(fig)
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    return [ax.title.get_window_extent(r) for ax in fig.axes if ax.get_title()]


def _no_overlap(boxes):
    return all(not a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def test_chapter2_and_3_panel_titles_do_not_overlap_at_the_column_width():
    """Figure 2.1 (signal and noise), Figure 1 and the rates-over-R figure, fitted to the column:
    no two panel titles overlap (they did before issue 10); the figures draw the data given."""
    from twophase.experiments import lookahead as ex
    from twophase.plotting import la as pl

    sn = ex.signal_noise_factors(10, 0.5, 1.5, np.geomspace(1e-5, 1.0, 50))
    fig, caption = pl.signal_noise_figure(sn, 10, 0.5, 1.5)
    boxes = _title_boxes(fig)
    assert len(boxes) == 3 and _no_overlap(boxes) and "effective spectrum" in caption
    assert np.array_equal(fig.axes[1].lines[0].get_ydata(), sn.signal_la)
    plt.close(fig)
    pr = ex.problems(spiked_D=40, spiked_ratio=20.0, spiked_fraction=0.05, spiked_B_over_D=0.2,
                     power_D=60, power_alpha=-1.5, power_B_over_D=0.05)
    eta_rel, nu = np.geomspace(0.01, 1.9, 7), np.linspace(0.2, 2.5, 5)
    res = ex.figure1_panels(pr, eta_rel, nu, eta_rel, S=4, forms=("hd",))
    fig, caption = pl.figure1_figure(res, eta_rel, nu, form="hd", S=4, alpha=-1.5, spiked_B_over_D=0.2,
                                     power_B_over_D=0.05)
    boxes = _title_boxes(fig)
    assert len(boxes) == 3 and _no_overlap(boxes) and "S=4" in caption
    plt.close(fig)
    eta = np.geomspace(1e-3, 0.05, 20)
    rates = {rule: {R: 0.99 + 0.001 * R * eta for R in (1, 2)} for rule in ("fixed", "sqrt")}
    fig = pl.fig_eigenvalues_vs_R(eta, rates, [1, 2], title="(D=3200, B_tot=64, S=10, ν=1 at R=1)")
    boxes = _title_boxes(fig)
    assert len(boxes) == 2 and _no_overlap(boxes)
    plt.close(fig)


def _text_boxes(fig):
    """``(axes index, window extent)`` of every visible non-empty text of every axes (title, axis
    labels, major and minor tick labels), after fitting ``fig`` to the book's column."""
    from twophase.notebook import fit_to_column

    fit_to_column(fig)
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    out = []
    for i, ax in enumerate(fig.axes):
        texts = [ax.title, ax.xaxis.label, ax.yaxis.label]
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            span = 1e-9 * (hi - lo)
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if lo - span <= tick.get_loc() <= hi + span:  # drawn: inside the view
                    texts += [tick.label1, tick.label2]
        for t in texts:
            if t.get_visible() and t.get_text().strip():
                box = t.get_window_extent(r)
                if box.width > 0 and box.height > 0:
                    out.append((i, box))
    return out


def _cross_axes_overlaps(fig):
    """Pairs ``(i, j)`` where a text of axes ``i`` overlaps a text or the plotting area of axes ``j``."""
    boxes = _text_boxes(fig)
    r = fig.canvas.get_renderer()
    areas = [ax.get_window_extent(r) for ax in fig.axes]
    texts = [(i, j) for k, (i, a) in enumerate(boxes) for j, b in boxes[k + 1:] if i != j and a.overlaps(b)]
    return texts + [(i, j) for i, a in boxes for j, area in enumerate(areas) if i != j and a.overlaps(area)]


def test_chapter4_figures_keep_their_texts_apart():
    """The effective-spectrum, tuned-comparison and simulation figures of chapter 4, fitted to the
    column: no text of one panel (title, label, tick label) overlaps a text or the plotting area of
    another panel (before issue 10 the inner panels' tick labels ran into their neighbours)."""
    from twophase.experiments import momentum as ex
    from twophase.plotting import momentum as pm

    spc = ex.spectrum_checks([0.0, 0.5, 0.9], [1, 4], n_x=200)
    fig, caption = pm.effective_spectrum_with_caption(spc)
    assert not _cross_axes_overlaps(fig) and "h = 1" in caption
    plt.close(fig)
    b = np.array([16, 32, 64])
    res = {s: {f: s ** 2 / 2 + 1e-3 * (b / 16.0) ** -(1 + i / 5) for i, f in enumerate(ex.FAMILIES)}
           for s in (0.0, 0.1)}
    t = ex.Tuned(b, res, {}, {}, {0.0: 0.0, 0.1: 0.005})
    fig, caption = pm.tuned_with_caption(t)
    assert not _cross_axes_overlaps(fig)
    assert np.allclose(fig.axes[1].lines[0].get_ydata(), res[0.1]["SGD"] - 0.005)
    plt.close(fig)
    x = np.arange(8)
    cases = [dict(title=f"heavy_ball, reset, R={k}", theory=0.1 - 0.002 * x, mean=0.1 - 0.002 * x,
                  se=np.full(8, 1e-3)) for k in range(8)]
    fig = pm.mc_figure(cases)
    assert not _cross_axes_overlaps(fig)
    plt.close(fig)


def test_chapter2_figures_keep_their_texts_apart():
    """Figure 2.1 and Figure 1 of chapter 2, fitted to the column: no text of one panel overlaps
    a text or the plotting area of another."""
    from twophase.experiments import lookahead as ex
    from twophase.plotting import la as pl

    sn = ex.signal_noise_factors(10, 0.5, 1.5, np.geomspace(1e-5, 1.0, 50))
    fig, _ = pl.signal_noise_figure(sn, 10, 0.5, 1.5)
    assert not _cross_axes_overlaps(fig)
    plt.close(fig)
    pr = ex.problems(spiked_D=40, spiked_ratio=20.0, spiked_fraction=0.05, spiked_B_over_D=0.2,
                     power_D=60, power_alpha=-1.5, power_B_over_D=0.05)
    eta_rel, nu = np.geomspace(0.01, 1.9, 7), np.linspace(0.2, 2.5, 5)
    res = ex.figure1_panels(pr, eta_rel, nu, eta_rel, S=4, forms=("hd",))
    fig, _ = pl.figure1_figure(res, eta_rel, nu, form="hd", S=4, alpha=-1.5, spiked_B_over_D=0.2,
                               power_B_over_D=0.05)
    assert not _cross_axes_overlaps(fig)
    plt.close(fig)
