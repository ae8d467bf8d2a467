"""Chapter-4 computations: the effective-spectrum structure; tuning helpers find the grid minimum and
re-tuning never worsens it; stacking verdict bands; Figure-3 verdict inputs."""
import numpy as np
import pytest

from twophase import TwoPhase
from twophase import momentum as mo
from twophase import spectra as sp
from twophase import theory as th
from twophase.experiments import momentum as ex


@pytest.mark.parametrize("S", [2, 5, 12])
@pytest.mark.parametrize("beta", [0.3, 0.9])
def test_effective_spectrum_structure(S, beta):
    """p_S has S distinct roots (h = 1) inside the complex band; |p_S| obeys the Chebyshev
    bound there; dh/dlam at 0 is eta sum_k (1 - beta^k)/(1 - beta)."""
    eta = 0.8
    roots = ex.removed_modes(eta, beta, S)
    lo, hi = ex.band_edges(eta, beta)
    assert roots.size == S and np.all(np.diff(roots) > 0)
    assert np.all((roots > lo) & (roots < hi))
    m = TwoPhase(eta, S=S, beta_in=beta)
    np.testing.assert_allclose(th.effective_spectrum(m, roots), 1.0, atol=1e-9)
    lam = np.linspace(lo, hi, 2001)
    assert np.max(np.abs(1 - th.effective_spectrum(m, lam))) <= ex.band_bound(S, beta)
    d = 1e-7
    slope = (th.effective_spectrum(m, [d])[0] - th.effective_spectrum(m, [0.0])[0]) / d
    assert slope == pytest.approx(ex.h_slope_at_zero(eta, beta, S), rel=1e-5)
    assert ex.removed_modes(eta, 0.0, S).tolist() == [1 / eta]


def test_rates_vs_S_and_tuning_helpers():
    m = TwoPhase(1.0, nu=2.0, beta_in=0.9, beta_out=0.8)
    r = ex.rates_vs_S(m, 0.2, [1, 2, 3])
    assert r.shape == (3,) and r[0] == pytest.approx(np.sqrt(0.8), rel=1e-12)  # HB: det = b
    lam = sp.power_law(10, alpha=-1.5)
    m0 = sp.initial_moments(lam)
    ms = ex.family_methods("SLA Nesterov", np.array([0.1, 0.5]), [0.5, 1.0], [0.5], [2], ["reset"], B=4)
    best, par = ex.tuned_losses(ms, lam, m0, [4, 8], sigma=0.1)
    full = th.expected_loss(ms[0], lam, m0, 4, sigma=0.1)
    assert best[1] == pytest.approx(np.min(full[..., 4]), rel=1e-14)
    assert par[1]["nu_pt"] == pytest.approx(par[1]["nu"] * 0.5)
    with pytest.raises(ValueError, match="multiple"):
        ex.tuned_losses(ms, lam, m0, [3], sigma=0.1)
    with pytest.raises(ValueError, match="family"):
        ex.family_methods("Adam", [0.1])


def test_refine_tuned_never_worse():
    lam = sp.power_law(12, alpha=-1.5)
    m0 = sp.initial_moments(lam)
    ms = ex.family_methods("SLA heavy ball", np.geomspace(0.05, 2, 5), [0.5, 1.0, 2.0], [0.5], [4], ["carry"], B=4)
    best, par = ex.tuned_losses(ms, lam, m0, [32], sigma=0.1)
    ref, p2 = ex.refine_tuned(par[0], lam, m0, 32, sigma=0.1, B=4, n=5)
    assert ref <= best[0] * (1 + 1e-12)
    ref2, _ = ex.refine_tuned(p2, lam, m0, 32, sigma=0.1, B=4, factor=1.1, n=5)
    assert ref2 <= ref * (1 + 1e-12)
    m = TwoPhase(p2["eta"], nu=p2["nu"], S=4, B=4, beta_in=0.5, beta_out=0.5, inner_momentum="carry")
    assert th.expected_loss(m, lam, m0, 8, sigma=0.1)[-1] == pytest.approx(ref, rel=1e-12)
    sgd = ex.family_methods("SGD+Nesterov", np.geomspace(0.05, 2, 5), betas=[0.7], B=4)
    best, par = ex.tuned_losses(sgd, lam, m0, [32], sigma=0.1)
    assert ex.refine_tuned(par[0], lam, m0, 32, sigma=0.1, B=4, n=5)[0] <= best[0] * (1 + 1e-12)


