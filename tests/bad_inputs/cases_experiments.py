"""Bad-input cases for ``twophase.experiments`` (issue 9): each call must raise one of the exception
types with a message naming the parameter."""
import numpy as np

from twophase import TwoPhase

LAM = np.array([1.0, 0.5, 0.25])
BAD_LAM = np.array([1.0, -0.5])
M0 = np.full(3, 1 / 3)
V = ValueError

CASES = {
    # chapter 1
    "twophase.experiments.sgd.form_gap": [((BAD_LAM, M0[:2], 4, [0.1]), dict(steps=3, sigma=0.0), (V,), "lam")],
    "twophase.experiments.sgd.stability_edges": [((BAD_LAM, (4,)), {}, (V,), "lam")],
    "twophase.experiments.sgd.edge_run": [((LAM, M0, 0, 0.1, [0.9, 1.1]), dict(steps=3, sigma=0.0), (V,), "B")],
    "twophase.experiments.sgd.stationary_check": [((0.1, LAM, 4, 0.1, "nope"), {}, (V,), "form")],
    "twophase.experiments.sgd.kernel_curves": [((BAD_LAM, (4,), 0.1, 0.1), {}, (V,), "lam")],
    "twophase.experiments.sgd.theory_vs_simulation": [((LAM, M0, 4, [-0.1]), dict(steps=3, seeds=2, sigma=0.0),
                                                       (V,), "eta")],
    "twophase.experiments.sgd.tail_scan": [((LAM, M0, 4, 0.1, [0.5]), dict(steps=3, seeds=0, sigma=0.0), (V,), "seeds")],
    "twophase.experiments.sgd.divergence_run": [((LAM, M0, 4, -1.0), dict(steps=3, sigma=0.0), (V,), "eta")],
    "twophase.experiments.sgd.loss_shares": [((BAD_LAM,), {}, (V,), "lam")],
    # chapter 2
    "twophase.experiments.lookahead.source_stack": [((LAM, []), {}, (V,), "exponents")],
    "twophase.experiments.lookahead.figure1_panel": [((LAM, M0, [-0.1, 0.2], [1.0], [0.1]), dict(S=2, B=1), (V,),
                                                      "eta_rel")],
    "twophase.experiments.lookahead.best_nu_map": [((LAM, [0.0], [0.1], [0.0], [-0.1]), dict(S=2), (V,), "eta_rel")],
    "twophase.experiments.lookahead.cycle_operator_vs_dense": [((TwoPhase(0.1, 1.0, S=2), LAM, M0),
                                                                dict(sigma=0.0, cycles=0), (V,), "cycles")],
    "twophase.experiments.lookahead.signal_noise_factors": [((2, 0.1, 1.0, BAD_LAM), {}, (V,), "lam")],
    "twophase.experiments.lookahead.source_crossing": [((LAM,), dict(S=2, B=1, eta_rel=[0.1], n=0), (V,), "n")],
    "twophase.experiments.lookahead.best_nu_by_D": [(([10],), dict(alpha=-1.5, B_over_D=0.1, eta_rel=[-1.0], S=2),
                                                     (V,), "eta_rel")],
    "twophase.experiments.lookahead.la_vs_sgd_tuned": [(({"x": LAM}, [1], [0.0]), dict(budget=4, eta_rel=[-0.1],
                                                        nu_grid=[1.0], S_values=[2]), (V,), "eta_rel")],
    "twophase.experiments.lookahead.problems": [((), dict(spiked_D=0, spiked_ratio=2.0, spiked_fraction=0.1,
                                                         spiked_B_over_D=0.1, power_D=10, power_alpha=-1.0,
                                                         power_B_over_D=0.1), (V,), "D")],
    # chapter 3
    "twophase.experiments.diloco.isotropic_tau": [((0.1, 1.0, 3, "fixed"), dict(S=2, B_tot=16, lam0=1.0, D=10), (V,),
                                                   "R must divide")],
    "twophase.experiments.diloco.isotropic_rate_spread": [((0.1, 1.0, [1, 3], "fixed"),
                                                           dict(S=2, B_tot=16, lam0=1.0, D=10), (V,), "R must divide")],
    "twophase.experiments.diloco.last_true_from_start": [(([True, False], [1.0]), {}, (V,), "mask and grid")],
    "twophase.experiments.diloco.theorem31_check": [(([0.1], [1.0]), dict(forms=("nope",)), (V,), "form")],
    "twophase.experiments.diloco.domination_draws": [((0,), {}, (V,), "n_trials")],
    "twophase.experiments.diloco.radius_over_R": [((LAM, [0.1]), dict(nu=1.0, S=2, B_tot=4, Rs=[3]), (V,), "R must divide")],
    "twophase.experiments.diloco.closed_form_vs_operator": [((0.1, 1.0, 3), dict(S=2, B_tot=4, lam0=1.0, D=10), (V,),
                                                             "R must divide")],
    "twophase.experiments.diloco.rate_scan": [(([0.1], 1.0, [3]), dict(S=2, B_tot=4, lam0=1.0, D=10), (V,),
                                               "R must divide")],
    "twophase.experiments.diloco.setup": [((10, 1.0), dict(B_tot=4, S=2, nu=1.0, Rs=[3], etas=[0.1]), (V,),
                                           "R must divide")],
    "twophase.experiments.diloco.other_spectrum_statements": [((BAD_LAM, M0[:2], [0.1], 1.0),
                                                               dict(S=2, B_tot=4, Rs=[1], cycles=2, rate_tol=0.1),
                                                               (V,), "lam")],
    # chapter 4
    "twophase.experiments.momentum.family_methods": [(("Adam", [0.1]), {}, (V,), "family")],
    "twophase.experiments.momentum.stacking_verdict": [((float("nan"),), {}, (V,), "ratio")],
    "twophase.experiments.momentum.band_edges": [((1.0, 1.5), {}, (V,), "beta_in")],
    "twophase.experiments.momentum.band_bound": [((0, 0.5), {}, (V,), "S")],
    "twophase.experiments.momentum.h_slope_at_zero": [((1.0, 0.5, 0), {}, (V,), "S")],
    "twophase.experiments.momentum.removed_modes": [((-1.0, 0.5, 3), {}, (V,), "eta")],
    "twophase.experiments.momentum.rates_vs_S": [(("not a method", 0.2, [1]), {}, (V,), "method")],
    "twophase.experiments.momentum.tuned_losses": [(([], BAD_LAM, M0[:2], [4]), {}, (V,), "lam")],
    "twophase.experiments.momentum.figure3": [((1.0, 0.2, 0.9, 0.8, 2.0, 0), {}, (V,), "S_max")],
    "twophase.experiments.momentum.spectrum_checks": [(([1.5], [2]), {}, (V,), "beta_in")],
}


