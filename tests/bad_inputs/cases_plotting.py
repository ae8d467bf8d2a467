"""Bad-input cases for ``twophase.plotting`` (issue 9): every figure builder refuses a wrong argument by
name before matplotlib sees it (wrong types, non-finite axes, curves of the wrong length, missing keys).

Built by :func:`_gen.vary` from one good call each (see ``_gen.py``)."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from _gen import INF, NAN, POS_INT, POS_REAL, REAL, UNIT, Bad, vary  # noqa: E402

from twophase.experiments import sgd as _sgd  # noqa: E402

N = 5
X = np.linspace(1.0, 2.0, N)
Y = np.linspace(1.0, 0.5, N)
AX = plt.figure().add_subplot()
AXIS_BAD = [None, "x", [], [[1.0, 2.0]], [1.0, NAN], [True, False]]
POS_AXIS_BAD = AXIS_BAD + [[0.0, 1.0], [-1.0, 1.0]]


def curve_bad(name, n=N):
    """A curve of the wrong length, of the wrong type, a string, None."""
    return [Bad(np.ones(n + 1), name), Bad("1,2", name), Bad(None, name), Bad([[1.0] * n], name),
            Bad(["a"] * n, name)]


TEXT_BAD = [None, 1, ["a"]]
PL, LA, MO, SG = "twophase.plotting.", "twophase.plotting.la.", "twophase.plotting.momentum.", "twophase.plotting.sgd."

# --- plotting and plotting.la
SN = (X, [Y, Y], [0.1, 1.0], 4, Y, Y, Y, Y, 0.1, 1.0)
F1 = (X, np.array([1.0, 1.2]), np.ones((N, 2)), np.ones(2), 1.1, np.ones(2), [("iso", np.ones(2), 0.9)])
MAP = (np.array([0.1, 1.0]), np.array([0.0, 0.5, 1.0]), np.ones((3, 2)), 0.5, [("s=0", np.ones(2))], "power")
T3 = np.arange(3.0)
CURVES = {1: (np.ones(3), np.ones(3), np.full(3, 0.1)), 2: (np.ones(3), np.ones(3), np.full(3, 0.1))}
PANELS = {("fixed", 0): ("fixed", CURVES), ("sqrt", 0): ("sqrt", CURVES)}
RATES = {"fixed": {1: Y, 2: Y}, "sqrt": {1: Y, 2: Y}}

# --- plotting.momentum
S8 = np.arange(1, 9)
TOP = {("heavy_ball", "reset"): np.full(8, 0.9), ("nesterov", "carry"): np.full(8, 0.8)}
XE = np.geomspace(1e-3, 3.0, 20)
HCUR = {(b, S): np.ones(20) for b in (0.0, 0.5) for S in (1, 2)}
ROOTS = {(b, S): np.array([1.0]) for b in (0.0, 0.5) for S in (1, 2)}
BAND = {0.0: (1.0, 1.0), 0.5: (0.1, 2.9)}
BUD = np.array([4.0, 8.0])
RES = {0.0: {"LA": np.array([1.0, 0.5]), "SGD": np.array([1.2, 0.6])}}
MC = [{"title": "a", "theory": np.ones(4), "mean": np.ones(4), "se": np.full(4, 0.1)}]

# --- plotting.sgd
KC = _sgd.kernel_curves(np.array([1.0, 0.5]), (4, 2), 0.5, 0.1, n=N)
ROW = _sgd.SimRow(0.1, Y, np.full(N, 0.01), Y, Y, 0.0, N, 0.0, 0.001)

CASES = {
    PL + "curve_with_band": vary(PL + "curve_with_band", (AX, X, Y, np.full(N, 0.1)),
                                 ax=[None, "ax", plt], x=AXIS_BAD, mean=curve_bad("mean"),
                                 se=curve_bad("se") + [Bad(-np.ones(N), "se must be >= 0")], k=POS_REAL,
                                 label=[1, ["a"]]),
    LA + "fig_signal_noise": vary(LA + "fig_signal_noise", SN, lam=POS_AXIS_BAD,
                                  h_by_eta=[None, "h", [], Bad([Y], "h_by_eta must hold one curve"),
                                            Bad([Y, np.ones(2)], "h_by_eta")],
                                  etas=[None, [], [0.1, -1.0], "0.1"], S=POS_INT, signal_la=curve_bad("signal_la"),
                                  signal_sgd=curve_bad("signal_sgd"), noise_la=curve_bad("noise_la"),
                                  noise_sgd=curve_bad("noise_sgd"), eta=POS_REAL, nu=POS_REAL),
    LA + "fig_figure1": vary(LA + "fig_figure1", F1, eta_rel=POS_AXIS_BAD, nu=POS_AXIS_BAD,
                             loss_rel=curve_bad("loss_rel", 0)[1:] + [Bad(np.ones((N, 3)), "loss_rel"),
                                                                     Bad(np.full((N, 2), NAN), "loss_rel must hold")],
                             eta_star_rel=curve_bad("eta_star_rel", 2), nu_best_spiked=REAL + [-1.0],
                             nu_grid_min=curve_bad("nu_grid_min", 2),
                             power_curves=[None, [], Bad([("iso", np.ones(3), 0.9)], "power_curves"),
                                           Bad([("iso", np.ones(2))], "power_curves"),
                                           Bad([(1, np.ones(2), 0.9)], "power_curves"),
                                           Bad([("iso", np.full(2, NAN), 0.9)], "power_curves")],
                             titles=[None, ("a",), ("a", 1), "ab"]),
    LA + "fig_best_nu_map": vary(LA + "fig_best_nu_map", MAP, b_over_d=POS_AXIS_BAD, exponents=AXIS_BAD + [[-1.0, 0.0]],
                                 nu_map=[Bad(np.ones((2, 3)), "nu_map"), Bad(np.full((3, 2), NAN), "nu_map"),
                                         Bad(None, "nu_map")],
                                 paper_b_over_d=POS_REAL, sigma_rows=[None, Bad([("s", np.ones(3))], "sigma_rows"),
                                                                      Bad([np.ones(2)], "sigma_rows")],
                                 title=TEXT_BAD),
    LA + "fig_theory_vs_sim": vary(LA + "fig_theory_vs_sim", (T3, [("a", np.ones(3), np.ones(3), np.ones(3))]),
                                   t=AXIS_BAD, rows=[None, [], Bad([("a", np.ones(2), np.ones(3), np.ones(3))], "rows"),
                                                     Bad([("a", np.ones(3))], "rows"),
                                                     Bad([(None, np.ones(3), np.ones(3), np.ones(3))], "rows")],
                                   k=POS_REAL, ylabel=TEXT_BAD, title=TEXT_BAD),
    LA + "fig_figure2": vary(LA + "fig_figure2", (T3, PANELS, [1, 2]), dict(ylim=(0.1, 10.0)), t=AXIS_BAD,
                             panels=[None, {}, Bad({("bogus", 0): ("t", CURVES)}, "panels must be keyed"),
                                     Bad({("fixed", -1): ("t", CURVES)}, "panels column j"),
                                     Bad({("fixed", 0): ("t", {1: CURVES[1]})}, "Rs must be the worker counts"),
                                     Bad({("fixed", 0): ("t", {1: (np.ones(2),) * 3, 2: CURVES[2]})}, "panels")],
                             Rs=[None, [], [0], [1.5], Bad([1, 4], "Rs must be the worker counts")],
                             k=POS_REAL, ylim=[(1.0,), (10.0, 0.1), (0.0, 1.0), "0,1", (NAN, 1.0)]),
    LA + "fig_eigenvalues_vs_R": vary(LA + "fig_eigenvalues_vs_R", (X, RATES, [1, 2]), eta=POS_AXIS_BAD,
                                      rates_by_rule=[None, {}, Bad({"fixed": {1: Y}}, "Rs must be the worker"),
                                                     Bad({"fixed": {1: Y, 2: np.ones(2)}}, "rates_by_rule"),
                                                     Bad({"fixed": []}, "rates_by_rule")],
                                      Rs=[None, [], [0], ["1"]], title=TEXT_BAD),
    MO + "fig3": vary(MO + "fig3", (S8, TOP, TOP, 2.0, 5.0, 0.8), dict(limit=0.97), S=POS_AXIS_BAD,
                      top=[None, {}, Bad({("adam", "reset"): np.ones(8)}, "top must be keyed"),
                           Bad({("nesterov", "reset"): np.ones(3)}, "top")],
                      bottom=[None, Bad({"nesterov": np.ones(8)}, "bottom must be keyed")],
                      nu_top=POS_REAL, nu_bottom=POS_REAL, beta_out=UNIT, limit=[NAN, "0.9", INF, -1.0]),
    MO + "effective_spectrum_figure": vary(MO + "effective_spectrum_figure", (XE, HCUR, ROOTS, BAND, HCUR),
                                           x=POS_AXIS_BAD,
                                           curves=[None, {}, Bad({(0.0,): np.ones(20)}, "curves must be keyed"),
                                                   Bad({(1.5, 2): np.ones(20)}, "curves beta"),
                                                   Bad({(0.0, 0): np.ones(20)}, "curves S"),
                                                   Bad({(0.0, 1): np.ones(3)}, "curves"),
                                                   Bad({(0.0, 1): np.ones(20), (0.5, 2): np.ones(20)}, "full grid")],
                                           roots=[None, Bad({(0.0, 1): ROOTS[0.0, 1]}, "roots must have every key"),
                                                  Bad(dict(ROOTS, **{}) | {(0.0, 1): "1"}, "roots")],
                                           band=[None, {}, Bad({0.0: (1.0, 1.0)}, "band must hold"),
                                                 Bad({0.5: (2.9, 0.1)}, "band[0.5] must"),
                                                 Bad({0.5: (0.1,)}, "band[0.5] must")],
                                           bound_curves=[None, Bad({(0.0, 1): np.ones(20)}, "bound_curves must have"),
                                                         Bad(HCUR | {(0.5, 2): np.ones(3)}, "bound_curves")]),
    MO + "tuned_figure": vary(MO + "tuned_figure", (BUD, RES, {0.0: 0.0}, [0.0]), budgets=POS_AXIS_BAD,
                              results=[None, {}, Bad({0.1: RES[0.0]}, "sigmas must be keys"),
                                       Bad({0.0: {"Adam": BUD}}, "results must be keyed by the families"),
                                       Bad({0.0: {"LA": np.ones(3)}}, "results"), Bad({0.0: []}, "results")],
                              floors=[None, {}, Bad({0.0: -1.0}, "floors"), Bad({0.0: "0"}, "floors")],
                              sigmas=[None, [], "0", Bad([0.3], "sigmas must be keys"), Bad([[0.0]], "sigmas must be keys")]),
    MO + "mc_figure": vary(MO + "mc_figure", (MC,), dict(k_band=2.0),
                           cases=[None, [], Bad([{"title": "a"}], "cases"), Bad([MC[0]["theory"]], "cases"),
                                  Bad([dict(MC[0], mean=np.ones(3))], "cases mean"),
                                  Bad([dict(MC[0], title=None)], "cases title"),
                                  Bad([dict(MC[0], theory="1")], "cases theory")],
                           k_band=POS_REAL),
    SG + "fig_model": vary(SG + "fig_model", (X, X, -1.0, {0.0: Y, 0.5: Y}), lam=POS_AXIS_BAD,
                           lam_spiked=curve_bad("lam_spiked") + [Bad(-X, "lam_spiked")], alpha=REAL,
                           shares=[None, {}, Bad({0.0: np.ones(3)}, "shares"), Bad({"s": Y}, "shares"),
                                   Bad([Y], "shares")]),
    SG + "fig_noise_kernel": vary(SG + "fig_noise_kernel", (KC, 4, 2, 0.1),
                                  kc=[None, "kc", Bad(KC._replace(x=np.ones(3)), "kc"), Bad(ROW, "kc must be")],
                                  B=POS_INT + [Bad(8, "B must be a batch size of kc")],
                                  small_B=POS_INT + [Bad(16, "small_B must be a batch size of kc")],
                                  sigma=[-1.0, NAN, "0.1", None]),
    SG + "fig_theory_vs_sim": vary(SG + "fig_theory_vs_sim", ([(4, [ROW])],),
                                   panels=[None, [], "p", Bad([(4,)], "panels"), Bad([(0, [ROW])], "panels"),
                                           Bad([(4, [])], "panels"), Bad([(4, [KC])], "panels must hold rows"),
                                           Bad([(4, [ROW._replace(se=np.ones(2))])], "panels")]),
}

# --- the captioned figures (added by fmt1; one case each in cases_fmt1.py): every parameter varied
from cases_experiments import (CCC_OBJ, ER, EF, F2, F3, MAPP, NUS, PANELS, RHO, SIMC, SPC, TU,  # noqa: E402
                               ETA_SCAN)
from _gen import NONNEG_GRID, POS_GRID, Bad as _Bad  # noqa: E402,F811

from twophase.experiments import lookahead as _la  # noqa: E402

SNF = _la.signal_noise_factors(2, 0.1, 1.0, [1e-4, 0.5, 1.0])
FIG1 = dict(form="hd", S=2, alpha=-1.5, spiked_B_over_D=0.5, power_B_over_D=0.1)
CASES.update({
    LA + "signal_noise_figure": vary(LA + "signal_noise_figure", (SNF, 2, 0.1, 1.0), factors=CCC_OBJ + [F2],
                                     S=POS_INT, eta=POS_REAL, nu=POS_REAL),
    LA + "figure1_figure": vary(LA + "figure1_figure", (PANELS, ER, NUS), FIG1, panels=[None, {}, [PANELS]],
                                eta_rel=POS_AXIS_BAD, nu=POS_AXIS_BAD, form=["bogus", None, 1], S=POS_INT,
                                alpha=REAL, spiked_B_over_D=POS_REAL, power_B_over_D=POS_REAL,
                                source=[_Bad("power-s9", "panels"), _Bad(None, "panels")]),
    LA + "best_nu_map_figure": vary(LA + "best_nu_map_figure", (MAPP, [0.0, 0.5], 0.1, [0.0, 1.0], "power"),
                                    dict(alpha=-1.5), best_map=CCC_OBJ + [F3], exponents=AXIS_BAD + [[-1.0, 0.0]],
                                    paper_B_over_D=POS_REAL, sigma_rel=NONNEG_GRID[:1] + [None, "0.1"],
                                    name=["bogus", None, 1], alpha=REAL),
    LA + "la_simulation_figure": vary(LA + "la_simulation_figure", (SIMC, 0.3, 2, 1), check=CCC_OBJ + [F2],
                                      eta_rel=POS_REAL, S=POS_INT, B=POS_INT),
    LA + "rates_vs_R_figure": vary(LA + "rates_vs_R_figure", (ETA_SCAN, RHO, [1, 2, 4]),
                                   dict(S=2, D=4, B_tot=4, nu=1.0), eta=POS_AXIS_BAD,
                                   rho=[None, {}, _Bad({("fixed", 1): RHO["fixed", 1]}, "rho")],
                                   Rs=[None, [], [0], _Bad([8], "rho")], S=POS_INT, D=POS_INT, B_tot=POS_INT,
                                   nu=REAL),
    LA + "figure2_figure": vary(LA + "figure2_figure", (F2, [1, 2, 4]), dict(D=4, B_tot=4, S=2),
                                fig2=CCC_OBJ + [F3], Rs=[None, [], [0], _Bad([8], "Rs must be worker counts")], D=POS_INT,
                                B_tot=POS_INT, S=POS_INT),
    MO + "fig3_with_caption": vary(MO + "fig3_with_caption", (F3, 0.8), figure3=CCC_OBJ + [F2], beta_out=UNIT),
    MO + "effective_spectrum_with_caption": vary(MO + "effective_spectrum_with_caption", (SPC,),
                                                 checks=CCC_OBJ + [F3, TU]),
    MO + "tuned_with_caption": vary(MO + "tuned_with_caption", (TU,), tuned=CCC_OBJ + [F3, SPC]),
})
