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
    "twophase.experiments.momentum.figure3": [((1.0, 0.2, 0.9, 0.8, 2.0, 0), {}, (V,), "S_max")],
    "twophase.experiments.momentum.spectrum_checks": [(([1.5], [2]), {}, (V,), "betas")],
}


# --------------------------------------------------------------------------- issue 9: the full sets
# Built by _gen.vary from one good call each: every listed parameter replaced, one at a time, by
# each bad value; the error must name the parameter ("<name> must ..." unless a Bad says otherwise).
from _gen import (FLAG, FORM, INF, INT_LIST, NAN, NONNEG_GRID, NONNEG_INT, NONNEG_REAL, POS_GRID,  # noqa: E402
                  POS_INT, POS_REAL, REAL, UNIT, Bad, lam_bad, m0_bad, vary)

SG = "twophase.experiments.sgd."
PROB = (LAM, M0, 4)
PROB_BAD = dict(lam=lam_bad(), m0=m0_bad(3), B=POS_INT)
RUN = dict(steps=3, sigma=0.1)
RUN_BAD = dict(steps=POS_INT + [Bad(10 ** 12, "reduce steps")], sigma=NONNEG_REAL)
NEW = {
    SG + "form_gap": vary(SG + "form_gap", PROB + ([0.5],), RUN, **PROB_BAD, eta_fracs=POS_GRID, **RUN_BAD),
    SG + "stability_edges": vary(SG + "stability_edges", (LAM, (4, 8)), lam=lam_bad(), Bs=INT_LIST),
    SG + "edge_run": vary(SG + "edge_run", PROB + (0.5, [0.9, 1.1]), RUN, **PROB_BAD, eta_c=POS_REAL,
                          fracs=POS_GRID, **RUN_BAD),
    SG + "stationary_check": vary(SG + "stationary_check", (0.1, LAM, 4, 0.1, "exact"), dict(steps=3),
                                  eta=POS_REAL, lam=lam_bad(), B=POS_INT, sigma=POS_REAL, form=FORM,
                                  steps=POS_INT + [Bad(10 ** 12, "reduce steps")]),
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

# chapter 3 --------------------------------------------------------------------------------------
import contextlib  # noqa: E402
import io  # noqa: E402

from twophase.experiments import diloco as _dl  # noqa: E402

DL = "twophase.experiments.diloco."
ISO = dict(S=2, B_tot=4, lam0=1.0, D=4)
ISO_BAD = dict(S=POS_INT, B_tot=POS_INT, lam0=POS_REAL, D=POS_INT + [Bad(10 ** 9, "D = ")], form=FORM)
LAM4, M04 = np.ones(4), np.full(4, 0.25)
ETA_SCAN = np.geomspace(0.05, 1.5, 7)
with contextlib.redirect_stderr(io.StringIO()):  # the sampler's progress bars
    F2 = _dl.figure2(LAM4, M04, [0.1, 1.2], 1.0, S=2, B_tot=4, Rs=[1, 2, 4], cycles=3, seeds=2)
RHO = _dl.rate_scan(ETA_SCAN, 1.0, [1, 2, 4], **ISO)
ST = _dl.figure2_statements(RHO, ETA_SCAN, [0.1, 1.2], 1.0, [1, 2, 4], rate_tol=0.1, **ISO)
DT = _dl.divergence_timing(F2, 1, nu=1.0, eta=1.2, **ISO)
OTH = _dl.other_spectrum_statements(LAM, M0, [0.1, 1.0], 1.0, S=2, B_tot=4, Rs=[1, 2, 4], cycles=2, rate_tol=0.1)
THM = _dl.theorem31_check([0.1, 0.5], [1.0], S_values=(1, 2), B_tots=(4,), lam0s=(1.0,), Ds=(1,))
DOM = _dl.domination_draws(2)
RS_BAD = INT_LIST + [Bad([3], "must divide")]
OBJ_BAD = [None, "x", (1, 2)]
CCC_OBJ = OBJ_BAD
NEW = {
    DL + "isotropic_tau": vary(DL + "isotropic_tau", (0.1, 1.0, 2, "fixed"), ISO, eta=[NAN, -0.1, "0.1", None, [],
                                                                                      [0.1, INF]],
                               nu=POS_REAL, R=POS_INT + [Bad(3, "R must divide")], rule=["bogus", None, 1], **ISO_BAD),
    DL + "rate_spread": vary(DL + "rate_spread", ({1: 0.5, 2: 0.6},), tau_by_R=[{}, None, [0.5], {1: "0.5"},
                                                                                 {1: 0.5, 2: [0.6, 0.7]}, {1: NAN}],
                             Rs=["12", [3], [], 5, [True]], reference=[3, None, "1", True, [1], {}]),
    DL + "isotropic_rate_spread": vary(DL + "isotropic_rate_spread", (0.1, 1.0, [1, 2], "fixed"), ISO, eta=POS_REAL,
                                       nu=POS_REAL, Rs=RS_BAD, rule=["bogus", None], **ISO_BAD),
    DL + "last_true_from_start": vary(DL + "last_true_from_start", ([True, False], [1.0, 2.0]),
                                      mask=[[1, 0], ["a", "b"], None, "TF", Bad([True], "mask and grid")],
                                      grid=[[1.0, NAN], "12", None, [], Bad([1.0, 2.0, 3.0], "mask and grid")]),
    DL + "theorem31_check": vary(DL + "theorem31_check", ([0.1, 0.5], [1.0]),
                                 dict(S_values=(1, 2), B_tots=(4,), lam0s=(1.0,), Ds=(1,)),
                                 eta_rel=POS_GRID + [0.5], nu=POS_GRID, forms=["exact", [], ["bogus"]],
                                 S_values=INT_LIST, B_tots=INT_LIST + [Bad((10 ** 12,), "would take about")],
                                 lam0s=POS_GRID, Ds=INT_LIST + [Bad((10 ** 9,), "Ds must")],
                                 rtol_S1=NONNEG_REAL) + [
        ((np.geomspace(0.01, 1, 2000), np.linspace(0.5, 2, 2000)), {}, (V,), "would take about")],
    DL + "domination_draws": vary(DL + "domination_draws", (2,), n_trials=POS_INT + [Bad(10 ** 9, "would take")],
                                  seed=NONNEG_INT, B_tots=INT_LIST + [Bad((10 ** 11,), "would take about")]),
    DL + "radius_over_R": vary(DL + "radius_over_R", (LAM, [0.1, 0.5]), dict(nu=1.0, S=2, B_tot=4, Rs=[1, 2]),
                               lam=lam_bad(), eta_rel=POS_GRID, nu=POS_REAL, S=POS_INT, B_tot=POS_INT, Rs=RS_BAD,
                               form=FORM),
    DL + "closed_form_vs_operator": vary(DL + "closed_form_vs_operator", (0.1, 1.0, 2), dict(ISO, D_dense=3),
                                         eta=POS_GRID, nu=POS_REAL, R=POS_INT + [Bad(3, "R must divide")], **ISO_BAD,
                                         D_dense=POS_INT),
    DL + "rate_scan": vary(DL + "rate_scan", ([0.1, 0.5], 1.0, [1, 2]), ISO, eta=[[], [0.1, -0.1], "0.1", None],
                           nu=POS_REAL, Rs=RS_BAD, **ISO_BAD),
    DL + "figure2": vary(DL + "figure2", (LAM4, M04, [0.1], 1.0), dict(S=2, B_tot=4, Rs=[1, 2], cycles=2, seeds=2),
                         lam=lam_bad(), m0=m0_bad(4), etas=POS_GRID, nu=POS_REAL, S=POS_INT, B_tot=POS_INT,
                         Rs=RS_BAD + [Bad([2, 4], "Rs must contain 1")],
                         cycles=POS_INT + [Bad(10 ** 12, "would take about")],
                         seeds=[1, 2.0, True, Bad(10 ** 12, "seeds")], seed=NONNEG_INT),
    DL + "divergence_timing": vary(DL + "divergence_timing", (F2, 1, "fixed"), dict(ISO, nu=1.0, eta=1.2),
                                   fig2=OBJ_BAD + [THM], j=[2, -1, 1.0, True, "1"], rule=["bogus", None],
                                   nu=POS_REAL, eta=POS_REAL, S=POS_INT, B_tot=POS_INT, lam0=POS_REAL, D=POS_INT,
                                   level=POS_REAL + [1.0, 0.5]),
    DL + "figure2_statements": vary(DL + "figure2_statements", (RHO, ETA_SCAN, [0.1, 1.2], 1.0, [1, 2, 4]),
                                    dict(ISO, rate_tol=0.1),
                                    rho=[{}, None, [1.0], Bad({("fixed", 1): 1.0}, "rho must")],
                                    eta_scan=POS_GRID + [Bad(ETA_SCAN[:3], "rho must hold rates on eta_scan")],
                                    etas=POS_GRID, nu=POS_REAL, Rs=RS_BAD + [Bad([2, 4], "Rs must contain 1")],
                                    rate_tol=POS_REAL, S=POS_INT, B_tot=POS_INT, lam0=POS_REAL, D=POS_INT),
    DL + "other_spectrum_statements": vary(DL + "other_spectrum_statements", (LAM, M0, [0.1, 1.0], 1.0),
                                           dict(S=2, B_tot=4, Rs=[1, 2], cycles=2, rate_tol=0.1), lam=lam_bad(),
                                           m0=m0_bad(3), eta_rel=POS_GRID, nu=POS_REAL, S=POS_INT, B_tot=POS_INT,
                                           Rs=RS_BAD + [Bad([2], "Rs must contain 1")],
                                           cycles=POS_INT + [Bad(10 ** 12, "would take about")], rate_tol=POS_REAL),
    DL + "setup": vary(DL + "setup", (4, 1.0), dict(B_tot=4, S=2, nu=1.0, Rs=[1, 2], etas=[0.1]),
                       D=POS_INT + [Bad(10 ** 9, "D = ")], lam0=POS_REAL, B_tot=POS_INT, S=POS_INT, nu=POS_REAL,
                       Rs=RS_BAD, etas=POS_GRID),
    DL + "paper_verdicts": vary(DL + "paper_verdicts", (THM, DOM, ST, F2, DT, OTH),
                                dict(Rs=[1, 2, 4], rate_tol=0.1, k_se=4.0, seeds=2, D=4, B_tot=4, other_alpha=-1.0),
                                thm=OBJ_BAD + [DOM], dom=OBJ_BAD, st=OBJ_BAD,
                                f2=OBJ_BAD + [Bad(F2._replace(z=[]), "f2")],
                                dt=OBJ_BAD, oth=OBJ_BAD + [ST], Rs=INT_LIST + [Bad([1, 8], "Rs must be the worker")],
                                rate_tol=POS_REAL, k_se=POS_REAL, seeds=POS_INT, D=POS_INT, B_tot=POS_INT,
                                other_alpha=REAL),
}
for _k, _v in NEW.items():
    CASES.setdefault(_k, []).extend(_v)

# chapter 4 --------------------------------------------------------------------------------------
from twophase.experiments import momentum as _mo  # noqa: E402

MO = "twophase.experiments.momentum."
F3 = _mo.figure3(1.0, 0.2, 0.9, 0.8, 2.0, 32)
TP = _mo.top_panel(F3, 0.8)
BP = _mo.bottom_panel(F3, 4)
SM = {("bottom", "nesterov"): _mo.small_S_comparison(F3, 4)}
BP_NO_OCTAVE = _mo.bottom_panel(_mo.figure3(1.0, 0.2, 0.9, 0.8, 2.0, 8), 4)  # S_max < 16: no octave of S
CC = _mo.critical_checks(1.0, 0.9, 0.8, 2.0, [0.2], S_values=(1, 3))
SPD = _mo.sqrt_speedup([0.1, 0.5])
TU = _mo.tuned_comparison(LAM, M0, [4], eta_grid=[0.1, 0.5], nu_pt_grid=[1.0], betas=[0.5], S_values=[2],
                          inner=["reset"], B=1, sigmas=[0.0], progress=False)
RET = {0.0: _mo.retuned_verdict(TU, 0.0, LAM, M0, B=1)}
PARAMS = TU.params[0.0]["SLA Nesterov"][-1]
METHODS = _mo.family_methods("LA", [0.1, 0.5], [1.0], S_values=(2,))
BETA_BAD = [[], [1.0], [-0.1], [0.5, NAN], "0.5", None]
TUNE = dict(eta_grid=[0.1, 0.5], nu_pt_grid=[1.0], betas=[0.5], S_values=[2], inner=["reset"], B=1, sigmas=[0.0],
            progress=False)
NEW = {
    MO + "family_methods": vary(MO + "family_methods", ("SLA Nesterov", [0.1, 0.5]), dict(betas=(0.5,), S_values=(2,)),
                                family=["Adam", None, 1], eta=POS_GRID, nu_pt=POS_GRID, betas=BETA_BAD,
                                S_values=INT_LIST, inner=["reset", ["bogus"], [], None], B=POS_INT),
    MO + "tuned_losses": vary(MO + "tuned_losses", (METHODS, LAM, M0, [4]),
                              methods=[[], None, METHODS[0], ["LA"]], lam=lam_bad(), m0=m0_bad(3),
                              budgets=INT_LIST + [["4"], Bad([3], "multiple of S")], sigma=NONNEG_REAL, form=FORM),
    MO + "refine_tuned": vary(MO + "refine_tuned", (PARAMS, LAM, M0, 4), dict(n=3),
                              params=[{}, None, Bad({"eta": 0.1}, "params must hold the keys"),
                                      Bad(dict(PARAMS, eta="0.1"), "params['eta']")],
                              lam=lam_bad(), m0=m0_bad(3), budget=POS_INT + [Bad(3, "budget must be a multiple")],
                              sigma=NONNEG_REAL, B=POS_INT, factor=POS_REAL + [1.0, 0.5], n=POS_INT, form=FORM),
    MO + "retune": vary(MO + "retune", (PARAMS, LAM, M0, 4), dict(factors=(1.5,), n=3),
                        params=[{}, None, "params"], lam=lam_bad(), m0=m0_bad(3), budget=POS_INT, sigma=NONNEG_REAL,
                        B=POS_INT, factors=[[], [1.0], [0.5], "1.5", None, [1.5, NAN]], n=POS_INT,
                        tol=NONNEG_REAL, form=FORM),
    MO + "stacking_ratio": vary(MO + "stacking_ratio", (0.5, 1.0), dict(floor=0.1), stacked=REAL + [0.05],
                                single=REAL + [0.0], floor=NONNEG_REAL),
    MO + "stacking_verdict": vary(MO + "stacking_verdict", (0.5,), ratio=[NAN, "0.5", None, True, [0.5], -0.5, {}, np.array("x")],
                                  lo=POS_REAL, hi=POS_REAL + [Bad(0.5, "hi must be >= lo")]),
    MO + "rates_vs_S": vary(MO + "rates_vs_S", (TwoPhase(1.0, nu=2.0, beta_in=0.9), 0.2, [1, 2]),
                            method=[None, "SLA", Bad(TwoPhase([0.5, 1.0]), "scalar eta")],
                            lam=[-0.2, NAN, "0.2", None, []], S_values=INT_LIST),
    MO + "band_edges": vary(MO + "band_edges", (1.0, 0.5), eta=POS_REAL, beta_in=UNIT),
    MO + "band_bound": vary(MO + "band_bound", (4, 0.5), S=POS_INT, beta_in=UNIT),
    MO + "h_slope_at_zero": vary(MO + "h_slope_at_zero", (1.0, 0.5, 4), eta=POS_REAL, beta_in=UNIT, S=POS_INT),
    MO + "removed_modes": vary(MO + "removed_modes", (1.0, 0.5, 4), dict(n=101), eta=POS_REAL, beta_in=UNIT,
                               S=POS_INT, lam_max=POS_REAL[:-1], n=[2, 2.5, True, "101", Bad(10 ** 9, "n too large")]),
    MO + "octave_max": vary(MO + "octave_max", (np.arange(1, 33), np.linspace(0, 1, 32)),
                            S=[[], "32", None, [1.5, 2.0], [0, 1]],
                            x=[None, "x", [np.nan] * 32, [], Bad(np.ones(3), "x must have the shape")],
                            lo=POS_INT),
    MO + "critical_checks": vary(MO + "critical_checks", (1.0, 0.9, 0.8, 2.0, [0.2]), dict(S_values=(1, 3)),
                                 eta=POS_REAL, beta_in=UNIT, beta_out=UNIT, nu=POS_REAL, lam=POS_GRID,
                                 S_values=INT_LIST) + [
        ((1.0, 0.9, 0.8, 2.0, np.linspace(0.01, 1, 10 ** 6)), {}, (V,), "would take about")],
    MO + "figure3": vary(MO + "figure3", (1.0, 0.2, 0.9, 0.8, 2.0, 4), eta=POS_REAL, lam=POS_REAL, beta_in=UNIT,
                         beta_out=UNIT, nu=POS_REAL, S_max=POS_INT + [Bad(10 ** 6, "would take about")]),
    MO + "top_panel": vary(MO + "top_panel", (F3, 0.8), f3=[None, "f3", TP, Bad(_mo.figure3(1.0, 0.2, 0.9, 0.8, 2.0, 2),
                                                                               "f3 must hold rates up to")],
                           beta_out=UNIT + [0.0]),
    MO + "bottom_panel": vary(MO + "bottom_panel", (F3, 4), f3=[None, "f3", BP], S_small=POS_INT),
    MO + "small_S_comparison": vary(MO + "small_S_comparison", (F3, 4), f3=[None, "f3", BP], S_small=POS_INT,
                                    panel=["middle", None, 1], outer=["adam", None, 1]),
    MO + "spectrum_checks": vary(MO + "spectrum_checks", ([0.0, 0.5], [1, 4]), dict(n_x=50), betas=BETA_BAD,
                                 S_values=INT_LIST + [Bad([10 ** 4], "S_values too large")], eta=POS_REAL,
                                 n_x=POS_INT + [Bad(10 ** 9, "n_x too large")]),
    MO + "sqrt_speedup": vary(MO + "sqrt_speedup", ([0.1, 0.5],), hs=POS_GRID + [[1.5], [0.0]]),
    MO + "tuned_comparison": vary(MO + "tuned_comparison", (LAM, M0, [4]), TUNE, lam=lam_bad(), m0=m0_bad(3),
                                  budgets=INT_LIST, eta_grid=POS_GRID, nu_pt_grid=POS_GRID, betas=BETA_BAD,
                                  S_values=INT_LIST, inner=["reset", ["bogus"], []], B=POS_INT,
                                  sigmas=NONNEG_GRID, families=["LA", ["Adam"], []], progress=FLAG),
    MO + "stacking_table": vary(MO + "stacking_table", (TU,), t=[None, "t", TP, {"results": {}}, 1.0, Bad(TU._replace(
        results={0.0: {"LA": np.ones(1)}}), "t must hold the momentum families")]),
    MO + "grid_edges": vary(MO + "grid_edges", (TU,), dict(betas=[0.5], S_values=[2]), t=[None, "t", F3],
                            betas=BETA_BAD, S_values=INT_LIST),
    MO + "retuned_verdict": vary(MO + "retuned_verdict", (TU, 0.0, LAM, M0), dict(B=1), t=[None, "t", F3],
                                 sigma=[0.5, "0.0", None, [0.0], True], lam=lam_bad(), m0=m0_bad(3), B=POS_INT,
                                 tol=NONNEG_REAL),
    MO + "sla_theory_vs_simulation": vary(MO + "sla_theory_vs_simulation", (LAM, M0),
                                          dict(eta=0.3, nu=1.5, S=2, B=2, beta=0.5, sigma=0.1, cycles=2, seeds=2),
                                          lam=lam_bad(), m0=m0_bad(3), eta=POS_REAL, nu=POS_REAL, S=POS_INT,
                                          B=POS_INT, beta=UNIT, sigma=NONNEG_REAL,
                                          cycles=POS_INT + [Bad(10 ** 12, "would take about")],
                                          seeds=[1, 2.0, True, Bad(10 ** 12, "seeds")], seed=NONNEG_INT),
    MO + "paper_verdicts": vary(MO + "paper_verdicts", (F3, TP, BP, SM, CC, SPD, TU, RET), dict(setting="x", S_small=4),
                                f3=[None, TP], tp=[None, BP], bp=[None, TP, Bad(BP_NO_OCTAVE, "bp must")],
                                small=[{}, None, Bad({"k": TP}, "small[")],
                                cc=[None, TP], speedup=[None, [1.0, 2.0], (1.0,)], t=[None, F3],
                                ret=[{}, None, Bad({0.0: TP}, "ret[")], setting=["", None, 1], S_small=POS_INT,
                                rate_tol=POS_REAL),
}
for _k, _v in NEW.items():
    CASES.setdefault(_k, []).extend(_v)

# --------------------------------------------------------------------------- the chapters' text helpers
# (added to experiments.lookahead/diloco/momentum by fmt1; its cases_fmt1.py has one case each, these
# vary every parameter from a good call on small real results).
PRB = _la.problems(spiked_D=10, spiked_ratio=5.0, spiked_fraction=0.2, spiked_B_over_D=0.5, power_D=10,
                   power_alpha=-1.5, power_B_over_D=0.1)
ER, NUS, EF = np.geomspace(0.01, 1.9, 6), np.linspace(0.5, 2.0, 5), np.geomspace(0.01, 1.9, 12)
PANELS = _la.figure1_panels(PRB, ER, NUS, EF, S=2)
VERD = {f: _la.figure1_verdicts(PANELS["spiked", f], PANELS["power", f], NUS) for f in ("hd", "exact")}
CROSS = _la.source_crossing(PRB.lam_power, S=2, B=1, eta_rel=EF, n=5)
MAPP = _la.best_nu_map(PRB.lam_power, [0.0, 0.5], [0.1, 1.0], [0.0, 1.0], EF, S=2)
MAPS = _la.best_nu_map(PRB.lam_spiked, [0.0, 0.5], [0.1, 1.0], [0.0, 1.0], EF, S=2)
MSUM = _la.map_summary(MAPP, MAPS, 0.1, 0.5)
NU_D = _la.best_nu_by_D([10, 20], alpha=-1.5, B_over_D=0.1, eta_rel=EF, S=2)
SIMC = _la.theory_vs_simulation(LAM, M0, 0.3, [1.0, 1.5], S=2, B=1, cycles=2, seeds=2)
TCMP = _la.la_vs_sgd_tuned({"x": LAM}, [1], [0.0], budget=4, eta_rel=[0.1, 0.5], nu_grid=[1.0, 1.2], S_values=[2])
RADR = _dl.radius_over_R(LAM, [0.1, 0.5], nu=1.0, S=2, B_tot=4, Rs=[1, 2])
CFC = _dl.closed_form_vs_operator([0.1], 1.0, 2, **ISO, D_dense=3)
SPC = _mo.spectrum_checks([0.0, 0.5], [1, 4], n_x=50)
ROWS = _mo.stacking_table(TU)
EDG = _mo.grid_edges(TU, betas=[0.5], S_values=[2])
MCC = _mo.sla_theory_vs_simulation(LAM, M0, eta=0.3, nu=1.5, S=2, B=2, beta=0.5, sigma=0.1, cycles=2, seeds=2)
EQ = np.array([True, False])
STR_BAD = [None, 1, ""]
NEW = {
    LA + "figure1_panels": vary(LA + "figure1_panels", (PRB, ER, NUS, EF), dict(S=2), problems=OBJ_BAD + [MSUM],
                                eta_rel=POS_GRID, nu=POS_GRID, eta_fine_rel=POS_GRID, S=POS_INT,
                                forms=["hd", [], Bad(["bogus"], "form"), None], source_exponent=POS_REAL),
    LA + "figure1_summary": vary(LA + "figure1_summary", (PANELS,), panels=[None, {}, [PANELS], "x"]),
    LA + "figure1_verdicts_text": vary(LA + "figure1_verdicts_text", (VERD,), verdicts=[None, {}, [VERD],
                                                                                     Bad({"hd": MSUM}, "verdicts")]),
    LA + "power_verdict_detail": vary(LA + "power_verdict_detail", (VERD["hd"],), verdicts=OBJ_BAD + [MSUM, VERD]),
    LA + "figure1_glue": vary(LA + "figure1_glue", (VERD["hd"], PANELS["power-s0.5", "hd"]),
                              verdicts=OBJ_BAD + [MSUM], source=OBJ_BAD + [VERD["hd"]]),
    LA + "crossing_text": vary(LA + "crossing_text", (CROSS, 0.1), cross=OBJ_BAD + [MSUM], B_over_D=POS_REAL),
    LA + "map_summary_text": vary(LA + "map_summary_text", (MAPP, MSUM, [0.0, 1.0]), power=OBJ_BAD + [MSUM],
                                  summary=OBJ_BAD + [MAPP], sigma_rel=NONNEG_GRID),
    LA + "map_details": vary(LA + "map_details", (CROSS, MSUM), dict(B_over_D=0.1, spiked_B_over_D=0.5,
                                                                    sigma_rel_max=1.0),
                             cross=OBJ_BAD, summary=OBJ_BAD, B_over_D=POS_REAL, spiked_B_over_D=POS_REAL,
                             sigma_rel_max=NONNEG_REAL),
    LA + "dimension_details": vary(LA + "dimension_details", (NU_D, CROSS), dict(B_over_D=0.1, dnu=0.03),
                                   nu_by_D=[None, {}, [1.0], {"10": 1.0}, {True: 1.0}], cross=OBJ_BAD, B_over_D=POS_REAL,
                                   dnu=POS_REAL),
    LA + "maps_glue": vary(LA + "maps_glue", (MSUM, CROSS, NU_D), dict(B_over_D=0.1, dnu=0.03, sigma_rel_max=1.0),
                           summary=OBJ_BAD, cross=OBJ_BAD, nu_by_D=[None, {}, [1.0]], B_over_D=POS_REAL,
                           dnu=POS_REAL, sigma_rel_max=NONNEG_REAL),
    LA + "simulation_text": vary(LA + "simulation_text", (SIMC,), check=OBJ_BAD + [TCMP]),
    LA + "tuning_edges": vary(LA + "tuning_edges", (TCMP,), comparison=OBJ_BAD + [SIMC]),
    LA + "tuned_glue": vary(LA + "tuned_glue", (TCMP,), comparison=OBJ_BAD + [SIMC], helps_below=POS_REAL),
    DL + "radius_text": vary(DL + "radius_text", (RADR, 3), radius=OBJ_BAD + [CFC], D=POS_INT),
    DL + "radius_detail": vary(DL + "radius_detail", (RADR, EQ), dict(D=3, alpha=-1.5), radius=OBJ_BAD,
                               equal=[None, [1, 0], "TF", [True]], D=POS_INT, alpha=REAL),
    DL + "radius_glue": vary(DL + "radius_glue", (RADR, EQ), radius=OBJ_BAD + [CFC],
                             equal=[None, [1, 0], [True, False, True]]),
    DL + "closed_form_detail": vary(DL + "closed_form_detail", (CFC, 4), check=OBJ_BAD + [RADR], D=POS_INT),
    DL + "figure2_detail": vary(DL + "figure2_detail", (F2, 4.0), fig2=OBJ_BAD + [ST], k_se=POS_REAL),
    DL + "statements_text": vary(DL + "statements_text", (ST, 0.1), statements=OBJ_BAD + [F2], rate_tol=POS_REAL),
    DL + "statements_markdown": vary(DL + "statements_markdown", (ST,), statements=OBJ_BAD + [F2, {}]),
    DL + "final_simulated_loss": vary(DL + "final_simulated_loss", (F2, "fixed", 1), fig2=OBJ_BAD + [ST],
                                      rule=["bogus", None, 1], j=[2, -1, 1.0, True, "0"]),
    DL + "fixed_large_detail": vary(DL + "fixed_large_detail", (ST, {1: 0.1, 4: 2.0}, 0.5), statements=OBJ_BAD,
                                    final=[None, {}, {4: 2.0}, {1: 0.1}, [0.1, 2.0]], L0=POS_REAL),
    DL + "sqrt_universal_detail": vary(DL + "sqrt_universal_detail", (ST, 0.1), statements=OBJ_BAD + [F2],
                                       rate_tol=POS_REAL),
    DL + "thresholds_detail": vary(DL + "thresholds_detail", (ST,), statements=OBJ_BAD + [F2, DT]),
    DL + "statements_glue": vary(DL + "statements_glue", (ST, 0.1), statements=OBJ_BAD + [F2], rate_tol=POS_REAL),
    DL + "timing_detail": vary(DL + "timing_detail", (DT, 1.2, 3), timing=OBJ_BAD + [ST], eta=POS_REAL,
                               cycles=POS_INT),
    DL + "timing_glue": vary(DL + "timing_glue", (DT,), timing=OBJ_BAD + [ST, F2]),
    DL + "other_spectrum_text": vary(DL + "other_spectrum_text", (OTH,), other=OBJ_BAD + [ST, DT]),
    DL + "other_spectrum_detail": vary(DL + "other_spectrum_detail", (OTH, {"x": True}), dict(alpha=-1.5),
                                       other=OBJ_BAD + [ST], reported=[None, [True], "x"], alpha=REAL),
    MO + "top_panel_details": vary(MO + "top_panel_details", (F3, TP), fig3=OBJ_BAD + [TP], top=OBJ_BAD + [BP]),
    MO + "top_panel_glue": vary(MO + "top_panel_glue", (TP,), top=OBJ_BAD + [BP, F3]),
    MO + "bottom_panel_details": vary(MO + "bottom_panel_details", (F3, BP, 4), fig3=OBJ_BAD + [BP],
                                      bottom=OBJ_BAD + [TP], S_small=POS_INT),
    MO + "octave_text": vary(MO + "octave_text", (BP,), bottom=OBJ_BAD + [TP, F3]),
    MO + "bottom_panel_glue": vary(MO + "bottom_panel_glue", (BP, 0.97, 4), bottom=OBJ_BAD + [TP],
                                   limit=POS_REAL, S_small=POS_INT),
    MO + "spectrum_text": vary(MO + "spectrum_text", (SPC,), checks=OBJ_BAD + [F3, TP]),
    MO + "spectrum_details": vary(MO + "spectrum_details", (SPC, [0.0, 0.5], [1, 4]), checks=OBJ_BAD + [F3],
                                  betas=BETA_BAD, S_values=INT_LIST),
    MO + "spectrum_glue": vary(MO + "spectrum_glue", (SPC, [0.0, 0.5], [1, 4]), checks=OBJ_BAD + [F3],
                               betas=BETA_BAD, S_values=INT_LIST),
    MO + "stacking_markdown": vary(MO + "stacking_markdown", (ROWS,), rows=[None, "rows", Bad([None], "rows[0]"),
                                                                             Bad([TP], "rows[0]"), 1]),
    MO + "tuned_params_markdown": vary(MO + "tuned_params_markdown", (TU,), tuned=OBJ_BAD + [F3, TP]),
    MO + "grid_edges_glue": vary(MO + "grid_edges_glue", (EDG,), edges=[None, [], "x", {"S": []}]),
    MO + "retune_detail": vary(MO + "retune_detail", (TU, RET[0.0], "SLA Nesterov"), tuned=OBJ_BAD + [F3],
                               retuned=OBJ_BAD + [TU], family=["Adam", None, 1]),
    MO + "mc_z_text": vary(MO + "mc_z_text", (MCC,), cases=[None, [], Bad([None], "cases[0]"), "x",
                                                          Bad([TP], "cases[0]")]),
    MO + "grid_edges_detail": vary(MO + "grid_edges_detail", (EDG, 4), edges=[None, [], {"S": []}],
                                   budget=POS_INT),
    MO + "retuned_markdown": vary(MO + "retuned_markdown", (RET, ROWS), retuned=[None, {}, Bad({0.0: None}, "retuned[0.0]"), [RET]],
                                  rows=[None, "rows", Bad([None], "rows[0]")]),
    MO + "mc_text": vary(MO + "mc_text", (MCC,), cases=[None, [], Bad([None], "cases[0]"), "x",
                                                      Bad([TP], "cases[0]")]),
    MO + "budget_grid": vary(MO + "budget_grid", (256, [8]), budget_max=POS_INT + [8], S_values=INT_LIST + [Bad([3], "budget_max must allow")],
                             smallest=POS_INT),
}
for _k, _v in NEW.items():
    CASES.setdefault(_k, []).extend(_v)
