"""Bad-input cases of the Part II chapter-text helpers added by helper fmt2 (issue 10).

Format (COMMON.md): ``CASES = {"twophase.module.name": [(args, kwargs, exc_types, match), ...]}``.
"""
import numpy as np

from twophase.local.experiments import Estimates, HutchinsonMSE, IllConditioned, Reductions

T, V = TypeError, ValueError
EX = "twophase.local.experiments."
FG = "twophase.local.figures."
RED = Reductions(0.0, 1e-16)
_HM = HutchinsonMSE(np.array([1]), np.array([0.5]), np.array([0.1]), np.array([0.4]))
EST = Estimates(np.ones(3), _HM, np.ones(3), np.zeros(3), np.arange(3.0), np.ones(3),
                np.arange(3.0), np.ones(3), 0.5)
IC = IllConditioned({}, {}, {}, {}, {}, {}, [])
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
    FG + "caption": [(("ch99",), {}, (V,), "name"), ((3,), {}, (T,), "name"),
                     (("ch7_equal_work",), dict(M=4), (V,), "H"),
                     (("ch6_client_drift",), dict(M=4), (V,), "takes exactly")],
}
