"""Chapter 8's experiment functions (:mod:`twophase.experiments.scaled`) on small problems: each
returns what the chapter states claims about, and the exact parts hold exactly. Monte-Carlo
comparisons use k = 4.5 standard errors (see tests/test_scaled.py)."""
import numpy as np
import pytest

from twophase import spectra as sp
from twophase.experiments import scaled as ex
from twophase.notebook import VERDICTS

K = 4.5


def test_fixed_precond_check_small():
    """Engine with precond = change of variables (1e-12) and = Monte-Carlo (K SE) on both spectra."""
    fc = ex.fixed_precond_check([(1, 2, 0.3, 1.2), (2, 3, 0.0, 1.0)], D=30, alpha=0.02,
                                power_alpha=-1.5, B=4, eta_frac=0.5, cycles=5, seeds=300, seed=1)
    assert len(fc.rows) == 4 and {r.spectrum for r in fc.rows} == {"power", "spiked"}
    assert fc.worst_gap < 1e-12
    assert fc.worst_z <= K


def test_jacobi_isotropic_gap_is_rounding():
    """Pure Jacobi: power laws with different exponents and equal initial loss, identical curves."""
    assert ex.jacobi_isotropic_gap(50, [-1.0, -2.0], B=4, eta_frac=0.5, cycles=6, S=3, R=2,
                                   sigma=0.1) < 1e-12


def test_help_hurt_factors_jacobi_flattens():
    """Jacobi clipped at alpha: contraction and noise factor are the same number for every mode
    above alpha; relative to no scaling, the noise moves to the low modes (the ratio of the noise
    factors grows down the spectrum and exceeds 1 at its bottom)."""
    lam = sp.power_law(100, -1.5)
    f = ex.help_hurt_factors(lam, B=2, alpha=0.01)
    top = lam >= 0.01
    assert np.ptp(f.contraction["Jacobi"][top]) < 1e-14
    assert np.ptp(f.noise["Jacobi"][top]) < 1e-14 * f.noise["Jacobi"][0]
    ratio = f.noise["Jacobi"] / f.noise["none"]
    assert np.all(np.diff(ratio) >= -1e-12 * ratio[1:]) and ratio[-1] > 1.0


def test_statistic_checks_small():
    """Hutchinson and squared-gradient closed forms against sampling (K SE); exact OASIS gap 0."""
    lam = sp.power_law(10, -1.5)
    hc = ex.hutchinson_check(lam, B=4, probes=1, samples=20000, alpha=1e-3, seed=2)
    assert hc.exact_gap == 0.0 and max(hc.z_mean, hc.z_var) <= K
    g = ex.gradient_square_check(lam, sp.initial_moments(lam), B=2, R=3, sigma=0.2, samples=20000,
                                 average="gradients", seed=3)
    assert g.z_mean <= K


def test_tuned_map_small():
    """Tuned clipped Jacobi is never worse than no scaling (its family contains it); one row per
    configuration, the table has a header and one line per row."""
    rows = ex.tuned_map(D=60, B_tot=2, steps=20, power_alphas=[-1.5], sigma_rels=[0.0, 0.5],
                        Rs=[1, 2], Ss=[1, 4], alphas=list(np.geomspace(1e-3, 1.0, 6)),
                        eta_rels=list(np.geomspace(0.02, 1.5, 8)),
                        adam_eta_rels=list(np.geomspace(0.01, 3.0, 8)), beta=0.9)
    assert len(rows) == 8
    assert all(r.jacobi <= r.none * (1 + 1e-9) for r in rows)
    assert all(r.winner in ("none", "jacobi", "adam") for r in rows)
    assert len(ex.map_table(rows).splitlines()) == 9


def test_de_vs_simulation_small_prints_error():
    """The equivalent against the real method: the measured errors are printed, and the rows
    carry finite DE curves and medians (no size of the error is asserted)."""
    rows = ex.de_vs_simulation(D=30, power_alpha=-1.5, betas=[0.9], Rs=[1, 8], Bs=[1], S=2,
                               rounds=8, seeds=64, eta_frac=0.5, sigma_rel=0.0, seed=0)
    print("\n" + ex.de_table(rows))
    assert len(rows) == 2
    assert all(np.all(np.isfinite(r.de)) and np.isfinite(r.median_ratio) for r in rows)


