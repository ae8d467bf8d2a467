"""Bad-input cases of the Part II chapter-text helpers added by helper fmt2 (issue 10).

Format (COMMON.md): ``CASES = {"twophase.module.name": [(args, kwargs, exc_types, match), ...]}``.
"""
import numpy as np

from twophase.local.digits import EpsStudy
from twophase.local.experiments import Estimates, HutchinsonMSE, IllConditioned, Reductions

T, V = TypeError, ValueError
EX = "twophase.local.experiments."
FG = "twophase.local.figures."
DG = "twophase.local.digits."
RED = Reductions(0.0, 1e-16)
_HM = HutchinsonMSE(np.array([1]), np.array([0.5]), np.array([0.1]), np.array([0.4]))
EST = Estimates(np.ones(3), _HM, np.ones(3), np.zeros(3), np.arange(3.0), np.ones(3),
                np.arange(3.0), np.ones(3), 0.5)
IC = IllConditioned({}, {}, {}, {}, {}, {}, [])
ES = EpsStudy(1, True, {"adam": 0.01}, {("default", "adam", "eps"): np.ones(2),
                                        ("default", "adam", "clip"): np.ones(2)},
              {}, {}, {}, {"adam": 0.01}, {"adam": np.ones(2)})
CKW = dict(H=1, rounds=2, alpha=1e-3, beta=0.9)
EKW = dict(beta=0.9, kappa=100.0, n_reps=20)

CASES = {
    EX + "reduction_texts": [((None,), dict(rounds=1, H=1), (T,), "red"),
                             ((RED,), dict(rounds=0, H=1), (V,), "rounds"),
                             ((RED,), dict(rounds=1, H="1"), (T,), "H")],
    EX + "ReductionTexts": [(("a",), {}, (T,), None)],
    EX + "estimate_summary": [((RED,), EKW, (T,), "est"),
                              ((EST,), dict(EKW, beta=1.0), (V,), "beta"),
                              ((EST,), dict(EKW, kappa="100"), (T,), "kappa"),
                              ((EST,), dict(EKW, n_reps=True), (T,), "n_reps"),
                              ((EST,), dict(EKW, k=-1.0), (V,), "k")],
    EX + "EstimateSummary": [(("a",), {}, (T,), None)],
    EX + "ill_numbers": [((None,), dict(kappa=10.0, target=0.1), (T,), "ic"),
                         ((IC,), dict(kappa=-1.0, target=0.1), (V,), "kappa"),
                         ((IC,), dict(kappa=10.0, target="0.1"), (T,), "target")],
    DG + "method_costs": [(("identity",), CKW, (T,), "methods"), (([],), CKW, (V,), "methods"),
                          ((["sgd"],), CKW, (V,), "name"),
                          ((["identity"],), dict(CKW, H=0), (V,), "H"),
                          ((["adam"],), dict(CKW, beta=1.5), (V,), "beta"),
                          ((["identity"],), dict(CKW, batch=True), (T,), "batch"),
                          ((["oasis"],), dict(CKW, hvp_batch=0), (V,), "hvp_batch")],
    DG + "cost_numbers": [((), dict(alpha=-1.0, beta=0.9), (V,), "alpha"),
                          ((), dict(alpha=1e-3, beta="0.9"), (T,), "beta"),
                          ((), dict(alpha=1e-3, beta=0.9, batch=0), (V,), "batch")],
    DG + "grid_numbers": [(({},), {}, (T,), "res"),
                          (({(4, 5, "iid", "adam"): {"acc": np.ones((2, 2))}},), {}, (V,), "clipped")],
    DG + "comparison_numbers": [((None,), {}, (T,), "cmp"), (({},), {}, (T,), "cmp")],
    DG + "more_H_text": [((None,), {}, (T,), "mh"), (({"other": (True, "")},), {}, (V,), "mh")],
    DG + "eps_numbers": [((None,), dict(M=4, H=5, split="iid", hidden=32), (T,), "es"),
                         ((ES,), dict(M=0, H=5, split="iid", hidden=32), (V,), "M"),
                         ((ES,), dict(M=4, H=5, split="skew", hidden=32), (V,), "split"),
                         ((ES,), dict(M=4, H=5, split="iid", hidden=1.5), (T,), "hidden")],
    FG + "caption": [(("ch99",), {}, (V,), "name"), ((3,), {}, (T,), "name"),
                     (("ch7_equal_work",), dict(M=4), (V,), "H"),
                     (("ch6_client_drift",), dict(M=4), (V,), "takes exactly")],
}

EXEMPT = {FG + "CAPTIONS": "a constant (dict of caption templates), not callable"}