# --------------------------------------------------------------------------- issue 9: the full sets
# Built by _gen.vary from one good call each: every listed parameter replaced, one at a time, by
# each bad value; the error must name the parameter ("<name> must ..." unless a Bad says otherwise).
from _gen import (FORM, INF, INT_LIST, NAN, NONNEG_GRID, NONNEG_INT, NONNEG_REAL, POS_GRID,  # noqa: E402
                  POS_INT, POS_REAL, REAL, UNIT, Bad, lam_bad, m0_bad, vary)

SG = "twophase.experiments.sgd."
PROB = (LAM, M0, 4)
PROB_BAD = dict(lam=lam_bad(), m0=m0_bad(3), B=POS_INT)
RUN = dict(steps=3, sigma=0.1)
RUN_BAD = dict(steps=POS_INT + [Bad(10 ** 12, "would take about")], sigma=NONNEG_REAL)
NEW = {
    SG + "form_gap": vary(SG + "form_gap", PROB + ([0.5],), RUN, **PROB_BAD, eta_fracs=POS_GRID, **RUN_BAD),
    SG + "stability_edges": vary(SG + "stability_edges", (LAM, (4, 8)), lam=lam_bad(), Bs=INT_LIST),
    SG + "edge_run": vary(SG + "edge_run", PROB + (0.5, [0.9, 1.1]), RUN, **PROB_BAD, eta_c=POS_REAL,
                          fracs=POS_GRID, **RUN_BAD),
    SG + "stationary_check": vary(SG + "stationary_check", (0.1, LAM, 4, 0.1, "exact"), dict(steps=3),
                                  eta=POS_REAL, lam=lam_bad(), B=POS_INT, sigma=POS_REAL, form=FORM,
                                  steps=POS_INT + [Bad(10 ** 12, "would take about")]),
    SG + "kernel_curves": vary(SG + "kernel_curves", (LAM, (4, 8), 0.5, 0.1), dict(n=5), lam=lam_bad(),
                               Bs=INT_LIST, eta_c=POS_REAL, sigma=NONNEG_REAL,
                               n=POS_INT + [Bad(10 ** 9, "n too large")]),
    SG + "theory_vs_simulation": vary(SG + "theory_vs_simulation", PROB + ([0.1],), dict(RUN, seeds=2),
                                      **PROB_BAD, etas=POS_GRID, **RUN_BAD,
                                      seeds=[1, 2.0, True, "2", None, Bad(10 ** 12, "seeds")],
                                      seed=NONNEG_INT),
    SG + "tail_scan": vary(SG + "tail_scan", PROB + (0.5, [0.5]), dict(RUN, seeds=2), **PROB_BAD,
                           eta_c=POS_REAL, fracs=POS_GRID, **RUN_BAD,
                           seeds=[1, 2.0, True, "2", Bad(10 ** 12, "seeds")], seed=NONNEG_INT),
    SG + "divergence_run": vary(SG + "divergence_run", PROB + (3.0,), dict(RUN, runs=2), **PROB_BAD,
                                eta=POS_REAL, **RUN_BAD, runs=POS_INT + [Bad(10 ** 12, "runs too large")],
                                seed=NONNEG_INT),
    SG + "loss_shares": vary(SG + "loss_shares", (LAM,), dict(exponents=(0.0, 0.5)), lam=lam_bad(),
                             exponents=NONNEG_GRID),
}
for _k, _v in NEW.items():
    CASES.setdefault(_k, []).extend(_v)