def test_retune_converges_and_is_monotone():
    lam = sp.power_law(12, alpha=-1.5)
    m0 = sp.initial_moments(lam)
    ms = ex.family_methods("SLA Nesterov", np.geomspace(0.05, 2, 5), [0.5, 1.0, 2.0], [0.5], [4], ["reset"], B=4)
    best, par = ex.tuned_losses(ms, lam, m0, [32], sigma=0.0)
    loss, p, hist, ok = ex.retune(par[0], lam, m0, 32, sigma=0.0, B=4)
    assert ok and np.all(np.diff(hist) <= 1e-15 * hist[0]) and loss <= best[0]


def test_stacking_ratio_and_verdict_bands():
    # ratio of excess losses over the floor: (3 - 1) / (2 - 1) = 2
    assert ex.stacking_ratio(3.0, 2.0, 1.0) == 2.0
    assert ex.stacking_ratio(0.5, 2.0) == 0.25
    helps, equal, worse = ex.STACKING_VERDICTS
    assert (ex.STACKING_LO, ex.STACKING_HI) == (0.8, 1.25)
    cases = {0.0: helps, 0.5: helps, 0.7999: helps, 0.8: equal, 1.0: equal, 1.25: equal,
             1.2501: worse, 3.0: worse, np.inf: worse}
    got = {r: ex.stacking_verdict(r) for r in cases}
    assert got == cases, f"verdicts {got} != expected {cases}"
    assert ex.stacking_verdict(ex.stacking_ratio(3.0, 2.0, 1.0)) == worse
    assert ex.stacking_verdict(np.float64(0.79)) == helps
    # a custom band moves the edges (strict inequalities at both ends)
    assert [ex.stacking_verdict(r, lo=0.5, hi=2.0) for r in (0.49, 0.5, 0.79, 2.0, 2.01)] == \
        [helps, equal, equal, equal, worse]
    assert ex.stacking_verdict(1.0, lo=1.0, hi=1.0) == equal


def test_stacking_verdict_bad_input():
    with pytest.raises(ValueError, match="ratio"):
        ex.stacking_verdict(np.nan)
    with pytest.raises(ValueError, match="ratio"):
        ex.stacking_verdict([0.5, 1.0])
    with pytest.raises(ValueError, match="lo"):
        ex.stacking_verdict(1.0, lo=0.0)
    with pytest.raises(ValueError, match="hi"):
        ex.stacking_verdict(1.0, lo=1.25, hi=0.8)


def test_octave_max_known_values():
    S = np.arange(1, 40)
    starts, m = ex.octave_max(S, S.astype(float), lo=4)
    assert starts.tolist() == [4, 8, 16, 32] and m.tolist() == [7.0, 15.0, 31.0, 39.0]


def test_figure3_panels_and_small_S():
    f3 = ex.figure3(1.0, 0.2, 0.9, 0.8, 2.0, 64)
    tp = ex.top_panel(f3, 0.8)
    assert tp.hb_increasing and tp.hb_lower_bound and 0 < tp.hb_gap_last <= tp.hb_gap_bound
    assert tp.nu_pt == pytest.approx(0.4)
    bp = ex.bottom_panel(f3, 16)
    assert bp.q == pytest.approx(32 / 48) and bp.n_small == 16 and len(bp.diff_max) == len(bp.octaves)
    s = ex.small_S_comparison(f3, 16, "bottom", "nesterov")
    assert s.stable_reset == bp.stable_reset and s.full_wins == bp.full_wins