def test_rotated_study_small():
    """Rotated and axis-aligned: theory vs dense simulation within K SE; on the axis, the Jacobi
    scaling of a diagonal H gives the identical spectrum (condition number 1)."""
    rot = ex.rotated_study(D=12, power_alpha=-1.5, B=3, S=2, R=2, cycles=6, seeds=400, eta_frac=0.5,
                           sigma=0.1, eta_rels=list(np.geomspace(0.05, 1.5, 8)), tune_cycles=20,
                           seed=1)
    assert max(rot.z.values()) <= K
    assert rot.kappa_scaled["axis"] == pytest.approx(1.0, abs=1e-12)
    assert rot.gain["axis"] >= 1.0 - 1e-12


def test_chapter6_link_axis_and_rotated():
    """Chapter 6's construction: Jacobi removes the axis-aligned ill-conditioning (scaled kappa
    far below kappa), not the rotated one."""
    c6 = ex.chapter6_link(d=40, M=4, kappa=1000.0, H=10, target=1e-5, sigma=0.001, seed=0)
    assert c6.kappa_scaled["axis"] < 0.1 * c6.kappa["axis"]
    assert c6.kappa_scaled["rotated"] > 0.5 * c6.kappa["rotated"]
    assert c6.predicted["axis"] > c6.predicted["rotated"]


def test_workers_noise_and_verdicts():
    """Fixed Jacobi scaling: the loss grows with R at fixed total batch; the verdicts are
    computed, use registered verdict words and name the chapter's evidence labels."""
    lam = sp.power_law(40, -1.5)
    wn = ex.workers_noise_check(lam, sp.initial_moments(lam), 1.0 / np.maximum(0.01, lam), B_tot=8,
                                Rs=[1, 2, 4], S=4, eta_rels=[0.2, 0.5], cycles=5)
    assert wn.holds and wn.ratio > 1.0
    rows = ex.tuned_map(D=40, B_tot=2, steps=10, power_alphas=[-1.5], sigma_rels=[0.0], Rs=[1], Ss=[1],
                        alphas=[0.01, 1.0], eta_rels=[0.2, 0.5, 1.0], adam_eta_rels=[0.1, 0.5, 1.0],
                        beta=0.9)
    rot = ex.rotated_study(D=8, power_alpha=-1.5, B=2, S=1, R=1, cycles=2, seeds=8, eta_frac=0.5,
                           sigma=0.0, eta_rels=[0.2, 0.5, 1.0], tune_cycles=5)
    pv = ex.paper_verdicts(rows, rot, wn)
    assert [p.id for p in pv] == ["III-scaling-speeds-up", "III-workers-noise-with-scaling"]
    assert all(p.verdict in VERDICTS for p in pv)
    assert {p.evidence for p in pv} == {"ch8-map", "ch8-summary"}


def test_figures_draw_from_small_results():
    """Every chapter-8 figure builder draws from small computed results (one axes per panel)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from twophase.plotting import scaled as pl

    lam = sp.power_law(10, -1.5)
    fc = ex.fixed_precond_check([(1, 1, 0.0, 1.0), (2, 2, 0.1, 1.0)], D=10, alpha=0.05,
                                power_alpha=-1.5, B=2, eta_frac=0.5, cycles=2, seeds=8)
    hc = ex.hutchinson_check(lam, B=2, probes=1, samples=50, alpha=1e-3)
    gs = ex.gradient_square_check(lam, sp.initial_moments(lam), B=2, R=2, sigma=0.0, samples=50,
                                  average="squares")
    rows = ex.tuned_map(D=20, B_tot=2, steps=4, power_alphas=[-1.5], sigma_rels=[0.0], Rs=[1], Ss=[1],
                        alphas=[0.1, 1.0], eta_rels=[0.2, 0.5, 1.0], adam_eta_rels=[0.1, 0.5, 1.0],
                        beta=0.9)
    de = ex.de_vs_simulation(D=10, power_alpha=-1.5, betas=[0.9], Rs=[1, 2], Bs=[1], S=1, rounds=3,
                             seeds=8, eta_frac=0.5, sigma_rel=0.0)
    rot = ex.rotated_study(D=6, power_alpha=-1.5, B=2, S=1, R=1, cycles=2, seeds=8, eta_frac=0.5,
                           sigma=0.0, eta_rels=[0.2, 0.5, 1.0], tune_cycles=3)
    figs = [pl.fig_fixed_check(fc.rows, [0, 1]), pl.fig_help_hurt(ex.help_hurt_factors(lam, B=2, alpha=0.1)),
            pl.fig_statistics(lam, hc.rel_sd, 2, [("squares", gs)]), pl.fig_map(rows),
            pl.fig_de(de, [0, 1]), pl.fig_rotated(rot)]
    assert [len(f.axes) for f in figs] == [2, 2, 2, 1, 2, 1]
    for f in figs:
        plt.close(f)