# chapter 2 --------------------------------------------------------------------------------------
from twophase.experiments import lookahead as _la  # noqa: E402

LA = "twophase.experiments.lookahead."
P1 = _la.Figure1Panel(np.ones((2, 2)), np.array([0.5, 0.4]), np.array([0.3, 0.2]), 1.1, 0.5, 0.2)
F1V = _la.Figure1Verdicts(True, 0.5, 0.4, True, 1.1, 0.9, 0.9)
BNM = _la.BestNuMap(np.array([0.1, 1.0]), np.array([[[0.9, 1.1]], [[1.0, 1.2]]]))
MS = _la.MapSummary(np.array([0.9, 1.1]), 1.0, 0.1, True, np.array([0.9, 0.8]), np.array([1.0]), 1.1, 0.5,
                    0.1, 0.9)
SC = _la.SourceCrossing(np.array([0.0, 1.0]), np.array([1.1, 0.9]), 1.0, True)
TC = _la.TunedComparison([("x", 1, 0.0, 0.0)], np.array([1.0]), np.array([0.5]), np.array([0.5]),
                         [{"nu": 1.0, "S": 2}], 4)
NUG = [1.0, 1.2]
PANEL_BAD = [None, "panel", (1, 2)]
NEW = {
    LA + "source_stack": vary(LA + "source_stack", (LAM, [0.0, 0.5]), lam=lam_bad(), exponents=NONNEG_GRID),
    LA + "figure1_panel": vary(LA + "figure1_panel", (LAM, M0, [0.1, 0.5], NUG, [0.1, 0.5]), dict(S=2, B=1),
                               lam=lam_bad(), m0=m0_bad(3), eta_rel=POS_GRID, nu=POS_GRID, eta_fine_rel=POS_GRID,
                               S=POS_INT, B=POS_INT, form=FORM),
    LA + "best_nu_map": vary(LA + "best_nu_map", (LAM, [0.0, 0.5], [0.5], [0.0], [0.1, 0.5]), dict(S=2),
                             lam=lam_bad(), exponents=NONNEG_GRID, B_over_D=POS_GRID, sigma_rel=NONNEG_GRID,
                             eta_rel=POS_GRID, S=POS_INT, form=FORM),
    LA + "cycle_operator_vs_dense": vary(LA + "cycle_operator_vs_dense", (TwoPhase(0.1, 1.0, S=2), LAM, M0),
                                         dict(sigma=0.1, cycles=2), method=[None, "LA", 0.1], lam=lam_bad(),
                                         m0=m0_bad(3), sigma=NONNEG_REAL, cycles=POS_INT,
                                         forms=["exact", [], ["bogus"], None, [1]]),
    LA + "signal_noise_factors": vary(LA + "signal_noise_factors", (2, 0.1, 1.0, [1e-4, 0.5, 1.0]),
                                      S=POS_INT, eta=POS_REAL, nu=POS_REAL,
                                      lam=lam_bad() + [Bad([0.5, 1.0], "low mode")], etas_h=POS_GRID),
    LA + "figure1_verdicts": vary(LA + "figure1_verdicts", (P1, P1, NUG), spiked=PANEL_BAD, power=PANEL_BAD,
                                  nu=POS_GRID + [Bad([1.0, 1.1, 1.2], "nu must be the panels'")]) + [
        ((P1._replace(eta_star=np.array([np.inf, np.nan])), P1, NUG), {}, (V,), "spiked must have a finite")],
    LA + "source_crossing": vary(LA + "source_crossing", (LAM,), dict(S=2, B=1, eta_rel=[0.1, 0.5], n=3),
                                 lam=lam_bad(), S=POS_INT, B=POS_INT, eta_rel=POS_GRID, form=FORM,
                                 n=POS_INT + [Bad(10 ** 9, "n too large")]),
    LA + "map_summary": vary(LA + "map_summary", (BNM, BNM, 0.1, 1.0), power=PANEL_BAD + [P1], spiked=PANEL_BAD,
                             paper_bd_power=POS_REAL, paper_bd_spiked=POS_REAL),
    LA + "best_nu_by_D": vary(LA + "best_nu_by_D", ([3, 4],), dict(alpha=-1.0, B_over_D=0.5, eta_rel=[0.1, 0.5],
                                                                  S=2),
                              Ds=INT_LIST + [Bad([10 ** 8], "Ds must")], alpha=REAL + [0.5, 0.0],
                              B_over_D=POS_REAL, eta_rel=POS_GRID, S=POS_INT, form=FORM),
    LA + "theory_vs_simulation": vary(LA + "theory_vs_simulation", (LAM, M0, 0.1, [1.0]),
                                      dict(S=2, B=1, cycles=2, seeds=2), lam=lam_bad(), m0=m0_bad(3), eta=POS_REAL,
                                      nus=POS_GRID, S=POS_INT, B=POS_INT,
                                      cycles=POS_INT + [Bad(10 ** 12, "would take about")],
                                      seeds=[1, 2.5, True, "2", Bad(10 ** 12, "seeds")], seed=NONNEG_INT),
    LA + "la_vs_sgd_tuned": vary(LA + "la_vs_sgd_tuned", ({"x": LAM}, [1], [0.0]),
                                 dict(budget=4, eta_rel=[0.1, 0.5], nu_grid=NUG, S_values=[2]),
                                 spectra=[{}, None, [LAM], Bad({"x": BAD_LAM}, "spectra['x']")],
                                 Bs=INT_LIST, sigma_rel=NONNEG_GRID, budget=POS_INT + [Bad(3, "multiple of every S")],
                                 eta_rel=POS_GRID, nu_grid=POS_GRID, S_values=INT_LIST),
    LA + "paper_verdicts": vary(LA + "paper_verdicts", (F1V, F1V, MS, SC, {10: 0.9}, TC),
                                dict(nu=NUG, bd_spiked=0.5, bd_power=0.1, power_D=10, sigma_rel_max=1.0),
                                v1=PANEL_BAD, v2=[P1], ms=PANEL_BAD, cross=PANEL_BAD, nu_by_D=[{}, None, [0.9]],
                                tc=PANEL_BAD, nu=POS_GRID, bd_spiked=POS_REAL, bd_power=POS_REAL,
                                power_D=POS_INT + [Bad(10 ** 9, "power_D")], sigma_rel_max=NONNEG_REAL,
                                helps_below=POS_REAL),
    LA + "la_vs_sgd_markdown": vary(LA + "la_vs_sgd_markdown", (TC,), tc=PANEL_BAD + [{"ratio": 1.0}, SC]),
    LA + "problems": vary(LA + "problems", (), dict(spiked_D=10, spiked_ratio=2.0, spiked_fraction=0.1,
                                                    spiked_B_over_D=0.1, power_D=10, power_alpha=-1.0,
                                                    power_B_over_D=0.1),
                          spiked_D=POS_INT + [Bad(10 ** 9, "spiked_D")], spiked_ratio=POS_REAL,
                          spiked_fraction=UNIT + [0.0], spiked_B_over_D=POS_REAL,
                          power_D=POS_INT + [Bad(10 ** 9, "power_D")], power_alpha=REAL + [1.0],
                          power_B_over_D=POS_REAL),
}
for _k, _v in NEW.items():
    CASES.setdefault(_k, []).extend(_v)
