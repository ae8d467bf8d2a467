"""Bad-input cases of helper mc's additions to the Monte-Carlo layer (simulate, sweeps):
the preconditioner of the local steps.

Format (see test_bad_inputs.py): ``{"twophase.module.function": [(args, kwargs, exc_types, match)]}``.
"""
import numpy as np

from twophase import TwoPhase

V = (ValueError,)
TV = (TypeError, ValueError)

LAM = [1.0, 0.5]
M0 = [0.5, 0.5]
M = TwoPhase(0.1)
ARGS = (M, LAM, M0, 2, 3)

CASES = {
    "twophase.simulate.loss_curves": [
        (ARGS, dict(precond=np.ones(3)), V, "precond"),
        (ARGS, dict(precond=[1.0, 0.0]), V, "precond"),
        (ARGS, dict(precond=[1.0, -2.0]), V, "precond"),
        (ARGS, dict(precond=[1.0, float("nan")]), V, "precond"),
        (ARGS, dict(precond="ones"), TV, "precond"),
        (ARGS, dict(precond=[True, True]), TV, "precond"),
    ],
}
