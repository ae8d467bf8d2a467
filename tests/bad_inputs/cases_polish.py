"""Bad-input cases for the chapter-8 figures (``twophase.plotting.scaled``).

The good calls are built from small hand-made result rows (the NamedTuples of
``twophase.experiments.scaled``), so nothing is computed at import. Each case replaces one
argument, or one field of one row, by a wrong type, a NaN, a wrong length, a missing field or a
bad index, and expects a ValueError (ArgumentTypeError is one) naming the parameter.
"""
import numpy as np
from _gen import NAN, Bad, vary

from twophase.experiments.scaled import DERow, Factors, FixedCheck, FixedRow, MapRow, Rotated, StatCheck

P = "twophase.plotting.scaled."
T3 = np.array([1.0, 0.5, 0.25])
SE3 = np.array([0.0, 0.01, 0.01])
LAM = np.array([1.0, 0.3, 0.1])


def _fixed(spectrum="power", **kw):
    base = dict(spectrum=spectrum, R=1, S=2, sigma=0.0, nu=1.0, eta=0.1, identity_gap=0.0, z=0.5,
                theory=T3, mean=T3 * 1.01, se=SE3)
    base.update(kw)
    return FixedRow(**base)


FIXED = [_fixed("power"), _fixed("power", R=2), _fixed("spiked"), _fixed("spiked", S=4)]
CHECK = FixedCheck(FIXED, 0.0, 0.5, 3, 8)
FACT = Factors(LAM, {"none": 1 - LAM, "Jacobi": np.full(3, 0.5)}, {"none": LAM / 10, "Jacobi": np.full(3, 0.1)},
               {"none": 0.5, "Jacobi": 0.2})
STAT = StatCheck(0.1, 0.2, 50, np.array([0.5, 1.0, 2.0]), 0.0)


def _map(**kw):
    base = dict(power_alpha=-1.5, sigma_rel=0.0, R=1, S=1, none=0.5, jacobi=0.1, best_alpha=0.01,
                adam=0.2, winner="jacobi", at_edge=False)
    base.update(kw)
    return MapRow(**base)


MAP = [_map(), _map(R=2), _map(sigma_rel=0.5), _map(sigma_rel=0.5, S=10)]


def _de(**kw):
    base = dict(beta=0.9, R=1, B=1, diverged=0.0, mean_ratio=1.1, se_rel=0.05, z=1.0, median_ratio=1.5,
                tail=0.02, p_rel_sd=0.3, de=T3, median=T3 * 1.2, q=np.vstack([T3, T3 * 2]))
    base.update(kw)
    return DERow(**base)


DE = [_de(), _de(R=4), _de(beta=0.5)]
ROT = Rotated({"axis": 0.5, "rotated": 0.7}, {"axis": 10.0, "rotated": 10.0}, {"axis": 1.0, "rotated": 9.0},
              {"axis": 3.0, "rotated": 1.1}, {"axis": (T3, T3, SE3), "rotated": (T3, T3 * 1.1, SE3)})


def _rot(curves):
    return ROT._replace(curves=curves)


ROWS_FIXED_BAD = [
    None, "rows", [], Bad([{"spectrum": "power"}], "rows must"), Bad([(1, 2)], "rows must"),
    Bad([_fixed("bogus")], "rows spectrum"), Bad([_fixed(R=0)], "rows R"), Bad([_fixed(nu=NAN)], "rows nu"),
    Bad([_fixed(theory="abc")], "rows theory"), Bad([_fixed(theory=np.ones((2, 3)))], "rows theory"),
    Bad([_fixed(mean=T3[:2])], "rows mean"), Bad([_fixed(se=-SE3 - 1)], "rows se"),
]
PICKS_FIXED_BAD = [[], [2], [-1], [0.5], [True], "0", None, 1]

CASES = {}
CASES[P + "fig_fixed_check"] = vary(P + "fig_fixed_check", (FIXED, [0, 1]), rows=ROWS_FIXED_BAD,
                                    picks=PICKS_FIXED_BAD)
CASES[P + "fixed_check_figure"] = vary(P + "fixed_check_figure", (CHECK, [0, 1]),
                                       check=[None, FIXED, {"rows": FIXED}], picks=[[9], [], None])