def test_spectrum_checks_and_speedup():
    spc = ex.spectrum_checks([0.0, 0.5], [2, 4], n_x=200)
    assert spc.no_momentum_err < 1e-12 and all(n == S for b, S, n, *_ in spc.rows)
    rho, pred = ex.sqrt_speedup([1e-2, 0.1])
    np.testing.assert_allclose(rho, pred, atol=1e-8)
    cc = ex.critical_checks(1.0, 0.9, 0.8, 2.0, [0.1, 0.5])
    assert cc.worst_square < 1e-10 and cc.worst_det < 1e-10


def test_tuned_comparison_tables_and_retune():
    lam = sp.power_law(10, alpha=-1.5)
    m0 = sp.initial_moments(lam)
    tu = ex.tuned_comparison(lam, m0, [8, 16], eta_grid=np.geomspace(0.01, 2, 6), nu_pt_grid=[0.5, 1.0, 2.0],
                             betas=[0.5], S_values=[4], inner=["reset"], B=4, sigmas=[0.1], progress=False)
    rows = ex.stacking_table(tu)
    assert len(rows) == 2 and all(r.verdict in ex.STACKING_VERDICTS for r in rows)
    edges = ex.grid_edges(tu, betas=[0.5], S_values=[4])
    assert edges["S"] == [] and edges["beta"] == []  # one-value lists never count as an edge
    r = ex.retuned_verdict(tu, 0.1, lam, m0, B=4)
    assert r.losses["SLA Nesterov"] <= tu.results[0.1]["SLA Nesterov"][-1] * (1 + 1e-12)


# --- the chapter's text helpers (issue 10) ------------------------------------------------------


def test_budget_grid_is_the_powers_of_two_every_S_divides():
    """budget_grid: powers of two from 16 up to budget_max, each a multiple of every S (the list
    the chapter built inline before issue 10); refused when none qualifies."""
    assert ex.budget_grid(256, [8]).tolist() == [16, 32, 64, 128, 256]
    assert ex.budget_grid(1024, [4, 16]).tolist() == [16, 32, 64, 128, 256, 512, 1024]
    assert ex.budget_grid(100, [32]).tolist() == [32, 64]
    with pytest.raises(ValueError, match="budget_max"):
        ex.budget_grid(5000, [3])  # no power of two is a multiple of 3


def test_chapter4_text_helpers_quote_the_results():
    """The Figure-3 and tuned-comparison text helpers quote the numbers of the results they are given."""
    f3 = ex.figure3(1.0, 0.2, 0.9, 0.8, 2.0, 32)
    tp = ex.top_panel(f3, 0.8)
    why = ex.top_panel_details(f3, tp)
    hb = f3.top["heavy_ball", "reset"]
    assert why["worsens"] == f"reduced heavy-ball rate strictly increasing over S = 1..32: {hb[0]:.4f} -> {hb[-1]:.5f}"
    assert ex.top_panel_glue(tp)["hb_carry_mono_S"] == tp.S_mono
    bp = ex.bottom_panel(f3, 8)
    gl = ex.bottom_panel_glue(bp, f3.limit, 8)
    assert gl["stable_r"] == ", ".join(map(str, bp.stable_reset)) and gl["S_small"] == 8
    neither = ex.bottom_panel_details(f3, bp, 8)["neither"]
    assert str(sorted(set(range(1, 9)) - set(bp.stable_reset))) in neither
    rows = [ex.StackingRow(0.0, 16, "SLA Nesterov", 0.5, "stacking helps"),
            ex.StackingRow(0.0, 32, "SGD", 1.0, "about equal")]
    table = ex.stacking_markdown(rows).splitlines()
    assert table[2] == "| 0 | 16 | SLA Nesterov | 0.5 | stacking helps |" and len(table) == 4
    edges = {"eta_nu": [], "S": [(0.1, "LA", 4)], "beta": []}
    assert ex.grid_edges_glue(edges) == {"S_edges": "LA (σ=0.1, S=4)", "beta_edges": "none"}
