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