CASES[P + "fig_help_hurt"] = vary(P + "fig_help_hurt", (FACT,), f=[
    None, Bad({"lam": LAM}, "f must"), Bad(FACT._replace(lam=[1.0, NAN, 0.1]), "f.lam"),
    Bad(FACT._replace(lam="abc"), "f.lam"),
    Bad(FACT._replace(contraction={"none": LAM}), "f.contraction"),
    Bad(FACT._replace(noise={"none": LAM[:2], "Jacobi": LAM}), "f.noise"),
    Bad(FACT._replace(noise={"none": np.full(3, NAN), "Jacobi": LAM}), "f.noise"),
    Bad(FACT._replace(eta={"none": -1.0, "Jacobi": 0.2}), "f.eta"),
    Bad(FACT._replace(eta=[0.5, 0.2]), "f.eta"),
])
CASES[P + "help_hurt_figure"] = vary(P + "help_hurt_figure", (FACT,),
                                     f=[None, (LAM, {}, {}, {}), Bad(FACT._replace(lam=[NAN] * 3), "f.lam")])
STAT_ARGS = (LAM, STAT.rel_sd, 2, [("squares", STAT)])
CASES[P + "fig_statistics"] = vary(
    P + "fig_statistics", STAT_ARGS, lam=[None, "abc", [1.0, NAN, 0.1], [1.0, -0.3, 0.1], []],
    hut_rel_sd=[Bad([0.5, 1.0], "hut_rel_sd"), Bad([NAN, NAN, NAN], "hut_rel_sd"), None, "abc"],
    hut_B=[0, 2.5, "2", True, None],
    gsq=[None, [], Bad([("squares",)], "gsq"), Bad([(1, STAT)], "gsq label"), Bad([("s", None)], "gsq must"),
         Bad([("s", STAT._replace(rel_sd=[1.0, 2.0]))], "gsq rel_sd")])
CASES[P + "statistics_figure"] = vary(
    P + "statistics_figure", (LAM, STAT, 2, [("squares", STAT)]), hut=[None, {"rel_sd": LAM}, STAT.rel_sd],
    B=[0, "2"], lam=[[1.0, NAN, 0.1]], gsq=[[], None])
ROWS_MAP_BAD = [
    None, "rows", [], Bad([{"none": 1.0}], "rows must"), Bad([_map(none=NAN)], "rows none"),
    Bad([_map(none=float("inf"))], "rows none"), Bad([_map(jacobi=0.0)], "rows jacobi"),
    Bad([_map(adam="0.2")], "rows adam"), Bad([_map(adam=True)], "rows adam"), Bad([_map(R=0)], "rows R"),
    Bad([_map(S=1.5)], "rows S"), Bad([_map(sigma_rel=-1.0)], "rows sigma_rel"),
    Bad([_map(power_alpha=NAN)], "rows power_alpha"),
]
CASES[P + "fig_map"] = vary(P + "fig_map", (MAP,), rows=ROWS_MAP_BAD)
CASES[P + "map_figure"] = vary(P + "map_figure", (MAP,), rows=ROWS_MAP_BAD[:6])
ROWS_DE_BAD = [
    None, [], Bad([{"de": T3}], "rows must"), Bad([_de(beta=1.0)], "rows beta"), Bad([_de(B=0)], "rows B"),
    Bad([_de(de=[])], "rows de"), Bad([_de(median=T3[:2])], "rows median"),
    Bad([_de(q=T3)], "rows q"), Bad([_de(q=np.ones((2, 4)))], "rows q"),
]
PICKS_DE_BAD = [[], [3], [-1], [1.0], None, "1"]
CASES[P + "fig_de"] = vary(P + "fig_de", (DE, [0, 2]), rows=ROWS_DE_BAD, picks=PICKS_DE_BAD)
CASES[P + "de_figure"] = vary(P + "de_figure", (DE, [0, 2]), rows=ROWS_DE_BAD[:4], picks=PICKS_DE_BAD[:3])
ROT_BAD = [
    None, Bad({"curves": {}}, "rot must"), Bad(_rot({}), "rot.curves"), Bad(_rot([T3, T3, SE3]), "rot.curves"),
    Bad(_rot({"axis": (T3, T3)}), "rot.curves"), Bad(_rot({1: (T3, T3, SE3)}), "rot.curves key"),
    Bad(_rot({"axis": (T3, T3[:2], SE3)}), "rot.curves['axis'] mean"),
    Bad(_rot({"axis": (T3, T3, -SE3 - 1)}), "rot.curves['axis'] se"),
    Bad(_rot({"axis": ("abc", T3, SE3)}), "rot.curves['axis'] theory"),
]
CASES[P + "fig_rotated"] = vary(P + "fig_rotated", (ROT,), rot=ROT_BAD)
CASES[P + "rotated_figure"] = vary(P + "rotated_figure", (ROT,), rot=ROT_BAD[:1] + [{"curves": {}}] + ROT_BAD[2:5])
